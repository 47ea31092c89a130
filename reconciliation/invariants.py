"""The money invariants of the database, checked as a whole (``flask audit verify``; after a
restore, after hand edits). Each check is one grouped query and names what breaks it.

- every bank transaction's ``allocated`` is the sum of its allocations in force, and no more
  than its amount; a cash payment's allocations are no more than the cash;
- a dossier's ``amount_paid`` is the sum of its allocations in force less the excess refunds
  paid out of it (``workflow.refunds.mark_paid``); a payment request's is the sum of its
  allocations less at most those refunds;
- receipts: (form, series, year, number) never repeats, every series of a year is numbered
  1, 2, 3, ... without a gap (a cancelled receipt stays recorded, so nothing explains a
  gap), up to its counter (``payments.receipts.take_numbers``);
- refunds of a transaction never exceed what it received, and those of money paying no
  dossier never exceed what is not allocated; a dossier's refunds never exceed what it received;
- a journal entry accepted for a bank channel names its transaction, and that transaction exists.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from payments.models import Dossier, PaymentRequest, Receipt, ReceiptCounter

from reconciliation.models import Allocation, BankTransaction, CashPayment, JournalEntry, Refund

LIMIT = 20  # problems named per check; the count says how many there are
HELD_OR_PAID = ("requested", "approved", "paid")


@dataclass(frozen=True)
class Problem:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def _in_force():
    return Allocation.reversed_at.is_(None)


def _allocated_by(column):
    """Sum of the allocations in force, by ``column`` (a subquery: key, total)."""
    return (select(column.label("key"), func.sum(Allocation.amount).label("total"))
            .where(_in_force(), column.is_not(None)).group_by(column).subquery())


def _refunds_paid_by_dossier():
    return (select(Refund.dossier_id.label("key"), func.sum(Refund.amount).label("total"))
            .where(Refund.dossier_id.is_not(None), Refund.status == "paid").group_by(Refund.dossier_id).subquery())


def check_transactions(session: Session) -> list[Problem]:
    sums = _allocated_by(Allocation.transaction_id)
    total = func.coalesce(sums.c.total, 0)
    rows = session.execute(select(BankTransaction.id, BankTransaction.amount, BankTransaction.allocated, total)
                           .outerjoin(sums, sums.c.key == BankTransaction.id)
                           .where(or_(BankTransaction.allocated != total, total > BankTransaction.amount))
                           .order_by(BankTransaction.id).limit(LIMIT)).all()
    return [Problem("allocations", f"bank transaction {tid}: amount {amount}, allocated {allocated}, "
                                   f"allocations in force sum to {summed}") for tid, amount, allocated, summed in rows]


def check_cash(session: Session) -> list[Problem]:
    sums = _allocated_by(Allocation.cash_payment_id)
    rows = session.execute(select(CashPayment.id, CashPayment.amount, sums.c.total)
                           .join(sums, sums.c.key == CashPayment.id).where(sums.c.total > CashPayment.amount)
                           .order_by(CashPayment.id).limit(LIMIT)).all()
    return [Problem("allocations", f"cash payment {cid}: amount {amount}, allocations in force sum to {summed}")
            for cid, amount, summed in rows]


def check_dossiers(session: Session) -> list[Problem]:
    sums, refunds = _allocated_by(Allocation.dossier_id), _refunds_paid_by_dossier()
    expected = func.coalesce(sums.c.total, 0) - func.coalesce(refunds.c.total, 0)
    rows = session.execute(select(Dossier.code, Dossier.amount_paid, func.coalesce(sums.c.total, 0),
                                  func.coalesce(refunds.c.total, 0))
                           .outerjoin(sums, sums.c.key == Dossier.id).outerjoin(refunds, refunds.c.key == Dossier.id)
                           .where(Dossier.amount_paid != expected).order_by(Dossier.id).limit(LIMIT)).all()
    return [Problem("paid amounts", f"dossier {code}: amount paid {paid}, allocations in force {summed}, "
                                    f"refunds paid {refunded}") for code, paid, summed, refunded in rows]


def check_requests(session: Session) -> list[Problem]:
    sums, refunds = _allocated_by(Allocation.payment_request_id), _refunds_paid_by_dossier()
    summed, refunded = func.coalesce(sums.c.total, 0), func.coalesce(refunds.c.total, 0)
    rows = session.execute(select(PaymentRequest.reference, PaymentRequest.amount_paid, summed, refunded)
                           .outerjoin(sums, sums.c.key == PaymentRequest.id)
                           .outerjoin(refunds, refunds.c.key == PaymentRequest.dossier_id)
                           .where(or_(PaymentRequest.amount_paid > summed,
                                      PaymentRequest.amount_paid < summed - refunded))
                           .order_by(PaymentRequest.id).limit(LIMIT)).all()
    return [Problem("paid amounts", f"payment request {ref}: amount paid {paid}, allocations in force {total}, "
                                    f"refunds paid out of its dossier {back}") for ref, paid, total, back in rows]


def check_receipts(session: Session) -> list[Problem]:
    problems = []
    repeated = session.execute(select(Receipt.form, Receipt.series, Receipt.year, Receipt.number, func.count())
                               .group_by(Receipt.form, Receipt.series, Receipt.year, Receipt.number)
                               .having(func.count() > 1).limit(LIMIT)).all()
    problems += [Problem("receipt numbers", f"{form}/{series} {year} number {number} is used {count} times")
                 for form, series, year, number, count in repeated]
    counters = {(c.form, c.series, c.year): c.last_number for c in session.scalars(select(ReceiptCounter))}
    series = session.execute(select(Receipt.form, Receipt.series, Receipt.year, func.min(Receipt.number),
                                    func.max(Receipt.number), func.count(func.distinct(Receipt.number)))
                             .group_by(Receipt.form, Receipt.series, Receipt.year)).all()
    for form, name, year, lowest, highest, distinct in series:
        label = f"{form}/{name} {year}"
        if lowest != 1 or distinct != highest:
            problems.append(Problem("receipt numbers", f"{label}: {distinct} numbers between {lowest} and {highest}, "
                                                       f"missing {_gaps(session, form, name, year, highest)}"))
        counter = counters.get((form, name, year))
        if counter is None or counter < highest:
            problems.append(Problem("receipt numbers", f"{label}: counter at {counter}, below the highest number "
                                                       f"issued ({highest})"))
        elif counter > highest:
            problems.append(Problem("receipt numbers", f"{label}: counter at {counter} but the highest number "
                                                       f"issued is {highest} (numbers taken and not recorded)"))
    return problems


def _gaps(session: Session, form: str, series: str, year: int, highest: int) -> str:
    used = set(session.scalars(select(Receipt.number).where(Receipt.form == form, Receipt.series == series,
                                                            Receipt.year == year)))
    missing = [n for n in range(1, highest + 1) if n not in used]
    return ", ".join(map(str, missing[:LIMIT])) + (" ..." if len(missing) > LIMIT else "")


def check_refunds(session: Session) -> list[Problem]:
    refunds = (select(Refund.transaction_id.label("key"), func.sum(Refund.amount).label("total"),
                      func.sum(Refund.amount).filter(Refund.dossier_id.is_(None)).label("unowned"))
               .where(Refund.transaction_id.is_not(None), Refund.status.in_(HELD_OR_PAID))
               .group_by(Refund.transaction_id).subquery())
    unowned = func.coalesce(refunds.c.unowned, 0)
    rows = session.execute(select(BankTransaction.id, BankTransaction.amount, BankTransaction.allocated,
                                  refunds.c.total, unowned)
                           .join(refunds, refunds.c.key == BankTransaction.id)
                           .where(or_(refunds.c.total > BankTransaction.amount,
                                      unowned > BankTransaction.amount - BankTransaction.allocated))
                           .order_by(BankTransaction.id).limit(LIMIT)).all()
    problems = [Problem("refunds", f"bank transaction {tid}: received {amount} ({allocated} allocated), refunds "
                                   f"{total} of which {free} from money paying no dossier")
                for tid, amount, allocated, total, free in rows]
    by_dossier = (select(Refund.dossier_id.label("key"), func.sum(Refund.amount).label("total"))
                  .where(Refund.dossier_id.is_not(None), Refund.status.in_(HELD_OR_PAID))
                  .group_by(Refund.dossier_id).subquery())
    received = _allocated_by(Allocation.dossier_id)
    rows = session.execute(select(Dossier.code, func.coalesce(received.c.total, 0), by_dossier.c.total)
                           .join(by_dossier, by_dossier.c.key == Dossier.id)
                           .outerjoin(received, received.c.key == Dossier.id)
                           .where(by_dossier.c.total > func.coalesce(received.c.total, 0))
                           .order_by(Dossier.id).limit(LIMIT)).all()
    problems += [Problem("refunds", f"dossier {code}: received {got}, refunds {total}") for code, got, total in rows]
    return problems


def check_journal(session: Session) -> list[Problem]:
    rows = session.execute(select(JournalEntry.id, JournalEntry.channel, JournalEntry.transaction_id)
                           .outerjoin(BankTransaction, BankTransaction.id == JournalEntry.transaction_id)
                           .where(JournalEntry.outcome == "accepted",
                                  or_(and_(JournalEntry.transaction_id.is_(None), JournalEntry.channel != "portal"),
                                      and_(JournalEntry.transaction_id.is_not(None), BankTransaction.id.is_(None))))
                           .order_by(JournalEntry.id).limit(LIMIT)).all()
    return [Problem("journal", f"journal entry {eid} ({channel}) was accepted but its transaction "
                               + (f"{tid} does not exist" if tid is not None else "is not recorded"))
            for eid, channel, tid in rows]


CHECKS = (check_transactions, check_cash, check_dossiers, check_requests, check_receipts, check_refunds,
          check_journal)


def verify_money(session: Session) -> list[Problem]:
    """Every problem found (empty: the invariants hold)."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems += check(session)
    return problems

