"""The indicators, each ONE function with its definition and its source (``docs/REPORTS.md``):

- :func:`online_payment_rate`: item 3.6 of Quyết định 766/QĐ-TTg as the national portal computes it;
- :func:`item_3_5` and :func:`item_3_5b`: procedures with fees whose dossiers carry fee data, and
  procedures with fees that had a dossier paid online, as the portal computes them;
- :func:`cashless_rate`: the service's own figure beyond the index (dossiers paid without cash).

Common rules, written once in :func:`classify` (the counts) and :func:`measures` (the same as
SQL predicates, for the dossiers behind a figure):

- Period: a dossier belongs to the period when the Indochina day its processing started
  (``submitted_at``, the reception day) is in [from, to], both included. For the 766 items no
  status is excluded: withdrawn, refused and stopped dossiers stay in, as on the portal.
- Paid online: the dossier's online-payment flag (``DuocThanhToanTrucTuyen``) is 1 or 2, the
  flag being ``payments.money_rules.online_flag`` — the very function the outbound events
  call — applied to the dossier's payment channels (``pay_mask``) and whether it is paid in full.
- Procedures with fees: the catalogue as it stands today (:func:`fee_procedure_ids`).

Every function reads ``report_dossier_facts`` by default; ``direct=True`` computes the same
from the base tables (``facts.dossier_rows``): the tests prove both give the same figures.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, not_, select, true
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


def measures(src, settings: ReportSettings, fee_procedure_ids: set[int]) -> dict[str, Any]:
    """The predicates over one dossier row (``facts.FACT_COLUMNS``), by name, written on its
    ``shape`` bits, ``pay_mask`` and procedure. The drill-down lists are made from these; the
    figures are counted by :func:`classify` with the same logic (the tests hold every figure
    against the count of the dossiers behind it). The online-payment flag is turned into the
    list of payment masks it says are online (``ReportSettings.online_masks``)."""
    shape, mask = src.c.shape, src.c.pay_mask

    def bit(value: int):
        return shape.op("&")(literal(value)) != 0

    fee = src.c.procedure_id.in_(sorted(fee_procedure_ids) or [-1])
    all_zero = and_(not_(bit(SHAPE_WITH_FEES)), not_(bit(SHAPE_NO_FEE_DATA)))  # charge lines, every one 0 đồng
    with_fees = and_(fee, not_(all_zero))
    flagged = and_(bit(SHAPE_PAID), mask.in_(settings.online_masks() or [-1]))
    counted = shape.op("&")(literal(SHAPE_NOT_COUNTED)) == 0
    to_pay = and_(counted, bit(SHAPE_WITH_FEES))
    paid = and_(to_pay, bit(SHAPE_PAID))
    cashless = and_(paid, mask != 0, mask.op("&")(literal(CASH_BIT)) == 0)
    return {
        "dossiers": true(),
        "fee_procedure_dossiers": fee,
        "with_fees": with_fees,
        "zero_fee": and_(fee, all_zero),
        "no_fee_procedure": not_(fee),
        "paid_online": flagged,
        "flag_portal": and_(bit(SHAPE_PAID), mask.in_(settings.masks_with_flag(1) or [-1])),
        "flag_gateway": and_(bit(SHAPE_PAID), mask.in_(settings.masks_with_flag(2) or [-1])),
        "not_paid_online": and_(with_fees, not_(flagged)),
        "paid_online_outside": and_(flagged, not_(with_fees)),
        "to_pay": to_pay,
        "paid": paid,
        "unpaid": and_(to_pay, not_(bit(SHAPE_PAID))),
        "cashless": cashless,
        "not_cashless": and_(to_pay, not_(cashless)),
        "no_fee_data": bit(SHAPE_NO_FEE_DATA),
        "cancelled": bit(SHAPE_CANCELLED),
        "not_started": bit(SHAPE_NOT_STARTED),
    }


def classify(shape: int, mask: int, n: int, due: int, paid_net: int, settings: ReportSettings,
             fee_procedure: bool) -> Counts:
    """The counts of ``n`` dossier rows of one shape, payment mask and kind of procedure (the
    same rules as :func:`measures`)."""
    c = Counts(dossiers=n)
    flag = settings.flag(mask, bool(shape & SHAPE_PAID))  # payments.money_rules.online_flag
    all_zero = not shape & SHAPE_WITH_FEES and not shape & SHAPE_NO_FEE_DATA
    if fee_procedure:
        c.fee_procedure_dossiers = n
        if all_zero:
            c.zero_fee = n
        else:
            c.with_fees = n
    else:
        c.no_fee_procedure = n
    if flag:
        c.flag_portal, c.flag_gateway = (n, 0) if flag == 1 else (0, n)
        c.paid_online = n
        if not c.with_fees:
            c.paid_online_outside = n
    if shape & SHAPE_WITH_FEES:
        c.fee_data = n
    if shape & SHAPE_NO_FEE_DATA:
        c.no_fee_data = n
    if shape & SHAPE_CANCELLED:
        c.cancelled = n
        return c
    if shape & SHAPE_NOT_STARTED:
        c.not_started = n
        return c
    if shape & SHAPE_WITH_FEES:  # the service's own figures: counted dossiers with something to pay
        c.to_pay, c.amount_due, c.paid_amount = n, due, paid_net
        if shape & SHAPE_PAID:
            c.paid = n
            if mask and not mask & CASH_BIT:
                c.cashless = n
    return c


DRILL_MEASURES = ("dossiers", "fee_procedure_dossiers", "with_fees", "zero_fee", "no_fee_procedure", "paid_online",
                  "flag_portal", "flag_gateway", "not_paid_online", "paid_online_outside", "to_pay", "paid", "unpaid",
                  "cashless", "not_cashless", "no_fee_data", "cancelled", "not_started")


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
    database's fee data), taken as it stands now whatever the period — as the portal takes
    its database "as it stands today"."""
    f = FeeItem.__table__
    p = Procedure.__table__
    rows = session.execute(select(f.c.procedure_id).join(p, p.c.id == f.c.procedure_id).where(
        p.c.active.is_(True), f.c.exempt_always.is_(False),
        (func.coalesce(f.c.amount, 0) > 0) | (func.coalesce(f.c.rate_ppm, 0) > 0)).distinct())
    return {r[0] for r in rows}


