"""The reads behind the finance pages: the exceptions queue, transaction search, one
transaction with everything that happened to it, the day view, past statement imports,
refunds and the outbound events' log. Plain functions of a session (no Flask), each one
query or a few; they change nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from core.clock import ict_day, ict_day_bounds, utcnow
from core.collation import sort_key
from payments.models import Agency, CollectionAccount, Dossier, PaymentRequest
from qr.text import search_key

from reconciliation.workflow.close import blocking_items, day_figures, statements_for
from reconciliation.web.finance_forms import QueueFilters, TransactionFilters
from reconciliation.models import (Allocation, BankTransaction, CashPayment, DailyClose, MatchDecision, OutboxDelivery, OutboxEvent,
                     ReconException, Refund, Statement, StatementImport, StatementLine)
from reconciliation.workflow.refunds import refundable_from_dossier, refundable_from_transaction
from reconciliation.inbound.statement_import import ImportSummary, SectionSummary

PER_PAGE = 50


# --- pages of a list ---------------------------------------------------------------------------


@dataclass
class Page:
    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total)


def paginate(session: Session, query: Select, number: int, per_page: int | None = None) -> Page:
    """One page of ``query`` (ordered), its rows as tuples, with the total count."""
    per_page = per_page or PER_PAGE
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = min(max(number, 1), max(1, ceil(total / per_page)))
    rows = session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page([tuple(r) for r in rows], number, per_page, total)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(text: str, *columns):
    """``text`` in any of ``columns``, as typed or with diacritics, case and spacing ignored
    ("Lê Minh  Châu" finds a bank's "LE MINH CHAU"): its words in order, anything between."""
    words = search_key(text).split()
    loose = "%" + "%".join(_like(w)[1:-1] for w in words) + "%" if words else None
    conditions = []
    for column in columns:
        conditions.append(column.ilike(_like(text), escape="\\"))
        if loose:
            conditions.append(column.ilike(loose, escape="\\"))
    return or_(*conditions)


def accounts(session: Session) -> list[CollectionAccount]:
    """Every collection account, by agency name in Vietnamese order."""
    rows = session.execute(select(CollectionAccount, Agency.name).join(Agency, CollectionAccount.agency_id == Agency.id)
                           .order_by(CollectionAccount.number)).all()
    return [account for account, _ in sorted(rows, key=lambda row: sort_key(row[1]))]


# --- the exceptions queue ----------------------------------------------------------------------


@dataclass
class QueueRow:
    item: ReconException
    transaction: BankTransaction | None
    dossier_code: str | None
    account_number: str | None
    age_days: int
    overdue: bool


def _age_bounds(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=1), now - timedelta(days=3)


def _queue_query(f: QueueFilters, now: datetime) -> Select:
    t = BankTransaction
    query = (select(ReconException, t, Dossier.code, CollectionAccount.number)
             .outerjoin(t, ReconException.transaction_id == t.id)
             .outerjoin(Dossier, ReconException.dossier_id == Dossier.id)
             .outerjoin(CollectionAccount, ReconException.account_id == CollectionAccount.id))
    if f.status != "all":
        query = query.where(ReconException.status == f.status)
    if f.reason:
        query = query.where(ReconException.reason == f.reason)
    if f.account:
        query = query.where(or_(t.account_number == f.account, CollectionAccount.number == f.account))
    if f.amount is not None:
        query = query.where(or_(t.amount == f.amount, ReconException.amount == f.amount))
    if f.day_from:
        start = ict_day_bounds(f.day_from)[0]
        query = query.where(or_(t.booked_on >= f.day_from, and_(t.id.is_(None), ReconException.created_at >= start)))
    if f.day_to:
        end = ict_day_bounds(f.day_to)[1]
        query = query.where(or_(t.booked_on <= f.day_to, and_(t.id.is_(None), ReconException.created_at < end)))
    if f.content:  # a citizen's inquiry has no transaction: its detail says what they paid
        query = query.where(_matches(f.content, t.content, t.bank_ref, ReconException.detail))
    if f.payer:
        query = query.where(_matches(f.payer, t.counter_name, t.counter_account))
    if f.owner == "-":
        query = query.where(ReconException.owner.is_(None))
    elif f.owner:
        query = query.where(ReconException.owner == f.owner)
    one_day, three_days = _age_bounds(now)
    if f.age == "new":
        query = query.where(ReconException.created_at >= one_day)
    elif f.age == "1-3":
        query = query.where(ReconException.created_at < one_day, ReconException.created_at >= three_days)
    elif f.age == "3+":
        query = query.where(ReconException.created_at < three_days)
    if f.overdue:
        query = query.where(ReconException.status == "open", ReconException.deadline < ict_day(now))
    if f.status == "open":
        return query.order_by(ReconException.deadline.asc().nulls_last(), ReconException.created_at,
                              ReconException.id)
    return query.order_by(ReconException.created_at.desc(), ReconException.id.desc())


def exception_queue(session: Session, f: QueueFilters, number: int, *, now: datetime | None = None) -> Page:
    now = now or utcnow()
    today = ict_day(now)
    page = paginate(session, _queue_query(f, now), number)
    page.items = [QueueRow(item, transaction, code, transaction.account_number if transaction else account,
                           max((now - item.created_at).days, 0),
                           item.status == "open" and item.deadline is not None and item.deadline < today)
                  for item, transaction, code, account in page.items]
    return page


@dataclass
class ReasonCount:
    reason: str
    count: int
    amount: int
    oldest: datetime | None
    overdue: int


@dataclass
class QueueSummary:
    reasons: list[ReasonCount]
    total: int
    new: int
    one_to_three: int
    older: int
    overdue: int
    unassigned: int


def queue_summary(session: Session, *, now: datetime | None = None) -> QueueSummary:
    """The open queue by reason and by age."""
    now = now or utcnow()
    today = ict_day(now)
    late = case((ReconException.deadline < today, 1), else_=0)
    # The money concerned: what the item holds (an excess, a missing line), else the transfer it
    # is about (a wrong amount holds nothing: all of it paid the dossier, yet all of it is in question).
    concerned = case((ReconException.amount > 0, ReconException.amount), else_=func.coalesce(BankTransaction.amount, 0))
    amount = func.coalesce(func.sum(concerned), 0)
    rows = session.execute(select(ReconException.reason, func.count(), amount, func.min(ReconException.created_at),
                                  func.sum(late))
                           .outerjoin(BankTransaction, BankTransaction.id == ReconException.transaction_id)
                           .where(ReconException.status == "open").group_by(ReconException.reason)
                           .order_by(func.count().desc(), ReconException.reason)).all()
    one_day, three_days = _age_bounds(now)
    ages = session.execute(select(
        func.count(),
        func.sum(case((ReconException.created_at >= one_day, 1), else_=0)),
        func.sum(case((and_(ReconException.created_at < one_day, ReconException.created_at >= three_days), 1),
                      else_=0)),
        func.sum(case((ReconException.created_at < three_days, 1), else_=0)),
        func.sum(late),
        func.sum(case((ReconException.owner.is_(None), 1), else_=0)),
    ).where(ReconException.status == "open")).one()
    reasons = [ReasonCount(reason, count, int(amount or 0), oldest, int(overdue or 0))
               for reason, count, amount, oldest, overdue in rows]
    total, new, middle, older, overdue, unassigned = (int(v or 0) for v in ages)
    return QueueSummary(reasons, total, new, middle, older, overdue, unassigned)


def next_open_exception(session: Session, after_id: int) -> int | None:
    """The next item of the open queue (in its order) after the one being looked at."""
    current = session.get(ReconException, after_id)
    if current is None:
        return None
    ids = session.scalars(select(ReconException.id).where(ReconException.status == "open",
                                                          ReconException.id != after_id)
                          .order_by(ReconException.deadline.asc().nulls_last(), ReconException.created_at,
                                    ReconException.id).limit(1)).all()
    return ids[0] if ids else None


# --- transactions -------------------------------------------------------------------------------


def search_transactions(session: Session, f: TransactionFilters, number: int) -> Page:
    t = BankTransaction
    query = select(t)
    if f.account:
        query = query.where(t.account_number == f.account)
    if f.day_from:
        query = query.where(t.booked_on >= f.day_from)
    if f.day_to:
        query = query.where(t.booked_on <= f.day_to)
    if f.amount is not None:
        query = query.where(t.amount == f.amount)
    if f.content:
        query = query.where(_matches(f.content, t.content, t.bank_ref))
    if f.payer:
        query = query.where(_matches(f.payer, t.counter_name, t.counter_account))
    if f.status == "not_ours":
        query = query.where(t.disposition == "not_ours")
    elif f.status:
        query = query.where(t.status == f.status, or_(t.disposition.is_(None), t.disposition != "not_ours"))
    if f.direction:
        query = query.where(t.direction == f.direction)
    page = paginate(session, query.order_by(t.booked_at.desc(), t.id.desc()), number)
    page.items = [row[0] for row in page.items]
    return page


@dataclass
class AllocationRow:
    allocation: Allocation
    dossier_code: str
    reference: str | None


@dataclass
class TransactionFacts:
    transaction: BankTransaction
    account: CollectionAccount | None
    allocations: list[AllocationRow]
    decisions: list[MatchDecision]
    exceptions: list[ReconException]
    refunds: list[Refund]
    statement_ids: list[int]
    refundable: int
    day_closed: bool

    @property
    def left(self) -> int:
        return self.transaction.amount - self.transaction.allocated

    @property
    def active_allocations(self) -> list[AllocationRow]:
        return [a for a in self.allocations if a.allocation.reversed_at is None]


def transaction_facts(session: Session, transaction_id: int) -> TransactionFacts | None:
    transaction = session.get(BankTransaction, transaction_id)
    if transaction is None:
        return None
    account = session.get(CollectionAccount, transaction.account_id) if transaction.account_id else None
    allocations = [AllocationRow(a, code, ref) for a, code, ref in session.execute(
        select(Allocation, Dossier.code, PaymentRequest.reference)
        .join(Dossier, Allocation.dossier_id == Dossier.id)
        .outerjoin(PaymentRequest, Allocation.payment_request_id == PaymentRequest.id)
        .where(Allocation.transaction_id == transaction.id).order_by(Allocation.id)).all()]
    decisions = list(session.scalars(select(MatchDecision).where(MatchDecision.transaction_id == transaction.id)
                                     .order_by(MatchDecision.id)))
    exceptions = list(session.scalars(select(ReconException).where(ReconException.transaction_id == transaction.id)
                                      .order_by(ReconException.id)))
    refunds = list(session.scalars(select(Refund).where(Refund.transaction_id == transaction.id)
                                   .order_by(Refund.id)))
    statement_ids = list(session.scalars(select(StatementLine.statement_id).where(
        StatementLine.transaction_id == transaction.id).distinct()))
    closed = transaction.account_id is not None and session.scalar(select(DailyClose.id).where(
        DailyClose.account_id == transaction.account_id, DailyClose.day == transaction.booked_on,
        DailyClose.status == "closed")) is not None
    refundable = refundable_from_transaction(session, transaction) if transaction.direction == "in" else 0
    return TransactionFacts(transaction, account, allocations, decisions, exceptions, refunds, statement_ids,
                            refundable, closed)


def day_is_closed(session: Session, transaction_id: int) -> bool:
    transaction = session.get(BankTransaction, transaction_id)
    if transaction is None or transaction.account_id is None:
        return False
    return session.scalar(select(DailyClose.id).where(
        DailyClose.account_id == transaction.account_id, DailyClose.day == transaction.booked_on,
        DailyClose.status == "closed")) is not None


# --- suggestions, with what applying one would do ----------------------------------------------------


@dataclass
class SuggestionView:
    rank: int
    rule: str
    confidence: float
    dossier: Dossier | None
    request: PaymentRequest | None
    reference: str | None
    proposed: int  # what applying it allocates: the suggestion's amount, within what is left

    @property
    def target(self) -> str:
        return self.reference or (self.dossier.code if self.dossier else "")

    @property
    def dossier_remaining(self) -> int:
        return max(self.dossier.amount_due - self.dossier.amount_paid, 0) if self.dossier else 0


def suggestions_for(session: Session, item: ReconException, left: int) -> list[SuggestionView]:
    """The exception's suggestions, best first, each with the dossier and request as they are now."""
    views = []
    ranked = sorted(item.suggestions or [], key=lambda s: -(s.get("confidence") or 0))
    for rank, raw in enumerate(ranked, start=1):
        dossier = session.get(Dossier, raw["dossier_id"]) if raw.get("dossier_id") else None
        request = session.get(PaymentRequest, raw["request_id"]) if raw.get("request_id") else None
        if dossier is None and raw.get("dossier_code"):
            dossier = session.scalar(select(Dossier).where(Dossier.code == raw["dossier_code"]))
        remaining = max(dossier.amount_due - dossier.amount_paid, 0) if dossier else 0
        amount = raw.get("amount") if isinstance(raw.get("amount"), int) else (remaining or left)
        proposed = max(min(amount, left), 0)
        views.append(SuggestionView(rank, raw.get("rule", ""), float(raw.get("confidence") or 0), dossier, request,
                                    raw.get("reference") or (request.reference if request else None), proposed))
    return views


@dataclass
class Target:
    """What a typed code names, for the confirmation of a manual match."""

    text: str
    amount: int
    dossier: Dossier | None
    request: PaymentRequest | None


def resolve_targets(session: Session, parts: list) -> list[Target]:
    from payments.dossiers import find_dossier

    targets = []
    for part in parts:
        request = dossier = None
        if part.reference:
            request = session.scalar(select(PaymentRequest).where(PaymentRequest.reference == part.reference))
            dossier = request.dossier if request else None
        elif part.dossier_code:
            dossier = find_dossier(session, part.dossier_code)
        targets.append(Target(part.reference or part.dossier_code or "", part.amount, dossier, request))
    return targets


def dossier_refund_source(session: Session, item: ReconException | None) -> tuple[Dossier | None, int]:
    """The dossier whose excess an exception is about (overpaid, duplicate), and how much of it
    may still be refunded."""
    if item is None or item.dossier_id is None or item.reason not in ("overpaid", "duplicate_payment"):
        return None, 0
    dossier = session.get(Dossier, item.dossier_id)
    return dossier, refundable_from_dossier(session, dossier) if dossier else 0


# --- the day view --------------------------------------------------------------------------------


@dataclass
class DayView:
    account: CollectionAccount
    day: date
    record: DailyClose | None
    statements: list[Statement]
    figures: dict[str, Any]
    blocking: list[str]
    open_items: list[tuple[ReconException, BankTransaction]]
    cash: list[tuple[CashPayment, str]]
    statement_side: dict[str, int]

    @property
    def status(self) -> str:
        return self.record.status if self.record else "open"

    @property
    def held(self) -> list[tuple[ReconException, BankTransaction]]:
        """Money reported after the day was closed as booked on it, held out of it."""
        return [(e, t) for e, t in self.open_items if e.reason == "booked_on_closed_day"]

    @property
    def changed_after_closing(self) -> bool:
        return self.status == "closed" and bool(self.held)


def day_view(session: Session, account: CollectionAccount, day: date) -> DayView:
    """The day as it stands now (computed, not the figures of the last run)."""
    record = session.scalar(select(DailyClose).where(DailyClose.account_id == account.id, DailyClose.day == day))
    statements = statements_for(session, account, day)
    figures = day_figures(session, account, day, statements)
    if record is not None and record.status == "closed" and record.figures:
        figures = {**figures, **{k: v for k, v in record.figures.items() if k != "audit_head"}}
    blocking = [] if record is not None and record.status == "closed" else \
        blocking_items(session, account, day, statements)
    t = BankTransaction
    open_items = [(e, tr) for e, tr in session.execute(
        select(ReconException, t).join(t, ReconException.transaction_id == t.id)
        .where(t.account_number == account.number, t.booked_on == day, ReconException.status == "open")
        .order_by(ReconException.id)).all()]
    cash = [(c, code) for c, code in session.execute(
        select(CashPayment, Dossier.code).join(Dossier, CashPayment.dossier_id == Dossier.id)
        .where(CashPayment.agency_id == account.agency_id, CashPayment.received_on == day)
        .order_by(CashPayment.received_at)).all()]
    side = {"matched_count": 0, "matched_sum": 0, "unmatched_count": 0, "unmatched_sum": 0}
    ids = [s.id for s in statements]
    if ids:
        line = StatementLine
        rows = session.execute(select(t.status, func.count(), func.coalesce(func.sum(line.amount), 0))
                               .join(t, line.transaction_id == t.id)
                               .where(line.statement_id.in_(ids), line.booking_date == day, line.pending.is_(False),
                                      line.direction == "in")
                               .group_by(t.status)).all()
        for status, count, total in rows:
            key = "matched" if status in ("matched", "partially_matched") else "unmatched"
            side[f"{key}_count"] += count
            side[f"{key}_sum"] += int(total or 0)
    return DayView(account, day, record, statements, figures, blocking, open_items, cash, side)


def recent_closes(session: Session, limit: int = 30) -> list[tuple[DailyClose, CollectionAccount]]:
    return [(c, a) for c, a in session.execute(
        select(DailyClose, CollectionAccount).join(CollectionAccount, DailyClose.account_id == CollectionAccount.id)
        .order_by(DailyClose.day.desc(), DailyClose.id.desc()).limit(limit)).all()]


def active_days(session: Session, account: CollectionAccount, limit: int = 14) -> list[tuple[date, int, int]]:
    """The latest days with money on the account: (day, credits, their sum)."""
    t = BankTransaction
    rows = session.execute(select(t.booked_on, func.count(), func.coalesce(func.sum(t.amount), 0))
                           .where(t.account_number == account.number, t.direction == "in")
                           .group_by(t.booked_on).order_by(t.booked_on.desc()).limit(limit)).all()
    return [(d, c, int(s or 0)) for d, c, s in rows]


# --- statement imports -------------------------------------------------------------------------------


def imports_page(session: Session, number: int) -> Page:
    page = paginate(session, select(StatementImport).where(StatementImport.status == "done")
                    .order_by(StatementImport.imported_at.desc(), StatementImport.id.desc()), number)
    page.items = [row[0] for row in page.items]
    return page


def unfinished_imports(session: Session, limit: int = 20) -> list[StatementImport]:
    """Imports that stopped half-way (``failed``, or still ``importing``): the same file again
    resumes each."""
    return list(session.scalars(select(StatementImport).where(StatementImport.status != "done")
                                .order_by(StatementImport.imported_at.desc()).limit(limit)))


def import_summary(session: Session, record: StatementImport) -> ImportSummary:
    """A past import told the way ``import_statement`` tells a new one (for ``reconciliation.api.schemas.StatementImport``)."""
    counts: dict[int, dict[bool, int]] = {}
    ids = [s.id for s in record.statements]
    if ids:
        for statement_id, is_new, count in session.execute(
                select(StatementLine.statement_id, StatementLine.is_new, func.count())
                .where(StatementLine.statement_id.in_(ids))
                .group_by(StatementLine.statement_id, StatementLine.is_new)).all():
            counts.setdefault(statement_id, {})[bool(is_new)] = count
    summary = ImportSummary(record.id, record.format, False, record.entries, record.new_transactions,
                            record.known_transactions, record.balance_ok)
    for s in record.statements:
        summary.sections.append(SectionSummary(s.id, s.account_number, s.period_start, s.period_end, s.entries,
                                               counts.get(s.id, {}).get(True, 0), counts.get(s.id, {}).get(False, 0),
                                               s.balance_ok, s.balance_message, s.continuity_ok))
    return summary


# --- refunds -----------------------------------------------------------------------------------------


@dataclass
class RefundRow:
    refund: Refund
    bank_ref: str | None
    dossier_code: str | None


def refunds_page(session: Session, status: str, number: int) -> Page:
    query = (select(Refund, BankTransaction.bank_ref, Dossier.code)
             .outerjoin(BankTransaction, Refund.transaction_id == BankTransaction.id)
             .outerjoin(Dossier, Refund.dossier_id == Dossier.id))
    if status != "all":
        query = query.where(Refund.status == status)
    page = paginate(session, query.order_by(Refund.requested_at.desc(), Refund.id.desc()), number)
    page.items = [RefundRow(*row) for row in page.items]
    return page


def refund_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Refund.status, func.count()).group_by(Refund.status)).all())


