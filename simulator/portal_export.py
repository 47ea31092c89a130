"""The simulated national portal's monthly export of the 766 online payment index (item 3.6), for
demonstrations and for the round trip test of ``reports.portal_reconcile``.

It computes the figure as the portal does, on its own and only from what the portal would hold:
the dossiers the one-stop system synced (every dossier of the service, with its charges as the
fee list ``DanhSachLePhi``), the procedures database (the fee catalogue as it stands now), and,
for the online-payment flag and the fee list after a payment, the **last outbound event that was
delivered** for the dossier (an event still pending or dead never reached it). It does not call
the reports: an independent second computation is what makes the comparison a check.

Deliberate differences: ``unsynced`` dossiers are treated as if none of their events had been
delivered; ``flags`` overrides the portal's flag of a dossier.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import ict_day_bounds
from payments.models import Agency, Dossier, DossierCharge, FeeItem, Procedure
from reconciliation.models import OutboxEvent

UNIT_HEADER = ("STT", "Mã đơn vị", "Tên đơn vị", "Tử số", "Mẫu số", "Tỷ lệ (%)")
DOSSIER_HEADER = ("Mã hồ sơ", "Mã đơn vị", "DuocThanhToanTrucTuyen", "Tổng phí, lệ phí")


@dataclass
class PortalDossier:
    code: str
    unit: str
    flag: int
    fees: list[int]  # the Gia of each fee of its DanhSachLePhi
    fee_procedure: bool

    @property
    def in_denominator(self) -> bool:
        # procedures with a fee, less those whose fee list has every Gia = 0 (an empty list is not "every 0")
        return self.fee_procedure and not (self.fees and all(g == 0 for g in self.fees))


@dataclass
class PortalUnit:
    code: str
    name: str
    numerator: int = 0
    denominator: int = 0


def _month_bounds(month: str):
    year, number = (int(x) for x in month.split("-"))
    first = date(year, number, 1)
    last = date(year + (number == 12), number % 12 + 1, 1) - timedelta(days=1)
    return ict_day_bounds(first)[0], ict_day_bounds(last)[1]


def portal_dossiers(session: Session, month: str, *, unsynced: set[str] | None = None,
                    flags: dict[str, int] | None = None) -> list[PortalDossier]:
    unsynced, flags = unsynced or set(), flags or {}
    start, end = _month_bounds(month)
    f, p = FeeItem.__table__, Procedure.__table__
    with_fee = {r[0] for r in session.execute(select(f.c.procedure_id).join(p, p.c.id == f.c.procedure_id).where(
        p.c.active.is_(True), f.c.exempt_always.is_(False),
        (func.coalesce(f.c.amount, 0) > 0) | (func.coalesce(f.c.rate_ppm, 0) > 0)))}
    d, a, c = Dossier.__table__, Agency.__table__, DossierCharge.__table__
    rows = session.execute(select(d.c.id, d.c.code, a.c.code, d.c.procedure_id).join(a, a.c.id == d.c.agency_id)
                           .where(d.c.submitted_at >= start, d.c.submitted_at < end).order_by(d.c.id)).all()
    charges: dict[int, list[int]] = {}
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), 500):
        for dossier_id, amount in session.execute(select(c.c.dossier_id, c.c.amount)
                                                  .where(c.c.dossier_id.in_(ids[i:i + 500])).order_by(c.c.id)):
            charges.setdefault(dossier_id, []).append(int(amount))
    codes = [r[1] for r in rows]
    delivered: dict[str, dict] = {}
    for i in range(0, len(codes), 500):
        for event in session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code.in_(codes[i:i + 500]),
                                                               OutboxEvent.status == "delivered")
                                     .order_by(OutboxEvent.id)):
            delivered[event.dossier_code] = (event.payload or {}).get("dossier") or {}
    out = []
    for dossier_id, code, unit, procedure_id in rows:
        part = None if code in unsynced else delivered.get(code)
        if part is not None:
            flag = int(part.get("DuocThanhToanTrucTuyen", 0) or 0)
            fees = [int(x.get("Gia", x.get("amount", 0)) or 0) for x in part.get("fees") or []]
        else:
            flag, fees = 0, charges.get(dossier_id, [])
        out.append(PortalDossier(code, unit, flags.get(code, flag), fees, procedure_id in with_fee))
    return out


def portal_units(session: Session, dossiers: list[PortalDossier]) -> list[PortalUnit]:
    names = dict(session.execute(select(Agency.code, Agency.name)).all())
    units: dict[str, PortalUnit] = {}
    for x in dossiers:
        unit = units.setdefault(x.unit, PortalUnit(x.unit, names.get(x.unit, "")))
        unit.numerator += x.flag in (1, 2)
        unit.denominator += x.in_denominator
    return sorted(units.values(), key=lambda u: u.code)


def _percent(u: PortalUnit) -> str:
    return "" if not u.denominator else f"{u.numerator * 100 / u.denominator:.2f}".replace(".", ",")


def write_units_csv(units: list[PortalUnit]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # as a spreadsheet with Vietnamese settings writes it
    writer.writerow(UNIT_HEADER)
    for number, u in enumerate(units, start=1):
        writer.writerow([number, u.code, u.name, u.numerator, u.denominator, _percent(u)])
    return out.getvalue().encode("utf-8-sig")


def write_dossiers_csv(dossiers: list[PortalDossier]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DOSSIER_HEADER)
    for x in dossiers:
        writer.writerow([x.code, x.unit, x.flag, sum(x.fees)])
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(units: list[PortalUnit], dossiers: list[PortalDossier] | None, month: str) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Chỉ số 3.6")
    sheet.write_row(0, 0, [f"Tỷ lệ thanh toán trực tuyến — tháng {month}"])
    sheet.write_row(1, 0, UNIT_HEADER)
    for row, u in enumerate(units, start=2):
        sheet.write_row(row, 0, [row - 1, u.code, u.name, u.numerator, u.denominator])
        if u.denominator:
            sheet.write_number(row, 5, round(u.numerator * 100 / u.denominator, 2))
    if dossiers is not None:
        second = book.add_worksheet("Hồ sơ")
        second.write_row(0, 0, DOSSIER_HEADER)
        for row, x in enumerate(dossiers, start=1):
            second.write_row(row, 0, [x.code, x.unit, x.flag, sum(x.fees)])
    book.close()
    return out.getvalue()
