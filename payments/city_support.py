"""What the city budget pays in the payer's place (Nghị quyết 77/2025/NQ-HĐND; docs/TREASURY.md,
"City support").

A charge under a ``city_support`` rule owes the payer 0 đ and records ``city_support``: the fee
the unit would have collected, which the city budget owes instead. It is never collected money
(no transfer reaches the collection account, no receipt is issued), so the treasury figures show
it **beside** what was collected, per agency, Indochina month and fee item:

- the month is the one the dossier was filed in (``submitted_at``, Indochina Time): the rule is
  chosen on the filing day, and that is when the unit would have charged the fee;
- the agency is the dossier's (the unit that would have collected);
- dossiers rejected, withdrawn or stopped (national statuses 3, 7, 8; the reports' cancelled
  ones) are left out: they are never processed, and the city owes no fee for a service not given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from .models import Agency, Dossier, DossierCharge
from .treasury import Position, TreasuryData, month_bounds, positions, remitted, treasury_data

# The same three as reports.definitions.CANCELLED_STATUSES (payments may not import reports;
# tests/payments/test_city_support.py checks they agree).
CANCELLED_STATUSES = ("rejected", "withdrawn", "stopped")


@dataclass
class SupportLine:
    """One fee item's support in a period."""
    fee_code: str
    name: str
    kind: str | None
    chapter: str | None
    subitem: str | None
    amount: int = 0
    charges: int = 0
    rules: dict[str, str] = field(default_factory=dict)  # rule code → legal basis, as the charges recorded them

    @property
    def key(self) -> tuple[str, str | None]:
        return self.fee_code or self.name, self.kind


# (agency id, month, fee code, name, kind, rule code, rule basis, amount, charges): the query's rows
Row = tuple[int, date, str | None, str, str | None, str | None, str | None, int, int]


def _order(line: SupportLine) -> tuple:
    # the fee return's order: lệ phí first, then by sub-item, code and name
    return line.kind != "le_phi", line.subitem is None, line.subitem or "", line.fee_code, line.name


def support_lines(rows: Iterable[Row], data: dict[str, TreasuryData]) -> dict[tuple[int, date], list[SupportLine]]:
    """Per (agency id, month): one line per fee item, its support summed, its charges counted and
    the rules that gave it; budget codes from the catalogue (``data``)."""
    grouped: dict[tuple[int, date], dict[tuple[str, str | None], SupportLine]] = {}
    for agency_id, month, code, name, kind, rule_code, rule_basis, amount, charges in rows:
        lines = grouped.setdefault((agency_id, month), {})
        known = data.get(code) if code else None
        line = SupportLine(code or "", name, kind, known.chapter if known else None, known.subitem if known else None)
        line = lines.setdefault(line.key, line)
        line.amount += int(amount)
        line.charges += int(charges)
        if rule_code:
            line.rules.setdefault(rule_code, rule_basis or "")
    return {key: sorted(lines.values(), key=_order) for key, lines in grouped.items()}


def merged(groups: Iterable[list[SupportLine]]) -> list[SupportLine]:
    """The lines of several months as one (a year's settlement sums its months)."""
    out: dict[tuple[str, str | None], SupportLine] = {}
    for lines in groups:
        for line in lines:
            total = out.setdefault(line.key, SupportLine(line.fee_code, line.name, line.kind, line.chapter,
                                                         line.subitem))
            total.amount += line.amount
            total.charges += line.charges
            for code, basis in line.rules.items():
                total.rules.setdefault(code, basis)
    return sorted(out.values(), key=_order)


def _rows(session: Session, months: list[date], agency_ids: list[int] | None) -> list[Row]:
    """One grouped query over the months: each charge with support, of a dossier filed in one
    of them and not cancelled, counted in its month."""
    months = sorted(set(months))
    bounds = [month_bounds(m) for m in months]
    # which month: the first whose end is after the filing instant (the filter keeps only the months')
    which = case(*[(Dossier.submitted_at < end, index) for index, (_, end) in enumerate(bounds)])
    charges = (select(Dossier.agency_id.label("agency_id"), which.label("month"), DossierCharge.fee_code,
                      DossierCharge.name, DossierCharge.kind, DossierCharge.rule_code, DossierCharge.rule_basis,
                      DossierCharge.city_support)
               .join(Dossier, DossierCharge.dossier_id == Dossier.id)
               .where(DossierCharge.city_support > 0, Dossier.status.not_in(CANCELLED_STATUSES),
                      or_(*[and_(Dossier.submitted_at >= start, Dossier.submitted_at < end) for start, end in bounds])))
    if agency_ids is not None:
        charges = charges.where(Dossier.agency_id.in_(agency_ids))
    c = charges.subquery()
    # grouped outside the subquery: PostgreSQL does not see two renderings of the CASE (with their
    # own parameters) as the same expression
    query = (select(c.c.agency_id, c.c.month, c.c.fee_code, c.c.name, c.c.kind, c.c.rule_code, c.c.rule_basis,
                    func.sum(c.c.city_support), func.count())
             .group_by(c.c.agency_id, c.c.month, c.c.fee_code, c.c.name, c.c.kind, c.c.rule_code, c.c.rule_basis))
    return [(r[0], months[r[1]], *r[2:]) for r in session.execute(query)]


def city_support(session: Session, months: list[date], agency_ids: list[int] | None = None, *,
                 data: dict[str, TreasuryData] | None = None) -> dict[tuple[int, date], list[SupportLine]]:
    """Per (agency id, month) of ``months``: the city's support per fee item (only where there is some)."""
    if not months:
        return {}
    return support_lines(_rows(session, months, agency_ids), treasury_data(session) if data is None else data)


def total(lines: Iterable[SupportLine]) -> int:
    return sum(line.amount for line in lines)


def positions_with_support(session: Session, months: list[date],
                           agencies: list[Agency] | None = None) -> list[Position]:
    """``treasury.positions`` with each position's ``city_support``, and a position for each
    agency and month where the city supported fees but nothing was collected or remitted."""
    rows = positions(session, months, agencies)
    support = city_support(session, months, [a.id for a in agencies] if agencies is not None else None)
    seen = set()
    for p in rows:
        p.city_support = total(support.get((p.agency.id, p.month), []))
        seen.add((p.agency.id, p.month))
    missing = [key for key in support if key not in seen]
    if missing:
        by_id = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_({k[0] for k in missing})))}
        for agency_id, month in missing:
            rows.append(Position(by_id[agency_id], month, 0, 0, 0, remitted(session, agency_id, month),
                                 city_support=total(support[agency_id, month])))
        order = {a.id: i for i, a in enumerate(agencies)} if agencies is not None else None
        rows.sort(key=lambda p: (-p.month.toordinal(), order[p.agency.id] if order else p.agency.code))
    return rows
