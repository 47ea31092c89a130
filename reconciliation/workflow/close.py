"""The statement run and the daily close, per collection account and Indochina day.

``run_day`` takes one account's day through these steps, each idempotent (it picks up only
what earlier runs have not handled), so an interrupted run resumes by running again:

1. ``statement``: the bank's statement covering the day (lines were linked to transactions,
   or created them, when it was imported).
2. ``missing_callback``: transactions only the statement announced are matched now; one
   left unmatched opens a ``missing_callback`` item (a matched one needs none).
3. ``reversals``: a reversal on the statement undoes the allocation of what it reverses and
   reopens its request.
4. ``missing_from_statement``: callbacks the statement does not show (a forged or reversed
   transfer, or a bank's mistake) are flagged. A credit after the bank's cut-off (22:40) is
   posted the next day, so it is carried over to the next day's statement instead.
5. ``balance``: the statement's balance proof and its continuity with the previous one.
6. ``close``: when nothing blocks, the day is closed; a closed day is immutable (allocations
   of its transactions are refused) until a finance officer reopens it with a reason.

Closing means closed. A day closes only once it has ended in Indochina time and a statement
covers it to its end (one whose period runs past the day, or that was imported after the day
ended). Money reported afterwards as booked on a closed day is never allocated into it: the
matcher holds it (``booked_on_closed_day`` in the queue) and the day shows as changed after
closing, until a recorded reopen and the next run put it in (step 2).

``dry_run=True`` runs every step and reports, then rolls everything back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import ICT, to_ict, utcnow
from core.errors import Conflict, FieldError, ValidationError
from core.refusals import Refusal
from payments.models import CollectionAccount

from reconciliation.matching.allocation import active_allocations, reverse
from reconciliation.matching.cash import cash_totals
from reconciliation.workflow.exceptions import open_exception, resolve
from reconciliation.models import (BankTransaction, DailyClose, MatchDecision, ReconException, Statement, StatementImport,
                     StatementLine)
from reconciliation.matching.bulk import match_many
from reconciliation.matching.reconcile import record_decision
from reconciliation.matching.matcher import Decision

CUTOFF = time(22, 40)  # interbank credits sent after this are posted the next day (DOMAIN.md)
STEPS = ("statement", "missing_callback", "reversals", "missing_from_statement", "balance", "close")
BLOCKING_REASONS = ("missing_from_statement", "conflicting_report", "unlinked_reversal", "balance_mismatch")


@dataclass(frozen=True)
class Action:
    """One thing a run did (or, dry, would do): ``kind`` is ``missing_callback`` (``count``
    transfers only the statement shows went through the matcher, ``outcomes`` says how they
    came out), ``reversal`` (``ref`` undid ``count`` allocations of ``original``),
    ``unlinked_reversal`` (``ref``), ``missing_from_statement`` (``ref``) or ``closed``. Pages
    label it (``finance_labels.run_action_label``); ``str()`` is the English line of the CLI."""

    kind: str
    ref: str | None = None
    count: int = 0
    original: str | None = None
    outcomes: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        if self.kind == "released":
            return f"released: {self.count} transfer(s) held while the day was closed went through matching"
        if self.kind == "missing_callback":
            return (f"missing_callback: {self.count} transfer(s) only the statement shows: "
                    + ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes))
        if self.kind == "reversal":
            return f"reversal {self.ref} undid {self.count} allocation(s) of {self.original}"
        if self.kind == "unlinked_reversal":
            return f"unlinked reversal {self.ref}"
        if self.kind == "missing_from_statement":
            return f"missing_from_statement {self.ref}"
        return self.kind


@dataclass
class DayResult:
    account: str
    day: date
    status: str
    dry_run: bool
    figures: dict[str, Any]
    blocking: list[Blocking]
    actions: list[Action] = field(default_factory=list)

    @property
    def closes(self) -> bool:
        return any(a.kind == "closed" for a in self.actions)


def get_close(session: Session, account_id: int, day: date, *, create: bool = True) -> DailyClose | None:
    query = select(DailyClose).where(DailyClose.account_id == account_id, DailyClose.day == day)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    close = session.scalar(query)
    if close is None and create:
        close = DailyClose(account_id=account_id, day=day, status="open", figures={}, blocking=[])
        session.add(close)
        session.flush()
    return close


def statements_for(session: Session, account: CollectionAccount, day: date) -> list[Statement]:
    """The imported statements of the account that cover ``day`` (by period, or by a line on it)."""
    by_period = select(Statement).join(StatementImport, Statement.import_id == StatementImport.id).where(
        Statement.account_number == account.number, StatementImport.status == "done",
        or_(and_(Statement.period_start <= day, Statement.period_end >= day),
            exists().where(StatementLine.statement_id == Statement.id, StatementLine.booking_date == day)))
    return list(session.scalars(by_period.order_by(Statement.id)))


def _late(transaction: BankTransaction) -> bool:
    local = to_ict(transaction.booked_at)
    return local.time() >= CUTOFF and local.date() == transaction.booked_on


def run_day(session: Session, account: CollectionAccount, day: date, actor: str, *, dry_run: bool = False,
            close: bool = True) -> DayResult:
    """Run the steps above for one account's day. Commits (or rolls back on a dry run)."""
    if day > to_ict(utcnow()).date():  # nothing can have been booked yet: refused before any record is made
        raise ValidationError(f"the day {day} has not begun in Indochina Time", code=Refusal.DAY_IN_FUTURE,
                              params={"day": day})
    record = get_close(session, account.id, day)
    if record.status == "closed":
        if not dry_run:
            raise Conflict(f"the day {day} of account {account.number} is closed; reopen it to run it again",
                           code=Refusal.DAY_ALREADY_CLOSED, params={"day": day, "account": account.number})
    actions: list[Action] = []
    record.run_started_at = record.run_started_at if record.run_step else utcnow()
    statements = statements_for(session, account, day)
    _step(session, record, "statement", dry_run)
    # 2. transfers only the statement announced: matched in bulk (reconciliation.matching.bulk)
    pending = session.scalars(select(BankTransaction.id).where(
        BankTransaction.account_number == account.number, BankTransaction.booked_on == day,
        BankTransaction.first_channel == "statement", BankTransaction.direction == "in",
        BankTransaction.reversal.is_(False), BankTransaction.pending.is_(False),
        ~exists().where(MatchDecision.transaction_id == BankTransaction.id)).order_by(BankTransaction.id)).all()
    if pending:
        counts = match_many(session, list(pending), actor="rule:statement_run", missing_callback=True,
                            commit=not dry_run)
        actions.append(Action("missing_callback", count=len(pending), outcomes=tuple(sorted(counts.items()))))
    # ... and those held while the day was closed, now that a recorded reopen let them in.
    held = held_on(session, account, day)
    if held:
        counts = match_many(session, [item.transaction_id for item in held], actor="rule:statement_run",
                            commit=False, decided_again=True)
        for item in held:
            resolve(session, item, "rule:statement_run", "the day was reopened; matched by the statement run")
        if not dry_run:
            session.commit()
        actions.append(Action("released", count=len(held), outcomes=tuple(sorted(counts.items()))))
    _step(session, record, "missing_callback", dry_run)
    # 3. reversals
    reversals = session.scalars(select(BankTransaction).where(
        BankTransaction.account_number == account.number, BankTransaction.booked_on == day,
        BankTransaction.reversal.is_(True),
        ~exists().where(MatchDecision.transaction_id == BankTransaction.id))).all()
    for reversal in reversals:
        actions.append(_reverse(session, reversal, account))
    _step(session, record, "reversals", dry_run)
    # 4. callbacks the statement does not show
    carried: list[str] = []
    if statements:
        unconfirmed = session.scalars(select(BankTransaction).where(
            BankTransaction.account_number == account.number, BankTransaction.booked_on == day,
            BankTransaction.on_statement.is_(False), BankTransaction.pending.is_(False),
            BankTransaction.first_channel != "statement")).all()
        for transaction in unconfirmed:
            if _late(transaction):
                carried.append(transaction.bank_ref)
                continue
            open_exception(session, "missing_from_statement", transaction_id=transaction.id, account_id=account.id,
                           amount=transaction.amount,
                           detail=f"reported by {transaction.channels} but not on the bank's statement of {day}: "
                                  "a forged, reversed or unposted transfer", actor="rule:statement_run")
            actions.append(Action("missing_from_statement", ref=transaction.bank_ref))
    _step(session, record, "missing_from_statement", dry_run)
    # 5 and 6
    figures = day_figures(session, account, day, statements)
    figures["carried_over"] = carried
    blocking = blocking_items(session, account, day, statements)
    record.figures = figures
    record.blocking = blocking
    record.statement_id = statements[-1].id if statements else None
    _step(session, record, "balance", dry_run)
    if close and not blocking and record.status != "closed":
        _close(session, record, actor, figures)
        actions.append(Action("closed"))
    record.run_step = None
    record.run_finished_at = utcnow()
    result = DayResult(account.number, day, record.status, dry_run, figures, blocking, actions)
    if dry_run:
        session.rollback()
    else:
        audit.record(session, actor, "day.run", "daily_close", record.id,
                     {"account": account.number, "day": day.isoformat(), "actions": len(actions),
                      "blocking": blocking, "status": record.status})
        session.commit()
    return result


