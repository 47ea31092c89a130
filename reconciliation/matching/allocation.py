"""Allocations: the only place where money becomes (or stops being) a dossier's payment.

``allocate`` and ``reverse`` each change, in the caller's database transaction: the
allocation row, the payment's allocated sum (never above its amount), the payment request's
amount paid and state (with its history), the dossier's amount paid, the receipts (issued
when the dossier is paid, cancelled when a reversal unpays it), the outbound event, and one
audit record naming the rule or the person. The rows they change are locked first
(``FOR UPDATE`` on PostgreSQL; SQLite serialises writers at ``BEGIN IMMEDIATE``), and a
closed day refuses them.

Which payment channel a payment counts as (the 766 indicator's question, DOMAIN.md) is
decided here too, from what brought the money and the dossier's own channel.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.errors import Conflict, ValidationError
from core.refusals import Refusal
from payments.dossiers import payment_status
from payments import money_rules as rules
from payments.models import Dossier, PaymentRequest, PaymentRequestEvent
from payments.money_rules import payment_channel

from reconciliation.workflow.exceptions import resolve_open_for_request
from reconciliation.models import Allocation, BankTransaction, CashPayment, DailyClose
from reconciliation.channels.outbox import emit


def payment_channel_for(dossier: Dossier, transaction: BankTransaction | None = None, *, cash: bool = False,
                        portal: bool = False) -> str:
    """``money_rules.payment_channel`` for these records."""
    return payment_channel(transaction.channel_list if transaction is not None else (), dossier.channel, cash=cash,
                           portal=portal)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_dossier(session: Session, dossier_id: int) -> Dossier:
    query = select(Dossier).where(Dossier.id == dossier_id).execution_options(populate_existing=True)
    if _is_pg(session):
        query = query.with_for_update(of=Dossier)
    return session.scalars(query).one()


def lock_request(session: Session, request_id: int) -> PaymentRequest:
    query = select(PaymentRequest).where(PaymentRequest.id == request_id).execution_options(populate_existing=True)
    if _is_pg(session):
        query = query.with_for_update(of=PaymentRequest)
    return session.scalars(query).one()


def lock_transaction(session: Session, transaction_id: int) -> BankTransaction:
    query = select(BankTransaction).where(BankTransaction.id == transaction_id) \
        .execution_options(populate_existing=True)
    if _is_pg(session):
        query = query.with_for_update(of=BankTransaction)
    return session.scalars(query).one()


def ensure_day_open(session: Session, transaction: BankTransaction) -> None:
    """A closed day is immutable: its transactions' allocations change only after a recorded reopen."""
    if transaction.account_id is None:
        return
    closed = session.scalar(select(DailyClose.id).where(DailyClose.account_id == transaction.account_id,
                                                        DailyClose.day == transaction.booked_on,
                                                        DailyClose.status == "closed"))
    if closed is not None:
        raise Conflict(f"the day {transaction.booked_on} of account {transaction.account_number} is closed: "
                       "reopen it (with a reason) before changing its allocations", code=Refusal.DAY_CLOSED,
                       params={"day": transaction.booked_on, "account": transaction.account_number})


def transaction_status(transaction: BankTransaction) -> str:
    """``money_rules.transaction_status`` for this transaction."""
    return rules.transaction_status(transaction.direction, transaction.amount, transaction.allocated,
                                    transaction.status)


def request_status(request: PaymentRequest) -> str:
    """``money_rules.request_status`` for this request, now."""
    return rules.request_status(request.status, request.amount, request.amount_paid, request.expires_at, utcnow())


def _request_event(request: PaymentRequest, actor: str, action: str, previous: str, note: str | None,
                   data: dict) -> None:
    request.events.append(PaymentRequestEvent(actor=actor, action=action, from_status=previous,
                                              to_status=request.status, note=note, data=data, at=utcnow()))


