"""Land financial obligations ("nghĩa vụ tài chính về đất đai"): the registration fee (lệ phí
trước bạ, 0.5 %), the land-use levy (tiền sử dụng đất) and personal income tax on transfers
(thuế TNCN) are assessed by the tax authority's notice and paid into the State Treasury
(DOMAIN.md, "Where collected money goes"). They are never the office's charges: no payment
request, QR card or receipt of the service carries them. A land dossier records the notices
it depends on and the proof they were paid (a treasury slip, or the national portal's
confirmation); the counter sees what is still missing. docs/TREASURY.md.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import ict_day, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.vocabulary import ObligationKind, ObligationStatus, ProofKind, values
from qr.text import strip_diacritics

from .models import Dossier, TaxObligation

KINDS = values(ObligationKind)
PROOF_KINDS = values(ProofKind)
# How a charge or a catalogue row names an obligation; migration 0011 keeps a frozen copy.
_PATTERNS = ((ObligationKind.REGISTRATION_FEE, re.compile(r"\btruoc ba\b")),
             (ObligationKind.LAND_USE_LEVY, re.compile(r"\btien su dung dat\b")),
             (ObligationKind.PERSONAL_INCOME_TAX, re.compile(r"\bthue thu nhap ca nhan\b|\btncn\b")))
_CODES = {"LPTB": ObligationKind.REGISTRATION_FEE}


def obligation_kind(fee_code: str | None, name: str | None) -> str | None:
    """The obligation a charge or a catalogue row stands for, or None for an office's charge.
    "Lệ phí cấp Giấy chứng nhận quyền sử dụng đất" is a charge; "Tiền sử dụng đất" is not."""
    if fee_code and fee_code.strip().upper() in _CODES:
        return _CODES[fee_code.strip().upper()].value
    plain = strip_diacritics(name or "").lower()
    for kind, pattern in _PATTERNS:
        if pattern.search(plain):
            return kind.value
    return None


def refuse_as_charge(fee_code: str | None, name: str, where: str) -> None:
    """A charge (from the catalogue or given by the dossier system) that is an obligation."""
    kind = obligation_kind(fee_code, name)
    if kind is not None:
        raise ValidationError(f"{name!r} is a land financial obligation ({kind}), assessed by the tax authority and "
                              f"paid into the treasury, not a charge of the office: record its tax notice instead",
                              errors=[FieldError(where, "a tax obligation, not a charge")],
                              code=Refusal.OBLIGATION_AS_CHARGE, params={"name": name})


def status(obligation: TaxObligation) -> str:
    """Paid once a proof is recorded; an obligation migrated from a charge the dossier paid
    through the service shows that (the money stays recorded on the dossier)."""
    if obligation.proof_kind is not None:
        return ObligationStatus.PAID.value
    if obligation.legacy_charge_id is not None and obligation.dossier.amount_paid >= obligation.dossier.amount_due:
        return ObligationStatus.PAID_VIA_SERVICE.value
    return ObligationStatus.UNPAID.value


def for_dossier(session: Session, dossier: Dossier) -> list[TaxObligation]:
    return list(session.scalars(select(TaxObligation).where(TaxObligation.dossier_id == dossier.id)
                                .order_by(TaxObligation.id)))


def missing(obligations: list[TaxObligation]) -> list[TaxObligation]:
    """What the counter still waits for: obligations without proof of payment."""
    return [o for o in obligations if status(o) == ObligationStatus.UNPAID]


def _text(body: dict, name: str, errors: list[FieldError], *, required: bool, limit: int) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(FieldError(name, "required"))
        return None
    if not isinstance(value, str) or "\x00" in value:
        errors.append(FieldError(name, "must be text"))
        return None
    if len(value.strip()) > limit:
        errors.append(FieldError(name, f"at most {limit} characters"))
        return None
    return value.strip()


def _date(body: dict, name: str, errors: list[FieldError], *, required: bool) -> date | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors.append(FieldError(name, "required"))
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.append(FieldError(name, "a date, YYYY-MM-DD"))
        return None


def _amount(value: Any, errors: list[FieldError]) -> int | None:
    if isinstance(value, str) and value.strip():
        from core.money import MoneyError, to_vnd
        try:
            value = to_vnd(value)
        except MoneyError:
            errors.append(FieldError("amount", "a whole number of đồng"))
            return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_AMOUNT:
        errors.append(FieldError("amount", f"a whole number of đồng, 0 to {MAX_AMOUNT}"))
        return None
    return value


def record_notice(session: Session, dossier: Dossier, body: Any, actor: str) -> TaxObligation:
    """A tax notice the dossier depends on: number, kind, amount, due date, issuing authority."""
    if dossier.procedure.field != "land":
        raise Conflict(f"dossier {dossier.code} is not a land dossier", code=Refusal.NOT_A_LAND_DOSSIER,
                       params={"code": dossier.code})
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code=Refusal.INVALID_OBLIGATION)
    errors: list[FieldError] = []
    kind = body.get("kind")
    if kind not in KINDS:
        errors.append(FieldError("kind", f"one of {', '.join(KINDS)}"))
    number = _text(body, "notice_number", errors, required=True, limit=60)
    authority = _text(body, "issuing_authority", errors, required=True, limit=200)
    amount = _amount(body.get("amount"), errors)
    due = _date(body, "due_date", errors, required=False)
    if errors:
        raise ValidationError("the tax notice is not valid", errors=errors, code=Refusal.INVALID_OBLIGATION)
    obligation = TaxObligation(dossier_id=dossier.id, kind=kind, notice_number=number, amount=amount, due_date=due,
                               issuing_authority=authority, created_by=actor, created_at=utcnow())
    obligation.dossier = dossier
    session.add(obligation)
    session.flush()
    audit.record(session, actor, "obligation.recorded", "tax_obligation", obligation.id,
                 {"dossier": dossier.code, "kind": kind, "notice": number, "amount": amount})
    return obligation


def get_obligation(session: Session, dossier: Dossier, obligation_id: int) -> TaxObligation:
    obligation = session.get(TaxObligation, obligation_id)
    if obligation is None or obligation.dossier_id != dossier.id:
        raise NotFound(f"no tax obligation {obligation_id} on dossier {dossier.code}", params={"id": obligation_id})
    return obligation


def record_proof(session: Session, obligation: TaxObligation, body: Any, actor: str) -> TaxObligation:
    """The proof it was paid: the treasury slip's number and date, or the portal's confirmation."""
    if obligation.proof_kind is not None:
        raise Conflict(f"tax obligation {obligation.id} already has its proof", code=Refusal.OBLIGATION_PAID,
                       params={"id": obligation.id})
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code=Refusal.INVALID_OBLIGATION)
    errors: list[FieldError] = []
    kind = body.get("kind")
    if kind not in PROOF_KINDS:
        errors.append(FieldError("kind", f"one of {', '.join(PROOF_KINDS)}"))
    number = _text(body, "number", errors, required=True, limit=80)
    paid_on = _date(body, "date", errors, required=True)
    if paid_on is not None and paid_on > ict_day(utcnow()):
        errors.append(FieldError("date", "not after today"))
    if errors:
        raise ValidationError("the proof of payment is not valid", errors=errors, code=Refusal.INVALID_OBLIGATION)
    obligation.proof_kind = kind
    obligation.proof_number = number
    obligation.proof_date = paid_on
    obligation.proof_recorded_by = actor
    obligation.proof_recorded_at = utcnow()
    session.flush()
    audit.record(session, actor, "obligation.proof", "tax_obligation", obligation.id,
                 {"kind": kind, "number": number, "date": paid_on.isoformat()})
    return obligation
