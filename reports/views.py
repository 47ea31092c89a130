"""Report pages: the supervisor dashboard (``/reports/``), the dossiers behind a figure, money
collected, the e-receipt reports (the daily list and the quarterly usage report BC26/BLĐT,
``/reports/receipts/...``, with their XLSX), and the public monthly disclosure
(``/reports/public/...``, no login) with its CSV, XLSX and PNG.

Supervisors and admins use the dashboard; finance officers may read it too. Views are thin:
the figures come from ``indicators``, ``operations`` and ``disclosure``.
"""
from __future__ import annotations

import io
from datetime import date, timedelta

from babel.numbers import format_decimal
from flask import Blueprint, abort, make_response, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import ict_day, utcnow
from core.collation import sorted_vi
from core.db import db
from core.errors import NotFound, ServiceError, ValidationError
from core.login import roles_required
from core.ratelimit import limit
from core.users import Role
from payments.models import Agency
from payments.portal_sync import vietqr_as_gateway

from .charts import Series, bars_svg, trend_svg
from .definitions import GROUPS, Period, parse_period, trend_period
from .indicators import DRILL_MEASURES, UnknownGroup, breakdown, dossiers_behind, ranking, summary, trend
from .operations import COLLECTION_GROUPS, COLLECTION_PER, backlog, collections, payment_times
from .receipt_reports import (daily_list, find_agency, number_text, parse_day, parse_quarter, quarter_of,
                              usage_report)

bp = Blueprint("reports", __name__, url_prefix="/reports")
READ = (Role.SUPERVISOR.value, Role.FINANCE.value)  # and admin, whom roles_required always lets in
PAGE = 100


# --- helpers shared by the templates -----------------------------------------------------------------


@bp.app_template_filter("rate_pct")
def rate_pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage in the page's language: 0.4167 → "41,7 %" (vi), "41.7%" (en)."""
    if value is None:
        return "—"
    locale = str(get_locale() or "vi")
    text = format_decimal(round(value * 100, digits), format="#,##0." + "0" * digits, locale=locale)
    return f"{text} %" if locale.startswith("vi") else f"{text}%"


