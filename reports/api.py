"""The reports' part of the REST API (``/api/v1/reports/...``): the online payment rate of
CONTRACT.md, the cashless rate, the 766 summary with its points, the dossiers behind any
figure, money collected, payment times, the reconciliation backlog per unit, and the e-receipt
reports (the daily list of receipts issued and the quarterly usage report BC26/BLĐT).

Thin handlers over ``reports.indicators`` and ``reports.operations``; every answer says the
period it covers. Roles: supervisor, finance, system (and admin). Described in
``reports.openapi``; errors are problem JSON.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from core.auth import api_roles
from core.clock import isoformat_ict, utcnow
from core.db import db
from core.errors import FieldError, NotFound, ValidationError
from payments.api import no_nul_in_paths, roll_back_refusals
from payments.models import Agency

from .definitions import GROUPS, Period, parse_period
from .indicators import (DRILL_MEASURES, RateReport, RateRow, UnknownGroup, cashless_rate, dossiers_behind,
                         online_payment_rate, summary)
from .operations import COLLECTION_GROUPS, COLLECTION_PER, as_json_days, backlog, collections, payment_times
from .receipt_reports import (AgencyInfo, KindTotal, ListedReceipt, NumberRange, ReceiptRef, SeriesUsage, daily_list,
                              find_agency, number_text, parse_day, parse_quarter, usage_report)

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1")
bp.url_value_preprocessor(no_nul_in_paths)
bp.after_request(roll_back_refusals)

READERS = ("supervisor", "finance", "system")  # and admin, which api_roles always lets through
PAGE = 200


def _choice(name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}",
                              errors=[FieldError(name, "one of " + ", ".join(allowed))])
    return value


def _period() -> Period:
    return parse_period(request.args.get("from"), request.args.get("to"))


def _row_json(row: RateRow) -> dict[str, Any]:
    # CONTRACT.md: ``rate`` is a number between 0 and 1. A group with no dossier with fees has
    # nothing to pay, online or not: its rate is 0 and its ``dossiers_with_fees`` says why.
    c = row.counts
    return {"key": row.key, "name": row.name, "dossiers": row.dossiers, "dossiers_with_fees": row.dossiers_with_fees,
            "paid_online": row.numerator, "rate": row.rate if row.rate is not None else 0.0,
            # added beside the contract's fields (never instead of them): how the figure is made
            "fee_procedure_dossiers": c.fee_procedure_dossiers, "zero_fee": c.zero_fee,
            "paid_on_portal": c.flag_portal, "paid_through_gateway": c.flag_gateway,
            "paid_online_outside": c.paid_online_outside,
            # the service's own cashless rate, beyond the index (its own denominator)
            "cashless_dossiers_to_pay": c.to_pay, "paid_cashless": c.cashless, "cashless_rate": c.cashless_rate}


def _contract_json(report: RateReport, numerator: str = "paid_online") -> dict[str, Any]:
    def row(r: RateRow) -> dict[str, Any]:
        if numerator == "paid_online":
            return _row_json(r)
        return {"key": r.key, "name": r.name, "dossiers": r.dossiers, "dossiers_with_fees": r.dossiers_with_fees,
                numerator: r.numerator, "rate": r.rate}

    return {"from": report.period.start.isoformat(), "to": report.period.end.isoformat(), "group_by": report.group_by,
            "rows": [row(r) for r in report.rows], "total": row(report.total),
            "online_channels": list(report.settings.online_channels),
            "online_flag_vietqr_as_gateway": report.settings.vietqr_as_gateway,
            "generated_at": isoformat_ict(utcnow())}


@bp.get("/reports/online-payment-rate")
@api_roles(*READERS)
def online_rate():
    """Item 3.6 of Quyết định 766/QĐ-TTg, as CONTRACT.md fixes it."""
    period = _period()
    group_by = _choice("group_by", GROUPS, "agency")
    return jsonify(_contract_json(online_payment_rate(db.session, period, group_by)))


@bp.get("/reports/cashless-rate")
@api_roles(*READERS)
def cashless():
    period = _period()
    group_by = _choice("group_by", GROUPS, "agency")
    return jsonify(_contract_json(cashless_rate(db.session, period, group_by), numerator="cashless"))


def _counts_json(c) -> dict[str, Any]:
    return {"dossiers": c.dossiers, "fee_procedure_dossiers": c.fee_procedure_dossiers, "zero_fee": c.zero_fee,
            "dossiers_with_fees": c.with_fees, "no_fee_procedure": c.no_fee_procedure, "paid": c.paid,
            "paid_online": c.paid_online, "paid_on_portal": c.flag_portal, "paid_through_gateway": c.flag_gateway,
            "paid_online_outside": c.paid_online_outside, "fee_data": c.fee_data, "no_fee_data": c.no_fee_data,
            "cashless": c.cashless, "cashless_dossiers_to_pay": c.to_pay, "cancelled": c.cancelled,
            "not_started": c.not_started, "amount_due": c.amount_due, "amount_paid": c.paid_amount,
            "online_rate": c.rate, "cashless_rate": c.cashless_rate}


@bp.get("/reports/indicators")
@api_roles(*READERS)
def indicators():
    period = _period()
    s = summary(db.session, period)
    scoring = s.settings.scoring

    def item(name: str, numerator: int, denominator: int, rate: float | None) -> dict[str, Any]:
        return {"item": name, "numerator": numerator, "denominator": denominator, "rate": rate,
                "points": s.scores[name], "max_points": scoring[name]["points"],
                "full_marks_at": scoring[name]["full_marks_at"], "threshold_verified": scoring[name]["verified"]}

    return jsonify({
        "from": period.start.isoformat(), "to": period.end.isoformat(),
        "items": [item("3.5", s.item_3_5.numerator, s.item_3_5.denominator, s.item_3_5.rate),
                  item("3.5b", s.item_3_5b.numerator, s.item_3_5b.denominator, s.item_3_5b.rate),
                  item("3.6", s.total.paid_online, s.total.with_fees, s.total.rate)],
        "points": s.points, "max_points": s.max_points,
        "cashless": {"numerator": s.total.cashless, "denominator": s.total.to_pay, "rate": s.total.cashless_rate},
        "counts": _counts_json(s.total),
        "procedures": [{"code": p.code, "name": p.name, "field": p.field, "dossiers": p.dossiers,
                        "carries_fee_data": p.carries_fee_data, "paid_online": p.paid_online}
                       for p in s.item_3_5.procedures],
        "online_channels": list(s.settings.online_channels),
        "online_flag_vietqr_as_gateway": s.settings.vietqr_as_gateway, "generated_at": isoformat_ict(utcnow()),
    })


def _after() -> int:
    raw = request.args.get("after", "0")
    if not raw.isdigit():
        raise ValidationError("after must be a cursor from 'next'", errors=[FieldError("after", "digits")])
    return int(raw)


@bp.get("/reports/dossiers")
@api_roles(*READERS)
def drill_down():
    period = _period()
    measure = _choice("measure", DRILL_MEASURES, "dossiers")
    group_by = _choice("group_by", GROUPS, None)
    key = request.args.get("key")
    if group_by is not None and not key:
        raise ValidationError("key is required with group_by", errors=[FieldError("key", "required with group_by")])
    after = _after()
    try:
        lines, count = dossiers_behind(db.session, period, measure, group_by, key, after=after, limit=PAGE + 1)
    except UnknownGroup as exc:
        raise NotFound(str(exc)) from None
    more = len(lines) > PAGE
    lines = lines[:PAGE]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for(".drill_down", after=lines[-1].id, _external=True, **args)
    return jsonify({
        "from": period.start.isoformat(), "to": period.end.isoformat(), "measure": measure, "group_by": group_by,
        "key": key, "count": count,
        "items": [{"code": x.code, "agency_code": x.agency_code, "procedure_code": x.procedure_code,
                   "field": x.field, "channel": x.channel, "submitted_at": isoformat_ict(x.submitted_at),
                   "status": x.status, "amount_due": x.amount_due, "amount_paid": x.paid_net,
                   "payment_channels": x.payment_channels, "paid_online": x.paid_online, "cashless": x.cashless,
                   "online_flag": x.online_flag}
                  for x in lines],
        "next": next_url,
    })


@bp.get("/reports/collections")
@api_roles(*READERS)
def money():
    period = _period()
    by = _choice("by", COLLECTION_GROUPS, "agency")
    per = _choice("per", COLLECTION_PER, "day")
    c = collections(db.session, period, by, per)
    return jsonify({
        "from": period.start.isoformat(), "to": period.end.isoformat(), "by": by, "per": per,
        "rows": [{"period": r.period or None, "key": r.key, "name": r.name, "kind": r.kind, "lines": r.lines,
                  "amount": r.amount, "verified": r.verified, "e_receipts": {"lines": r.e_receipt_lines,
                                                                              "amount": r.e_receipt_amount},
                  "other_documents": {"lines": r.other_lines, "amount": r.other_amount}} for r in c.rows],
        "total": {"lines": c.total_lines, "amount": c.total_amount,
                  "e_receipts": {"lines": c.e_receipt_lines, "amount": c.e_receipt_amount},
                  "other_documents": {"lines": c.other_lines, "amount": c.other_amount}},
    })


@bp.get("/reports/payment-times")
@api_roles(*READERS)
def times():
    period = _period()
    rows, total = payment_times(db.session, period)

    def row(r) -> dict[str, Any]:
        return {"key": r.key, "name": r.name, "count": r.count, "median_seconds": r.median_s,
                "p90_seconds": r.p90_s, "mean_seconds": r.mean_s, "within_1_hour": r.within_hour,
                "within_1_day": r.within_day}

    return jsonify({"from": period.start.isoformat(), "to": period.end.isoformat(),
                    "rows": [row(r) for r in rows], "total": row(total)})


@bp.get("/reports/backlog")
@api_roles(*READERS)
def delays():
    period = _period()
    today = _today()
    units = backlog(db.session, period, today)
    return jsonify({
        "from": period.start.isoformat(), "to": period.end.isoformat(), "as_of": today.isoformat(),
        "units": [{"key": u.key or None, "name": u.name, "open_exceptions": u.open_exceptions,
                   "overdue_exceptions": u.overdue_exceptions, "late_exceptions": u.late_exceptions,
                   "oldest_open_days": u.oldest_open_days, "open_by_age": u.age_buckets,
                   "amount_open": u.amount_open, "unclosed_days": as_json_days(u.unclosed_days),
                   "late_closed_days": as_json_days(u.late_closed_days)} for u in units],
    })


def _today() -> date:
    from core.clock import ict_day

    return ict_day(utcnow())



# --- e-receipts: the daily list and the usage report (BC26/BLĐT) ------------------------------------


def _receipt_query(name: str, parse) -> tuple[Agency, Any]:
    """The agency and the day or quarter asked for: every value that cannot be read in one 422,
    then a 404 for an agency nobody has."""
    errors: list[FieldError] = []
    when = agency = None
    try:
        when = parse(request.args.get(name))
    except ValidationError as exc:
        errors += exc.errors
    try:
        agency = find_agency(db.session, request.args.get("agency"))
    except ValidationError as exc:
        errors += exc.errors
    except NotFound:
        if not errors:
            raise
    if errors:
        raise ValidationError("the query is not valid: " + "; ".join(f"{e.field} {e.message}" for e in errors),
                              errors=errors)
    return agency, when


def _agency_json(agency: AgencyInfo) -> dict[str, Any]:
    return {"code": agency.code, "name": agency.name, "tax_code": agency.tax_code}


def _ref_json(ref: ReceiptRef | None) -> dict[str, Any] | None:
    return None if ref is None else {"form": ref.form, "series": ref.series, "number": ref.number_text}


def _kind_total_json(total: KindTotal) -> dict[str, Any]:
    body = {"kind": total.kind} if total.kind else {}
    return {**body, "issued": total.issued, "amount": total.amount, "cancelled": total.cancelled,
            "cancelled_amount": total.cancelled_amount}


def _range_json(r: NumberRange) -> dict[str, Any]:
    return {"from": number_text(r.first), "to": number_text(r.last), "count": r.count}


@bp.get("/reports/receipts/daily")
@api_roles(*READERS)
def receipts_daily():
    """The daily list of the receipts an agency issued (bảng kê biên lai)."""
    agency, day = _receipt_query("day", parse_day)
    d = daily_list(db.session, agency, day)

    def receipt(x: ListedReceipt) -> dict[str, Any]:
        return {"form": x.form, "series": x.series, "number": x.number_text, "issued_at": isoformat_ict(x.issued_at),
                "payer_name": x.payer_name, "dossier_code": x.dossier_code, "kind": x.kind, "amount": x.amount,
                "status": x.status, "cancelled_at": isoformat_ict(x.cancelled_at) if x.cancelled_at else None,
                "cancel_reason": x.cancel_reason, "replaces": _ref_json(x.replaces),
                "replaced_by": _ref_json(x.replaced_by)}

    return jsonify({
        "day": d.day.isoformat(), "agency": _agency_json(d.agency),
        "series": [{"form": s.form, "series": s.series, "receipts": [receipt(x) for x in s.receipts],
                    "totals": [_kind_total_json(t) for t in s.totals], "total": _kind_total_json(s.total)}
                   for s in d.series],
        "totals": [_kind_total_json(t) for t in d.totals], "total": _kind_total_json(d.total),
        "generated_at": isoformat_ict(utcnow()),
    })


@bp.get("/reports/receipts/usage")
@api_roles(*READERS)
def receipts_usage():
    """The quarterly receipt-usage report (BC26/BLĐT) of an agency."""
    agency, period = _receipt_query("quarter", parse_quarter)
    u = usage_report(db.session, agency, period)

    def series(s: SeriesUsage) -> dict[str, Any]:
        return {"form": s.form, "series": s.series, "first": number_text(s.first), "last": number_text(s.last),
                "ranges": [_range_json(r) for r in s.ranges], "count": s.count, "used": s.used,
                "cancelled": len(s.cancelled),
                "cancelled_numbers": [{"number": c.number_text, "dossier_code": c.dossier_code,
                                       "issued_at": isoformat_ict(c.issued_at),
                                       "cancelled_at": isoformat_ict(c.cancelled_at) if c.cancelled_at else None,
                                       "reason": c.reason, "after_quarter": c.after_quarter} for c in s.cancelled],
                "previous_last": number_text(s.previous_last) if s.previous_last else None,
                "missing": [_range_json(r) for r in s.missing], "missing_count": s.missing_count,
                "outside": [_range_json(r) for r in s.outside], "outside_count": s.outside_count, "ok": s.ok}

    return jsonify({
        "quarter": period.label, "from": period.start.isoformat(), "to": period.end.isoformat(),
        "agency": _agency_json(u.agency), "series": [series(s) for s in u.series],
        "total": {"count": u.count, "used": u.used, "cancelled": u.cancelled, "missing_count": u.missing_count,
                  "outside_count": u.outside_count},
        "ok": u.ok, "generated_at": isoformat_ict(utcnow()),
    })


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

    from .portal_reconcile import compare, comparison_json, store_upload

    data, filename = _file("file", True)
    dossier_data, dossier_filename = _file("dossiers", False)
    upload, created = store_upload(db.session, request.form.get("month", ""), data, filename, g.principal.actor,
                                   dossier_data, dossier_filename)
    body = comparison_json(compare(db.session, upload))
    db.session.commit()
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response


@bp.get("/reports/portal-index")
@api_roles(*READERS)
def portal_index_uploads():
    from .portal_reconcile import list_uploads

    return jsonify({"items": [{"id": u.id, "month": u.month, "filename": u.filename,
                               "dossier_filename": u.dossier_filename, "uploaded_at": isoformat_ict(u.uploaded_at),
                               "uploaded_by": u.uploaded_by, "units_in_file": u.unit_count,
                               "dossiers_in_file": u.dossier_count} for u in list_uploads(db.session)]})


@bp.get("/reports/portal-index/<int:upload_id>")
@api_roles(*READERS)
def portal_index_comparison(upload_id: int):
    from .portal_reconcile import compare, comparison_json, get_upload

    return jsonify(comparison_json(compare(db.session, get_upload(db.session, upload_id))))