def _step(session: Session, record: DailyClose, step: str, dry_run: bool) -> None:
    record.run_step = step
    if not dry_run:
        session.commit()  # a run cut off here starts again from the next step's unhandled items
    else:
        session.flush()


def _reverse(session: Session, reversal: BankTransaction, account: CollectionAccount) -> Action:
    original = session.get(BankTransaction, reversal.reversal_of_id) if reversal.reversal_of_id else None
    decision = Decision("reversal", 1.0, "ignored", {"reverses": original.bank_ref if original else None})
    record_decision(session, reversal, decision, "rule:statement_run")
    reversal.status = "ignored"
    if original is None:
        open_exception(session, "unlinked_reversal", transaction_id=reversal.id, account_id=account.id,
                       amount=reversal.amount, detail="a reversal on the statement that names no transfer known here",
                       actor="rule:statement_run")
        return Action("unlinked_reversal", ref=reversal.bank_ref)
    undone = 0
    for allocation in active_allocations(session, transaction_id=original.id):
        reverse(session, allocation, "rule:statement_run", f"reversed by the bank ({reversal.bank_ref})")
        undone += 1
    original.status = "ignored"
    open_exception(session, "reversal", transaction_id=original.id, account_id=account.id, amount=original.amount,
                   status="resolved", detail=f"reversed by {reversal.bank_ref}; {undone} allocation(s) undone",
                   actor="rule:statement_run")
    return Action("reversal", ref=reversal.bank_ref, count=undone, original=original.bank_ref)


