"""One payment at a time: a person's match, cash at the counter, the portal's confirmation,
an unmatch, a bank's reversal.

``allocate`` and ``reverse`` check what only a single act can be refused for (a closed day,
money out, an account not ours, more than is left, a request of another dossier), lock the
rows, and hand a plan of one to the one writer (``writer.apply``), which writes every
consequence exactly as it does for a statement's thousands: the allocation, the sums and
states with their history, receipts, the outbound event, stale requests, and one audit
record per change naming the rule or the person. The rows are locked first (``FOR UPDATE``
on PostgreSQL; SQLite serialises writers at ``BEGIN IMMEDIATE``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, ValidationError
from core.refusals import Refusal
from payments import money_rules as rules
from payments.models import Dossier, PaymentRequest
from payments.money_rules import payment_channel

from reconciliation.matching.writer import CashRow, DossierRow, State, apply, transaction_row
from reconciliation.models import Allocation, BankTransaction, CashPayment, DailyClose


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


def _plan_state(session: Session, dossier_id: int) -> tuple[State, DossierRow]:
    """The dossier and its requests, locked, for a plan of one. What the caller changed is
    flushed first: the writer reads and writes with plain SQL."""
    session.flush()
    state = State(session, utcnow())
    state.load(dossier_ids=[dossier_id])
    return state, state.dossiers[dossier_id]


def allocate(session: Session, *, dossier_id: int, amount: int, actor: str, rule: str, confidence: float = 1.0,
             transaction: BankTransaction | None = None, cash: CashPayment | None = None,
             request_id: int | None = None, decision_id: int | None = None, portal: bool = False,
             note: str | None = None) -> Allocation:
    """Assign ``amount`` of a payment (``transaction`` or ``cash``) to a dossier (through
    ``request_id`` when given): a plan of one, written by ``writer.apply``. The session's
    objects are expired afterwards (the writer wrote with SQL). The caller commits."""
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
    source = transaction_row(transaction) if transaction is not None else None
    cash_row = CashRow(cash.id, cash.receipt_number, cash.received_at, cash.paper_series is not None) \
        if cash is not None else None
    state, dossier = _plan_state(session, dossier_id)
    request = None
    if request_id is not None:
        request = state.requests_by_id.get(request_id)
        if request is None:
            other = session.get(PaymentRequest, request_id)
            raise ValidationError(f"payment request {other.reference if other else request_id} is not one of "
                                  f"dossier {dossier.code}'s", code=Refusal.REQUEST_OF_ANOTHER_DOSSIER,
                                  params={"reference": other.reference if other else str(request_id),
                                          "dossier": dossier.code})
    channel = rules.payment_channel(source.channels.split(",") if source and source.channels else (),
                                    dossier.channel, cash=cash is not None, portal=portal)
    entry = state.pay(dossier=dossier, request=request, amount=amount, channel=channel, rule=rule, actor=actor,
                      transaction=source, cash=cash_row, confidence=confidence, decision_id=decision_id, note=note)
    written = apply(session, state, [entry], actor=actor, audit_each=True)
    session.expire_all()
    return session.get(Allocation, written.allocation_ids[0])


def reverse(session: Session, allocation: Allocation, actor: str, reason: str) -> None:
    """Undo an allocation (an unmatch by a person, or a reversal on the statement): the money
    is no longer the dossier's, and its request is open again for what is missing. A plan
    of one, written by ``writer.apply``; the session's objects are expired afterwards."""
    if allocation.reversed_at is not None:
        raise Conflict(f"allocation {allocation.id} was already reversed", code=Refusal.ALREADY_REVERSED)
    if not reason or not reason.strip():
        raise ValidationError("say why the allocation is undone", code=Refusal.REASON_REQUIRED, params={"act": "undo"})
    transaction = lock_transaction(session, allocation.transaction_id) if allocation.transaction_id else None
    if transaction is not None:
        ensure_day_open(session, transaction)
    source = transaction_row(transaction) if transaction is not None else None
    allocation_id, amount, request_id = allocation.id, allocation.amount, allocation.payment_request_id
    state, dossier = _plan_state(session, allocation.dossier_id)
    entry = state.unpay(allocation_id=allocation_id, dossier=dossier,
                        request=state.requests_by_id.get(request_id) if request_id is not None else None,
                        amount=amount, transaction=source, actor=actor, reason=reason.strip()[:2000])
    apply(session, state, [], [entry], actor=actor, audit_each=True)
    session.expire_all()


def active_allocations(session: Session, *, transaction_id: int | None = None,
                       dossier_id: int | None = None) -> list[Allocation]:
    query = select(Allocation).where(Allocation.reversed_at.is_(None))
    if transaction_id is not None:
        query = query.where(Allocation.transaction_id == transaction_id)
    if dossier_id is not None:
        query = query.where(Allocation.dossier_id == dossier_id)
    return list(session.scalars(query.order_by(Allocation.id)))
