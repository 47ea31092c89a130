"""The reconciliation API's shapes (CONTRACT.md), defined once: the query strings it validates,
the answers it serialises (statement imports, bank transactions, the exceptions queue, portal
payments) and, from both, their part of the OpenAPI document (``reconciliation.api.openapi``)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core.api_schema import IctTime, Input, Money, Shape
from core.vocabulary import Direction, ExceptionStatus, PaymentChannel, TransactionStatus

from reconciliation.matching.matcher import DEFAULT_CONFIDENCE
from reconciliation.models import Allocation, BankTransaction, CashPayment, ReconException

if TYPE_CHECKING:
    from reconciliation.inbound.statement_import import ImportSummary

Cursor = Annotated[str, Field(pattern="^[0-9]+$", description="The cursor of the next page (from `next`).",
                              examples=["0"])]
NextPage = Annotated[str | None, Field(json_schema_extra={"format": "uri"}, description="The next page, or null.")]


# --- query strings ---------------------------------------------------------------------------

class TransactionQuery(Input):
    account: str | None = Field(None, description="A collection account number.", examples=["105415039595"])
    day_from: date | None = Field(None, alias="from", description="First Indochina day (booking day).",
                                  examples=["2026-11-25"])
    day_to: date | None = Field(None, alias="to", description="Last Indochina day.", examples=["2026-11-25"])
    after: Cursor = "0"


class ExceptionQuery(Input):
    status: Literal["open", "resolved", "dismissed", "all"] = Field("open", description="Default `open`.",
                                                                    examples=["open"])
    reason: str | None = Field(None, description="Only this reason.", examples=["unknown_reference"])
    after: Cursor = "0"


# --- answers ---------------------------------------------------------------------------------

class StatementSection(Shape):
    statement_id: int
    account: str
    period_start: date | None
    period_end: date | None
    entries: int
    new_transactions: int
    known_transactions: int
    balance_ok: bool
    balance_message: str
    continuity_ok: bool | None = Field(description="Whether the opening balance is the previous statement's closing "
                                                   "balance (null: no previous statement).")


class StatementImport(Shape):
    """An imported statement file: one or more account sections, each with its balance proof."""

    statement_id: int = Field(description="The import (the same file again: the same id).")
    format: Literal["camt053", "mt940", "xlsx", "xls", "csv"]
    account: str | None
    accounts: list[str]
    period_start: date | None
    period_end: date | None
    entries: int
    new_transactions: int
    known_transactions: int
    balance_ok: bool = Field(description="Every section's balance proof holds.")
    matched: Annotated[int, Field(ge=0)] = Field(
        description="Credits no callback announced that the import matched to a dossier at once, as a callback "
                    "would have been (0 when the same file comes again). A credit booked on a closed day is left "
                    "for its reopening. Closing the day is a separate, later step.")
    statements: list[StatementSection]

    @classmethod
    def of(cls, summary: ImportSummary) -> StatementImport:
        sections = summary.sections
        starts = [s.period_start for s in sections if s.period_start]
        ends = [s.period_end for s in sections if s.period_end]
        return cls(statement_id=summary.import_id, format=summary.format,
                   account=sections[0].account if sections else None,
                   accounts=sorted({s.account for s in sections}), period_start=min(starts) if starts else None,
                   period_end=max(ends) if ends else None, entries=summary.entries,
                   new_transactions=summary.new_transactions, known_transactions=summary.known_transactions,
                   balance_ok=summary.balance_ok, matched=summary.matched,
                   statements=[StatementSection(
                       statement_id=s.statement_id, account=s.account, period_start=s.period_start,
                       period_end=s.period_end, entries=s.entries, new_transactions=s.new_transactions,
                       known_transactions=s.known_transactions, balance_ok=s.balance_ok,
                       balance_message=s.balance_message, continuity_ok=s.continuity_ok) for s in sections])


class TransactionAllocation(Shape):
    dossier_code: str
    reference: str | None
    amount: Money
    payment_channel: PaymentChannel


class Transaction(Shape):
    """A bank transaction, once, whatever channels reported it."""

    transaction_ref: str = Field(description="The bank's reference.")
    bank_bin: str | None
    account: str
    amount: Money
    direction: Direction
    booked_at: IctTime
    booked_on: date
    content: str
    channels: list[Literal["payos", "sepay", "bankdirect", "portal", "statement"]]
    status: TransactionStatus
    allocated: Money
    on_statement: bool
    known_account: bool
    allocations: list[TransactionAllocation]

    @classmethod
    def of(cls, transaction: BankTransaction) -> Transaction:
        return cls(transaction_ref=transaction.bank_ref, bank_bin=transaction.bank_bin or None,
                   account=transaction.account_number, amount=transaction.amount, direction=transaction.direction,
                   booked_at=transaction.booked_at, booked_on=transaction.booked_on, content=transaction.content,
                   channels=transaction.channel_list, status=transaction.status, allocated=transaction.allocated,
                   on_statement=transaction.on_statement, known_account=transaction.account_id is not None,
                   allocations=allocations(object_session(transaction), transaction))


def allocations(session: Session, transaction: BankTransaction) -> list[TransactionAllocation]:
    from payments.models import Dossier, PaymentRequest

    rows = session.execute(
        select(Allocation.amount, Dossier.code, PaymentRequest.reference, Allocation.payment_channel)
        .join(Dossier, Allocation.dossier_id == Dossier.id)
        .outerjoin(PaymentRequest, Allocation.payment_request_id == PaymentRequest.id)
        .where(Allocation.transaction_id == transaction.id, Allocation.reversed_at.is_(None))
        .order_by(Allocation.id)).all()
    return [TransactionAllocation(dossier_code=code, reference=reference, amount=amount, payment_channel=channel)
            for amount, code, reference, channel in rows]


class TransactionList(Shape):
    items: list[Transaction]
    next: NextPage


class ExceptionSuggestion(Shape):
    rule: str
    confidence: Annotated[float, Field(ge=0, le=1)]
    dossier_code: str
    reference: str | None
    amount: int | None


class ExceptionItem(Shape):
    """An item of the finance officers' queue."""

    id: int
    reason: str
    status: ExceptionStatus
    transaction_ref: str | None
    amount: Money
    amount_concerned: Money = Field(description="The money the item is about (e.g. the excess held).")
    account: str | None
    content: str | None
    received_at: IctTime
    dossier_code: str | None
    detail: str
    owner: str | None
    deadline: date | None
    created_at: IctTime
    suggestions: list[ExceptionSuggestion]

    @classmethod
    def of(cls, item: ReconException, transaction: BankTransaction | None, dossier_code: str | None) -> ExceptionItem:
        return cls(id=item.id, reason=item.reason, status=item.status,
                   transaction_ref=transaction.bank_ref if transaction else None,
                   amount=transaction.amount if transaction else item.amount, amount_concerned=item.amount,
                   account=transaction.account_number if transaction else None,
                   content=transaction.content if transaction else None,
                   received_at=transaction.booked_at if transaction else item.created_at, dossier_code=dossier_code,
                   detail=item.detail, owner=item.owner, deadline=item.deadline, created_at=item.created_at,
                   suggestions=[{k: s.get(k) for k in ExceptionSuggestion.model_fields}
                                for s in item.suggestions or []])