def day_figures(session: Session, account: CollectionAccount, day: date, statements: list[Statement]) -> dict:
    t = BankTransaction
    rows = session.execute(select(t.direction, t.status, t.on_statement, func.count(), func.sum(t.amount),
                                  func.sum(t.allocated))
                           .where(t.account_number == account.number, t.booked_on == day, t.pending.is_(False))
                           .group_by(t.direction, t.status, t.on_statement)).all()
    figures: dict[str, Any] = {"service_in_count": 0, "service_in_sum": 0, "service_out_count": 0,
                               "service_out_sum": 0, "matched_count": 0, "matched_sum": 0, "unmatched_count": 0,
                               "unmatched_sum": 0, "not_on_statement_count": 0, "not_on_statement_sum": 0}
    for direction, status, on_statement, count, total, allocated in rows:
        total, allocated = int(total or 0), int(allocated or 0)
        figures[f"service_{direction}_count"] += count
        figures[f"service_{direction}_sum"] += total
        if direction == "in":
            if status in ("matched", "partially_matched"):
                figures["matched_count"] += count
                figures["matched_sum"] += allocated
            if status in ("unmatched", "partially_matched"):
                figures["unmatched_count"] += count
                figures["unmatched_sum"] += total - allocated
            if not on_statement:
                figures["not_on_statement_count"] += count
                figures["not_on_statement_sum"] += total
    line = StatementLine
    ids = [s.id for s in statements]
    if ids:
        stmt_rows = session.execute(select(line.direction, func.count(), func.sum(line.amount))
                                    .where(line.statement_id.in_(ids), line.booking_date == day,
                                           line.pending.is_(False))
                                    .group_by(line.direction)).all()
    else:
        stmt_rows = []
    for direction, count, total in stmt_rows:
        figures[f"statement_{direction}_count"] = count
        figures[f"statement_{direction}_sum"] = int(total or 0)
    for key in ("statement_in_count", "statement_in_sum", "statement_out_count", "statement_out_sum"):
        figures.setdefault(key, 0)
    figures["statement_ids"] = ids
    figures["balance_ok"] = bool(statements) and all(s.balance_ok or s.resolved_by for s in statements)
    figures["continuity_ok"] = all(s.continuity_ok is not False or s.resolved_by for s in statements)
    if statements:
        last = statements[-1]
        figures["opening_balance"] = statements[0].opening_balance
        figures["closing_balance"] = last.closing_balance
    # Cash is the agency's, not an account's: it is shown once, on the agency's default account.
    from payments.agencies import default_account

    if default_account(account.agency).id == account.id:
        figures["cash_count"], figures["cash_sum"] = cash_totals(session, account.agency_id, day)
    else:
        figures["cash_count"], figures["cash_sum"] = 0, 0
    figures["open_exceptions"] = session.scalar(select(func.count()).select_from(ReconException).join(
        t, ReconException.transaction_id == t.id).where(
        t.account_number == account.number, t.booked_on == day, ReconException.status == "open")) or 0
    return figures


