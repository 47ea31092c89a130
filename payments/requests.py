"""Payment requests: one amount, one account, one reference, one validity; their life cycle.

States: ``open`` → ``partially_paid`` → ``paid`` | ``overpaid``; ``open`` → ``expired`` |
``cancelled``. Every change is a ``PaymentRequestEvent`` naming who made it.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import ICT, ict_day, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.refusals import Refusal
from core.money import MAX_AMOUNT, format_vnd
from qr.vietqr import encode_transfer

from .agencies import default_account
from .models import Dossier, PaymentRequest, PaymentRequestEvent
from .references import new_reference, purpose_for

OPEN_STATES = ("open", "partially_paid")
FINAL_PAID = ("paid", "overpaid")
MAX_VALIDITY_MINUTES = 60 * 24 * 30


@dataclass(frozen=True)
class ValidityPolicy:
    """Default validity: the end (23:59:59 ICT) of the next working day. Holidays are data."""

    holidays: frozenset[date] = frozenset()
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday..Friday

    def next_working_day(self, day: date) -> date:
        candidate = day + timedelta(days=1)
        while candidate.weekday() not in self.working_days or candidate in self.holidays:
            candidate += timedelta(days=1)
        return candidate

    def default_expiry(self, now: datetime) -> datetime:
        day = self.next_working_day(ict_day(now))
        return datetime.combine(day, time(23, 59, 59), tzinfo=ICT).astimezone(now.tzinfo)


def outstanding_requested(dossier: Dossier) -> int:
    """What open requests already ask for (partially paid ones no longer count: the balance is asked anew)."""
    return sum(r.amount for r in dossier.payment_requests if r.status == "open")


def remaining_due(dossier: Dossier) -> int:
    return max(dossier.amount_due - dossier.amount_paid, 0)


def _event(request: PaymentRequest, actor: str, action: str, from_status: str | None, note: str | None = None,
           data: dict | None = None, at: datetime | None = None) -> None:
    request.events.append(PaymentRequestEvent(actor=actor, action=action, from_status=from_status,
                                              to_status=request.status, note=note, data=data, at=at or utcnow()))


def create_payment_request(session: Session, dossier: Dossier, actor: str, *, amount: int | None = None,
                           expires_in_minutes: int | None = None, policy: ValidityPolicy | None = None,
                           now: datetime | None = None) -> PaymentRequest:
    now = now or utcnow()
    # Lock the dossier (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) and
    # read its requests afresh, so two clerks cannot both request the same remainder.
    dossier = session.get(Dossier, dossier.id, with_for_update={"of": Dossier}, populate_existing=True)
    _refresh_dossier_requests(session, dossier, now)
    available = remaining_due(dossier) - outstanding_requested(dossier)
    if dossier.amount_due > MAX_AMOUNT:  # registered before the limit was checked: refused, not a 500
        raise ValidationError(f"dossier {dossier.code}'s charges total {dossier.amount_due} đồng, more than the "
                              f"{MAX_AMOUNT} đồng a payment can carry: correct its charges",
                              errors=[FieldError("charges", f"total {dossier.amount_due}: at most {MAX_AMOUNT} đồng")],
                              code=Refusal.INVALID_DOSSIER, params={"dossier": dossier.code})
    if amount is None:
        if available <= 0:
            open_refs = ", ".join(r.reference for r in dossier.payment_requests if r.status == "open")
            hint = f" (request {open_refs} is open: reprint it, or cancel it first)" if open_refs else ""
            raise Conflict(f"nothing remains due on dossier {dossier.code}{hint}", code=Refusal.NOTHING_DUE,
                           params={"dossier": dossier.code,
                                   "open_requests": [r.reference for r in dossier.payment_requests
                                                     if r.status == "open"]})
        amount = available
    else:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationError("amount must be a positive whole number of đồng",
                                  errors=[FieldError("amount", "positive whole đồng")],
                                  code=Refusal.NOT_A_POSITIVE_AMOUNT)
        if amount > MAX_AMOUNT:
            raise ValidationError(f"amount {amount} is more than the {MAX_AMOUNT} đồng a payment can carry",
                                  errors=[FieldError("amount", f"at most {MAX_AMOUNT} đồng")],
                                  code=Refusal.INVALID_REQUEST)
        if remaining_due(dossier) <= 0:
            raise Conflict(f"nothing remains due on dossier {dossier.code}", code=Refusal.NOTHING_DUE,
                           params={"dossier": dossier.code})
        if amount > available:
            raise ValidationError(
                f"amount {format_vnd(amount)} is more than remains to be requested ({format_vnd(max(available, 0))})",
                errors=[FieldError("amount", f"at most {max(available, 0)}")], code=Refusal.AMOUNT_OVER_AVAILABLE,
                params={"amount": amount, "available": max(available, 0)})
    if expires_in_minutes is not None:
        if isinstance(expires_in_minutes, bool) or not isinstance(expires_in_minutes, int) \
                or not 1 <= expires_in_minutes <= MAX_VALIDITY_MINUTES:
            raise ValidationError("expires_in_minutes must be a whole number from 1 to 43200 (30 days)",
                                  errors=[FieldError("expires_in_minutes", "1 to 43200")],
                                  code=Refusal.INVALID_REQUEST)
        expires_at = now + timedelta(minutes=expires_in_minutes)
    else:
        expires_at = (policy or ValidityPolicy()).default_expiry(now)
    account = default_account(dossier.agency)
    reference = _unused_reference(session)
    purpose = purpose_for(reference)
    request = PaymentRequest(
        reference=reference,
        token=secrets.token_urlsafe(24),  # 192 bits: the citizen page's only key
        dossier=dossier,
        account=account,
        amount=amount,
        purpose=purpose,
        qr_payload=encode_transfer(account.bank_bin, account.number, amount, purpose),
        status="open",
        expires_at=expires_at,
        created_by=actor,
        created_at=now,
    )
    session.add(request)
    _event(request, actor, "created", None, data={"amount": amount, "expires_at": expires_at.isoformat()}, at=now)
    session.flush()
    return request


def _unused_reference(session: Session) -> str:
    for _ in range(10):
        reference = new_reference()
        if session.scalar(select(PaymentRequest.id).where(PaymentRequest.reference == reference)) is None:
            return reference
    raise RuntimeError("could not draw an unused payment reference")  # 31^8 codes: practically never


def get_request(session: Session, reference: str) -> PaymentRequest:
    request = session.scalar(select(PaymentRequest).where(PaymentRequest.reference == reference.strip().upper()))
    if request is None:
        raise NotFound(f"no payment request with reference {reference!r}")
    return request


def get_request_by_token(session: Session, token: str) -> PaymentRequest:
    request = session.scalar(select(PaymentRequest).where(PaymentRequest.token == token))
    if request is None:
        raise NotFound("no such payment request")
    return request


def cancel_request(session: Session, request: PaymentRequest, reason: str, actor: str) -> PaymentRequest:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("say why the request is cancelled", errors=[FieldError("reason", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "cancel_request"})
    request = session.get(PaymentRequest, request.id, with_for_update={"of": PaymentRequest}, populate_existing=True)
    if request.status in FINAL_PAID:
        raise Conflict(f"payment request {request.reference} is already {request.status}", code=Refusal.REQUEST_PAID,
                       params={"reference": request.reference, "status": request.status})
    if request.status == "cancelled":
        raise Conflict(f"payment request {request.reference} is already cancelled", code=Refusal.REQUEST_CANCELLED,
                       params={"reference": request.reference})
    previous = request.status
    request.status = "cancelled"
    request.cancel_reason = reason.strip()
    _event(request, actor, "cancelled", previous, note=reason.strip())
    session.flush()
    return request


def refresh_expiry(session: Session, request: PaymentRequest, now: datetime | None = None) -> bool:
    """Mark an open request past its validity as expired; True when it changed."""
    now = now or utcnow()
    if request.status == "open" and request.expires_at <= now:
        request.status = "expired"
        _event(request, "system", "expired", "open", at=now)
        session.flush()
        return True
    return False


def _refresh_dossier_requests(session: Session, dossier: Dossier, now: datetime) -> None:
    for request in dossier.payment_requests:
        refresh_expiry(session, request, now)


def expire_due_requests(session: Session, now: datetime | None = None) -> int:
    """The scheduled job: every open request past its validity becomes expired."""
    now = now or utcnow()
    due = session.scalars(select(PaymentRequest).where(PaymentRequest.status == "open",
                                                       PaymentRequest.expires_at <= now))
    return sum(refresh_expiry(session, request, now) for request in due)
