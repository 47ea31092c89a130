"""The finance and operations reports: money collected (what finance offices remit to the
treasury), time from payment request to payment, and the reconciliation backlog per unit
(open exceptions and their age, days not closed).

- Money collected is what the issued e-receipts say, line by line (``report_receipt_lines``),
  on the Indochina day of issue; a cancelled receipt (its payment was reversed) drops out; and
  the money receipted by another issuer's document, which gets no e-receipt (one receipt per
  payment: the portal's platform, cash against a paper receipt), line by line
  (``report_document_lines``) on the Indochina day of the dossier's last payment; it drops out
  when the dossier is no longer paid in full. Each row says how much of it is the latter.
  Each line is a fee item (its code and name, phí or lệ phí); the budget sub-item ("tiểu mục"
  of the state budget index) of a fee code is data (setting ``reports.budget_subitems``).
- Payment time: for the dossiers with fees paid in full whose processing started in the
  period, seconds from the first payment request to the last payment (``facts``).
- A unit of an exception is the agency of its collection account (the exception's, or its
  transaction's), else the agency of its dossier.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.clock import ict_day, utcnow
from payments.models import CollectionAccount, Dossier
from reconciliation.models import BankTransaction, DailyClose, ReconException

from .definitions import Period, ReportSettings, load_settings, month_label
from .facts import apply_pending
from .indicators import Reference, _source, measures, reference
from .models import DocumentLine, ReceiptLine

COLLECTION_GROUPS = ("agency", "fee", "subitem", "kind")
COLLECTION_PER = ("day", "month", "period")
KIND_NAMES = {"phi": "Phí", "le_phi": "Lệ phí"}
UNASSIGNED = "Chưa gán tiểu mục"


@dataclass
class CollectionRow:
    period: str  # YYYY-MM-DD, YYYY-MM, or "" for the whole period
    key: str
    name: str
    lines: int
    amount: int
    kind: str | None = None
    verified: bool = True
    name_en: str | None = None  # an agency's English name, for the English page
    other_lines: int = 0  # of ``lines``: lines of money receipted by another issuer's document
    other_amount: int = 0  # of ``amount``: that money (the rest is on e-receipts)

    @property
    def e_receipt_lines(self) -> int:
        return self.lines - self.other_lines

    @property
    def e_receipt_amount(self) -> int:
        return self.amount - self.other_amount


@dataclass
class Collections:
    period: Period
    by: str
    per: str
    rows: list[CollectionRow]
    total_amount: int
    total_lines: int
    other_amount: int = 0  # of the total: receipted by other issuers' documents
    other_lines: int = 0

    @property
    def e_receipt_amount(self) -> int:
        return self.total_amount - self.other_amount

    @property
    def e_receipt_lines(self) -> int:
        return self.total_lines - self.other_lines


def collections(session: Session, period: Period, by: str = "agency", per: str = "period", *,
                settings: ReportSettings | None = None, ref: Reference | None = None) -> Collections:
    """Money collected in the period: on issued e-receipts and receipted by other issuers'
    documents, by agency, fee item, budget sub-item or kind (phí / lệ phí), per Indochina day,
    month, or for the whole period."""
    if by not in COLLECTION_GROUPS or per not in COLLECTION_PER:
        raise ValueError(f"unknown grouping {by!r}/{per!r}")
    apply_pending(session)
    settings = settings or load_settings(session)
    ref = ref or reference(session)

    def grouped(t, day, month):
        when = {"day": [day], "month": [month], "period": []}[per]
        dims = {"agency": [t.c.agency_id], "fee": [t.c.fee_code, t.c.kind], "subitem": [t.c.fee_code],
                "kind": [t.c.kind]}[by]
        return len(when), select(*when, *dims, func.count().label("lines"), func.sum(t.c.amount).label("amount"),
                                 func.max(t.c.name).label("name")) \
            .where(day >= period.start, day <= period.end).group_by(*when, *dims)

    e, o = ReceiptLine.__table__, DocumentLine.__table__
    sources = [(False, *grouped(e, e.c.issued_day, e.c.issued_month)),
               (True, *grouped(o, o.c.paid_day, o.c.paid_month))]
    merged: dict[tuple, CollectionRow] = {}
    catalogue: dict[str, str] = {}
    if by == "subitem":  # the catalogue's sub-item (docs/TREASURY.md) where the setting names none
        from payments.models import FeeItem
        for code, subitem in session.execute(select(FeeItem.code, FeeItem.budget_subitem)
                                             .where(FeeItem.budget_subitem.is_not(None))):
            catalogue.setdefault(code, subitem)
    for other, width, query in sources:
        for r in session.execute(query):
            _merge(merged, r, r[width:], other, per, by, ref, settings, catalogue)
    rows = sorted(merged.values(), key=lambda x: (x.period, x.key == "", x.key, x.kind or ""))
    return Collections(period, by, per, rows, sum(r.amount for r in rows), sum(r.lines for r in rows),
                       sum(r.other_amount for r in rows), sum(r.other_lines for r in rows))


def _merge(merged: dict[tuple, CollectionRow], r, values, other: bool, per: str, by: str, ref: Reference,
           settings: ReportSettings, catalogue: dict[str, str]) -> None:
    """Add one grouped row of either table to its row of the report."""
    slot = "" if per == "period" else (r[0].isoformat() if per == "day" else month_label(r[0]))
    if by == "agency":
        agency = ref.agencies.get(values[0])
        key, name, kind = (agency.code, agency.name, None) if agency else (str(values[0]), "", None)
        verified = True
    elif by == "fee":
        key, name, kind, verified = values[0] or "", r.name or "", values[1], True
    elif by == "kind":
        key, name, kind, verified = values[0], KIND_NAMES.get(values[0], values[0]), values[0], True
    else:
        sub = settings.subitems.get(values[0] or "")
        if sub is None and catalogue.get(values[0] or ""):
            sub = {"code": catalogue[values[0]], "name": f"Tiểu mục {catalogue[values[0]]}"}
        key, name, kind = (sub["code"], sub.get("name") or sub["code"], None) if sub else ("", UNASSIGNED, None)
        verified = sub is not None
    row = merged.get((slot, key, kind))
    if row is None:
        name_en = agency.name_en if by == "agency" and agency else None
        row = merged[(slot, key, kind)] = CollectionRow(slot, key, name, 0, 0, kind, verified, name_en)
    row.lines += int(r.lines)
    row.amount += int(r.amount or 0)
    if other:
        row.other_lines += int(r.lines)
        row.other_amount += int(r.amount or 0)


@dataclass
class TimeRow:
    key: str
    name: str
    count: int
    median_s: int | None
    p90_s: int | None
    mean_s: int | None
    within_hour: int
    within_day: int


def _percentile(values: list[int], q: float) -> int:
    """The nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def payment_times(session: Session, period: Period, *, direct: bool = False,
                  ref: Reference | None = None) -> tuple[list[TimeRow], TimeRow]:
    """Per agency and in total: how long dossiers paid in full took from their first payment
    request to their last payment (median, 90th percentile — the nearest-rank method —, mean,
    and how many within an hour and within a day)."""
    ref = ref or reference(session)
    settings = load_settings(session)
    src, where = _source(session, period, direct)
    preds = measures(src, settings, ref.fee_procedures)
    query = select(src.c.agency_id, src.c.request_to_paid_s) \
        .where(*where, preds["paid"], src.c.request_to_paid_s.is_not(None))
    by_agency: dict[int, list[int]] = {}
    for agency_id, seconds in session.execute(query):
        by_agency.setdefault(agency_id, []).append(int(seconds))

    def row(key: str, name: str, values: list[int]) -> TimeRow:
        if not values:
            return TimeRow(key, name, 0, None, None, None, 0, 0)
        return TimeRow(key, name, len(values), int(statistics.median_low(values)), _percentile(values, 0.9),
                       int(round(sum(values) / len(values))), sum(v <= 3600 for v in values),
                       sum(v <= 86400 for v in values))

    rows = []
    for agency_id, values in by_agency.items():
        agency = ref.agencies.get(agency_id)
        rows.append(row(agency.code if agency else str(agency_id), agency.name if agency else "", values))
    rows.sort(key=lambda r: r.key)
    return rows, row("total", "Tổng cộng", [v for values in by_agency.values() for v in values])