def held_on(session: Session, account: CollectionAccount, day: date) -> list[ReconException]:
    """The credits booked on ``day`` that the matcher held because the day was closed."""
    t = BankTransaction
    return list(session.scalars(select(ReconException).join(t, ReconException.transaction_id == t.id).where(
        t.account_number == account.number, t.booked_on == day, ReconException.status == "open",
        ReconException.reason == "booked_on_closed_day").order_by(ReconException.id)))


def day_is_over(day: date, now: datetime | None = None) -> bool:
    """Whether the Indochina day has ended."""
    return to_ict(now or utcnow()).date() > day


def covers_to_end(session: Session, statements: list[Statement], day: date) -> bool:
    """Whether a statement shows the whole day: its period (or its lines) run past the day, or
    it ends on the day and was imported after the day ended (a statement taken during the day
    cannot show the rest of it)."""
    for statement in statements:
        end = statement.period_end or session.scalar(
            select(func.max(StatementLine.booking_date)).where(StatementLine.statement_id == statement.id))
        if end is None or end < day:
            continue
        if end > day:
            return True
        imported = session.scalar(select(StatementImport.imported_at).where(StatementImport.id == statement.import_id))
        if imported is not None and to_ict(imported).date() > day:
            return True
    return False


class Blocking(str):
    """What keeps a day open: a ``kind`` and its ``params`` for the pages' labels; as a string,
    the English sentence the CLI prints and the day's record and audit keep."""

    kind: str
    params: dict

    def __new__(cls, kind: str, text: str, **params) -> "Blocking":
        item = super().__new__(cls, text)
        item.kind, item.params = kind, params
        return item


