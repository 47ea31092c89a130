"""The bank edge's records: the raw journal, bank transactions, who reported them, and
imported statements.

- ``JournalEntry``: every callback exactly as it arrived, committed before anything else is
  done with it, and what became of it.
- ``BankTransaction``: one real movement on an account, once, whatever brought it: the
  database enforces it with the unique key ``(bank_bin, account_number, bank_ref)``.
- ``TransactionSighting``: each callback that reported a transaction (statements are linked
  through their lines).
- ``StatementImport`` (a file) → ``Statement`` (one account and period) → ``StatementLine``.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base
from core.types import UTCDateTime
from core.vocabulary import ExceptionReason, PaymentChannel, values

Money = BigInteger

# Journal outcomes. ``received``: stored, not yet processed (or processing was cut off).
JOURNAL_OUTCOMES = ("received", "accepted", "duplicate", "refused", "failed", "test", "ignored")


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_outcome_received", "outcome", "received_at"),
        Index("ix_journal_entries_channel_event", "channel", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # whole when accepted; the first 4 KiB when refused
    body_sha256: Mapped[str] = mapped_column(String(64))  # of the whole body as it arrived
    body_size: Mapped[int | None] = mapped_column(Integer)  # bytes as it arrived (None: before 0008, kept whole)
    outcome: Mapped[str] = mapped_column(String(20), default="received")
    reason: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(String(120))
    response_code: Mapped[str | None] = mapped_column(String(10))  # what we answered (HTTP status or format code)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The request's X-Request-ID (or the one given it): the same as in the log line and the answer.
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)


class CallbackNonce(Base):
    """A request nonce seen once (direct-bank ``requestId``, SePay timestamp+signature):
    the same one again is a replay."""

    __tablename__ = "callback_nonces"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(200), primary_key=True)
    journal_id: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BankTransaction(Base):
    __tablename__ = "bank_transactions"
    __table_args__ = (
        UniqueConstraint("bank_bin", "account_number", "bank_ref", name="uq_bank_transactions_key"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("allocated >= 0 AND allocated <= amount", name="allocated"),
        Index("ix_bank_transactions_account_day", "account_number", "booked_on"),
        Index("ix_bank_transactions_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    bank_bin: Mapped[str] = mapped_column(String(6))  # '' when neither the channel nor our accounts say
    account_number: Mapped[str] = mapped_column(String(34))
    bank_ref: Mapped[str] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("collection_accounts.id"))  # None: not ours
    direction: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(Money)
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    booked_on: Mapped[date] = mapped_column(Date)  # the Indochina day, for closes and statements
    value_date: Mapped[date | None] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text, default="")
    counter_account: Mapped[str | None] = mapped_column(String(40))
    counter_name: Mapped[str | None] = mapped_column(String(200))
    counter_bank: Mapped[str | None] = mapped_column(String(60))
    virtual_account: Mapped[str | None] = mapped_column(String(40))
    channels: Mapped[str] = mapped_column(String(120), default="")  # every channel that reported it, comma-separated
    first_channel: Mapped[str] = mapped_column(String(20))
    reversal: Mapped[bool] = mapped_column(default=False)
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    pending: Mapped[bool] = mapped_column(default=False)
    on_statement: Mapped[bool] = mapped_column(default=False)
    synthetic_ref: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="unmatched")  # matched | partially_matched | unmatched | ignored
    allocated: Mapped[int] = mapped_column(Money, default=0)
    disposition: Mapped[str | None] = mapped_column(String(20))  # not_ours: to be returned
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sightings: Mapped[list[TransactionSighting]] = relationship(
        back_populates="transaction", order_by="TransactionSighting.id", lazy="select")

    @property
    def channel_list(self) -> list[str]:
        return [c for c in self.channels.split(",") if c]


class TransactionSighting(Base):
    """One callback that reported a transaction (the first one included)."""

    __tablename__ = "transaction_sightings"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    event_id: Mapped[str | None] = mapped_column(String(120))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    differences: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what this report said otherwise

    transaction: Mapped[BankTransaction] = relationship(back_populates="sightings")


class StatementImport(Base):
    """One statement file as it was imported; the same bytes again are the same import."""

    __tablename__ = "statement_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="importing")  # importing | done | failed
    error: Mapped[str | None] = mapped_column(Text)  # why a failed import stopped (it resumes when run again)
    lines_done: Mapped[int] = mapped_column(default=0)  # entries committed so far: an interrupted import resumes here
    entries: Mapped[int] = mapped_column(default=0)
    new_transactions: Mapped[int] = mapped_column(default=0)
    known_transactions: Mapped[int] = mapped_column(default=0)
    balance_ok: Mapped[bool] = mapped_column(default=False)

    statements: Mapped[list[Statement]] = relationship(back_populates="import_", order_by="Statement.section_index",
                                                       lazy="selectin")


class Statement(Base):
    """One account's statement for one period, with its balance proof."""

    __tablename__ = "statements"
    __table_args__ = (Index("ix_statements_account_period", "account_number", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_imports.id"), index=True)
    section_index: Mapped[int] = mapped_column(default=0)
    account_number: Mapped[str] = mapped_column(String(34))
    bank_bin: Mapped[str] = mapped_column(String(6), default="")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("collection_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    statement_ref: Mapped[str | None] = mapped_column(String(120))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    opening_balance: Mapped[int | None] = mapped_column(Money)
    closing_balance: Mapped[int | None] = mapped_column(Money)
    credits: Mapped[int] = mapped_column(Money, default=0)
    debits: Mapped[int] = mapped_column(Money, default=0)
    entries: Mapped[int] = mapped_column(default=0)
    pending_entries: Mapped[int] = mapped_column(default=0)
    balance_ok: Mapped[bool] = mapped_column(default=False)
    balance_message: Mapped[str] = mapped_column(Text, default="")
    continuity_ok: Mapped[bool | None] = mapped_column()  # None: no previous statement to compare with
    previous_statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(100))  # a finance officer accepted a failed proof
    resolved_note: Mapped[str | None] = mapped_column(Text)

    import_: Mapped[StatementImport] = relationship(back_populates="statements")


class StatementLine(Base):
    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    booking_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Money)
    direction: Mapped[str] = mapped_column(String(3))
    pending: Mapped[bool] = mapped_column(default=False)
    is_new: Mapped[bool] = mapped_column(default=False)  # this line created the transaction
    differs: Mapped[bool] = mapped_column(default=False)  # amount or direction differ from what a callback said


# --- reconciliation: decisions, allocations, exceptions, refunds, closes -------------------

PAYMENT_CHANNELS = values(PaymentChannel)


class MatchDecision(Base):
    """Why a transaction was (or was not) allocated: the rule, its evidence, its confidence,
    and who decided (a rule, or a person for manual acts)."""

    __tablename__ = "match_decisions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # rule:<name> or user:<username>
    rule: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Allocation(Base):
    """Money of one payment (a bank transaction or a cash payment) assigned to one dossier,
    through one of its payment requests when there is one."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("(transaction_id IS NULL) <> (cash_payment_id IS NULL)", name="source"),
        CheckConstraint("payment_channel IN ('portal', 'gateway', 'counter_transfer', 'card', 'cash')",
                        name="payment_channel"),
        Index("ix_allocations_dossier", "dossier_id"),
        Index("ix_allocations_transaction", "transaction_id"),
        Index("ix_allocations_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    cash_payment_id: Mapped[int | None] = mapped_column(ForeignKey("cash_payments.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"), index=True)
    amount: Mapped[int] = mapped_column(Money)
    payment_channel: Mapped[str] = mapped_column(String(20))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("match_decisions.id"))
    rule: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reversed_by: Mapped[str | None] = mapped_column(String(100))
    reverse_reason: Mapped[str | None] = mapped_column(Text)


EXCEPTION_REASONS = values(ExceptionReason)


class ReconException(Base):
    """An item in front of a finance officer: a transfer the rules could not settle, or a
    difference between the service, the callbacks and the statement."""

    __tablename__ = "exceptions"
    __table_args__ = (
        Index("ix_exceptions_status_reason", "status", "reason"),
        Index("ix_exceptions_transaction", "transaction_id"),
        Index("ix_exceptions_dossier", "dossier_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved | dismissed
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("collection_accounts.id"))
    amount: Mapped[int] = mapped_column(Money, default=0)  # the money concerned (e.g. the excess held)
    detail: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("match_decisions.id"))
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    owner: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)

    notes: Mapped[list[ExceptionNote]] = relationship(order_by="ExceptionNote.id", lazy="selectin")


class ExceptionNote(Base):
    __tablename__ = "exception_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("exceptions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)


class Refund(Base):
    """Money returned: the excess of a dossier or a transfer that is not ours. Requested by
    one person, approved by another."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled')",
                        name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"))
    amount: Mapped[int] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    beneficiary_bank: Mapped[str] = mapped_column(String(6))
    beneficiary_account: Mapped[str] = mapped_column(String(34))
    beneficiary_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payout_ref: Mapped[str | None] = mapped_column(String(120))  # the bank's reference of the money sent back
    payout_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class DailyClose(Base):
    """One account's Indochina day: the statement against the service, and whether it is closed."""

    __tablename__ = "daily_closes"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("collection_accounts.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blocking: Mapped[list[str]] = mapped_column(JSON, default=list)  # what keeps it from closing
    run_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_step: Mapped[str | None] = mapped_column(String(30))  # where an interrupted run resumes
    run_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened_by: Mapped[str | None] = mapped_column(String(100))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class CashPayment(Base):
    """Cash taken at a counter, with the receipt the clerk issued: a payment with no bank line."""

    __tablename__ = "cash_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    amount: Mapped[int] = mapped_column(Money)
    amount_tendered: Mapped[int | None] = mapped_column(Money)  # what the citizen handed over
    receipt_number: Mapped[str] = mapped_column(String(40))
    # The paper receipt's form and series (with ``receipt_number``) when the clerk handed one
    # over: that money is receipted and gets no e-receipt. None: a cash slip only.
    paper_form: Mapped[str | None] = mapped_column(String(20))
    paper_series: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_on: Mapped[date] = mapped_column(Date, index=True)  # the Indochina day
    clerk_username: Mapped[str] = mapped_column(String(64))
    clerk_name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class PortalPayment(Base):
    """A payment on the national portal's payment platform, from its initialisation (or its
    first confirmation) to its result."""

    __tablename__ = "portal_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True)  # MaThamChieu
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | paid | failed
    failure_code: Mapped[str | None] = mapped_column(String(10))
    failure_message: Mapped[str | None] = mapped_column(Text)
    bank_ref: Mapped[str | None] = mapped_column(String(120))
    payer_bank: Mapped[str | None] = mapped_column(String(10))
    account_number: Mapped[str | None] = mapped_column(String(34))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    confirmed_via: Mapped[str | None] = mapped_column(String(20))  # callback | query
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="portal")
    queries: Mapped[int] = mapped_column(default=0)
    last_query_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEvent(Base):
    """An event for the one-stop dossier system, written in the same transaction as the change
    it reports (a transactional outbox) and delivered afterwards, with retries."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)  # the receiver's idempotency key
    event_type: Mapped[str] = mapped_column(String(40))
    dossier_code: Mapped[str | None] = mapped_column(String(60), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxDelivery(Base):
    """One attempt to deliver an outbound event: the delivery log."""

    __tablename__ = "outbox_deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    url: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int | None] = mapped_column()
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(default=0)
    actor: Mapped[str] = mapped_column(String(100), default="system")  # system, or who replayed it


class JobRun(Base):
    """Each run of a scheduled job, by which scheduler instance: shows that two instances
    never ran the same job at once."""

    __tablename__ = "job_runs"
    # Each job's last success, read at every metrics scrape, without a scan of the history.
    __table_args__ = (Index("ix_job_runs_job_outcome_finished", "job", "outcome", "finished_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(60), index=True)
    instance: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | failed
    detail: Mapped[str | None] = mapped_column(Text)


class SchedulerHeartbeat(Base):
    """Each scheduler instance's last sign of life (every minute), and whether it leads:
    ``/readyz`` wants a leader seen lately."""

    __tablename__ = "scheduler_heartbeats"

    instance: Mapped[str] = mapped_column(String(100), primary_key=True)
    is_leader: Mapped[bool] = mapped_column(default=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