# --- the reconciliation backlog per unit ---------------------------------------------------------------


@dataclass
class UnitBacklog:
    key: str
    name: str
    open_exceptions: int = 0
    overdue_exceptions: int = 0
    late_exceptions: int = 0  # exceptions of the period settled after their deadline, or still open past it
    oldest_open_days: int | None = None
    age_buckets: dict[str, int] = field(default_factory=lambda: {"lt1": 0, "1to3": 0, "gt3": 0})
    unclosed_days: list[date] = field(default_factory=list)
    late_closed_days: list[date] = field(default_factory=list)
    amount_open: int = 0

    @property
    def delayed(self) -> bool:
        return bool(self.overdue_exceptions or self.late_exceptions or self.unclosed_days or self.late_closed_days)


UNASSIGNED_UNIT = ("", "Chưa xác định đơn vị")


def _exception_units(session: Session):
    e, bt, acc, d = ReconException.__table__, BankTransaction.__table__, CollectionAccount.__table__, \
        Dossier.__table__
    account_id = func.coalesce(e.c.account_id, bt.c.account_id)
    return (select(e.c.id, e.c.status, e.c.created_at, e.c.deadline, e.c.resolved_at, e.c.amount,
                   func.coalesce(acc.c.agency_id, d.c.agency_id).label("agency_id"))
            .select_from(e.outerjoin(bt, bt.c.id == e.c.transaction_id)
                         .outerjoin(acc, acc.c.id == account_id)
                         .outerjoin(d, d.c.id == e.c.dossier_id)))


