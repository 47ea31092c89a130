"""Registering dossiers and computing what they owe."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import ict_day, to_utc, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.money import MAX_AMOUNT, MoneyError, to_vnd
from qr.text import search_key
from core.refusals import Refusal

from .catalogue import rules_for
from .fees import ChargeLine, DossierFacts, compute_charges
from .models import Agency, Dossier, DossierCharge, PaymentRequest, Procedure, code_key
from .obligations import refuse_as_charge
from .references import LENGTH as REFERENCE_LENGTH
from .references import PREFIX as REFERENCE_PREFIX
from .references import one_edit_away
from .money_rules import dossier_status

# Beyond any real declared value; larger ones would overflow 64-bit amounts once a rate is applied.
MAX_DECLARED_VALUE = 10**15
# The national format (DOMAIN.md): ``<receiving unit's identifier>-<yyMMdd>-<nnnn>``, e.g.
# ``000.00.12.H26-261125-0001``; the unit identifier is data (dots, dashes, letters, digits).
# Nothing else: a code is part of page addresses, so ``/`` and ``..`` never belong in one.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*-[0-9]{6}-[0-9]{3,9}$")
CODE_MAX = 60


def valid_dossier_code(code: str) -> bool:
    return len(code) <= CODE_MAX and CODE_PATTERN.match(code) is not None


@dataclass
class DossierInput:
    code: str | None
    procedure_code: str
    agency_code: str
    applicant_name: str
    channel: str
    submitted_at: datetime
    charges: list[dict] | None
    parameters: dict[str, Any]
    portal_code: str | None = None


def parse_dossier_input(body: Any) -> DossierInput:
    """The API's JSON body (or a form turned into the same shape), validated by the API's schema
    (``payments.api_schemas.DossierInput``): every field at fault in one 422 ``invalid_dossier``."""
    from core.api_schema import validate

    from .api_schemas import DossierInput as Body

    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", errors=[FieldError("body", "must be an object")],
                              code=Refusal.INVALID_DOSSIER)
    given = validate(Body, body, detail="the dossier is not valid", code=Refusal.INVALID_DOSSIER)
    parameters = given.parameters.model_dump(mode="json", exclude_unset=True) if given.parameters else {}
    if given.payer_class is not None:
        parameters.setdefault("payer_class", given.payer_class)
    if given.exemption_ground is not None:  # an optional field of its own (docs/API.md), kept with the parameters
        if parameters.get("exemption_ground") not in (None, given.exemption_ground):
            raise ValidationError("the dossier is not valid", code=Refusal.INVALID_DOSSIER,
                                  errors=[FieldError("exemption_ground", "differs from parameters.exemption_ground")])
        parameters["exemption_ground"] = given.exemption_ground.value
    charges = None
    if given.charges is not None:
        charges = [{**c.model_dump(mode="json"), "legal_basis": c.legal_basis or ""} for c in given.charges]
    return DossierInput(code=given.code, procedure_code=given.procedure_code, agency_code=given.agency_code,
                        applicant_name=given.applicant_name, channel=given.channel.value,
                        submitted_at=to_utc(given.submitted_at) if given.submitted_at else utcnow(),
                        charges=charges, parameters=parameters, portal_code=given.portal_code)


def storable_text(value: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogates (no encoding takes them)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def facts_for(data: DossierInput) -> DossierFacts:
    p = data.parameters
    return DossierFacts(channel=data.channel, submitted_on=ict_day(data.submitted_at), payer_class=p.get("payer_class"),
                        declared_value=p.get("declared_value"), copies=p.get("copies") or 1,
                        exemptions=frozenset(p.get("exemptions") or ()), ground=p.get("exemption_ground"),
                        child_under_14=p.get("child_under_14") is True, vneid_level2=p.get("vneid_level2") is True)


def catalogue_charges(session: Session, procedure: Procedure, data: DossierInput) -> list[ChargeLine]:
    """The schedule's charges for the procedure, after the fee rules in force on the filing day."""
    from .rule_catalogue import active_rules

    return compute_charges(rules_for(procedure), facts_for(data), field=procedure.field,
                           adjustments=active_rules(session))