# --- counting -------------------------------------------------------------------------------------


@dataclass
class Counts:
    # item 3.6 as the portal counts it: every dossier that started in the period, whatever its status
    dossiers: int = 0  # every dossier of the period
    fee_procedure_dossiers: int = 0  # of procedures with a fee in the catalogue
    zero_fee: int = 0  # of those, with charge lines that are all 0 đồng: what 3.6 subtracts
    with_fees: int = 0  # fee_procedure_dossiers − zero_fee: the denominator of 3.6
    no_fee_procedure: int = 0  # of procedures without a fee (in neither term)
    paid_online: int = 0  # online-payment flag 1 or 2: the numerator of 3.6
    flag_portal: int = 0  # flag 1: on the national portal's platform
    flag_gateway: int = 0  # flag 2: through the city's gateway
    paid_online_outside: int = 0  # flagged but not in the denominator (a charged dossier of a fee-free procedure)
    fee_data: int = 0  # with a charge line above 0 đồng (item 3.5)
    no_fee_data: int = 0  # without any charge line
    cancelled: int = 0  # rejected, withdrawn, stopped (in the 766 figures, out of the service's own)
    not_started: int = 0  # submitted, not yet accepted (likewise)
    # the service's own figures, beyond the index: counted dossiers (not cancelled, started) with charges above 0
    to_pay: int = 0  # the denominator of the cashless rate
    paid: int = 0  # of those, paid in full
    cashless: int = 0  # of those, paid without any cash: the numerator of the cashless rate
    amount_due: int = 0  # đồng, over to_pay
    paid_amount: int = 0  # đồng, net paid over to_pay

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def rate(self) -> float | None:
        """Item 3.6: paid online ÷ dossiers with fees (at most 1: see ``paid_online_outside``)."""
        return min(1.0, self.paid_online / self.with_fees) if self.with_fees else None

    @property
    def cashless_rate(self) -> float | None:
        return self.cashless / self.to_pay if self.to_pay else None

    @property
    def unpaid(self) -> int:
        return self.to_pay - self.paid

    @property
    def not_paid_online(self) -> int:
        """In 3.6's denominator without the flag."""
        return self.with_fees - (self.paid_online - self.paid_online_outside)

    @property
    def not_cashless(self) -> int:
        return self.to_pay - self.cashless


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
    by_procedure = group_by in ("procedure", "field")
    # 3.6's denominator depends on whether the procedure has a fee: grouped by that alone (one
    # CASE) unless the procedure itself is the group, so that the groups stay few.
    fee = src.c.procedure_id if by_procedure else \
        case((src.c.procedure_id.in_(sorted(ref.fee_procedures) or [-1]), 1), else_=0)
    keys = [*dims, fee.label("fee"), src.c.shape, src.c.pay_mask]
    query = select(*keys, func.count().label("n"), func.sum(src.c.amount_due).label("due"),
                   func.sum(src.c.paid_net).label("paid")).where(*where).group_by(*keys)
    groups: dict[Any, Group] = {}
    total = Counts()
    for row in session.execute(query):
        procedure_id = row.fee if by_procedure else None
        fee_procedure = procedure_id in ref.fee_procedures if by_procedure else bool(row.fee)
        counts = classify(int(row.shape), int(row.pay_mask), int(row.n), int(row.due or 0), int(row.paid or 0),
                          settings, fee_procedure)
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