class ExceptionList(Shape):
    items: list[ExceptionItem]
    next: NextPage


class PortalPayment(Shape):
    """A payment of a dossier on the national portal's payment platform."""

    ref: str = Field(description="MaThamChieu.")
    dossier_code: str
    procedure_code: str | None
    amount: Money
    status: Literal["pending", "paid", "failed"]
    bank_ref: str | None
    paid_at: IctTime | None
    created_at: IctTime
    confirmed_via: Literal["callback", "query"] | None

    @classmethod
    def of(cls, payment) -> PortalPayment:
        return cls(ref=payment.ref, dossier_code=payment.dossier_code, procedure_code=payment.procedure_code,
                   amount=payment.amount, status=payment.status, bank_ref=payment.bank_ref, paid_at=payment.paid_at,
                   created_at=payment.created_at, confirmed_via=payment.confirmed_via)


def dossier_payments(dossier) -> list[dict[str, Any]]:
    """``payments`` of the dossier API (``payments.api_schemas.Payment``): every allocation in
    force, oldest first."""
    session = object_session(dossier)
    rows = session.execute(
        select(Allocation, BankTransaction, CashPayment)
        .outerjoin(BankTransaction, Allocation.transaction_id == BankTransaction.id)
        .outerjoin(CashPayment, Allocation.cash_payment_id == CashPayment.id)
        .where(Allocation.dossier_id == dossier.id, Allocation.reversed_at.is_(None))
        .order_by(Allocation.id)).all()
    from payments.receipt_documents import dossier_documents

    documents = dossier_documents(session, dossier.id)[1] if rows else {}
    payments = []
    for allocation, transaction, cash in rows:
        if transaction is not None:
            ref, channel, received = transaction.bank_ref, transaction.first_channel, transaction.booked_at
        else:
            ref, channel, received = f"CASH-{cash.receipt_number}", "cash", cash.received_at
        payments.append({"transaction_ref": ref, "amount": allocation.amount, "channel": channel,
                         "payment_channel": allocation.payment_channel, "received_at": received,
                         "allocated_at": allocation.created_at, "receipted_by": documents.get(allocation.id, [])})
    return payments


# --- the matcher's rules ------------------------------------------------------------------

Unit = Annotated[float, Field(ge=0, le=1)]
_RULES_DOC = ("The matcher's rules: a decision at or above `auto_threshold` allocates by itself, a suggestion at or "
              "above `suggest_threshold` is shown to a person; `confidence` gives each rule's "
              "(docs/RECONCILIATION.md). Every value is a number from 0 to 1.")
_CONFIDENCE = {"type": "object", "description": "Each rule's confidence; a rule left out keeps its default.",
               "properties": {rule: {"type": "number", "minimum": 0, "maximum": 1, "default": value}
                              for rule, value in DEFAULT_CONFIDENCE.items()}}


class MatchRulesInput(Input):
    """The rules as a whole: what is left out takes its default (the rule names and the order of
    the thresholds are checked by ``MatchRules.from_data``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    auto_threshold: Unit | None = None
    suggest_threshold: Unit | None = None
    confidence: dict[str, Unit] | None = Field(None, json_schema_extra=_CONFIDENCE)


class MatchRules(Shape):
    __doc__ = _RULES_DOC
    auto_threshold: Unit
    suggest_threshold: Unit
    confidence: dict[str, Unit] = Field(json_schema_extra=_CONFIDENCE)

    @classmethod
    def of(cls, rules: Any) -> MatchRules:
        return cls(**rules.as_data())


QUERIES = (TransactionQuery, ExceptionQuery)
INPUTS = (MatchRulesInput,)
SHAPES = (StatementImport, TransactionList, ExceptionList, PortalPayment, MatchRules)
