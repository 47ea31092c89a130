"""The reports' part of the REST API (``/api/v1/reports/...``): the online payment rate of
CONTRACT.md, the cashless rate, the 766 summary with its points, the dossiers behind any
figure, money collected, payment times, the reconciliation backlog per unit, and the e-receipt
reports (the daily list of receipts issued and the quarterly usage report BC26/BLĐT).

Thin handlers over ``reports.indicators`` and ``reports.operations``; every answer says the
period it covers. Roles: supervisor, finance, system (and admin). Queries and answers are the
models of ``reports.api_schemas`` (described in ``reports.openapi``); errors are problem JSON.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, request, url_for

from core.api_schema import answer, validate_query
from core.auth import api_roles
from core.clock import utcnow
from core.db import db
from core.errors import FieldError, NotFound, ValidationError
from payments.api import no_nul_in_paths, roll_back_refusals

from . import api_schemas as shapes
from .definitions import Period, period_between
from .indicators import UnknownGroup, cashless_rate, dossiers_behind, online_payment_rate, summary
from .operations import backlog, collections, payment_times
from .receipt_reports import daily_list, find_agency, number_text, usage_report

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1")
bp.url_value_preprocessor(no_nul_in_paths)
bp.after_request(roll_back_refusals)

READERS = ("supervisor", "finance", "system")  # and admin, which api_roles always lets through
PAGE = 200


def _query(model):
    """The query string as ``model``, and the period it names."""
    given = validate_query(model, request.args)
    return given, period_between(given.day_from, given.day_to)


def _rate_report(report, shape, row):
    return shape(day_from=report.period.start, day_to=report.period.end, group_by=report.group_by,
                 rows=[row(r) for r in report.rows], total=row(report.total),
                 online_channels=list(report.settings.online_channels),
                 online_flag_vietqr_as_gateway=report.settings.vietqr_as_gateway, generated_at=utcnow())


@bp.get("/reports/online-payment-rate")
@api_roles(*READERS)
def online_rate():
    """Item 3.6 of Quyết định 766/QĐ-TTg, as CONTRACT.md fixes it."""
    given, period = _query(shapes.RateQuery)
    return answer(_rate_report(online_payment_rate(db.session, period, given.group_by), shapes.OnlinePaymentRate,
                               shapes.OnlineRateRow.of))


@bp.get("/reports/cashless-rate")
@api_roles(*READERS)
def cashless():
    given, period = _query(shapes.RateQuery)
    return answer(_rate_report(cashless_rate(db.session, period, given.group_by), shapes.CashlessRate,
                               shapes.CashlessRateRow.of))


@bp.get("/reports/indicators")
@api_roles(*READERS)
def indicators():
    _, period = _query(shapes.PeriodQuery)
    s = summary(db.session, period)
    scoring = s.settings.scoring

    def item(name: str, numerator: int, denominator: int, rate: float | None) -> shapes.IndicatorItem:
        return shapes.IndicatorItem(item=name, numerator=numerator, denominator=denominator, rate=rate,
                                    points=s.scores[name], max_points=scoring[name]["points"],
                                    full_marks_at=scoring[name]["full_marks_at"],
                                    threshold_verified=scoring[name]["verified"])

    return answer(shapes.Indicators(
        day_from=period.start, day_to=period.end,
        items=[item("3.5", s.item_3_5.numerator, s.item_3_5.denominator, s.item_3_5.rate),
               item("3.5b", s.item_3_5b.numerator, s.item_3_5b.denominator, s.item_3_5b.rate),
               item("3.6", s.total.paid_online, s.total.with_fees, s.total.rate)],
        points=s.points, max_points=s.max_points,
        cashless=shapes.Figure(numerator=s.total.cashless, denominator=s.total.to_pay, rate=s.total.cashless_rate),
        counts=shapes.IndicatorCounts.of(s.total),
        procedures=[shapes.IndicatorProcedure(code=p.code, name=p.name, field=p.field, dossiers=p.dossiers,
                                              carries_fee_data=p.carries_fee_data, paid_online=p.paid_online)
                    for p in s.item_3_5.procedures],
        online_channels=list(s.settings.online_channels),
        online_flag_vietqr_as_gateway=s.settings.vietqr_as_gateway, generated_at=utcnow()))


@bp.get("/reports/dossiers")
@api_roles(*READERS)
def drill_down():
    given, period = _query(shapes.DrillQuery)
    measure, group_by, key = given.measure, given.group_by, given.key
    if group_by is not None and not key:
        raise ValidationError("key is required with group_by", errors=[FieldError("key", "required with group_by")])
    try:
        lines, count = dossiers_behind(db.session, period, measure, group_by, key, after=int(given.after),
                                       limit=PAGE + 1)
    except UnknownGroup as exc:
        raise NotFound(str(exc)) from None
    more = len(lines) > PAGE
    lines = lines[:PAGE]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for(".drill_down", after=lines[-1].id, _external=True, **args)
    return answer(shapes.ReportDossierList(day_from=period.start, day_to=period.end, measure=measure,
                                           group_by=group_by, key=key, count=count,
                                           items=[shapes.ReportDossier.of(x) for x in lines], next=next_url))


@bp.get("/reports/collections")
@api_roles(*READERS)
def money():
    given, period = _query(shapes.CollectionsQuery)
    c = collections(db.session, period, given.by, given.per)
    part = shapes.CollectionPart
    return answer(shapes.Collections(
        day_from=period.start, day_to=period.end, by=given.by, per=given.per,
        rows=[shapes.CollectionRow.of(r) for r in c.rows],
        total=shapes.CollectionTotal(lines=c.total_lines, amount=c.total_amount,
                                     e_receipts=part(lines=c.e_receipt_lines, amount=c.e_receipt_amount),
                                     other_documents=part(lines=c.other_lines, amount=c.other_amount))))


@bp.get("/reports/payment-times")
@api_roles(*READERS)
def times():
    _, period = _query(shapes.PeriodQuery)
    rows, total = payment_times(db.session, period)
    return answer(shapes.PaymentTimes(day_from=period.start, day_to=period.end,
                                      rows=[shapes.PaymentTimeRow.of(r) for r in rows],
                                      total=shapes.PaymentTimeRow.of(total)))


@bp.get("/reports/backlog")
@api_roles(*READERS)
def delays():
    _, period = _query(shapes.PeriodQuery)
    today = _today()
    return answer(shapes.Backlog(day_from=period.start, day_to=period.end, as_of=today,
                                 units=[shapes.BacklogUnit.of(u) for u in backlog(db.session, period, today)]))


def _today() -> date:
    from core.clock import ict_day

    return ict_day(utcnow())



# --- e-receipts: the daily list and the usage report (BC26/BLĐT) ------------------------------------


@bp.get("/reports/receipts/daily")
@api_roles(*READERS)
def receipts_daily():
    """The daily list of the receipts an agency issued (bảng kê biên lai)."""
    given = validate_query(shapes.DailyReceiptsQuery, request.args)
    d = daily_list(db.session, find_agency(db.session, given.agency), given.day)
    total = shapes.ReceiptKindTotal.of
    return answer(shapes.DailyReceipts(
        day=d.day, agency=shapes.ReportAgency.of(d.agency),
        series=[shapes.DailySeries(form=s.form, series=s.series,
                                   receipts=[shapes.ListedReceipt.of(x) for x in s.receipts],
                                   totals=[total(t) for t in s.totals], total=total(s.total)) for s in d.series],
        totals=[total(t) for t in d.totals], total=total(d.total), generated_at=utcnow()))


@bp.get("/reports/receipts/usage")
@api_roles(*READERS)
def receipts_usage():
    """The quarterly receipt-usage report (BC26/BLĐT) of an agency."""
    given = validate_query(shapes.ReceiptUsageQuery, request.args)
    period: Period = given.quarter
    u = usage_report(db.session, find_agency(db.session, given.agency), period)

    def ranges(found) -> list[shapes.NumberRange]:
        return [shapes.NumberRange(first=number_text(r.first), last=number_text(r.last), count=r.count)
                for r in found]

    def series(s) -> shapes.ReceiptSeriesUsage:
        return shapes.ReceiptSeriesUsage(
            form=s.form, series=s.series, first=number_text(s.first), last=number_text(s.last),
            ranges=ranges(s.ranges), count=s.count, used=s.used, cancelled=len(s.cancelled),
            cancelled_numbers=[shapes.CancelledNumber(number=c.number_text, dossier_code=c.dossier_code,
                                                      issued_at=c.issued_at, cancelled_at=c.cancelled_at,
                                                      reason=c.reason, after_quarter=c.after_quarter)
                               for c in s.cancelled],
            previous_last=number_text(s.previous_last) if s.previous_last else None, missing=ranges(s.missing),
            missing_count=s.missing_count, outside=ranges(s.outside), outside_count=s.outside_count, ok=s.ok)

    return answer(shapes.ReceiptUsage(
        quarter=period.label, day_from=period.start, day_to=period.end, agency=shapes.ReportAgency.of(u.agency),
        series=[series(s) for s in u.series],
        total=shapes.UsageTotal(count=u.count, used=u.used, cancelled=u.cancelled, missing_count=u.missing_count,
                                outside_count=u.outside_count), ok=u.ok, generated_at=utcnow()))


# --- reconciling with the portal's figure of item 3.6 ------------------------------------------------

def _file(name: str, required: bool) -> tuple[bytes | None, str]:
    """A part of the upload (the request's size is bounded by MAX_CONTENT_LENGTH: 413 above it)."""
    part = request.files.get(name)
    if part is None or not part.filename:
        if required:
            raise ValidationError(f"send the portal's export as multipart/form-data with a part named {name!r}",
                                  errors=[FieldError(name, "required")])
        return None, ""
    return part.read(), part.filename


@bp.post("/reports/portal-index")
@api_roles("supervisor")
def upload_portal_index():
    """Upload the portal's monthly export of item 3.6 (``month``, ``file``, optional ``dossiers``)
    and get the comparison with the service's figure."""
    from flask import g

    from .portal_reconcile import compare, store_upload

    data, filename = _file("file", True)
    dossier_data, dossier_filename = _file("dossiers", False)
    upload, created = store_upload(db.session, request.form.get("month", ""), data, filename, g.principal.actor,
                                   dossier_data, dossier_filename)
    body = shapes.PortalIndexComparison.of(compare(db.session, upload))
    db.session.commit()
    return answer(body, 201 if created else 200)


@bp.get("/reports/portal-index")
@api_roles(*READERS)
def portal_index_uploads():
    from .portal_reconcile import list_uploads

    return answer(shapes.PortalIndexUploads(items=[shapes.PortalIndexUpload.of(u) for u in list_uploads(db.session)]))


@bp.get("/reports/portal-index/<int:upload_id>")
@api_roles(*READERS)
def portal_index_comparison(upload_id: int):
    from .portal_reconcile import compare, get_upload

    return answer(shapes.PortalIndexComparison.of(compare(db.session, get_upload(db.session, upload_id))))