@bp.app_template_filter("report_number")
def report_number(value: float | int | None) -> str:
    """Points and other small numbers in the page's language: 9.5 → "9,5" (vi), "9.5" (en)."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.##", locale=str(get_locale() or "vi"))


@bp.app_template_filter("receipt_no")
def receipt_no(number: int) -> str:
    """A receipt number as receipts print it: 42 → "00000042"."""
    return number_text(number)


@bp.app_template_filter("duration")
def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return _("%(n)d phút", n=round(seconds / 60))
    if seconds < 86400:
        return _("%(n)s giờ", n=format_decimal(round(seconds / 3600, 1), locale=str(get_locale() or "vi")))
    return _("%(n)s ngày", n=format_decimal(round(seconds / 86400, 1), locale=str(get_locale() or "vi")))


def localized(name: str, name_en: str | None) -> str:
    return name_en if name_en and str(get_locale() or "vi").startswith("en") else name


def tier_label(tier: str) -> str:
    return {"city": _("Cơ quan, đơn vị cấp thành phố"), "commune": _("UBND phường, xã"),
            "district": _("UBND quận, huyện, thị xã (trước 1/7/2025)")}.get(tier, tier)


def group_label(group_by: str) -> str:
    return {"agency": _("Đơn vị"), "field": _("Lĩnh vực"), "procedure": _("Thủ tục"),
            "channel": _("Kênh nộp hồ sơ"), "month": _("Tháng")}.get(group_by, group_by)


def group_name(group_by: str, group) -> str:
    if group_by == "field":
        return {"land": _("Đất đai"), "civil_status": _("Hộ tịch")}.get(group.key, _("Lĩnh vực khác"))
    if group_by == "channel":
        return {"online": _("Trực tuyến"), "counter": _("Trực tiếp"), "post": _("Bưu chính")}.get(group.key, group.key)
    return localized(group.name, group.name_en)


def measure_label(measure: str) -> str:
    return {
        "dossiers": _("Hồ sơ bắt đầu xử lý trong kỳ"), "with_fees": _("Hồ sơ có phí, lệ phí"),
        "fee_procedure_dossiers": _("Hồ sơ của thủ tục có phí"),
        "zero_fee": _("Hồ sơ của thủ tục có phí nhưng phí bằng 0"),
        "no_fee_procedure": _("Hồ sơ của thủ tục không thu phí"),
        "paid": _("Đã nộp đủ"), "unpaid": _("Chưa nộp đủ"), "paid_online": _("Thanh toán trực tuyến"),
        "flag_portal": _("Cờ 1: nền tảng thanh toán của Cổng"), "flag_gateway": _("Cờ 2: cổng thanh toán của thành phố"),
        "paid_online_outside": _("Có cờ trực tuyến, ngoài mẫu số"), "to_pay": _("Hồ sơ phải nộp"),
        "not_paid_online": _("Chưa thanh toán trực tuyến"), "cashless": _("Không dùng tiền mặt"),
        "not_cashless": _("Có tiền mặt hoặc chưa nộp đủ"),
        "no_fee_data": _("Không có thông tin phí"), "cancelled": _("Bị từ chối, rút, dừng xử lý"),
        "not_started": _("Mới nộp, chưa tiếp nhận"),
    }.get(measure, measure)


def status_label(status: str) -> str:
    return {"submitted": _("Mới nộp"), "accepted": _("Đã tiếp nhận"), "rejected": _("Bị từ chối"),
            "in_progress": _("Đang xử lý"), "documents_requested": _("Yêu cầu bổ sung"),
            "awaiting_payment": _("Chờ thực hiện nghĩa vụ tài chính"), "withdrawn": _("Đã rút"),
            "stopped": _("Dừng xử lý"), "done": _("Đã giải quyết"), "result_delivered": _("Đã trả kết quả")
            }.get(status, status)


@bp.app_context_processor
def _report_helpers():
    return {"report_tier_label": tier_label, "report_group_label": group_label, "report_group_name": group_name,
            "report_measure_label": measure_label, "report_status_label": status_label, "report_localized": localized,
            "report_vietqr_as_gateway": vietqr_as_gateway}


def _today() -> date:
    return ict_day(utcnow())


def period_error(exc: ServiceError) -> str:
    """A period the filter refused, said in the page's language (the rule refuses in English)."""
    fields = {e.field for e in exc.errors}
    if "month" in fields:
        return _("Tháng không hợp lệ: nhập dạng năm-tháng, ví dụ 2026-11, từ năm 2000 đến năm 2100.")
    if exc.detail == "from is after to":
        return _("Ngày bắt đầu (“Từ ngày”) sau ngày kết thúc (“Đến ngày”): chọn lại khoảng thời gian.")
    if "to" in fields and "three years" in exc.detail:
        return _("Khoảng thời gian dài quá ba năm: chọn khoảng ngắn hơn.")
    return _("Khoảng thời gian không hợp lệ: cần cả “Từ ngày” và “Đến ngày”, dạng năm-tháng-ngày, ví dụ 2026-11-01.")


def _period_from_args(default_month: bool = True) -> tuple[Period, list[str]]:
    """The period the page shows: ``month=YYYY-MM``, or ``from`` and ``to``; by default this month."""
    errors: list[str] = []
    month = request.args.get("month")
    if request.args.get("from") or request.args.get("to"):
        try:
            return parse_period(request.args.get("from"), request.args.get("to")), errors
        except ServiceError as exc:
            errors.append(period_error(exc))
    elif month:
        try:
            return Period.parse_month(month), errors
        except ServiceError as exc:
            errors.append(period_error(exc))
    today = _today()
    return Period.month(today.year, today.month), errors