def blocking_items(session: Session, account: CollectionAccount, day: date,
                   statements: list[Statement]) -> list[Blocking]:
    blocking = []
    if not day_is_over(day):
        blocking.append(Blocking("not_over", "the day has not ended yet"))
    if not statements:
        blocking.append(Blocking("no_statement", "no statement of this account covers this day"))
    elif not covers_to_end(session, statements, day):
        blocking.append(Blocking("not_covered", "no statement covers this day to its end"))
    for statement in statements:
        if not statement.balance_ok and not statement.resolved_by:
            blocking.append(Blocking("balance", f"statement {statement.id}: balance proof failed "
                                                f"({statement.balance_message})", id=statement.id))
        elif statement.continuity_ok is False and not statement.resolved_by:
            blocking.append(Blocking("continuity", f"statement {statement.id}: does not follow the previous statement",
                                     id=statement.id))
    t = BankTransaction
    rows = session.execute(select(ReconException.reason, func.count()).join(t, ReconException.transaction_id == t.id)
                           .where(t.account_number == account.number, t.booked_on == day,
                                  ReconException.status == "open", ReconException.reason.in_(BLOCKING_REASONS))
                           .group_by(ReconException.reason).order_by(ReconException.reason)).all()
    for reason, count in rows:
        blocking.append(Blocking("exceptions", f"{count} open exception(s): {reason}", n=count, reason=reason))
    undecided = session.scalar(select(func.count()).select_from(t).where(
        t.account_number == account.number, t.booked_on == day, t.direction == "in", t.pending.is_(False),
        t.reversal.is_(False), ~exists().where(MatchDecision.transaction_id == t.id)))
    if undecided:
        blocking.append(Blocking("undecided", f"{undecided} credit(s) not yet through the matcher", n=undecided))
    return blocking


def _close(session: Session, record: DailyClose, actor: str, figures: dict) -> None:
    from core.audit import AuditHead

    head = session.execute(select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    record.status = "closed"
    record.closed_at = utcnow()
    record.closed_by = actor
    # The audit chain's head at close time: an anchor that a later rewrite of the chain cannot match.
    record.figures = {**figures, "audit_head": {"id": head.last_id, "hash": head.last_hash} if head else None}
    session.flush()
    audit.record(session, actor, "day.closed", "daily_close", record.id,
                 {"account_id": record.account_id, "day": record.day.isoformat(), "figures": record.figures})


def close_day(session: Session, account: CollectionAccount, day: date, actor: str) -> DailyClose:
    """A finance officer closes a day the run left open (after settling what blocked it)."""
    record = get_close(session, account.id, day)
    if record.status == "closed":
        raise Conflict(f"the day {day} of account {account.number} is already closed", code=Refusal.DAY_ALREADY_CLOSED,
                       params={"day": day, "account": account.number})
    if not day_is_over(day):
        raise Conflict(f"the day {day} has not ended yet (Indochina time)", code=Refusal.DAY_NOT_OVER,
                       params={"day": day, "account": account.number})
    statements = statements_for(session, account, day)
    if statements and not covers_to_end(session, statements, day):
        raise Conflict(f"no statement of account {account.number} covers {day} to its end",
                       code=Refusal.DAY_NOT_COVERED, params={"day": day, "account": account.number})
    blocking = blocking_items(session, account, day, statements)
    if blocking:
        raise Conflict("the day cannot be closed: " + "; ".join(blocking), code=Refusal.DAY_BLOCKED,
                       params={"day": day, "account": account.number, "count": len(blocking)})
    _close(session, record, actor, day_figures(session, account, day, statements))
    return record


def reopen_day(session: Session, account: CollectionAccount, day: date, actor: str, reason: str) -> DailyClose:
    if not reason or not reason.strip():
        raise ValidationError("say why the day is reopened", errors=[FieldError("reason", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "reopen"})
    record = get_close(session, account.id, day, create=False)
    if record is None or record.status != "closed":
        raise Conflict(f"the day {day} of account {account.number} is not closed", code=Refusal.DAY_NOT_CLOSED,
                       params={"day": day, "account": account.number})
    record.status = "open"
    record.reopened_at = utcnow()
    record.reopened_by = actor
    record.reopen_reason = reason.strip()[:2000]
    session.flush()
    audit.record(session, actor, "day.reopened", "daily_close", record.id,
                 {"account_id": account.id, "day": day.isoformat(), "reason": record.reopen_reason})
    return record


def days_of_statement(session: Session, statement: Statement) -> list[date]:
    rows = session.scalars(select(StatementLine.booking_date).where(StatementLine.statement_id == statement.id)
                           .distinct())
    days = set(rows)
    if statement.period_start and statement.period_end and statement.period_end - statement.period_start <= \
            timedelta(days=31):
        day = statement.period_start
        while day <= statement.period_end:
            days.add(day)
            day += timedelta(days=1)
    return sorted(days)


def ict_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ICT)
