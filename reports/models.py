"""Maintained aggregates for the reports (see ``docs/REPORTS.md``).

- ``DossierFact``: one row per dossier with what the indicators ask of it, computed from the
  dossier, its charges, its payment requests, its (not reversed) allocations and its paid
  refunds. It is the same SELECT as the direct computation (``reports.facts.dossier_rows``)
  written into a table, so that a year of dossiers is read without joins.
- ``ReceiptLine``: one row per line of every issued (not cancelled) e-receipt, by the
  Indochina day of issue: the money a finance office remits to the treasury.

Both are kept in step with the changes they follow: in the same transaction for what the ORM
flushed (``reports.facts`` listens to the session and rewrites the rows of the dossiers and
receipts a transaction touched, just before it commits), and through ``PendingFact`` for what
plain-SQL writers name (rewritten before any report reads, and by a job every few seconds); ``flask report rebuild`` rewrites them all after changes
made outside the ORM (bulk loads), and ``flask report check`` compares them with the direct
computation.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class DossierFact(Base):
    __tablename__ = "report_dossier_facts"
    __table_args__ = (
        Index("ix_report_dossier_facts_start_day", "start_day"),
        # Cover the whole-month queries without reading the table: the trend over a year reads
        # the first in its own order (no sort); the breakdowns by unit, procedure, channel the second.
        Index("ix_report_dossier_facts_month_shape", "start_month", "shape", "pay_mask", "amount_due", "paid_net"),
        Index("ix_report_dossier_facts_month", "start_month", "agency_id", "procedure_id", "channel", "shape",
              "pay_mask", "amount_due", "paid_net"),
    )

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    start_day: Mapped[date] = mapped_column(Date)  # Indochina day processing started (submitted_at)
    start_month: Mapped[int] = mapped_column(Integer)  # yyyymm of start_day
    agency_id: Mapped[int] = mapped_column(Integer)
    procedure_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))  # online | counter | post: how the dossier was filed
    status: Mapped[str] = mapped_column(String(20))
    amount_due: Mapped[int] = mapped_column(BigInteger)  # the sum of its charges
    paid_net: Mapped[int] = mapped_column(BigInteger)  # not reversed allocations − paid refunds
    pay_mask: Mapped[int] = mapped_column(Integer)  # OR of the bits of the channels of those allocations
    charge_lines: Mapped[int] = mapped_column(Integer)  # how many charge lines it carries (fee data)
    shape: Mapped[int] = mapped_column(Integer)  # status class and payment state: definitions.SHAPE_*
    request_to_paid_s: Mapped[int | None] = mapped_column(BigInteger)  # first request → last payment


class ReceiptLine(Base):
    __tablename__ = "report_receipt_lines"
    __table_args__ = (Index("ix_report_receipt_lines_day", "issued_day", "agency_id"),)

    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    issued_day: Mapped[date] = mapped_column(Date)
    issued_month: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # phi | le_phi
    fee_code: Mapped[str] = mapped_column(String(30), default="")  # '' when the line names no fee code
    name: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger)


class PendingFact(Base):
    """A dossier or receipt whose rows are to be rewritten: queued by the writers that use plain
    SQL (the callbacks' fast path, statement runs), whose transactions must stay short; the
    reports drain the queue before they read (``reports.facts.drain``), and so does a
    scheduled job, every few seconds."""

    __tablename__ = "report_pending"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # dossier | receipt
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