def _period_args(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def _trend_chart(points, settings) -> object:
    return trend_svg([p.month for p in points],
                     [Series(_("Tỷ lệ thanh toán trực tuyến (mục 3.6)"), [p.counts.rate for p in points]),
                      Series(_("Tỷ lệ không dùng tiền mặt"), [p.counts.cashless_rate for p in points])],
                     threshold=settings.scoring["3.6"]["full_marks_at"], threshold_label=_("Ngưỡng điểm tối đa"),
                     title=_("Tỷ lệ thanh toán theo tháng"))


# --- the dashboard ------------------------------------------------------------------------------------


@bp.get("/")
@roles_required(*READ)
def dashboard():
    period, errors = _period_from_args()
    group_by = request.args.get("group", "field")
    if group_by not in GROUPS:
        group_by = "field"
    session = db.session
    s = summary(session, period)
    units = breakdown(session, period, "agency", settings=s.settings)
    table = units if group_by == "agency" else breakdown(session, period, group_by, settings=s.settings, ref=units.ref)
    points = trend(session, period.end)
    times, times_total = payment_times(session, period, ref=units.ref)
    delays = backlog(session, period, _today(), ref=units.ref)
    return render_template(
        "reports/dashboard.html", period=period, errors=errors, summary=s, ranking=ranking(units), table=table,
        group_by=group_by, groups=GROUPS, points=points, chart=_trend_chart(points, s.settings),
        times=times, times_total=times_total, delays=delays, period_args=_period_args(period),
        unit_names={a.code: localized(a.name, a.name_en) for a in units.ref.agencies.values()},
        trend_period=trend_period(period.end), month_value=period.label or "")


@bp.get("/dossiers")
@roles_required(*READ)
def drill_down():
    period, errors = _period_from_args()
    measure = request.args.get("measure", "dossiers")
    if measure not in DRILL_MEASURES:
        abort(404)
    group_by = request.args.get("group_by") or None
    key = request.args.get("key") or None
    if group_by is not None and group_by not in GROUPS:
        abort(404)
    after = request.args.get("after", "0")
    after = int(after) if after.isdigit() else 0
    try:
        lines, count = dossiers_behind(db.session, period, measure, group_by, key, after=after, limit=PAGE + 1)
    except UnknownGroup:
        abort(404)
    more = len(lines) > PAGE
    lines = lines[:PAGE]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for(".drill_down", after=lines[-1].id, **args)
    return render_template("reports/dossiers.html", period=period, errors=errors, measure=measure,
                           group_by=group_by, key=key, lines=lines, count=count, next_url=next_url,
                           period_args=_period_args(period))


@bp.get("/collections")
@roles_required(*READ)
def money():
    period, errors = _period_from_args()
    by = request.args.get("by", "agency")
    by = by if by in COLLECTION_GROUPS else "agency"
    per = request.args.get("per", "period")
    per = per if per in COLLECTION_PER else "period"
    result = collections(db.session, period, by, per)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        return _collections_file(result, fmt)
    return render_template("reports/collections.html", period=period, errors=errors, result=result, by=by, per=per,
                           period_args=_period_args(period), month_value=period.label or "")


def _collections_file(result, fmt: str):
    from .exports import collections_csv, collections_xlsx

    buffer = io.BytesIO()
    (collections_xlsx if fmt == "xlsx" else collections_csv)(result, buffer)
    buffer.seek(0)
    name = f"thu-phi-le-phi_{result.by}_{result.period.start.isoformat()}_{result.period.end.isoformat()}.{fmt}"
    mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "text/csv")
    return send_file(buffer, mimetype=mimetype, as_attachment=True, download_name=name)


# --- the public disclosure ------------------------------------------------------------------------------


def _public_month(month: str) -> Period:
    try:
        period = Period.parse_month(month)
    except ValidationError:
        abort(404)
    today = _today()
    if period.start > today:
        abort(404)  # nothing to disclose yet
    return period


def _cached(response, period: Period):
    """A finished month changes little: let browsers and proxies keep it for an hour (five
    minutes for the current month). A page made for a signed-in person (it carries their name
    and a form token) is kept by no one."""
    from flask_login import current_user

    if current_user.is_authenticated and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "private, no-store"
        return response
    response.headers["Cache-Control"] = "public, max-age=300" if period.end >= _today() else "public, max-age=3600"
    return response