def preview_charges(session: Session, data: DossierInput) -> list[ChargeLine]:
    return catalogue_charges(session, get_procedure(session, data.procedure_code), data)


def get_procedure(session: Session, code: str) -> Procedure:
    """By the catalogue's code, or by a national code that names just one procedure."""
    procedure = session.scalar(select(Procedure).where(Procedure.code == code))
    if procedure is not None:
        return procedure
    variants = list(session.scalars(select(Procedure).where(Procedure.national_code == code).order_by(Procedure.code)))
    if len(variants) == 1:
        return variants[0]
    if variants:
        choices = ", ".join(f"{p.code} ({p.name})" for p in variants)
        raise ValidationError(f"procedure {code} has {len(variants)} variants in the catalogue: give one of {choices}",
                              errors=[FieldError("procedure_code", "ambiguous national code")],
                              code=Refusal.INVALID_DOSSIER)
    raise ValidationError(f"unknown procedure {code!r}", errors=[FieldError("procedure_code", "not in the catalogue")],
                          code=Refusal.INVALID_DOSSIER)


def next_dossier_code(session: Session, agency: Agency, when: datetime) -> str:
    """``<unit>-<yyMMdd>-<nnnn>``, numbered per unit and Indochina day."""
    unit = agency.dossier_unit_id or agency.code
    prefix = f"{unit}-{ict_day(when):%y%m%d}-"
    count = session.scalar(select(func.count()).select_from(Dossier).where(Dossier.code.startswith(prefix)))
    return f"{prefix}{(count or 0) + 1:04d}"


def register_dossier(session: Session, data: DossierInput, actor: str) -> Dossier:
    """Create a dossier with its charges; the same code again is a conflict. Commits nothing:
    the caller's transaction does."""
    procedure = get_procedure(session, data.procedure_code)
    agency = session.scalar(select(Agency).where(Agency.code == data.agency_code))
    if agency is None:
        raise ValidationError(f"unknown agency {data.agency_code!r}", errors=[FieldError("agency_code", "not known")],
                              code=Refusal.INVALID_DOSSIER)
    if data.code and find_dossier(session, data.code) is not None:
        raise Conflict(f"dossier {data.code} already exists", code=Refusal.DOSSIER_EXISTS, params={"code": data.code})
    if data.portal_code and find_dossier(session, data.portal_code) is not None:
        raise Conflict(f"a dossier with code {data.portal_code} already exists", code=Refusal.DOSSIER_EXISTS,
                       params={"code": data.portal_code})
    if data.charges is not None:
        for index, charge in enumerate(data.charges):
            refuse_as_charge(charge["fee_code"], charge["name"], f"charges[{index}].name")
        lines = [ChargeLine(c["fee_code"], c["name"], c["kind"], c["amount"], c["legal_basis"], "do hệ thống hồ sơ cung cấp")
                 for c in data.charges]
    else:
        lines = catalogue_charges(session, procedure, data)
    check_total(sum(line.amount for line in lines), given=data.charges is not None)
    dossier = Dossier(
        code=data.code or next_dossier_code(session, agency, data.submitted_at),
        portal_code=data.portal_code,
        procedure=procedure,
        agency=agency,
        applicant_name=data.applicant_name,
        payer_class=data.parameters.get("payer_class"),
        channel=data.channel,
        submitted_at=data.submitted_at,
        parameters=data.parameters,
        amount_due=sum(line.amount for line in lines),
        created_by=actor,
        charges=[DossierCharge(fee_code=l.fee_code, name=l.name, kind=l.kind, amount=l.amount,
                               legal_basis=l.legal_basis, detail=l.detail, rule_code=l.rule_code,
                               rule_name=l.rule_name, rule_basis=l.rule_basis, rule_confirmed=l.rule_confirmed,
                               schedule_amount=l.schedule_amount, city_support=l.city_support) for l in lines],
    )
    session.add(dossier)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"dossier {dossier.code} already exists", code=Refusal.DOSSIER_EXISTS,
                       params={"code": dossier.code}) from None
    return dossier