def _unit(units: dict[str, UnitBacklog], ref: Reference, agency_id: int | None) -> UnitBacklog:
    agency = ref.agencies.get(agency_id) if agency_id is not None else None
    key, name = (agency.code, agency.name) if agency else UNASSIGNED_UNIT
    if key not in units:
        units[key] = UnitBacklog(key, name)
    return units[key]


def backlog(session: Session, period: Period, today: date | None = None, *,
            ref: Reference | None = None) -> list[UnitBacklog]:
    """Per unit: the exceptions open now with their age (whatever their period) and how many
    are past their deadline; the exceptions raised in the period that were settled after
    their deadline or are still open past it; and the days of the period (up to the day
    before yesterday, by default: ``reports.close_grace_days``) on which a collection account
    had transactions and that are not closed, or were closed late. Units with nothing to
    report are left out; the worst first."""
    today = today or ict_day(utcnow())
    ref = ref or reference(session)
    settings = load_settings(session)
    units: dict[str, UnitBacklog] = {}
    e = ReconException.__table__
    start, end = period.utc_bounds
    query = _exception_units(session).where(
        (e.c.status == "open") | and_(e.c.created_at >= start, e.c.created_at < end))
    for r in session.execute(query):
        created = ict_day(r.created_at)
        in_period = period.start <= created <= period.end
        unit = None
        if r.status == "open":
            unit = _unit(units, ref, r.agency_id)
            unit.open_exceptions += 1
            unit.amount_open += int(r.amount or 0)
            age = (today - created).days
            unit.oldest_open_days = age if unit.oldest_open_days is None else max(unit.oldest_open_days, age)
            unit.age_buckets["lt1" if age < 1 else "1to3" if age <= 3 else "gt3"] += 1
            if r.deadline is not None and r.deadline < today:
                unit.overdue_exceptions += 1
        if in_period and r.deadline is not None:
            settled_late = r.resolved_at is not None and ict_day(r.resolved_at) > r.deadline
            open_late = r.status == "open" and r.deadline < today
            if settled_late or open_late:
                unit = unit or _unit(units, ref, r.agency_id)
                unit.late_exceptions += 1
    _days(session, period, today, settings, ref, units)
    out = [u for u in units.values() if u.open_exceptions or u.delayed]
    out.sort(key=lambda u: (-(u.overdue_exceptions + u.late_exceptions + len(u.unclosed_days)),
                            -u.open_exceptions, u.name))
    return out


def _days(session: Session, period: Period, today: date, settings: ReportSettings, ref: Reference,
          units: dict[str, UnitBacklog]) -> None:
    last = min(period.end, today - timedelta(days=settings.close_grace_days + 1))
    if last < period.start:
        return
    accounts = {a.id: a for a in session.scalars(select(CollectionAccount))}
    if not accounts:
        return
    bt, dc = BankTransaction.__table__, DailyClose.__table__
    active = session.execute(
        select(bt.c.account_id, bt.c.booked_on).where(
            bt.c.account_number.in_(sorted({a.number for a in accounts.values()})),
            bt.c.booked_on >= period.start, bt.c.booked_on <= last, bt.c.account_id.is_not(None))
        .group_by(bt.c.account_id, bt.c.booked_on)).all()
    closes = {(r.account_id, r.day): r for r in session.execute(
        select(dc.c.account_id, dc.c.day, dc.c.status, dc.c.closed_at).where(dc.c.day >= period.start,
                                                                             dc.c.day <= last))}
    days = {(r.account_id, r.booked_on) for r in active} | set(closes)
    grace = timedelta(days=settings.close_grace_days)
    for account_id, day in sorted(days):
        account = accounts.get(account_id)
        if account is None:
            continue
        close = closes.get((account_id, day))
        if close is None or close.status != "closed":
            _unit(units, ref, account.agency_id).unclosed_days.append(day)
        elif close.closed_at is not None and ict_day(close.closed_at) > day + grace:
            _unit(units, ref, account.agency_id).late_closed_days.append(day)


def as_json_days(days: list[date]) -> list[str]:
    return [d.isoformat() for d in sorted(set(days))]