def _rate_report(indicator: str, b: Breakdown, numerator: str, basis: str, denominator: str = "with_fees",
                 rate: str = "rate") -> RateReport:
    def row(key: str, name: str, counts: Counts, name_en=None, kind=None) -> RateRow:
        return RateRow(key, name, counts.dossiers, getattr(counts, denominator), getattr(counts, numerator),
                       getattr(counts, rate), counts, name_en, kind)

    rows = [row(g.key, g.name, g.counts, g.name_en, g.kind) for g in b.groups if g.counts.dossiers > 0]
    return RateReport(indicator, b.period, b.group_by, rows, row("total", "Tổng cộng", b.total), b.settings, basis)


def online_payment_rate(session: Session, period: Period, group_by: str | None = None, *,
                        direct: bool = False) -> RateReport:
    """Item 3.6 of Quyết định 766/QĐ-TTg, the online payment rate, as the national portal computes it.

    Source (DOMAIN.md, "The indicator as the portal computes it", from the portal's "Mô tả công
    thức tính chỉ số 766"): "3.6, numerator: synced dossiers of the unit whose
    ``DuocThanhToanTrucTuyen`` is 1 (paid on the national portal's platform) or 2 (paid through
    the ministry's or province's payment gateway), whose processing started in the period. [...]
    3.6, denominator: all dossiers of procedures that have a fee in the national procedures
    database (fee not 0, not empty), less the dossiers of those procedures whose synced fee list
    (``DanhSachLePhi``) has every ``Gia`` equal to 0. No status is excluded: withdrawn, refused
    and stopped dossiers stay in. The period is the day processing started (the reception day)."

    So: numerator ``paid_online`` = dossiers whose flag (``money_rules.online_flag``, as sent in
    the outbound events) is 1 or 2; denominator ``with_fees`` = dossiers of procedures with a fee
    in the catalogue, less those with charge lines that are all 0 đồng (a dossier without any
    charge line stays in: its fee list is not "all 0", it is missing). ``rate`` is None when the
    denominator is 0 and never above 1 (``Counts.paid_online_outside`` counts flagged dossiers
    outside the denominator)."""
    return _rate_report("3.6", breakdown(session, period, group_by, direct=direct), "paid_online", BASIS_766)


def cashless_rate(session: Session, period: Period, group_by: str | None = None, *,
                  direct: bool = False) -> RateReport:
    """The service's own cashless rate, beyond the index (the city's follow-up of Nghị quyết
    71/NQ-CP): of the dossiers with something to pay (charges above 0 đồng, not rejected,
    withdrawn or stopped, processing started), those paid in full without any cash — the portal,
    the gateway, a VietQR transfer at the counter and a card all count."""
    return _rate_report("cashless", breakdown(session, period, group_by, direct=direct), "cashless", BASIS_CASHLESS,
                        denominator="to_pay", rate="cashless_rate")


