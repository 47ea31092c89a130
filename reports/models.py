"""Maintained aggregates for the reports (see ``docs/REPORTS.md``).

- ``DossierFact``: one row per dossier with what the indicators ask of it, computed from the
  dossier, its charges, its payment requests, its (not reversed) allocations and its paid
  refunds. It is the same SELECT as the direct computation (``reports.facts.dossier_rows``)
  written into a table, so that a year of dossiers is read without joins.
- ``ReceiptLine``: one row per line of every issued (not cancelled) e-receipt, by the
  Indochina day of issue: the money a finance office remits to the treasury.
- ``DocumentLine``: one row per fee line of money receipted by another issuer's document
  (the portal's platform, a paper receipt for cash), which gets no e-receipt: the rest of it.

Both are kept in step with the changes they follow: in the same transaction for what the ORM
flushed (``reports.facts`` listens to the session and rewrites the rows of the dossiers and
receipts a transaction touched, just before it commits), and through ``PendingFact`` for what
plain-SQL writers name (rewritten before any report reads, and by a job every few seconds); ``flask report rebuild`` rewrites them all after changes
made outside the ORM (bulk loads), and ``flask report check`` compares them with the direct
computation.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.types import UTCDateTime


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


class DocumentLine(Base):
    """One fee line of money receipted by another issuer's document (the national portal's
    platform, a paper receipt for cash: ``payments.other_documents``), which gets no e-receipt:
    by the Indochina day of the dossier's last payment. Money collected counts these lines
    beside ``ReceiptLine``; gone when the dossier is no longer paid in full."""

    __tablename__ = "report_document_lines"
    __table_args__ = (Index("ix_report_document_lines_day", "paid_day", "agency_id"),)

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paid_day: Mapped[date] = mapped_column(Date)
    paid_month: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # phi | le_phi
    fee_code: Mapped[str] = mapped_column(String(30), default="")
    name: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger)
    issuer: Mapped[str] = mapped_column(String(10))  # portal | paper | mixed
    document: Mapped[str] = mapped_column(String(300))  # the platform's reference, or form/series/number


class PendingFact(Base):
    """A dossier or receipt whose rows are to be rewritten: queued by the writers that use plain
    SQL (the callbacks' fast path, statement runs), whose transactions must stay short; the
    reports drain the queue before they read (``reports.facts.drain``), and so does a
    scheduled job, every few seconds."""

    __tablename__ = "report_pending"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # dossier | receipt
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class PortalIndexUpload(Base):
    """A supervisor's upload of the national portal's monthly export of the 766 online payment
    index (per unit: numerator, denominator, rate), optionally with its per-dossier export;
    kept so that each comparison can be shown again (``reports.portal_reconcile``)."""

    __tablename__ = "portal_index_uploads"
    __table_args__ = (Index("ix_portal_index_uploads_month", "month", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM: the period of the export
    filename: Mapped[str] = mapped_column(String(255))
    dossier_filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))  # of the files as uploaded (the same files again: same upload)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(100))
    unit_count: Mapped[int] = mapped_column(Integer)
    dossier_count: Mapped[int] = mapped_column(Integer, default=0)


class PortalIndexUnit(Base):
    """One unit's line of an uploaded export, as the portal wrote it."""

    __tablename__ = "portal_index_units"

    upload_id: Mapped[int] = mapped_column(ForeignKey("portal_index_uploads.id", ondelete="CASCADE"),
                                           primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # the file's row number
    unit_code: Mapped[str] = mapped_column(String(60))
    unit_name: Mapped[str] = mapped_column(String(300), default="")
    numerator: Mapped[int] = mapped_column(BigInteger)
    denominator: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float | None] = mapped_column(Float)  # a share 0–1 as the file gave it, if it did


class PortalIndexDossier(Base):
    """One dossier of an uploaded per-dossier export: the flag and fee total the portal holds."""

    __tablename__ = "portal_index_dossiers"

    upload_id: Mapped[int] = mapped_column(ForeignKey("portal_index_uploads.id", ondelete="CASCADE"),
                                           primary_key=True)
    dossier_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    unit_code: Mapped[str | None] = mapped_column(String(60))
    flag: Mapped[int | None] = mapped_column(Integer)  # DuocThanhToanTrucTuyen as the portal holds it
    fee_total: Mapped[int | None] = mapped_column(BigInteger)  # the sum of its fee list's Gia
