"""Where collected money goes (DOMAIN.md, "Where collected money goes"; docs/TREASURY.md).

- What an agency collected in a month is what its e-receipts say: the lines of every receipt
  issued in that Indochina month, less the lines of every receipt cancelled in it (a
  cancellation in a later month is a correction of that later month: a return already
  declared is never rewritten); plus the money receipted by another issuer's document, which
  gets no e-receipt (``payments.other_documents``: the portal's platform, cash against a paper
  receipt), in the month of the dossier's last payment while the dossier is paid in full.
  Lines are grouped per fee item.
- Per fee item: retained = collected × retention %, rounded half up to the đồng (half away
  from zero for a negative correction); a ``lệ phí`` keeps 0 %; a ``phí`` whose retention is
  not set keeps 0 % (all of it is payable) and is flagged. Payable to the state budget =
  collected − retained.
- Receipt lines that are land financial obligations (charged as fees before migration 0011)
  are kept apart: they are never the office's fee.
- Remittances to the State Treasury are recorded per agency and month; what is still owed is
  payable − remitted.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import ICT, ict_day, utcnow
from core.errors import Conflict, FieldError, ValidationError
from core.money import MAX_AMOUNT, MoneyError, to_vnd
from core.refusals import Refusal

from .models import Agency, FeeItem, Receipt, Remittance
from .obligations import obligation_kind
from .other_documents import agencies_with_documents, document_lines

BP = 10_000  # retention is kept in hundredths of a per cent: 90 % = 9000


def retained_amount(collected: int, retention_bp: int) -> int:
    """``collected × retention``, rounded half up to the đồng; a negative correction rounds
    symmetrically (half away from zero), so a cancellation undoes exactly what its receipt added."""
    if not 0 <= retention_bp <= BP:
        raise ValueError(f"retention {retention_bp} is not between 0 and {BP} hundredths of a per cent")
    magnitude = (abs(collected) * retention_bp * 2 + BP) // (2 * BP)
    return -magnitude if collected < 0 else magnitude


# --- months --------------------------------------------------------------------------------

def parse_month(value: str, where: str = "month") -> date:
    try:
        year, month = value.strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        first = date(int(year), int(month), 1)
    except (ValueError, AttributeError):
        raise ValidationError(f"{where} must be YYYY-MM, got {value!r}",
                              errors=[FieldError(where, "YYYY-MM")]) from None
    return first


def parse_year(value: str, where: str = "year") -> int:
    text = (value or "").strip()
    if not (text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100):
        raise ValidationError(f"{where} must be YYYY, got {value!r}", errors=[FieldError(where, "YYYY")])
    return int(text)


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The UTC instants where an Indochina month starts and the next one starts."""
    start = datetime(first.year, first.month, 1, tzinfo=ICT)
    end_day = next_month(first)
    end = datetime(end_day.year, end_day.month, 1, tzinfo=ICT)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def month_of(instant: datetime) -> date:
    return ict_day(instant).replace(day=1)


# --- the fee lines of a month ---------------------------------------------------------------

@dataclass
class TreasuryData:
    chapter: str | None
    subitem: str | None
    retention_bp: int | None
    verified: bool


@dataclass
class FeeLine:
    """One fee item's line of a return."""
    fee_code: str
    name: str
    kind: str  # phi | le_phi
    chapter: str | None
    subitem: str | None
    retention_bp: int | None  # None: not set for a phí (0 % applied, flagged)
    verified: bool
    collected: int = 0
    receipts: int = 0
    retained: int = 0
    other_collected: int = 0  # of ``collected``: receipted by other issuers' documents (no e-receipt)
    other_dossiers: int = 0  # the dossiers whose lines those are

    @property
    def payable(self) -> int:
        return self.collected - self.retained

    @property
    def applied_bp(self) -> int:
        return self.retention_bp or 0


@dataclass
class MonthFees:
    agency: Agency
    month: date
    lines: list[FeeLine]
    obligations: dict[str, int] = field(default_factory=dict)  # legacy obligation lines: kind → amount

    @property
    def collected(self) -> int:
        return sum(l.collected for l in self.lines)

    @property
    def retained(self) -> int:
        return sum(l.retained for l in self.lines)

    @property
    def payable(self) -> int:
        return sum(l.payable for l in self.lines)