@dataclass
class ProcedureItem:
    code: str
    name: str
    field: str
    dossiers: int
    carries_fee_data: bool  # 3.5: a dossier of the period with non-zero fee data
    paid_online: bool  # 3.5b: a dossier of the period with the online-payment flag 1 or 2
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


def _items(b: Breakdown) -> list[ProcedureItem]:
    """One line per procedure with fees in the catalogue as it stands today (the divisor of
    3.5 and 3.5b), with what its dossiers of the period carry."""
    by_code = {g.key: g.counts for g in b.groups}
    items = []
    for pid in sorted(b.ref.fee_procedures, key=lambda i: b.ref.procedures[i].code):
        p = b.ref.procedures[pid]
        counts = by_code.get(p.code, Counts())
        items.append(ProcedureItem(p.code, p.name, p.field, counts.dossiers, counts.fee_data > 0,
                                   counts.paid_online > 0, p.name_en))
    return items


def _share(item: str, period: Period, items: list[ProcedureItem], hit) -> ProcedureShare:
    by_field: dict[str, tuple[int, int]] = {}
    for i in items:
        top, bottom = by_field.get(i.field, (0, 0))
        by_field[i.field] = (top + bool(hit(i)), bottom + 1)
    return ProcedureShare(item, period, sum(bool(hit(i)) for i in items), len(items), by_field, items)


def item_3_5(session: Session, period: Period, *, direct: bool = False) -> ProcedureShare:
    """Item 3.5 of Quyết định 766/QĐ-TTg (2 points), as the national portal computes it.

    Source (DOMAIN.md, "The indicator as the portal computes it"): "3.5: X = procedures that
    had, in the period, a dossier synced with non-zero fee data; Y = procedures with fee
    information in the national procedures database (not 0, not empty), taken as it stands
    today. Full marks at 80 %, below that rate × points ÷ 80 %."

    X: procedures of Y with at least one dossier started in the period (any status) carrying a
    charge line above 0 đồng; Y: the procedures with a fee in the catalogue now
    (:func:`fee_procedure_ids`), whatever the period."""
    return _share("3.5", period, _items(breakdown(session, period, "procedure", direct=direct)),
                  lambda i: i.carries_fee_data)


def item_3_5b(session: Session, period: Period, *, direct: bool = False) -> ProcedureShare:
    """Item 3.5b (2 points, full marks at 80 %): procedures with fees that had at least one
    online payment ÷ procedures with fees.

    Sources: DOMAIN.md's table of Quyết định 766/QĐ-TTg ("procedures with fees that had at least
    one online payment ÷ procedures with fees"); the portal's description gives a divisor only
    for 3.5 (Y: "procedures with fee information in the national procedures database (not 0,
    not empty), taken as it stands today"), and knows a payment only by the dossier's flag. The
    service follows the portal: the divisor is that same Y (the catalogue now, not the
    procedures that had dossiers in the period), and a procedure counts when a dossier of the
    period has the online-payment flag 1 or 2 (a part payment online, which sets no flag, does
    not count)."""
    return _share("3.5b", period, _items(breakdown(session, period, "procedure", direct=direct)),
                  lambda i: i.paid_online)


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
    fields_: dict[str, Group] = {}
    for g in b.groups:
        p = b.ref.procedure_by_code(g.key)
        fkey = p.field if p else "other"
        grp = fields_.setdefault(fkey, Group(fkey, FIELD_NAMES.get(fkey, OTHER_FIELD_NAME), None))
        grp.counts.add(g.counts)
    items = _items(b)
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
    online_flag: int = 0  # DuocThanhToanTrucTuyen, as the outbound events send it
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
                   d.c.submitted_at, src.c.status, src.c.amount_due, src.c.paid_net, src.c.pay_mask, src.c.shape,
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
                                 bool(r.cashless), settings.flag(int(r.pay_mask), bool(int(r.shape) & SHAPE_PAID)),
                                 agency.name_en if agency else None, procedure.name_en if procedure else None))
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