def check_total(total: int, *, given: bool = True) -> None:
    """The charges of a dossier total at most 9,999,999,999,999 đồng (CONTRACT.md, "Amounts"):
    more could never be asked for in a VietQR code. Refused as ``invalid_dossier``."""
    if total > MAX_AMOUNT:
        where = "the charges given" if given else "the charges the catalogue computes"
        raise ValidationError(f"{where} total {total} đồng, more than the {MAX_AMOUNT} đồng a payment can carry",
                              errors=[FieldError("charges", f"total {total}: at most {MAX_AMOUNT} đồng")],
                              code=Refusal.INVALID_DOSSIER)


def find_dossier(session: Session, code: str) -> Dossier | None:
    """By its code or by its national-portal code."""
    return session.scalar(select(Dossier).where(or_(Dossier.code == code, Dossier.portal_code == code)))


def get_dossier(session: Session, code: str) -> Dossier:
    dossier = find_dossier(session, code)
    if dossier is None:
        raise NotFound(f"no dossier with code {code!r}")
    return dossier


def search_dossiers(session: Session, query: str, limit: int = 50) -> list[Dossier]:
    """What a clerk types, newest first: a piece of the applicant's name (diacritics, case and
    spacing ignored: "nguyen  van AN" finds "Nguyễn Văn An"), a dossier code or any part of
    it (with or without its dots and dashes), a payment reference or its beginning (the
    ``HS…`` printed on the card), or an amount (due by the dossier or asked by a request)."""
    query = query.strip()
    if not query:
        return list(session.scalars(select(Dossier).order_by(Dossier.submitted_at.desc()).limit(limit)))
    key = search_key(query)
    words = key.split()
    conditions = [Dossier.code.ilike(_contains(query), escape="\\"),
                  Dossier.portal_code.ilike(_contains(query), escape="\\"),
                  Dossier.applicant_name.ilike(_contains(query), escape="\\")]
    if words:  # the words in order, anything between them: extra spaces and middle names alike
        conditions.append(Dossier.search_key.like("%" + "%".join(_escape(w) for w in words) + "%", escape="\\"))
    compact = code_key(query) or ""
    if len(compact) >= 3:
        conditions.append(Dossier.code_key.like(_contains(compact), escape="\\"))
        conditions.append(Dossier.portal_code_key.like(_contains(compact), escape="\\"))
    if len(compact) >= 4 and compact.startswith(REFERENCE_PREFIX):
        conditions.append(Dossier.id.in_(select(PaymentRequest.dossier_id)
                                         .where(PaymentRequest.reference.like(_escape(compact) + "%", escape="\\"))))
    amount = _typed_amount(query)
    if amount is not None:
        conditions.append(Dossier.amount_due == amount)
        conditions.append(Dossier.id.in_(select(PaymentRequest.dossier_id).where(PaymentRequest.amount == amount)))
    return list(session.scalars(select(Dossier).where(or_(*conditions))
                                .order_by(Dossier.submitted_at.desc()).limit(limit)))


def near_references(session: Session, query: str) -> list[PaymentRequest]:
    """The payment requests whose reference is one wrong symbol or one swap away from what was
    typed (a reference read off a smudged card or a bank's content): offered, never chosen."""
    compact = code_key(query) or ""
    if len(compact) != REFERENCE_LENGTH or not compact.startswith(REFERENCE_PREFIX):
        return []
    candidates = [r for r in one_edit_away(compact) if r != compact]
    if not candidates:
        return []
    return list(session.scalars(select(PaymentRequest).where(PaymentRequest.reference.in_(candidates))
                                .order_by(PaymentRequest.reference)))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_escape(text)}%"


def _typed_amount(query: str) -> int | None:
    """An amount when the query is one (digits, grouped or not, maybe with ₫), else None."""
    text = query.replace(" ", "")
    if not text or not any(ch.isdigit() for ch in text) or any(ch.isalpha() for ch in text.rstrip("₫đVNDvnd")):
        return None
    try:
        amount = to_vnd(text)
    except MoneyError:
        return None
    return amount if amount > 0 else None


def payment_status(dossier: Dossier) -> str:
    return dossier_status(dossier.amount_due, dossier.amount_paid)