def allocate(session: Session, *, dossier_id: int, amount: int, actor: str, rule: str, confidence: float = 1.0,
             transaction: BankTransaction | None = None, cash: CashPayment | None = None,
             request_id: int | None = None, decision_id: int | None = None, portal: bool = False,
             note: str | None = None) -> Allocation:
    """Assign ``amount`` of a payment (``transaction`` or ``cash``) to a dossier (through
    ``request_id`` when given). Flushes; the caller commits."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("an allocation is a positive whole number of đồng", code=Refusal.NOT_A_POSITIVE_AMOUNT)
    if (transaction is None) == (cash is None):
        raise ValueError("allocate one payment: a bank transaction or a cash payment")
    if transaction is not None:
        if transaction.direction != "in":
            raise Conflict("money out is never allocated to a dossier", code=Refusal.MONEY_OUT)
        if transaction.account_id is None:
            raise Conflict(f"account {transaction.account_number} is not one of ours: its money cannot pay a dossier",
                           code=Refusal.NOT_OUR_ACCOUNT, params={"account": transaction.account_number})
        ensure_day_open(session, transaction)
        if transaction.allocated + amount > transaction.amount:
            raise Conflict(f"the transaction has {transaction.amount - transaction.allocated} đ left to allocate, "
                           f"not {amount} đ", code=Refusal.OVER_ALLOCATION,
                           params={"total": amount, "left": transaction.amount - transaction.allocated})
    dossier = lock_dossier(session, dossier_id)
    request = lock_request(session, request_id) if request_id is not None else None
    if request is not None and request.dossier_id != dossier.id:
        raise ValidationError(f"payment request {request.reference} is not one of dossier {dossier.code}'s",
                              code=Refusal.REQUEST_OF_ANOTHER_DOSSIER,
                              params={"reference": request.reference, "dossier": dossier.code})
    channel = payment_channel_for(dossier, transaction, cash=cash is not None, portal=portal)
    allocation = Allocation(transaction_id=transaction.id if transaction else None,
                            cash_payment_id=cash.id if cash else None, dossier_id=dossier.id,
                            payment_request_id=request.id if request else None, amount=amount,
                            payment_channel=channel, decision_id=decision_id, rule=rule, confidence=confidence,
                            created_at=utcnow(), created_by=actor)
    session.add(allocation)
    if transaction is not None:
        transaction.allocated += amount
        transaction.status = transaction_status(transaction)
    before = payment_status(dossier)
    dossier.amount_paid += amount
    after = payment_status(dossier)
    if request is not None:
        previous = request.status
        request.amount_paid += amount
        request.status = request_status(request)
        _request_event(request, actor, "payment", previous, note,
                       {"amount": amount, "allocation_rule": rule, "channel": channel,
                        "transaction_ref": transaction.bank_ref if transaction else None,
                        "cash_receipt": cash.receipt_number if cash else None})
        if rules.settles_part_payment(request.status):
            resolve_open_for_request(session, request.id, ("amount_mismatch",), actor, rules.PART_PAYMENT_SETTLED)
    session.flush()
    _after_payment_change(session, dossier, request, before, after,
                          {"payment": _payment_json(allocation, transaction, cash)})
    audit.record(session, actor, "allocation.created", "allocation", allocation.id,
                 {"dossier": dossier.code, "request": request.reference if request else None, "amount": amount,
                  "transaction_id": transaction.id if transaction else None,
                  "cash_payment_id": cash.id if cash else None, "rule": rule, "confidence": confidence,
                  "channel": channel})
    return allocation


def _payment_json(allocation: Allocation, transaction: BankTransaction | None, cash: CashPayment | None) -> dict:
    from core.clock import isoformat_ict

    return {"amount": allocation.amount, "payment_channel": allocation.payment_channel,
            "channel": (transaction.first_channel if transaction else "cash"),
            "transaction_ref": transaction.bank_ref if transaction else None,
            "cash_receipt": cash.receipt_number if cash else None,
            "received_at": isoformat_ict(transaction.booked_at if transaction else cash.received_at)}


def _after_payment_change(session: Session, dossier: Dossier, request: PaymentRequest | None, before: str, after: str,
                          data: dict, *, reversal: bool = False) -> None:
    """Receipts and outbound events follow a change of what a dossier has paid."""
    from payments.receipts import cancel_receipts, issue_receipts

    newly_paid = rules.became_paid(before, after)
    if newly_paid:
        channels = [a.payment_channel for a in active_allocations(session, dossier_id=dossier.id)]
        issue_receipts(session, dossier, actor="system", payment_channel=rules.receipt_channel(channels))
    elif rules.became_unpaid(before, after):
        cancel_receipts(session, dossier, reason="Khoản thanh toán bị hoàn trả (payment reversed)", actor="system")
    event = rules.event_for_change(request.status if request is not None else None, after, reversal=reversal)
    if event is not None:
        emit(session, event, dossier, request=request, data=data)
    if newly_paid:
        _cancel_stale_requests(session, dossier, keep=request)


def _cancel_stale_requests(session: Session, dossier: Dossier, keep: PaymentRequest | None) -> None:
    from payments.requests import cancel_request

    by_id = {r.id: r for r in dossier.payment_requests}
    for request_id in rules.requests_to_cancel([(r.id, r.status) for r in by_id.values()],
                                               [keep.id] if keep is not None else []):
        cancel_request(session, by_id[request_id], rules.STALE_REASON, "system")


def reverse(session: Session, allocation: Allocation, actor: str, reason: str) -> None:
    """Undo an allocation (an unmatch by a person, or a reversal on the statement): the money
    is no longer the dossier's, and its request is open again for what is missing."""
    if allocation.reversed_at is not None:
        raise Conflict(f"allocation {allocation.id} was already reversed", code=Refusal.ALREADY_REVERSED)
    if not reason or not reason.strip():
        raise ValidationError("say why the allocation is undone", code=Refusal.REASON_REQUIRED, params={"act": "undo"})
    transaction = lock_transaction(session, allocation.transaction_id) if allocation.transaction_id else None
    if transaction is not None:
        ensure_day_open(session, transaction)
    dossier = lock_dossier(session, allocation.dossier_id)
    request = lock_request(session, allocation.payment_request_id) if allocation.payment_request_id else None
    allocation.reversed_at = utcnow()
    allocation.reversed_by = actor
    allocation.reverse_reason = reason.strip()[:2000]
    if transaction is not None:
        transaction.allocated -= allocation.amount
        transaction.status = transaction_status(transaction)
    before = payment_status(dossier)
    dossier.amount_paid -= allocation.amount
    after = payment_status(dossier)
    if request is not None:
        previous = request.status
        request.amount_paid -= allocation.amount
        request.status = request_status(request)
        _request_event(request, actor, "payment_reversed", previous, reason.strip()[:500],
                       {"amount": allocation.amount, "allocation_id": allocation.id})
    session.flush()
    _after_payment_change(session, dossier, request, before, after,
                          {"reversed": {"allocation_id": allocation.id, "amount": allocation.amount,
                                        "reason": allocation.reverse_reason}}, reversal=True)
    audit.record(session, actor, "allocation.reversed", "allocation", allocation.id,
                 {"dossier": dossier.code, "amount": allocation.amount, "reason": allocation.reverse_reason})


def active_allocations(session: Session, *, transaction_id: int | None = None,
                       dossier_id: int | None = None) -> list[Allocation]:
    query = select(Allocation).where(Allocation.reversed_at.is_(None))
    if transaction_id is not None:
        query = query.where(Allocation.transaction_id == transaction_id)
    if dossier_id is not None:
        query = query.where(Allocation.dossier_id == dossier_id)
    return list(session.scalars(query.order_by(Allocation.id)))
