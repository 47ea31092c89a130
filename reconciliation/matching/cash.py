"""Cash at the counter: a payment with no bank line, recorded by the clerk who took it, with
the receipt they issued. It counts in the denominator of every rate and as neither online
nor cashless; the daily close shows it as cash, beside (not inside) the bank lines."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import ict_day, utcnow
from core.errors import Conflict, FieldError, ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from payments.models import Dossier

from reconciliation.matching.allocation import allocate, lock_dossier
from reconciliation.models import CashPayment


def record_cash(session: Session, dossier: Dossier, *, amount: int, receipt_number: str, clerk_username: str,
                clerk_name: str, amount_tendered: int | None = None, note: str | None = None,
                request_id: int | None = None, paper_form: str | None = None,
                paper_series: str | None = None) -> CashPayment:
    """Record cash taken for ``dossier`` and allocate it. Flushes; the caller commits.

    ``receipt_number`` is the number of the paper receipt or cash slip (phiếu thu) the clerk
    handed over. With the paper receipt's ``paper_form`` (mẫu số) and ``paper_series`` (ký
    hiệu) the money is receipted on paper and gets no e-receipt (``money_rules.receipted_elsewhere``);
    without them (a cash slip) the dossier's e-receipts are issued once it is paid. Paper
    receipts end on 31 December 2026 (``paper_receipts_allowed``)."""
    errors = []
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors.append(FieldError("amount", "a positive whole number of đồng"))
    elif amount > MAX_AMOUNT:
        errors.append(FieldError("amount", f"at most {MAX_AMOUNT} đồng"))
    receipt_number = (receipt_number or "").strip()
    if not receipt_number or len(receipt_number) > 40:
        errors.append(FieldError("receipt_number", "the number of the receipt issued (1 to 40 characters)"))
    if amount_tendered is not None and (isinstance(amount_tendered, bool) or not isinstance(amount_tendered, int)
                                        or not isinstance(amount, int) or amount_tendered < amount):
        errors.append(FieldError("amount_tendered", "at least the amount paid"))
    elif amount_tendered is not None and amount_tendered > MAX_AMOUNT:
        errors.append(FieldError("amount_tendered", f"at most {MAX_AMOUNT} đồng"))
    paper_form = (paper_form or "").strip().upper() or None
    paper_series = (paper_series or "").strip().upper() or None
    if (paper_form is None) != (paper_series is None):
        errors.append(FieldError("paper_series" if paper_series is None else "paper_form",
                                 "a paper receipt's form and series go together"))
    for name, value in (("paper_form", paper_form), ("paper_series", paper_series)):
        if value is not None and len(value) > 20:
            errors.append(FieldError(name, "at most 20 characters"))
    if errors:
        raise ValidationError("the cash payment is not valid", errors=errors, code=Refusal.INVALID_CASH)
    if paper_series is not None and not paper_receipts_allowed(ict_day(utcnow())):
        raise ValidationError("paper receipts ended on 31 December 2026: record the cash without one, and the "
                              "service issues the e-receipt", code=Refusal.PAPER_RECEIPTS_ENDED,
                              errors=[FieldError("paper_series", "no paper receipts after 31/12/2026")])
    dossier = lock_dossier(session, dossier.id)  # two clerks at once cannot both take what remains
    remaining = dossier.amount_due - dossier.amount_paid
    if remaining <= 0:
        raise Conflict(f"nothing remains due on dossier {dossier.code}", code=Refusal.NOTHING_DUE,
                       params={"dossier": dossier.code})
    if amount > remaining:
        raise ValidationError(f"{amount} đ is more than the {remaining} đ that remain due: take only what is due",
                              errors=[FieldError("amount", f"at most {remaining}")], code=Refusal.CASH_OVER_DUE,
                              params={"amount": amount, "remaining": remaining})
    now = utcnow()
    payment = CashPayment(dossier_id=dossier.id, agency_id=dossier.agency_id, amount=amount,
                          amount_tendered=amount_tendered, receipt_number=receipt_number, paper_form=paper_form,
                          paper_series=paper_series, received_at=now,
                          received_on=ict_day(now), clerk_username=clerk_username[:64], clerk_name=clerk_name[:200],
                          note=(note or "").strip()[:1000] or None)
    session.add(payment)
    session.flush()
    actor = f"user:{clerk_username}"
    audit.record(session, actor, "cash.received", "cash_payment", payment.id,
                 {"dossier": dossier.code, "amount": amount, "receipt_number": receipt_number,
                  "paper_receipt": f"{paper_form}/{paper_series}/{receipt_number}" if paper_series else None,
                  "clerk": clerk_name})
    if request_id is None:
        open_requests = [r for r in dossier.payment_requests if r.status in ("open", "partially_paid")
                         and r.amount - r.amount_paid == amount]
        request_id = open_requests[0].id if len(open_requests) == 1 else None
    allocate(session, dossier_id=dossier.id, amount=amount, actor=actor, rule="cash_at_counter", cash=payment,
             request_id=request_id, note=f"cash, receipt {receipt_number}")
    return payment


PAPER_RECEIPTS_END = date(2026, 12, 31)  # DOMAIN.md: paper receipts end on 31 December 2026


def paper_receipts_allowed(day: date) -> bool:
    return day <= PAPER_RECEIPTS_END


def cash_totals(session: Session, agency_id: int, day: date) -> tuple[int, int]:
    """Count and sum of the cash taken at an agency's counters on an Indochina day."""
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(CashPayment.amount), 0)).where(
        CashPayment.agency_id == agency_id, CashPayment.received_on == day)).one()
    return int(count), int(total)