def treasury_data(session: Session) -> dict[str, TreasuryData]:
    """Per fee code, the catalogue's budget chapter, sub-item and retention (one per code:
    the catalogue import refuses a code with two)."""
    out: dict[str, TreasuryData] = {}
    for item in session.scalars(select(FeeItem).order_by(FeeItem.id)):
        out.setdefault(item.code, TreasuryData(item.budget_chapter, item.budget_subitem, item.retention_bp,
                                               item.treasury_verified))
    return out


def _receipts(session: Session, agency_id: int, start: datetime, end: datetime) -> Iterable[tuple[Receipt, int]]:
    """(receipt, sign): +1 for each receipt issued in [start, end), −1 for each cancelled in it."""
    issued = select(Receipt).where(Receipt.agency_id == agency_id, Receipt.issued_at >= start, Receipt.issued_at < end)
    cancelled = select(Receipt).where(Receipt.agency_id == agency_id, Receipt.cancelled_at.is_not(None),
                                      Receipt.cancelled_at >= start, Receipt.cancelled_at < end)
    for receipt in session.scalars(issued.order_by(Receipt.id)):
        yield receipt, 1
    for receipt in session.scalars(cancelled.order_by(Receipt.id)):
        yield receipt, -1


def month_fees(session: Session, agency: Agency, month: date, *, data: dict[str, TreasuryData] | None = None) -> MonthFees:
    data = treasury_data(session) if data is None else data
    start, end = month_bounds(month)
    lines: dict[tuple[str, str], FeeLine] = {}
    obligations: dict[str, int] = defaultdict(int)

    def fee_line(code: str, name: str, kind: str) -> FeeLine:
        key = (code or name or "", kind)
        fee = lines.get(key)
        if fee is None:
            known = data.get(code) if code else None
            retention = known.retention_bp if known else None
            if kind == "le_phi":
                retention = 0
            fee = lines[key] = FeeLine(code, name or code, kind, known.chapter if known else None,
                                       known.subitem if known else None, retention, bool(known and known.verified))
        return fee

    for receipt, sign in _receipts(session, agency.id, start, end):
        for line in receipt.lines or []:
            code = line.get("fee_code") or ""
            amount = int(line.get("amount") or 0) * sign
            kind = obligation_kind(code, line.get("name"))
            if kind is not None:
                obligations[kind] += amount
                continue
            fee = fee_line(code, line.get("name") or "", receipt.kind)
            fee.collected += amount
            fee.receipts += sign
    counted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for other in document_lines(session, agency_id=agency.id, utc_from=start, utc_to=end):
        kind = obligation_kind(other.fee_code, other.name)
        if kind is not None:
            obligations[kind] += other.amount
            continue
        fee = fee_line(other.fee_code, other.name, other.kind)
        fee.collected += other.amount
        fee.other_collected += other.amount
        counted[(other.fee_code or other.name, other.kind)].add(other.dossier_id)
    for key, dossiers in counted.items():
        lines[key].other_dossiers = len(dossiers)
    for fee in lines.values():
        fee.retained = retained_amount(fee.collected, fee.applied_bp)
    ordered = sorted(lines.values(), key=lambda l: (l.kind != "le_phi", l.subitem is None, l.subitem or "",
                                                    l.fee_code, l.name))
    return MonthFees(agency, month, ordered, dict(obligations))


# --- remittances ----------------------------------------------------------------------------

def remitted(session: Session, agency_id: int, month: date) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Remittance.amount), 0)).where(
        Remittance.agency_id == agency_id, Remittance.month == month)) or 0)


def remittances(session: Session, *, agency_id: int | None = None, month: date | None = None,
                year: int | None = None) -> list[Remittance]:
    query = select(Remittance)
    if agency_id is not None:
        query = query.where(Remittance.agency_id == agency_id)
    if month is not None:
        query = query.where(Remittance.month == month)
    if year is not None:
        query = query.where(Remittance.month >= date(year, 1, 1), Remittance.month < date(year + 1, 1, 1))
    return list(session.scalars(query.order_by(Remittance.month.desc(), Remittance.remitted_on, Remittance.id)))


def remittance_covering(session: Session, agency_id: int, months: Iterable[date]) -> Remittance | None:
    """A remittance recorded for one of these months of the agency: the money collected then
    has gone to the treasury."""
    months = sorted(set(months))
    if not months:
        return None
    return session.scalar(select(Remittance).where(Remittance.agency_id == agency_id, Remittance.month.in_(months))
                          .order_by(Remittance.month, Remittance.id).limit(1))


