"""The service's item 3.6 against the national portal's figure, unit by unit, and the dossiers
that explain where they differ (docs/REPORTS.md, "Reconciling with the portal's figure").

A supervisor uploads the portal's monthly export (``reports.portal_export``); it is stored
(``PortalIndexUpload`` and its lines) and compared with :func:`reports.indicators.online_payment_rate`
for the same month. For a unit whose numerator or denominator differs, each dossier of the unit
in the month is checked:

- ``not_synced``: its last outbound event was not delivered (pending, or dead after every
  retry): the portal may not hold its flag or fee data;
- ``missing_on_portal`` / ``unknown_to_service`` (with a per-dossier export): the portal does
  not list a dossier of ours, or lists one the service does not know;
- ``flag_differs``: the portal's flag (the per-dossier export's, else the flag of the last
  delivered event) is not the flag the service counts now;
- ``fee_data_differs``: the portal's fee total (the per-dossier export's, else the sum of
  ``Gia`` in the last delivered event) is not the dossier's charges now.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import NotFound
from payments.models import Dossier
from reconciliation.models import OutboxEvent

from .definitions import SHAPE_NO_FEE_DATA, SHAPE_PAID, SHAPE_WITH_FEES, Period, ReportSettings, load_settings
from .indicators import _source, online_payment_rate, reference
from .models import PortalIndexDossier, PortalIndexUnit, PortalIndexUpload
from .portal_export import read_export

REASONS = ("not_synced", "missing_on_portal", "unknown_to_service", "flag_differs", "fee_data_differs")


# --- storing an upload ---------------------------------------------------------------------------------


def store_upload(session: Session, month: str, data: bytes, filename: str, actor: str,
                 dossier_data: bytes | None = None, dossier_filename: str | None = None
                 ) -> tuple[PortalIndexUpload, bool]:
    """Read and store an upload (the caller commits). The same files for the same month again
    give the upload already stored (``created`` False). A file that cannot be read is refused
    whole, naming the row and column (``ValidationError``), and nothing is stored."""
    period = Period.parse_month(month)
    export = read_export(data, filename, dossier_data, dossier_filename or "")
    digest = hashlib.sha256(data + b"\0" + (dossier_data or b"")).hexdigest()
    found = session.scalars(select(PortalIndexUpload).where(PortalIndexUpload.month == period.label,
                                                            PortalIndexUpload.sha256 == digest)).first()
    if found is not None:
        return found, False
    upload = PortalIndexUpload(month=period.label, filename=(filename or "export")[:255],
                               dossier_filename=(dossier_filename or None) and dossier_filename[:255],
                               sha256=digest, uploaded_at=utcnow(), uploaded_by=actor[:100],
                               unit_count=len(export.units), dossier_count=len(export.dossiers))
    session.add(upload)
    session.flush()
    session.add_all(PortalIndexUnit(upload_id=upload.id, line=u.line, unit_code=u.unit_code, unit_name=u.unit_name,
                                    numerator=u.numerator, denominator=u.denominator, rate=u.rate)
                    for u in export.units)
    session.add_all(PortalIndexDossier(upload_id=upload.id, dossier_code=d.dossier_code, unit_code=d.unit_code,
                                       flag=d.flag, fee_total=d.fee_total) for d in export.dossiers)
    session.flush()
    return upload, True


def get_upload(session: Session, upload_id: int) -> PortalIndexUpload:
    upload = session.get(PortalIndexUpload, upload_id)
    if upload is None:
        raise NotFound(f"no upload {upload_id}")
    return upload


def list_uploads(session: Session, limit: int = 50) -> list[PortalIndexUpload]:
    return list(session.scalars(select(PortalIndexUpload).order_by(PortalIndexUpload.id.desc()).limit(limit)))


# --- comparing -----------------------------------------------------------------------------------------


@dataclass
class Figure:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return min(1.0, self.numerator / self.denominator) if self.denominator else None


@dataclass
class Explanation:
    dossier_code: str
    unit_code: str
    reason: str  # one of REASONS
    our_flag: int | None = None
    portal_flag: int | None = None
    our_fee_total: int | None = None
    portal_fee_total: int | None = None
    in_our_denominator: bool | None = None
    event_status: str | None = None  # of its last outbound event


@dataclass
class UnitComparison:
    code: str
    name: str
    ours: Figure
    portal: Figure | None  # None: the unit is not in the portal's export
    portal_rate_given: float | None = None
    in_service: bool = True  # False: a unit code the service does not know
    explanations: list[Explanation] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return self.portal is None or (self.ours.numerator, self.ours.denominator) != \
            (self.portal.numerator, self.portal.denominator)

    @property
    def numerator_difference(self) -> int:
        return self.ours.numerator - (self.portal.numerator if self.portal else 0)

    @property
    def denominator_difference(self) -> int:
        return self.ours.denominator - (self.portal.denominator if self.portal else 0)


@dataclass
class Comparison:
    upload: PortalIndexUpload
    period: Period
    units: list[UnitComparison]
    ours: Figure
    portal: Figure
    settings: ReportSettings
    per_dossier: bool  # the upload carried a per-dossier export
    unknown_dossiers: list[Explanation]

    @property
    def differing(self) -> list[UnitComparison]:
        return [u for u in self.units if u.differs]


@dataclass
class _Ours:
    code: str
    unit: str
    flag: int
    in_denominator: bool
    fee_total: int
    has_fee_lines: bool


def _our_dossiers(session: Session, period: Period, settings: ReportSettings, ref) -> dict[str, _Ours]:
    src, where = _source(session, period, False)
    d = Dossier.__table__
    out: dict[str, _Ours] = {}
    query = select(d.c.code, src.c.agency_id, src.c.procedure_id, src.c.shape, src.c.pay_mask, src.c.amount_due) \
        .join(d, d.c.id == src.c.dossier_id).where(*where)
    for code, agency_id, procedure_id, shape, mask, due in session.execute(query):
        shape = int(shape)
        all_zero = not shape & SHAPE_WITH_FEES and not shape & SHAPE_NO_FEE_DATA
        agency = ref.agencies.get(agency_id)
        out[code] = _Ours(code, agency.code if agency else str(agency_id),
                          settings.flag(int(mask), bool(shape & SHAPE_PAID)),
                          procedure_id in ref.fee_procedures and not all_zero, int(due),
                          not shape & SHAPE_NO_FEE_DATA)
    return out


def _events(session: Session, codes: list[str]) -> dict[str, tuple[OutboxEvent | None, OutboxEvent | None]]:
    """Per dossier code: (its last event, its last delivered event)."""
    out: dict[str, tuple[OutboxEvent | None, OutboxEvent | None]] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        for event in session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code.in_(chunk))
                                     .order_by(OutboxEvent.id)):
            last, delivered = out.get(event.dossier_code, (None, None))
            out[event.dossier_code] = (event, event if event.status == "delivered" else delivered)
    return out


def _event_flag(event: OutboxEvent) -> int:
    part = (event.payload or {}).get("dossier") or {}
    return int(part.get("DuocThanhToanTrucTuyen", part.get("online_payment", 0)) or 0)


def _event_fee_total(event: OutboxEvent) -> int:
    fees = ((event.payload or {}).get("dossier") or {}).get("fees") or []
    return sum(int(f.get("Gia", f.get("amount", 0)) or 0) for f in fees)


def explain(ours: _Ours, event: tuple[OutboxEvent | None, OutboxEvent | None],
            portal: PortalIndexDossier | None, per_dossier: bool) -> list[Explanation]:
    """Why the portal may count this dossier otherwise than the service does (none: it should not)."""
    last, delivered = event
    status = last.status if last is not None else None
    base = {"dossier_code": ours.code, "unit_code": ours.unit, "our_flag": ours.flag,
            "our_fee_total": ours.fee_total, "in_our_denominator": ours.in_denominator, "event_status": status}
    found: list[Explanation] = []
    if last is not None and last.status != "delivered":
        found.append(Explanation(reason="not_synced", **base))
    if per_dossier:
        if portal is None:
            found.append(Explanation(reason="missing_on_portal", **base))
            return found
        portal_flag = portal.flag or 0
        if portal_flag != ours.flag:
            found.append(Explanation(reason="flag_differs", portal_flag=portal_flag, **base))
        if portal.fee_total is not None and portal.fee_total != ours.fee_total:
            found.append(Explanation(reason="fee_data_differs", portal_fee_total=portal.fee_total, **base))
        return found
    if delivered is not None:
        if _event_flag(delivered) != ours.flag:
            found.append(Explanation(reason="flag_differs", portal_flag=_event_flag(delivered), **base))
        if _event_fee_total(delivered) != ours.fee_total:
            found.append(Explanation(reason="fee_data_differs", portal_fee_total=_event_fee_total(delivered), **base))
    elif last is None and ours.flag:
        found.append(Explanation(reason="not_synced", **base))  # paid online, yet nothing was ever sent
    return found


def compare(session: Session, upload: PortalIndexUpload) -> Comparison:
    """The upload against the service's figure of the same month, unit by unit."""
    period = Period.parse_month(upload.month)
    settings = load_settings(session)
    ref = reference(session)
    report = online_payment_rate(session, period, "agency")
    ours_by_unit = {r.key: r for r in report.rows}
    lines = list(session.scalars(select(PortalIndexUnit).where(PortalIndexUnit.upload_id == upload.id)
                                 .order_by(PortalIndexUnit.line)))
    portal_dossiers = {d.dossier_code: d for d in session.scalars(
        select(PortalIndexDossier).where(PortalIndexDossier.upload_id == upload.id))}
    per_dossier = upload.dossier_count > 0
    dossiers = _our_dossiers(session, period, settings, ref)
    known_codes = {a.code: a for a in ref.agencies.values()}
    units: dict[str, UnitComparison] = {}
    for line in lines:
        mine = ours_by_unit.get(line.unit_code)
        agency = known_codes.get(line.unit_code)
        units[line.unit_code] = UnitComparison(
            line.unit_code, agency.name if agency else line.unit_name,
            Figure(mine.numerator, mine.dossiers_with_fees) if mine else Figure(0, 0),
            Figure(line.numerator, line.denominator), line.rate, in_service=agency is not None)
    for key, mine in ours_by_unit.items():
        if key not in units and (mine.numerator or mine.dossiers_with_fees):
            units[key] = UnitComparison(key, mine.name, Figure(mine.numerator, mine.dossiers_with_fees), None)
    differing = {u.code for u in units.values() if u.differs}
    codes = sorted(c for c, o in dossiers.items() if o.unit in differing)
    events = _events(session, codes)
    for code in codes:
        o = dossiers[code]
        units[o.unit].explanations += explain(o, events.get(code, (None, None)), portal_dossiers.get(code),
                                              per_dossier)
    unknown = [Explanation(d.dossier_code, d.unit_code or "", "unknown_to_service", portal_flag=d.flag,
                           portal_fee_total=d.fee_total)
               for code, d in sorted(portal_dossiers.items()) if code not in dossiers]
    for e in unknown:
        if e.unit_code in units:
            units[e.unit_code].explanations.append(e)
    ordered = sorted(units.values(), key=lambda u: (not u.differs, u.code))
    ours_total = Figure(report.total.numerator, report.total.dossiers_with_fees)
    portal_total = Figure(sum(u.numerator for u in lines), sum(u.denominator for u in lines))
    return Comparison(upload, period, ordered, ours_total, portal_total, settings, per_dossier, unknown)