@bp.get("/public/")
@limit("RATELIMIT_PUBLIC_REPORTS")
def public_index():
    today = _today()
    months = []
    year, month = today.year, today.month
    for _i in range(24):
        months.append(Period.month(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return render_template("reports/public_index.html", months=months, today=today)


@bp.get("/public/<month>")
@limit("RATELIMIT_PUBLIC_REPORTS")
def public_month(month: str):
    from .disclosure import build

    period = _public_month(month)
    d = build(db.session, period, _today())
    chart = _trend_chart(d.trend, d.summary.settings)
    bars = [(f"{localized(r.group.name, r.group.name_en)}", r.group.counts.rate)
            for tier in ("city", "commune", "district") for r in d.ranking.get(tier, [])]
    previous = period.start - timedelta(days=1)
    ny, nm = (period.start.year + 1, 1) if period.start.month == 12 else (period.start.year, period.start.month + 1)
    return _cached(make_response(render_template(
        "reports/public_month.html", d=d, period=period, chart=chart,
        unit_names={a.code: localized(a.name, a.name_en) for a in d.units.ref.agencies.values()},
        bars=bars_svg(bars, title=_("Tỷ lệ thanh toán trực tuyến theo đơn vị"),
                      threshold=d.summary.settings.scoring["3.6"]["full_marks_at"]),
        previous_month=f"{previous.year:04d}-{previous.month:02d}",
        next_month=f"{ny:04d}-{nm:02d}" if date(ny, nm, 1) <= _today() else None)), period)


@bp.get("/public/<month>.<fmt>")
@limit("RATELIMIT_PUBLIC_REPORTS")
def public_file(month: str, fmt: str):
    """The month's chart or table. Cached by its data (``public_cache``): the ETag is the data
    version, a request that has it gets 304, and the file is drawn once per version."""
    from flask import Response

    from .disclosure import build, chart_png, file_stem, write_csv, write_xlsx
    from .public_cache import cached_file, data_version

    if fmt not in ("csv", "xlsx", "png"):
        abort(404)
    period = _public_month(month)
    d = build(db.session, period, _today())
    locale = str(get_locale())
    etag = f"{fmt}-{locale}-{data_version(d)}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return _cached(response, period)

    def make() -> bytes:
        if fmt == "png":
            return chart_png(d)
        buffer = io.BytesIO()
        (write_xlsx if fmt == "xlsx" else write_csv)(d, buffer)
        return buffer.getvalue()

    body = cached_file((month, fmt, locale, etag), make)
    mimetype = {"png": "image/png", "csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    response = Response(body, mimetype=mimetype)
    if fmt != "png":
        response.headers["Content-Disposition"] = f'attachment; filename="{file_stem(period)}.{fmt}"'
    response.set_etag(etag)
    return _cached(response, period)


# --- e-receipts: the daily list (bảng kê biên lai) and the usage report (BC26/BLĐT) ------------------


def _receipt_page_args(name: str, parse, default):
    """The agency and the day or quarter a receipt page is asked for, with a message per field
    for what cannot be read (in the page's language) and the status the page answers with:
    422 for a bad value, 404 for an agency nobody has. No agency yet is not an error."""
    errors: dict[str, str] = {}
    status = 200
    when = default
    raw = request.args.get(name)
    if raw is not None and raw.strip():
        try:
            when = parse(raw)
        except ValidationError:
            when, status = None, 422
            errors[name] = (_("Ngày không hợp lệ: chọn một ngày từ năm 2000 đến năm 2100, dạng năm-tháng-ngày, "
                              "ví dụ 2026-11-25.") if name == "day" else
                            _("Quý không hợp lệ: viết năm, dấu gạch ngang, chữ Q và số quý (1 đến 4), ví dụ "
                              "2026-Q4."))
    agency = None
    code = (request.args.get("agency") or "").strip()
    if code:
        try:
            agency = find_agency(db.session, code)
        except NotFound:
            errors["agency"] = _("Không có đơn vị nào mang mã “%(code)s”. Chọn đơn vị trong danh sách.", code=code)
            status = status if status != 200 else 404
        except ValidationError:
            errors["agency"] = _("Mã đơn vị không hợp lệ. Chọn đơn vị trong danh sách.")
            status = 422
    return agency, when, errors, status


def _receipt_agencies() -> list[Agency]:
    return sorted_vi(db.session.scalars(select(Agency)).all(), key=lambda a: localized(a.name, a.name_en))


def _xlsx(writer, data, name: str):
    buffer = io.BytesIO()
    writer(data, buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=name)


def _asked_for_file(agency, errors: dict[str, str], status: int) -> tuple[dict[str, str], int]:
    """A file needs an agency: asked for one without, the page says so."""
    if request.args.get("format") == "xlsx" and agency is None and "agency" not in errors:
        errors = {**errors, "agency": _("Chọn đơn vị để tải tệp.")}
        status = 422 if status == 200 else status
    return errors, status


@bp.get("/receipts/daily")
@roles_required(*READ)
def receipts_daily():
    """The daily list of the receipts an agency issued (bảng kê biên lai), with its XLSX."""
    from .exports import daily_receipts_xlsx

    agency, day, errors, status = _receipt_page_args("day", parse_day, _today())
    errors, status = _asked_for_file(agency, errors, status)
    result = daily_list(db.session, agency, day) if agency is not None and day is not None else None
    if result is not None and request.args.get("format") == "xlsx" and not errors:
        return _xlsx(daily_receipts_xlsx, result, f"bang-ke-bien-lai_{result.agency.code}_{day.isoformat()}.xlsx")
    shown = day or _today()
    return render_template(
        "reports/receipts_daily.html", result=result, agency=agency, day=day, errors=errors,
        agencies=_receipt_agencies(), day_value=day.isoformat() if day else request.args.get("day", ""),
        previous_day=(shown - timedelta(days=1)).isoformat(), next_day=(shown + timedelta(days=1)).isoformat(),
        period_args=_period_args(Period.month(shown.year, shown.month))), status


@bp.get("/receipts/usage")
@roles_required(*READ)
def receipts_usage():
    """The quarterly receipt-usage report (BC26/BLĐT) of an agency, with its XLSX."""
    from .exports import receipt_usage_xlsx

    agency, period, errors, status = _receipt_page_args("quarter", parse_quarter, quarter_of(_today()))
    errors, status = _asked_for_file(agency, errors, status)
    result = usage_report(db.session, agency, period) if agency is not None and period is not None else None
    if result is not None and request.args.get("format") == "xlsx" and not errors:
        return _xlsx(receipt_usage_xlsx, result, f"bc26-bldt_{result.agency.code}_{period.label}.xlsx")
    shown = period or quarter_of(_today())
    return render_template(
        "reports/receipts_usage.html", result=result, agency=agency, period=period, errors=errors,
        agencies=_receipt_agencies(),
        quarter_value=period.label if period else request.args.get("quarter", ""),
        previous_quarter=quarter_of(shown.start - timedelta(days=1)).label,
        next_quarter=quarter_of(shown.end + timedelta(days=1)).label, period_args=_period_args(shown)), status


# --- reconciling item 3.6 with the portal's figure ------------------------------------------------------


def reason_label(reason: str) -> str:
    return {"not_synced": _("Chưa đồng bộ: sự kiện gửi đi chưa được nhận"),
            "missing_on_portal": _("Cổng không có hồ sơ này"),
            "unknown_to_service": _("Hệ thống không có hồ sơ này"),
            "flag_differs": _("Cờ thanh toán trực tuyến khác"),
            "fee_data_differs": _("Thông tin phí, lệ phí khác")}.get(reason, reason)


def _portal_index_page(status: int = 200, error: str | None = None, detail: str | None = None):
    from .portal_reconcile import list_uploads

    today = _today()
    previous = Period.month(today.year, today.month).start - timedelta(days=1)
    return render_template("reports/portal_index.html", uploads=list_uploads(db.session), error=error, detail=detail,
                           month_value=request.form.get("month") or f"{previous.year:04d}-{previous.month:02d}",
                           reason_label=reason_label, period_args=_period_args(Period.month(today.year, today.month)),
                           may_upload=_may_upload()), status


def _may_upload() -> bool:
    from flask_login import current_user

    return bool(current_user.is_authenticated and current_user.may(Role.SUPERVISOR.value))


@bp.get("/portal-index")
@roles_required(*READ)
def portal_index():
    """The portal's exports uploaded so far, and the form to upload one (supervisors)."""
    return _portal_index_page()


@bp.post("/portal-index")
@roles_required(Role.SUPERVISOR.value)
def upload_portal_index():
    from flask import flash, redirect
    from flask_login import current_user

    from core.refusals import refusal_text

    from .portal_reconcile import store_upload

    part, dossiers = request.files.get("file"), request.files.get("dossiers")
    if part is None or not part.filename:
        return _portal_index_page(422, _("Chọn tệp xuất chỉ số của Cổng để tải lên."))
    try:
        upload, created = store_upload(db.session, request.form.get("month", ""), part.read(), part.filename,
                                       current_user.actor, dossiers.read() if dossiers and dossiers.filename else None,
                                       dossiers.filename if dossiers else None)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _portal_index_page(exc.status, refusal_text(exc), exc.detail)
    flash(_("Đã lưu tệp của Cổng: %(n)d đơn vị.", n=upload.unit_count) if created
          else _("Tệp này đã được tải lên trước đây (cùng nội dung): đây là kết quả đối chiếu của nó."),
          "success" if created else "info")
    return redirect(url_for(".portal_index_comparison", upload_id=upload.id))


@bp.get("/portal-index/<int:upload_id>")
@roles_required(*READ)
def portal_index_comparison(upload_id: int):
    """One upload against the service's figure of the same month, unit by unit."""
    from .portal_reconcile import compare, get_upload

    try:
        comparison = compare(db.session, get_upload(db.session, upload_id))
    except NotFound:
        abort(404)
    return render_template("reports/portal_comparison.html", c=comparison, reason_label=reason_label,
                           period_args=_period_args(comparison.period))