def parse_remittance(body: Any) -> dict[str, Any]:
    """The remittance form or JSON body: agency, month, date, amount, document number, note."""
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code=Refusal.INVALID_REMITTANCE)
    errors: list[FieldError] = []
    agency = body.get("agency")
    if not isinstance(agency, str) or not agency.strip():
        errors.append(FieldError("agency", "required"))
    month = None
    try:
        month = parse_month(str(body.get("month") or ""))
    except ValidationError:
        errors.append(FieldError("month", "YYYY-MM"))
    remitted_on = None
    try:
        remitted_on = date.fromisoformat(str(body.get("remitted_on") or ""))
    except ValueError:
        errors.append(FieldError("remitted_on", "a date, YYYY-MM-DD"))
    amount = body.get("amount")
    if isinstance(amount, str):
        try:
            amount = to_vnd(amount)
        except MoneyError:
            amount = None
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        errors.append(FieldError("amount", f"a whole number of đồng, 1 to {MAX_AMOUNT}"))
    document = body.get("document_number")
    if not isinstance(document, str) or not document.strip() or len(document.strip()) > 60 or "\x00" in document:
        errors.append(FieldError("document_number", "the treasury document's number, at most 60 characters"))
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 1000 or "\x00" in note):
        errors.append(FieldError("note", "text of at most 1000 characters"))
    if month is not None and remitted_on is not None:
        if remitted_on < month:
            errors.append(FieldError("remitted_on", "not before the month it settles"))
        if remitted_on > ict_day(utcnow()):
            errors.append(FieldError("remitted_on", "not after today"))
    if errors:
        raise ValidationError("the remittance is not valid", errors=errors, code=Refusal.INVALID_REMITTANCE)
    return {"agency": agency.strip(), "month": month, "remitted_on": remitted_on, "amount": amount,
            "document_number": document.strip(), "note": (note or "").strip() or None}


def record_remittance(session: Session, body: Any, actor: str) -> Remittance:
    values = parse_remittance(body)
    agency = session.scalar(select(Agency).where(Agency.code == values["agency"]))
    if agency is None:
        raise ValidationError(f"unknown agency {values['agency']!r}", errors=[FieldError("agency", "not known")],
                              code=Refusal.INVALID_REMITTANCE)
    exists = session.scalar(select(Remittance.id).where(Remittance.agency_id == agency.id,
                                                        Remittance.document_number == values["document_number"]))
    if exists is not None:
        raise Conflict(f"treasury document {values['document_number']} is already recorded for {agency.code}",
                       code=Refusal.REMITTANCE_EXISTS, params={"document": values["document_number"]})
    remittance = Remittance(agency_id=agency.id, month=values["month"], remitted_on=values["remitted_on"],
                            amount=values["amount"], document_number=values["document_number"], note=values["note"],
                            recorded_by=actor, recorded_at=utcnow())
    remittance.agency = agency
    session.add(remittance)
    session.flush()
    audit.record(session, actor, "treasury.remitted", "remittance", remittance.id,
                 {"agency": agency.code, "month": values["month"].isoformat()[:7], "amount": values["amount"],
                  "document": values["document_number"]})
    return remittance


# --- what is owed per agency and month ---------------------------------------------------------

@dataclass
class Position:
    agency: Agency
    month: date
    collected: int
    retained: int
    payable: int
    remitted: int
    city_support: int = 0  # beside, never collected: set by payments.city_support.positions_with_support

    @property
    def owed(self) -> int:
        return self.payable - self.remitted


def positions(session: Session, months: list[date], agencies: list[Agency] | None = None) -> list[Position]:
    """Per agency and month: collected, retained, payable, remitted and still owed; only the
    agencies and months where something was collected or remitted."""
    data = treasury_data(session)
    if agencies is None:
        start, _ = month_bounds(min(months))
        _, end = month_bounds(max(months))
        ids = set(session.scalars(select(Receipt.agency_id).where(or_(
            and_(Receipt.issued_at >= start, Receipt.issued_at < end),
            and_(Receipt.cancelled_at >= start, Receipt.cancelled_at < end))).distinct()))
        ids |= set(session.scalars(select(Remittance.agency_id).where(Remittance.month.in_(months)).distinct()))
        ids |= agencies_with_documents(session, start, end)
        agencies = list(session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code))) if ids else []
    out = []
    for month in sorted(months, reverse=True):
        for agency in agencies:
            fees = month_fees(session, agency, month, data=data)
            paid = remitted(session, agency.id, month)
            if fees.lines or paid:
                out.append(Position(agency, month, fees.collected, fees.retained, fees.payable, paid))
    return out


def recent_months(today: date, count: int = 6) -> list[date]:
    months = [today.replace(day=1)]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months
