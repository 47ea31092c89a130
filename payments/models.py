"""Agencies and their accounts, the fee catalogue, dossiers, charges and payment requests."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, event)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import Base
from core.types import UTCDateTime
from qr.text import search_key

# Amounts are đồng in BigInteger: a land levy can pass the 2.1 billion of a 32-bit integer.
Money = BigInteger


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # city_body | branch | ward | commune | district
    parent_code: Mapped[str | None] = mapped_column(String(40))
    dossier_unit_id: Mapped[str | None] = mapped_column(String(40))  # prefix of dossier codes (unverified)
    tax_code: Mapped[str | None] = mapped_column(String(20))
    receipt_form: Mapped[str | None] = mapped_column(String(20))
    receipt_series: Mapped[str | None] = mapped_column(String(20))  # a pattern: YY is the year of issue
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)

    accounts: Mapped[list[CollectionAccount]] = relationship(
        back_populates="agency", order_by="CollectionAccount.id", lazy="selectin"
    )


class CollectionAccount(Base):
    __tablename__ = "collection_accounts"
    __table_args__ = (UniqueConstraint("bank_bin", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    bank_bin: Mapped[str] = mapped_column(String(6))
    number: Mapped[str] = mapped_column(String(19))
    holder_name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    agency: Mapped[Agency] = relationship(back_populates="accounts")


class Procedure(Base):
    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the national code, or HN.<fee> where none is known
    national_code: Mapped[str | None] = mapped_column(String(40))  # as published, possibly unconfirmed (1.0127xx)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(30), index=True)  # land | civil_status | ...
    active: Mapped[bool] = mapped_column(default=True)

    fee_items: Mapped[list[FeeItem]] = relationship(
        back_populates="procedure", order_by="FeeItem.position", lazy="selectin", cascade="all, delete-orphan"
    )


class FeeItem(Base):
    __tablename__ = "fee_items"
    __table_args__ = (
        UniqueConstraint("procedure_id", "code", "payer_class"),
        CheckConstraint("kind IN ('phi', 'le_phi')", name="kind"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))
    payer_class: Mapped[str] = mapped_column(String(30), default="any")
    amount: Mapped[int | None] = mapped_column(Money)
    rate_ppm: Mapped[int | None] = mapped_column(Integer)
    cap: Mapped[int | None] = mapped_column(Money)
    per_copy: Mapped[bool] = mapped_column(default=False)
    exempt_always: Mapped[bool] = mapped_column(default=False)
    exempt_condition: Mapped[str | None] = mapped_column(Text)
    online_free_from: Mapped[date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(default=True)
    # Where the money goes (docs/TREASURY.md): the state budget's chapter and sub-item, and the
    # share of a phí the unit keeps, in hundredths of a per cent (lệ phí: 0); data, unconfirmed
    # until treasury_verified.
    budget_chapter: Mapped[str | None] = mapped_column(String(3))
    budget_subitem: Mapped[str | None] = mapped_column(String(4))
    retention_bp: Mapped[int | None] = mapped_column(Integer)
    treasury_verified: Mapped[bool] = mapped_column(default=False, server_default="0")

    procedure: Mapped[Procedure] = relationship(back_populates="fee_items")


class FeeLawRule(Base):
    """A rule of fee law beyond the schedule (``payments.fee_rules``): a validity period,
    conditions, the fee items it covers, its effect and its legal basis; ``confirmed`` is false
    where the facts could not be checked against a published text."""

    __tablename__ = "fee_rules"
    __table_args__ = (
        CheckConstraint("effect IN ('exempt', 'fixed', 'percent', 'city_support')", name="effect"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        CheckConstraint("percent IS NULL OR (percent > 0 AND percent <= 100)", name="percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    effect: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int | None] = mapped_column(Money)
    percent: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)  # Indochina filing day, included
    valid_to: Mapped[date | None] = mapped_column(Date)    # included
    channel: Mapped[str | None] = mapped_column(String(10))
    ground: Mapped[str | None] = mapped_column(String(30))
    child_under_14: Mapped[bool | None] = mapped_column()
    vneid_level2: Mapped[bool | None] = mapped_column()
    field: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[str | None] = mapped_column(String(10))
    fee_codes: Mapped[str] = mapped_column(Text, default="")  # space-separated; empty: every item in scope
    legal_basis: Mapped[str] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint("channel IN ('online', 'counter', 'post')", name="channel"),
        Index("ix_dossiers_applicant_name", "applicant_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    portal_code: Mapped[str | None] = mapped_column(String(60), unique=True)
    # The codes as transfer contents carry them: upper case, letters and digits only (see
    # ``code_key``); kept in step by the listener below.
    code_key: Mapped[str] = mapped_column(String(60), index=True, default="")
    portal_code_key: Mapped[str | None] = mapped_column(String(60), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    # The name as searches compare it (``qr.text.search_key``); kept in step by the listener
    # below. Null for rows written by plain SQL: searches fall back to the name itself.
    search_key: Mapped[str | None] = mapped_column(String(200), index=True)
    payer_class: Mapped[str | None] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="accepted")
    amount_due: Mapped[int] = mapped_column(Money, default=0)
    amount_paid: Mapped[int] = mapped_column(Money, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    procedure: Mapped[Procedure] = relationship(lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")
    charges: Mapped[list[DossierCharge]] = relationship(
        back_populates="dossier", order_by="DossierCharge.id", lazy="selectin", cascade="all, delete-orphan"
    )
    payment_requests: Mapped[list[PaymentRequest]] = relationship(
        back_populates="dossier", order_by="PaymentRequest.id", lazy="selectin"
    )


class DossierCharge(Base):
    __tablename__ = "dossier_charges"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    fee_code: Mapped[str | None] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Money)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    # The fee rule that set the amount, as it stood then (NULL: the schedule); never re-read
    # from ``fee_rules``, so a later change of the rules does not rewrite what was charged.
    rule_code: Mapped[str | None] = mapped_column(String(40))
    rule_name: Mapped[str | None] = mapped_column(Text)
    rule_basis: Mapped[str | None] = mapped_column(Text)
    rule_confirmed: Mapped[bool | None] = mapped_column()
    schedule_amount: Mapped[int | None] = mapped_column(Money)  # the schedule's amount before the rule
    city_support: Mapped[int] = mapped_column(Money, default=0, server_default="0")  # paid by the city

    dossier: Mapped[Dossier] = relationship(back_populates="charges")


class PaymentRequest(Base):
    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(
            "status IN ('open', 'partially_paid', 'paid', 'overpaid', 'expired', 'cancelled')", name="status"
        ),
        Index("ix_payment_requests_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("collection_accounts.id"))
    amount: Mapped[int] = mapped_column(Money)
    amount_paid: Mapped[int] = mapped_column(Money, default=0)
    purpose: Mapped[str] = mapped_column(String(25))
    qr_payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the card's first print at the counter
    version: Mapped[int] = mapped_column(default=1)

    dossier: Mapped[Dossier] = relationship(back_populates="payment_requests")
    account: Mapped[CollectionAccount] = relationship(lazy="joined")
    events: Mapped[list[PaymentRequestEvent]] = relationship(
        back_populates="request", order_by="PaymentRequestEvent.id", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class PaymentRequestEvent(Base):
    """The revision history of a payment request: every change, when, and who made it."""

    __tablename__ = "payment_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))  # created | cancelled | expired | paid | ...
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    request: Mapped[PaymentRequest] = relationship(back_populates="events")


class Receipt(Base):
    """An e-receipt ("biên lai điện tử"): numbered per form and series without gaps, the
    series carrying the year of issue, so (form, series, number) never repeats; ``phí`` and
    ``lệ phí`` on separate receipts; a cancelled receipt stays recorded."""

    __tablename__ = "receipts"
    __table_args__ = (
        Index("ix_receipts_agency_issued", "agency_id", "issued_at"),
        UniqueConstraint("form", "series", "year", "number"),
        Index("uq_receipts_form_series_number", "form", "series", "number", unique=True),
        CheckConstraint("kind IN ('phi', 'le_phi')", name="kind"),
        CheckConstraint("status IN ('issued', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    form: Mapped[str] = mapped_column(String(20))      # mẫu số
    series: Mapped[str] = mapped_column(String(20))    # ký hiệu
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    payer_name: Mapped[str] = mapped_column(String(200))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"name", "amount", "legal_basis"}]
    amount: Mapped[int] = mapped_column(Money)
    payment_channel: Mapped[str | None] = mapped_column(String(20))
    lookup_token: Mapped[str] = mapped_column(String(64), unique=True)  # for the citizen page and checks
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="issued")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    # The document as the unit's e-receipt system issued it (``payments.receipt_providers``):
    # numbered in the payment's transaction, signed afterwards (docs/PAYMENTS.md).
    provider: Mapped[str | None] = mapped_column(String(30))
    transmission_code: Mapped[str | None] = mapped_column(String(64))  # mã của cơ quan thuế / the provider's
    signed_xml: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReceiptLink(Base):
    """Which e-receipt covers which payment (an allocation in force when it was issued).
    Payments receipted elsewhere have no row here: their document is the paper receipt on the
    cash payment, or the national platform's receipt of the portal payment."""

    __tablename__ = "receipt_links"
    __table_args__ = (UniqueConstraint("receipt_id", "allocation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    allocation_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                               ForeignKey("allocations.id"), index=True)


class ReceiptChange(Base):
    """A request to cancel a receipt, or to replace it by a new one, decided by four eyes."""

    __tablename__ = "receipt_changes"
    __table_args__ = (CheckConstraint("action IN ('cancel', 'replace')", name="action"),
                      CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(String(200))  # a replacement's corrected payer
    status: Mapped[str] = mapped_column(String(20), default="requested")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    replacement_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))


class ReceiptCounter(Base):
    """The last number used per form, series and year: locked while a receipt is numbered."""

    __tablename__ = "receipt_counters"

    form: Mapped[str] = mapped_column(String(20), primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Remittance(Base):
    """Money an agency handed to the State Treasury (Kho bạc Nhà nước) for one month's
    collections, with the treasury's document number (giấy nộp tiền vào NSNN)."""

    __tablename__ = "treasury_remittances"
    __table_args__ = (
        UniqueConstraint("agency_id", "document_number", name="uq_treasury_remittances_agency_id"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_treasury_remittances_agency_month", "agency_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month whose collections it settles
    remitted_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Money)
    document_number: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="joined")


class TaxObligation(Base):
    """A land financial obligation a dossier depends on (registration fee, land-use levy,
    personal income tax): assessed by the tax authority's notice and paid into the treasury,
    never a charge of the office. The counter records the notice and the proof of payment."""

    __tablename__ = "tax_obligations"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("kind IN ('registration_fee', 'land_use_levy', 'personal_income_tax')", name="kind"),
        CheckConstraint("proof_kind IS NULL OR proof_kind IN ('treasury_slip', 'portal')", name="proof_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    notice_number: Mapped[str | None] = mapped_column(String(60))
    amount: Mapped[int] = mapped_column(Money)
    due_date: Mapped[date | None] = mapped_column(Date)
    issuing_authority: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    proof_kind: Mapped[str | None] = mapped_column(String(20))  # treasury_slip | portal
    proof_number: Mapped[str | None] = mapped_column(String(80))
    proof_date: Mapped[date | None] = mapped_column(Date)
    proof_recorded_by: Mapped[str | None] = mapped_column(String(100))
    proof_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by migration 0011 only: the charge this obligation was, when the dossier had already
    # received money for it (the charge stays; see docs/TREASURY.md).
    legacy_charge_id: Mapped[int | None] = mapped_column(Integer)
    source_charge: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    dossier: Mapped[Dossier] = relationship()


def code_key(code: str | None) -> str | None:
    """A dossier code as bank contents carry it: upper case, letters and digits only."""
    if code is None:
        return None
    from .references import normalise

    return normalise(code)


@event.listens_for(Dossier, "before_insert")
@event.listens_for(Dossier, "before_update")
def _keep_code_keys(_mapper, _connection, dossier: Dossier) -> None:
    dossier.code_key = code_key(dossier.code) or ""
    dossier.portal_code_key = code_key(dossier.portal_code)
    dossier.search_key = search_key(dossier.applicant_name)[:200]