@dataclass
class RefundSource:
    transaction: BankTransaction | None
    dossier: Dossier | None
    available: int
    payer_bank: str = ""
    payer_account: str = ""
    payer_name: str = ""


def refund_source(session: Session, *, transaction_id: int | None, dossier_id: int | None,
                  exception: ReconException | None = None) -> RefundSource | None:
    """Where a refund's money comes from, how much may still be refunded, and who paid it
    (the account it most likely goes back to)."""
    transaction = dossier = None
    if dossier_id is not None:
        dossier = session.get(Dossier, dossier_id)
        if dossier is None:
            return None
        available = refundable_from_dossier(session, dossier)
        payer_id = exception.transaction_id if exception is not None else None
        if payer_id is None:
            payer_id = session.scalar(select(Allocation.transaction_id).where(
                Allocation.dossier_id == dossier.id, Allocation.transaction_id.is_not(None))
                .order_by(Allocation.id.desc()).limit(1))
        payer = session.get(BankTransaction, payer_id) if payer_id else None
    elif transaction_id is not None:
        transaction = session.get(BankTransaction, transaction_id)
        if transaction is None:
            return None
        available = refundable_from_transaction(session, transaction) if transaction.direction == "in" else 0
        payer = transaction
    else:
        return None
    source = RefundSource(transaction, dossier, available)
    if payer is not None:
        from qr.banks import lookup

        bank = lookup(payer.counter_bank or "") if payer.counter_bank else None
        source.payer_bank = bank.bin if bank else ""
        source.payer_account = (payer.counter_account or "")[:34]
        source.payer_name = payer.counter_name or ""
    return source


# --- outbound events ---------------------------------------------------------------------------------


@dataclass
class EventRow:
    event: OutboxEvent
    deliveries: list[OutboxDelivery] = field(default_factory=list)


def events_page(session: Session, status: str, number: int) -> Page:
    query = select(OutboxEvent)
    if status in ("pending", "delivered", "dead"):
        query = query.where(OutboxEvent.status == status)
    page = paginate(session, query.order_by(OutboxEvent.id.desc()), number)
    events = [row[0] for row in page.items]
    logs: dict[int, list[OutboxDelivery]] = {}
    if events:
        for log in session.scalars(select(OutboxDelivery).where(OutboxDelivery.event_id.in_([e.id for e in events]))
                                   .order_by(OutboxDelivery.id.desc())):
            logs.setdefault(log.event_id, []).append(log)
    page.items = [EventRow(e, logs.get(e.id, [])) for e in events]
    return page


def event_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all())
