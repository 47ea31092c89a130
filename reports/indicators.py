"""The indicators, each ONE function with its definition and legal basis (``docs/REPORTS.md``):

- :func:`online_payment_rate`: item 3.6 of Quyết định 766/QĐ-TTg;
- :func:`cashless_rate`: dossiers paid without cash, counter VietQR transfers included;
- :func:`item_3_5` and :func:`item_3_5b`: procedures with fees whose dossiers carry fee data,
  and procedures with fees that had at least one online payment.

Common rules, written once in :func:`measures`:

- Period: a dossier belongs to the period when the Indochina day its processing started
  (``submitted_at``) is in [from, to], both included. Its payments count whenever they came
  (also after the period), as long as they are not reversed and not refunded.
- Counted dossiers: every status except the cancelled ones (3 rejected, 7 withdrawn, 8 stopped)
  and 1 submitted (processing not started yet).
- With fees: the sum of its charges is above 0. A dossier whose charges are all 0 (exempt payer,
  online under Nghị quyết 77/2025, a free procedure) is in neither numerator nor denominator.
- Paid: not reversed allocations less paid-out refunds cover the amount due.
- Paid online: paid, and every payment allocated to it came through a channel counted as online
  (setting ``reports.online_channels``, default portal + gateway).
- Cashless: paid, and none of its payments was cash.

Every function reads ``report_dossier_facts`` by default; ``direct=True`` computes the same
from the base tables (``facts.dossier_rows``): the tests prove both give the same figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, not_, select
from sqlalchemy.orm import Session

from core.collation import sort_key
from payments.models import Agency, Dossier, FeeItem, Procedure

from .definitions import (AGENCY_TIERS, BASIS_766, BASIS_CASHLESS, CASH_BIT, DOSSIER_CHANNEL_NAMES, FIELD_NAMES, GROUPS,
                          OTHER_FIELD_NAME, SHAPE_CANCELLED, SHAPE_NO_FEE_DATA, SHAPE_NOT_COUNTED, SHAPE_NOT_STARTED,
                          SHAPE_PAID, SHAPE_WITH_FEES, Period, ReportSettings, channels_of, load_settings, month_label,
                          score, trend_period)
from .facts import apply_pending, dossier_rows
from .models import DossierFact

# --- what is counted ------------------------------------------------------------------------------


def measures(src, settings: ReportSettings, fee_procedure_ids: set[int] | None = None) -> dict[str, Any]:
    """The predicates over one dossier row (``facts.FACT_COLUMNS``), by name, written on its
    ``shape`` bits and ``pay_mask``. The drill-down lists are made from these; the figures are
    counted by :func:`classify` with the same bit logic (the tests hold every figure against
    the count of the dossiers behind it)."""
    shape, mask = src.c.shape, src.c.pay_mask

    def bit(value: int):
        return shape.op("&")(literal(value)) != 0

    counted = shape.op("&")(literal(SHAPE_NOT_COUNTED)) == 0
    with_fees = and_(counted, bit(SHAPE_WITH_FEES))
    paid = and_(counted, bit(SHAPE_PAID))
    online = and_(paid, mask != 0, mask.op("&")(literal(settings.not_online_mask)) == 0)
    cashless = and_(paid, mask != 0, mask.op("&")(literal(CASH_BIT)) == 0)
    zero = and_(counted, not_(bit(SHAPE_WITH_FEES)))
    out = {
        "dossiers": counted,
        "with_fees": with_fees,
        "zero": zero,
        "paid": paid,
        "unpaid": and_(with_fees, not_(bit(SHAPE_PAID))),
        "paid_online": online,
        "not_paid_online": and_(with_fees, not_(online)),
        "cashless": cashless,
        "not_cashless": and_(with_fees, not_(cashless)),
        "any_online": and_(counted, mask.op("&")(literal(settings.online_mask)) != 0),
        "no_fee_data": and_(counted, bit(SHAPE_NO_FEE_DATA)),
        "cancelled": bit(SHAPE_CANCELLED),
        "not_started": bit(SHAPE_NOT_STARTED),
    }
    if fee_procedure_ids is not None:
        fee = src.c.procedure_id.in_(sorted(fee_procedure_ids) or [-1])
        out["zero_fee"] = and_(zero, fee)  # what 3.6 subtracts: dossiers of fee procedures whose fees are all 0
        out["no_fee_procedure"] = and_(zero, not_(fee))
        out["fee_procedure_dossiers"] = and_(counted, fee)
    return out


def classify(shape: int, mask: int, n: int, due: int, paid_net: int, settings: ReportSettings,
             fee_procedure: bool | None) -> Counts:
    """The counts of ``n`` dossier rows of one shape and payment mask (the same rules as
    :func:`measures`). ``fee_procedure`` None: not known (a month total), the all-zero
    dossiers are then only in ``zero``."""
    c = Counts()
    if shape & SHAPE_CANCELLED:
        c.cancelled = n
        return c
    if shape & SHAPE_NOT_STARTED:
        c.not_started = n
        return c
    c.dossiers = n
    if shape & SHAPE_NO_FEE_DATA:
        c.no_fee_data = n
    if mask & settings.online_mask:
        c.any_online = n
    if not shape & SHAPE_WITH_FEES:
        c.zero = n
        if fee_procedure is True:
            c.zero_fee = n
        elif fee_procedure is False:
            c.no_fee_procedure = n
        return c
    c.with_fees, c.amount_due, c.paid_amount = n, due, paid_net
    if shape & SHAPE_PAID:
        c.paid = n
        if mask and not mask & settings.not_online_mask:
            c.paid_online = n
        if mask and not mask & CASH_BIT:
            c.cashless = n
    return c


DRILL_MEASURES = ("dossiers", "with_fees", "zero_fee", "no_fee_procedure", "paid", "unpaid", "paid_online",
                  "not_paid_online", "cashless", "not_cashless", "any_online", "no_fee_data", "cancelled",
                  "not_started")


def _source(session: Session, period: Period, direct: bool):
    """(rows, conditions): the dossier rows of the period, from the facts table or computed."""
    if direct:
        start, end = period.utc_bounds
        return dossier_rows(utc_from=start, utc_to=end).subquery("dossier_rows"), []
    apply_pending(session)  # this transaction's own changes first
    t = DossierFact.__table__
    months = period.whole_months()
    if months is not None:  # whole months: the covering index alone answers (no table lookups)
        return t, [t.c.start_month >= months[0], t.c.start_month <= months[1]]
    return t, [t.c.start_day >= period.start, t.c.start_day <= period.end]


# --- reference data -----------------------------------------------------------------------------


@dataclass
class Reference:
    agencies: dict[int, Agency]
    procedures: dict[int, Procedure]
    fee_procedures: set[int]

    def agency_by_code(self, code: str) -> Agency | None:
        return next((a for a in self.agencies.values() if a.code == code), None)

    def procedure_by_code(self, code: str) -> Procedure | None:
        return next((p for p in self.procedures.values() if p.code == code), None)


def reference(session: Session) -> Reference:
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    procedures = {p.id: p for p in session.scalars(select(Procedure))}
    return Reference(agencies, procedures, fee_procedure_ids(session))


def fee_procedure_ids(session: Session) -> set[int]:
    """Procedures with fees: active in the catalogue, with a fee item that is not always exempt
    and has an amount or a rate above 0 (the catalogue is the city's copy of the national
    database's fee data)."""
    f = FeeItem.__table__
    p = Procedure.__table__
    rows = session.execute(select(f.c.procedure_id).join(p, p.c.id == f.c.procedure_id).where(
        p.c.active.is_(True), f.c.exempt_always.is_(False),
        (func.coalesce(f.c.amount, 0) > 0) | (func.coalesce(f.c.rate_ppm, 0) > 0)).distinct())
    return {r[0] for r in rows}


# --- counting -------------------------------------------------------------------------------------


@dataclass
class Counts:
    dossiers: int = 0  # counted: processing started in the period, not cancelled
    with_fees: int = 0  # counted with charges above 0: the denominator of 3.6 and of the cashless rate
    zero_fee: int = 0  # counted, procedure with fees, every charge 0: what 3.6 subtracts
    no_fee_procedure: int = 0  # counted, procedure without fees, nothing charged
    paid: int = 0
    paid_online: int = 0  # the numerator of 3.6
    cashless: int = 0  # the numerator of the cashless rate
    any_online: int = 0
    no_fee_data: int = 0
    cancelled: int = 0
    not_started: int = 0
    zero: int = 0  # counted, every charge 0 (zero_fee + no_fee_procedure when the procedure is known)
    amount_due: int = 0  # đồng, over the dossiers with fees
    paid_amount: int = 0  # đồng, net paid over the dossiers with fees

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def fee_procedure_dossiers(self) -> int:
        """Dossiers of procedures with fees (before 3.6 subtracts the all-zero ones)."""
        return self.with_fees + self.zero_fee

    @property
    def rate(self) -> float | None:
        """Item 3.6: paid online ÷ dossiers with fees."""
        return self.paid_online / self.with_fees if self.with_fees else None

    @property
    def cashless_rate(self) -> float | None:
        return self.cashless / self.with_fees if self.with_fees else None

    @property
    def unpaid(self) -> int:
        return self.with_fees - self.paid


@dataclass
class Group:
    key: str
    name: str
    name_en: str | None
    counts: Counts = field(default_factory=Counts)
    kind: str | None = None  # agencies: city_body, branch, ward, commune, district

    @property
    def tier(self) -> str | None:
        return AGENCY_TIERS.get(self.kind or "")


@dataclass
class Breakdown:
    period: Period
    group_by: str | None
    groups: list[Group]
    total: Counts
    settings: ReportSettings
    ref: Reference


def _dimension(src, group_by: str | None):
    if group_by == "agency":
        return [src.c.agency_id]
    if group_by == "channel":
        return [src.c.channel]
    if group_by == "month":
        return [src.c.start_month]
    return []  # field and procedure: by procedure, which every row carries anyway


def breakdown(session: Session, period: Period, group_by: str | None = None, *, direct: bool = False,
              settings: ReportSettings | None = None, ref: Reference | None = None) -> Breakdown:
    """Every count of :class:`Counts` for the period, in total and per group (agency, field,
    procedure, channel or month). One query, grouped by the dimension and the procedure."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"unknown grouping {group_by!r}")
    settings = settings or load_settings(session)
    ref = ref or reference(session)
    src, where = _source(session, period, direct)
    dims = _dimension(src, group_by)
    by_procedure = group_by != "month"  # a year month by month reads the narrow index, in its order
    keys = [*dims, *([src.c.procedure_id] if by_procedure else []), src.c.shape, src.c.pay_mask]
    query = select(*keys, func.count().label("n"), func.sum(src.c.amount_due).label("due"),
                   func.sum(src.c.paid_net).label("paid")).where(*where).group_by(*keys)
    groups: dict[Any, Group] = {}
    total = Counts()
    for row in session.execute(query):
        procedure_id = row.procedure_id if by_procedure else None
        counts = classify(int(row.shape), int(row.pay_mask), int(row.n), int(row.due or 0), int(row.paid or 0),
                          settings, None if procedure_id is None else procedure_id in ref.fee_procedures)
        total.add(counts)
        if group_by is None:
            continue
        group_key = row[0] if dims else procedure_id
        if group_by == "field":
            procedure = ref.procedures.get(procedure_id)
            group_key = procedure.field if procedure else "other"
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = _group(group_by, group_key, ref)
        group.counts.add(counts)
    ordered = sorted(groups.values(), key=lambda g: g.key)
    return Breakdown(period, group_by, ordered, total, settings, ref)


def _group(group_by: str, key: Any, ref: Reference) -> Group:
    if group_by == "agency":
        agency = ref.agencies.get(key)
        if agency is None:
            return Group(str(key), f"#{key}", None)
        return Group(agency.code, agency.name, agency.name_en, kind=agency.kind)
    if group_by == "procedure":
        procedure = ref.procedures.get(key)
        if procedure is None:
            return Group(str(key), f"#{key}", None)
        return Group(procedure.code, procedure.name, procedure.name_en)
    if group_by == "field":
        return Group(key, FIELD_NAMES.get(key, OTHER_FIELD_NAME), None)
    if group_by == "channel":
        return Group(key, DOSSIER_CHANNEL_NAMES.get(key, key), None)
    return Group(month_label(key), month_label(key), None)  # month


# --- the indicators -------------------------------------------------------------------------------


@dataclass
class RateRow:
    key: str
    name: str
    dossiers: int
    dossiers_with_fees: int
    numerator: int
    rate: float | None
    counts: Counts
    name_en: str | None = None
    kind: str | None = None


@dataclass
class RateReport:
    indicator: str  # "3.6" | "cashless"
    period: Period
    group_by: str | None
    rows: list[RateRow]
    total: RateRow
    settings: ReportSettings
    legal_basis: str


def _rate_report(indicator: str, b: Breakdown, numerator: str, basis: str) -> RateReport:
    def row(key: str, name: str, counts: Counts, name_en=None, kind=None) -> RateRow:
        top = getattr(counts, numerator)
        return RateRow(key, name, counts.dossiers, counts.with_fees, top,
                       top / counts.with_fees if counts.with_fees else None, counts, name_en, kind)

    rows = [row(g.key, g.name, g.counts, g.name_en, g.kind) for g in b.groups if g.counts.dossiers > 0]
    return RateReport(indicator, b.period, b.group_by, rows, row("total", "Tổng cộng", b.total), b.settings, basis)


def online_payment_rate(session: Session, period: Period, group_by: str | None = None, *,
                        direct: bool = False) -> RateReport:
    """Item 3.6 of Quyết định 766/QĐ-TTg, the online payment rate:

        dossiers paid online whose processing started in the period
        ÷ (dossiers of procedures with a non-zero fee − those dossiers whose fees are all 0)

    The denominator is the counted dossiers (not cancelled, processing started) whose charges
    add up to more than 0; the numerator those of them paid in full, net of reversals and paid
    refunds, with every payment through a channel counted as online (setting
    ``reports.online_channels``: by default the national portal's payment platform and the
    city's payment gateway). ``rate`` is None when no dossier had fees."""
    return _rate_report("3.6", breakdown(session, period, group_by, direct=direct), "paid_online", BASIS_766)


def cashless_rate(session: Session, period: Period, group_by: str | None = None, *,
                  direct: bool = False) -> RateReport:
    """The cashless rate: of the same dossiers with fees as item 3.6, those paid in full without
    any cash — the portal, the gateway, a VietQR transfer at the counter and a card all count.
    It is never below the online payment rate."""
    return _rate_report("cashless", breakdown(session, period, group_by, direct=direct), "cashless", BASIS_CASHLESS)


@dataclass
class ProcedureItem:
    code: str
    name: str
    field: str
    dossiers: int
    carries_fee_data: bool
    paid_online: bool  # at least one online payment
    name_en: str | None = None


@dataclass
class ProcedureShare:
    item: str  # "3.5" | "3.5b"
    period: Period
    numerator: int
    denominator: int
    by_field: dict[str, tuple[int, int]]
    procedures: list[ProcedureItem]

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _procedure_items(session: Session, period: Period, direct: bool) -> tuple[list[ProcedureItem], Reference]:
    b = breakdown(session, period, "procedure", direct=direct)
    by_code = {g.key: g.counts for g in b.groups}
    items = []
    for pid in sorted(b.ref.fee_procedures, key=lambda i: b.ref.procedures[i].code):
        p = b.ref.procedures[pid]
        counts = by_code.get(p.code, Counts())
        items.append(ProcedureItem(p.code, p.name, p.field, counts.dossiers,
                                   counts.dossiers > 0 and counts.no_fee_data == 0, counts.any_online > 0, p.name_en))
    return items, b.ref


def _share(item: str, period: Period, items: list[ProcedureItem], hit) -> ProcedureShare:
    by_field: dict[str, tuple[int, int]] = {}
    for i in items:
        top, bottom = by_field.get(i.field, (0, 0))
        by_field[i.field] = (top + bool(hit(i)), bottom + 1)
    return ProcedureShare(item, period, sum(bool(hit(i)) for i in items), len(items), by_field, items)


def item_3_5(session: Session, period: Period, *, direct: bool = False) -> ProcedureShare:
    """Item 3.5 of Quyết định 766/QĐ-TTg: procedures with fees whose dossiers carry fee data
    ÷ procedures with fees. A procedure counts when it had at least one counted dossier that
    started in the period and every such dossier carries at least one charge line; the
    denominator is every procedure with fees in the catalogue. Full marks at 80 %."""
    items, _ = _procedure_items(session, period, direct)
    return _share("3.5", period, items, lambda i: i.carries_fee_data)


def item_3_5b(session: Session, period: Period, *, direct: bool = False) -> ProcedureShare:
    """Item 3.5b: procedures with fees that had at least one online payment (a payment, not
    reversed, through a channel counted as online, for a counted dossier that started in the
    period) ÷ procedures with fees. Full marks at 80 %."""
    items, _ = _procedure_items(session, period, direct)
    return _share("3.5b", period, items, lambda i: i.paid_online)


# --- the summary the dashboard and the disclosure show ----------------------------------------------


@dataclass
class Summary:
    period: Period
    total: Counts
    item_3_5: ProcedureShare
    item_3_5b: ProcedureShare
    settings: ReportSettings
    by_field: list[Group]

    @property
    def rate_3_6(self) -> float | None:
        return self.total.rate

    @property
    def scores(self) -> dict[str, float | None]:
        return {"3.5": score(self.settings, "3.5", self.item_3_5.rate),
                "3.5b": score(self.settings, "3.5b", self.item_3_5b.rate),
                "3.6": score(self.settings, "3.6", self.total.rate)}

    @property
    def points(self) -> float:
        return round(sum(v for v in self.scores.values() if v is not None), 2)

    @property
    def max_points(self) -> float:
        return round(sum(spec["points"] for spec in self.settings.scoring.values()), 2)


def summary(session: Session, period: Period, *, direct: bool = False) -> Summary:
    """All four indicators and the 766 points for the period, from one query by procedure
    (the same rules as :func:`online_payment_rate`, :func:`cashless_rate`, :func:`item_3_5`
    and :func:`item_3_5b`)."""
    b = breakdown(session, period, "procedure", direct=direct)
    by_code = {g.key: g.counts for g in b.groups}
    items = []
    fields_: dict[str, Group] = {}
    for g in b.groups:
        p = b.ref.procedure_by_code(g.key)
        fkey = p.field if p else "other"
        grp = fields_.setdefault(fkey, Group(fkey, FIELD_NAMES.get(fkey, OTHER_FIELD_NAME), None))
        grp.counts.add(g.counts)
    for pid in sorted(b.ref.fee_procedures, key=lambda i: b.ref.procedures[i].code):
        p = b.ref.procedures[pid]
        counts = by_code.get(p.code, Counts())
        items.append(ProcedureItem(p.code, p.name, p.field, counts.dossiers,
                                   counts.dossiers > 0 and counts.no_fee_data == 0, counts.any_online > 0, p.name_en))
    return Summary(period, b.total, _share("3.5", period, items, lambda i: i.carries_fee_data),
                   _share("3.5b", period, items, lambda i: i.paid_online), b.settings,
                   sorted(fields_.values(), key=lambda g: g.key))


@dataclass
class TrendPoint:
    month: str
    counts: Counts


def trend(session: Session, end: date, months: int = 12, *, direct: bool = False) -> list[TrendPoint]:
    """Month by month (by processing-start month) up to the month of ``end``."""
    period = trend_period(end, months)
    b = breakdown(session, period, "month", direct=direct)
    found = {g.key: g.counts for g in b.groups}
    return [TrendPoint(month_label(m), found.get(month_label(m), Counts())) for m in period.months()]


@dataclass
class Ranked:
    rank: int | None
    group: Group


def ranking(b: Breakdown, active_only_period: Period | None = None) -> dict[str, list[Ranked]]:
    """Units ranked by the 3.6 rate within their tier (city bodies and branches; wards and
    communes; the former districts), best first; equal rates share a rank; a unit without
    dossiers with fees is listed last without a rank. With ``active_only_period``, units that
    were active in the period are listed even when they had no dossier."""
    groups = {g.key: g for g in b.groups}
    if active_only_period is not None:
        for agency in b.ref.agencies.values():
            if agency.code in groups or not _active(agency, active_only_period):
                continue
            groups[agency.code] = Group(agency.code, agency.name, agency.name_en, kind=agency.kind)
    tiers: dict[str, list[Ranked]] = {"city": [], "commune": [], "district": []}
    for tier in tiers:
        members = [g for g in groups.values() if (g.tier or "city") == tier]
        rated = sorted((g for g in members if g.counts.rate is not None),
                       key=lambda g: (-g.counts.rate, -g.counts.with_fees, sort_key(g.name)))
        previous, rank = None, 0
        for position, g in enumerate(rated, start=1):
            if g.counts.rate != previous:
                rank, previous = position, g.counts.rate
            tiers[tier].append(Ranked(rank, g))
        tiers[tier] += [Ranked(None, g) for g in sorted((g for g in members if g.counts.rate is None),
                                                        key=lambda g: sort_key(g.name))]
    return {tier: rows for tier, rows in tiers.items() if rows}


def _active(agency: Agency, period: Period) -> bool:
    return (agency.active_from is None or agency.active_from <= period.end) and \
        (agency.active_to is None or agency.active_to >= period.start)


# --- drill-down: the dossiers behind a figure ----------------------------------------------------------


@dataclass
class DossierLine:
    id: int
    code: str
    agency_code: str
    agency_name: str
    procedure_code: str
    procedure_name: str
    field: str
    channel: str
    submitted_at: Any
    status: str
    amount_due: int
    paid_net: int
    payment_channels: list[str]
    paid_online: bool
    cashless: bool
    agency_name_en: str | None = None
    procedure_name_en: str | None = None


def dossiers_behind(session: Session, period: Period, measure: str, group_by: str | None = None,
                    key: str | None = None, *, after: int = 0, limit: int = 100,
                    direct: bool = False) -> tuple[list[DossierLine], int]:
    """The dossiers counted in one figure: ``measure`` (a name of :data:`DRILL_MEASURES`) for
    the period, in one group (``group_by`` and its ``key``) or in total. Pages by dossier id
    (``after``); also returns how many there are in all."""
    if measure not in DRILL_MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    settings = load_settings(session)
    ref = reference(session)
    src, where = _source(session, period, direct)
    preds = measures(src, settings, ref.fee_procedures)
    conditions = [*where, preds[measure]]
    if group_by is not None:
        conditions.append(_group_condition(src, group_by, key, ref))
    d = Dossier.__table__
    online, cashless = preds["paid_online"], preds["cashless"]
    count = session.scalar(select(func.count()).select_from(src).where(*conditions))
    query = select(src.c.dossier_id, d.c.code, src.c.agency_id, src.c.procedure_id, src.c.channel,
                   d.c.submitted_at, src.c.status, src.c.amount_due, src.c.paid_net, src.c.pay_mask,
                   case((online, True), else_=False).label("online"),
                   case((cashless, True), else_=False).label("cashless")) \
        .join(d, d.c.id == src.c.dossier_id).where(*conditions, src.c.dossier_id > after) \
        .order_by(src.c.dossier_id).limit(limit)
    lines = []
    for r in session.execute(query):
        agency, procedure = ref.agencies.get(r.agency_id), ref.procedures.get(r.procedure_id)
        lines.append(DossierLine(r.dossier_id, r.code, agency.code if agency else "", agency.name if agency else "",
                                 procedure.code if procedure else "", procedure.name if procedure else "",
                                 procedure.field if procedure else "", r.channel, r.submitted_at, r.status,
                                 int(r.amount_due), int(r.paid_net), channels_of(int(r.pay_mask)), bool(r.online),
                                 bool(r.cashless), agency.name_en if agency else None,
                                 procedure.name_en if procedure else None))
    return lines, int(count or 0)


class UnknownGroup(ValueError):
    pass


def _group_condition(src, group_by: str, key: str | None, ref: Reference):
    if group_by not in GROUPS or key is None:
        raise UnknownGroup(f"unknown grouping {group_by!r}")
    if group_by == "agency":
        agency = ref.agency_by_code(key)
        if agency is None:
            raise UnknownGroup(f"no agency {key!r}")
        return src.c.agency_id == agency.id
    if group_by == "procedure":
        procedure = ref.procedure_by_code(key)
        if procedure is None:
            raise UnknownGroup(f"no procedure {key!r}")
        return src.c.procedure_id == procedure.id
    if group_by == "field":
        ids = [p.id for p in ref.procedures.values() if p.field == key]
        if not ids and key != "other":
            raise UnknownGroup(f"no field {key!r}")
        if key == "other":
            known = [p.id for p in ref.procedures.values() if p.field in FIELD_NAMES]
            return not_(src.c.procedure_id.in_(known or [-1]))
        return src.c.procedure_id.in_(ids)
    if group_by == "channel":
        if key not in DOSSIER_CHANNEL_NAMES:
            raise UnknownGroup(f"no channel {key!r}")
        return src.c.channel == key
    try:  # month
        year, month = (int(x) for x in key.split("-"))
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise UnknownGroup(f"a month is YYYY-MM, not {key!r}") from None
    return src.c.start_month == year * 100 + month
