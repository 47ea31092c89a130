"""The reports' part of the OpenAPI document (``payments.openapi`` holds the document):
the online payment rate of CONTRACT.md, the other indicators, and the e-receipt reports: the
operations and their examples; the schemas are ``reports.api_schemas``' models. Added to the
document by ``app.register_api_docs``."""
from __future__ import annotations

from typing import Any

from core.api_schema import components, query_parameters
from payments.openapi import _error, _json, _op, _problem

from . import api_schemas as shapes
from .api_schemas import DEFINITION_36

READERS = ["supervisor", "finance", "system", "admin"]


EXAMPLE_RATE = {
    "from": "2026-11-01", "to": "2026-11-30", "group_by": "agency",
    "rows": [
        {"key": "HN-VPDKDD-CN02", "name": "Chi nhánh Văn phòng Đăng ký đất đai Hà Nội khu vực Đống Đa – Cầu Giấy",
         "dossiers": 6, "dossiers_with_fees": 5, "paid_online": 2, "rate": 0.4, "fee_procedure_dossiers": 6,
         "zero_fee": 1, "paid_on_portal": 2, "paid_through_gateway": 0, "paid_online_outside": 0,
         "cashless_dossiers_to_pay": 3, "paid_cashless": 2, "cashless_rate": 0.6666666666666666},
    ],
    "total": {"key": "total", "name": "Tổng cộng", "dossiers": 6, "dossiers_with_fees": 5, "paid_online": 2,
              "rate": 0.4, "fee_procedure_dossiers": 6, "zero_fee": 1, "paid_on_portal": 2, "paid_through_gateway": 0,
              "paid_online_outside": 0, "cashless_dossiers_to_pay": 3, "paid_cashless": 2,
              "cashless_rate": 0.6666666666666666},
    "online_channels": ["portal"], "online_flag_vietqr_as_gateway": False,
    "generated_at": "2026-12-01T08:00:00+07:00",
}
EXAMPLE_CASHLESS = {
    **{k: v for k, v in EXAMPLE_RATE.items() if k not in ("rows", "total")},
    "rows": [{"key": "P-HOANKIEM", "name": "UBND phường Hoàn Kiếm", "dossiers": 6, "dossiers_with_fees": 4,
              "cashless": 3, "rate": 0.75}],
    "total": {"key": "total", "name": "Tổng cộng", "dossiers": 6, "dossiers_with_fees": 4, "cashless": 3,
              "rate": 0.75},
}
EXAMPLE_INDICATORS = {
    "from": "2026-11-01", "to": "2026-11-30",
    "items": [
        {"item": "3.5", "numerator": 4, "denominator": 5, "rate": 0.8, "points": 2.0, "max_points": 2,
         "full_marks_at": 0.8, "threshold_verified": True},
        {"item": "3.5b", "numerator": 2, "denominator": 5, "rate": 0.4, "points": 1.0, "max_points": 2,
         "full_marks_at": 0.8, "threshold_verified": True},
        {"item": "3.6", "numerator": 2, "denominator": 16, "rate": 0.125, "points": 2.5,
         "max_points": 6, "full_marks_at": 0.3, "threshold_verified": False},
    ],
    "points": 5.5, "max_points": 10,
    "cashless": {"numerator": 7, "denominator": 12, "rate": 0.5833333333333334},
    "counts": {"dossiers": 19, "fee_procedure_dossiers": 18, "zero_fee": 2, "dossiers_with_fees": 16,
               "no_fee_procedure": 1, "paid": 9, "paid_online": 2, "paid_on_portal": 2, "paid_through_gateway": 0,
               "paid_online_outside": 0, "fee_data": 15, "no_fee_data": 1, "cashless_dossiers_to_pay": 12,
               "cashless": 7, "cancelled": 2, "not_started": 1,
               "amount_due": 9_124_000, "amount_paid": 7_496_000, "online_rate": 0.125,
               "cashless_rate": 0.5833333333333334},
    "procedures": [{"code": "2.000806", "name": "Đăng ký kết hôn có yếu tố nước ngoài", "field": "civil_status",
                    "dossiers": 6, "carries_fee_data": True, "paid_online": True}],
    "online_channels": ["portal"], "online_flag_vietqr_as_gateway": False,
    "generated_at": "2026-12-01T08:00:00+07:00",
}
EXAMPLE_DOSSIERS = {
    "from": "2026-11-01", "to": "2026-11-30", "measure": "paid_online", "group_by": "agency", "key": "P-HOANKIEM",
    "count": 1,
    "items": [{"code": "000.20.01.H26-261103-0001", "agency_code": "P-HOANKIEM", "procedure_code": "2.000806",
               "field": "civil_status", "channel": "online", "submitted_at": "2026-11-03T09:00:00+07:00",
               "status": "accepted", "amount_due": 1_000_000, "amount_paid": 1_000_000,
               "payment_channels": ["portal"], "paid_online": True, "cashless": True, "online_flag": 1}],
    "next": None,
}
EXAMPLE_COLLECTIONS = {
    "from": "2026-11-01", "to": "2026-11-30", "by": "fee", "per": "month",
    "rows": [{"period": "2026-11", "key": "KH-NN", "name": "Lệ phí đăng ký kết hôn có yếu tố nước ngoài",
              "kind": "le_phi", "lines": 8, "amount": 8_000_000, "verified": True,
              "e_receipts": {"lines": 8, "amount": 8_000_000}, "other_documents": {"lines": 0, "amount": 0}},
             {"period": "2026-11", "key": "TD", "name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "kind": "phi",
              "lines": 1, "amount": 3_000_000, "verified": True,
              "e_receipts": {"lines": 0, "amount": 0}, "other_documents": {"lines": 1, "amount": 3_000_000}}],
    "total": {"lines": 9, "amount": 11_000_000, "e_receipts": {"lines": 8, "amount": 8_000_000},
              "other_documents": {"lines": 1, "amount": 3_000_000}},
}
EXAMPLE_TIMES = {
    "from": "2026-11-01", "to": "2026-11-30",
    "rows": [{"key": "P-HOANKIEM", "name": "UBND phường Hoàn Kiếm", "count": 2, "median_seconds": 1500,
              "p90_seconds": 7200, "mean_seconds": 4350, "within_1_hour": 1, "within_1_day": 2}],
    "total": {"key": "total", "name": "Tổng cộng", "count": 2, "median_seconds": 1500, "p90_seconds": 7200,
              "mean_seconds": 4350, "within_1_hour": 1, "within_1_day": 2},
}
EXAMPLE_BACKLOG = {
    "from": "2026-11-01", "to": "2026-11-30", "as_of": "2026-12-01",
    "units": [{"key": "P-DONGDA", "name": "UBND phường Đống Đa", "open_exceptions": 2, "overdue_exceptions": 1,
               "late_exceptions": 1, "oldest_open_days": 6, "open_by_age": {"lt1": 0, "1to3": 1, "gt3": 1},
               "amount_open": 58_000, "unclosed_days": ["2026-11-27"], "late_closed_days": []}],
}

_HK = {"code": "P-HOANKIEM", "name": "UBND phường Hoàn Kiếm", "tax_code": "0110000101"}
EXAMPLE_DAILY_RECEIPTS = {
    "day": "2026-11-25", "agency": _HK,
    "series": [{
        "form": "01BLP0-001", "series": "HK-26E",
        "receipts": [
            {"form": "01BLP0-001", "series": "HK-26E", "number": "00000001", "issued_at": "2026-11-25T09:05:00+07:00",
             "payer_name": "Nguyễn Văn A", "dossier_code": "000.20.01.H26-261125-0001", "kind": "le_phi",
             "amount": 1_000_000, "status": "cancelled", "cancelled_at": "2026-11-25T10:30:00+07:00",
             "cancel_reason": "Khoản thanh toán bị hoàn trả (payment reversed)", "replaces": None,
             "replaced_by": {"form": "01BLP0-001", "series": "HK-26E", "number": "00000003"}},
            {"form": "01BLP0-001", "series": "HK-26E", "number": "00000002", "issued_at": "2026-11-25T09:40:00+07:00",
             "payer_name": "Trần Thị B", "dossier_code": "000.20.01.H26-261125-0002", "kind": "phi",
             "amount": 16_000, "status": "issued", "cancelled_at": None, "cancel_reason": None, "replaces": None,
             "replaced_by": None},
            {"form": "01BLP0-001", "series": "HK-26E", "number": "00000003", "issued_at": "2026-11-25T11:00:00+07:00",
             "payer_name": "Nguyễn Văn A", "dossier_code": "000.20.01.H26-261125-0001", "kind": "le_phi",
             "amount": 1_000_000, "status": "issued", "cancelled_at": None, "cancel_reason": None,
             "replaces": {"form": "01BLP0-001", "series": "HK-26E", "number": "00000001"}, "replaced_by": None},
        ],
        "totals": [{"kind": "le_phi", "issued": 1, "amount": 1_000_000, "cancelled": 1, "cancelled_amount": 1_000_000},
                   {"kind": "phi", "issued": 1, "amount": 16_000, "cancelled": 0, "cancelled_amount": 0}],
        "total": {"issued": 2, "amount": 1_016_000, "cancelled": 1, "cancelled_amount": 1_000_000},
    }],
    "totals": [{"kind": "le_phi", "issued": 1, "amount": 1_000_000, "cancelled": 1, "cancelled_amount": 1_000_000},
               {"kind": "phi", "issued": 1, "amount": 16_000, "cancelled": 0, "cancelled_amount": 0}],
    "total": {"issued": 2, "amount": 1_016_000, "cancelled": 1, "cancelled_amount": 1_000_000},
    "generated_at": "2026-11-26T08:00:00+07:00",
}
EXAMPLE_RECEIPT_USAGE = {
    "quarter": "2026-Q4", "from": "2026-10-01", "to": "2026-12-31", "agency": _HK,
    "series": [{
        "form": "01BLP0-001", "series": "HK-26E", "first": "00000151", "last": "00000420",
        "ranges": [{"from": "00000151", "to": "00000420", "count": 270}], "count": 270, "used": 268, "cancelled": 2,
        "cancelled_numbers": [
            {"number": "00000201", "dossier_code": "000.20.01.H26-261125-0001",
             "issued_at": "2026-11-25T09:05:00+07:00", "cancelled_at": "2026-11-25T10:30:00+07:00",
             "reason": "Khoản thanh toán bị hoàn trả (payment reversed)", "after_quarter": False},
            {"number": "00000420", "dossier_code": "000.20.01.H26-261231-0007",
             "issued_at": "2026-12-31T16:10:00+07:00", "cancelled_at": "2027-01-04T08:15:00+07:00",
             "reason": "Khoản thanh toán bị hoàn trả (payment reversed)", "after_quarter": True}],
        "previous_last": "00000150", "missing": [], "missing_count": 0, "outside": [], "outside_count": 0, "ok": True,
    }],
    "total": {"count": 270, "used": 268, "cancelled": 2, "missing_count": 0, "outside_count": 0},
    "ok": True, "generated_at": "2027-01-05T08:00:00+07:00",
}

SCHEMAS: dict[str, Any] = components(shapes=shapes.SHAPES)


RESPONSES = {
    "BadReportQuery": _error(
        "A query parameter is not valid (a missing or malformed date, `from` after `to`, an unknown choice).",
        _problem(422, "Unprocessable Entity", "the period is not valid: from required: a date YYYY-MM-DD",
                 [{"field": "from", "message": "required: a date YYYY-MM-DD"}])),
    "UnknownGroup": _error("No agency, procedure, field, channel or month with that key.", _problem(
        404, "Not Found", "no agency 'P-NOWHERE'")),
    "BadReceiptQuery": _error(
        "A query parameter is not valid: a missing or malformed day (`YYYY-MM-DD`) or quarter (`YYYY-Qn`), or no "
        "agency code.",
        _problem(422, "Unprocessable Entity", "the query is not valid: day a date YYYY-MM-DD",
                 [{"field": "day", "message": "a date YYYY-MM-DD"}])),
    "UnknownAgency": _error("No agency has that code.", _problem(404, "Not Found", "no agency 'P-NOWHERE'")),
}

def _errors(**named: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{name}"} for status, name in named.items()}


_STANDARD = _errors(**{"401": "Unauthorized", "403": "Forbidden", "422": "BadReportQuery"})

PATHS: dict[str, Any] = {
    "/api/v1/reports/online-payment-rate": {"get": _op(
        "getOnlinePaymentRate", "Reports", "The online payment rate (item 3.6 of Quyết định 766/QĐ-TTg)",
        DEFINITION_36, READERS,
        {"200": {"description": "The rate per group and in total.", "content": _json("OnlinePaymentRate",
                                                                                      EXAMPLE_RATE)},
         **_STANDARD},
        parameters=query_parameters(shapes.RateQuery))},
    "/api/v1/reports/cashless-rate": {"get": _op(
        "getCashlessRate", "Reports", "The cashless rate",
        "Of the dossiers with fees whose processing started in the period (as for item 3.6), the share paid in "
        "full without any cash: the portal, the gateway, a VietQR transfer at the counter and a card all count. "
        "Rows have `cashless` where the online payment rate has `paid_online`.", READERS,
        {"200": {"description": "The rate per group and in total.", "content": _json("CashlessRate",
                                                                                      EXAMPLE_CASHLESS)},
         **_STANDARD},
        parameters=query_parameters(shapes.RateQuery))},
    "/api/v1/reports/indicators": {"get": _op(
        "getIndicators", "Reports", "Items 3.5, 3.5b and 3.6 with their points, and the cashless rate",
        "Item 3.5: procedures with fees that had dossiers in the period, every one carrying fee data (a charge "
        "line), ÷ procedures with fees in the catalogue. Item 3.5b: procedures with fees that had at least one "
        "online payment for a dossier of the period ÷ procedures with fees. Item 3.6: as "
        "`/api/v1/reports/online-payment-rate`. Points are proportional up to the full-marks threshold; "
        "points and thresholds are configuration (setting `reports.scoring`).", READERS,
        {"200": {"description": "The indicators.", "content": _json("Indicators", EXAMPLE_INDICATORS)},
         **_STANDARD},
        parameters=query_parameters(shapes.PeriodQuery))},
    "/api/v1/reports/dossiers": {"get": _op(
        "listReportDossiers", "Reports", "The dossiers behind a figure",
        "Drill-down: the dossiers counted in one figure (`measure`) of the period, in total or in one group "
        "(`group_by` and `key`, e.g. `agency` and `P-HOANKIEM`), by dossier, 200 a page.", READERS,
        {"200": {"description": "A page of dossiers.", "content": _json("ReportDossierList", EXAMPLE_DOSSIERS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownGroup", "422": "BadReportQuery"})},
        parameters=query_parameters(shapes.DrillQuery))},
    "/api/v1/reports/collections": {"get": _op(
        "getCollections", "Reports", "Money collected",
        "What the issued e-receipts of the period say (a cancelled receipt drops out), by Indochina day of "
        "issue: per agency, fee item, budget sub-item (configuration: setting `reports.budget_subitems`) or "
        "kind (phí / lệ phí), per day, month, or for the whole period. What finance offices remit to the "
        "treasury.", READERS,
        {"200": {"description": "The amounts.", "content": _json("Collections", EXAMPLE_COLLECTIONS)},
         **_STANDARD},
        parameters=query_parameters(shapes.CollectionsQuery))},
    "/api/v1/reports/payment-times": {"get": _op(
        "getPaymentTimes", "Reports", "Time from payment request to payment",
        "For the dossiers with fees paid in full whose processing started in the period: seconds from their "
        "first payment request to their last payment (bank booking time, or when cash was taken), per agency "
        "and in total; the 90th percentile by the nearest-rank method.", READERS,
        {"200": {"description": "The times.", "content": _json("PaymentTimes", EXAMPLE_TIMES)}, **_STANDARD},
        parameters=query_parameters(shapes.PeriodQuery))},
    "/api/v1/reports/backlog": {"get": _op(
        "getBacklog", "Reports", "Units with open or late exceptions, or days not closed",
        "Per unit (the agency of the collection account, else of the dossier): exceptions open now with their "
        "age, those past their deadline, the exceptions of the period settled late, and the days of the period "
        "with transactions that are not closed (or were closed late) once the grace of "
        "`reports.close_grace_days` (1 day) has passed.", READERS,
        {"200": {"description": "The units, the worst first.", "content": _json("Backlog", EXAMPLE_BACKLOG)},
         **_STANDARD},
        parameters=query_parameters(shapes.PeriodQuery))},
    "/api/v1/reports/receipts/daily": {"get": _op(
        "getDailyReceipts", "Reports", "The daily list of receipts issued (bảng kê biên lai)",
        "Every e-receipt the agency issued on the Indochina `day`, by form, series and number: form (mẫu số), "
        "series (ký hiệu), number, issue time, payer, dossier code, kind (phí / lệ phí), amount and status. A "
        "receipt cancelled later shows as `cancelled`, with when and why; a replacement names the receipt it "
        "replaces, and a cancelled receipt the one that replaced it. Totals per series and kind and for the day: "
        "amounts count only receipts not cancelled; cancelled receipts are counted apart.", READERS,
        {"200": {"description": "The list.", "content": _json("DailyReceipts", EXAMPLE_DAILY_RECEIPTS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownAgency", "422": "BadReceiptQuery"})},
        parameters=query_parameters(shapes.DailyReceiptsQuery))},
    "/api/v1/reports/receipts/usage": {"get": _op(
        "getReceiptUsage", "Reports", "The quarterly receipt-usage report (BC26/BLĐT)",
        "Per form and series, for the receipts the agency issued in the quarter (Indochina days): the first and "
        "last number, the ranges used, how many were used, how many cancelled (with their numbers, when and why, "
        "and whether after the quarter), and the numbers that are on no receipt at all (`missing`; numbering has "
        "no gaps, so any is a defect), checked from the number after the last one used in the series before the "
        "quarter. Basis: Nghị định 123/2020/NĐ-CP, Thông tư 78/2021/TT-BTC; the exact BC26 layout still needs "
        "confirming with the city.", READERS,
        {"200": {"description": "The report.", "content": _json("ReceiptUsage", EXAMPLE_RECEIPT_USAGE)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownAgency", "422": "BadReceiptQuery"})},
        parameters=query_parameters(shapes.ReceiptUsageQuery))},
}

TAGS = [{"name": "Reports", "description": "The online payment rate the city is judged on (Quyết định 766/QĐ-TTg), "
                                           "the cashless rate, money collected, payment times, delays, e-receipts."}]



# --- reconciling item 3.6 with the portal's figure ------------------------------------------------------

RESPONSES["BadPortalExport"] = _error(
    "The month is not `YYYY-MM`, a file is missing, or the export cannot be read: the refusal names the row and "
    "column (`params.where`: `file`, `column:<name>`, `row:<n>` or `row:<n>:<column>`) and the problem "
    "(`params.problem`). Nothing is stored.",
    _problem(422, "Unprocessable Entity", "the portal's export cannot be read (row:3:Tử số): not_a_count",
             [{"field": "file", "message": "row:3:Tử số: not_a_count"}], code="portal_export_invalid",
             params={"where": "row:3:Tử số", "problem": "not_a_count"}), "invalid")
RESPONSES["PortalExportTooLarge"] = _error(
    "The files are larger than the service accepts in one request (MAX_CONTENT_LENGTH, 16 MB by default).",
    _problem(413, "Request Entity Too Large", "the request is larger than 16777216 bytes"))
RESPONSES["UnknownUpload"] = _error("No upload with that id.", _problem(404, "Not Found", "no upload 7"))
EXAMPLE_COMPARISON = {
    "id": 7, "month": "2026-11", "filename": "chi-so-766-2026-11.csv", "dossier_filename": None,
    "uploaded_at": "2026-12-05T09:00:00+07:00", "uploaded_by": "user:giamsat", "units_in_file": 1,
    "dossiers_in_file": 0, "online_flag_vietqr_as_gateway": False,
    "ours": {"numerator": 2, "denominator": 5, "rate": 0.4}, "portal": {"numerator": 1, "denominator": 5, "rate": 0.2},
    "units": [{"code": "HN-VPDKDD-CN02", "name": "Chi nhánh Văn phòng Đăng ký đất đai", "known": True,
               "differs": True, "ours": {"numerator": 2, "denominator": 5, "rate": 0.4},
               "portal": {"numerator": 1, "denominator": 5, "rate": 0.2}, "portal_rate_in_file": 0.2,
               "numerator_difference": 1, "denominator_difference": 0,
               "dossiers": [{"dossier_code": "CN2-C1", "unit_code": "HN-VPDKDD-CN02", "reason": "not_synced",
                             "our_flag": 1, "portal_flag": None, "our_fee_total": 3_028_000,
                             "portal_fee_total": None, "in_our_denominator": True, "event_status": "dead"}]}],
    "unknown_dossiers": [],
}
PATHS["/api/v1/reports/portal-index"] = {
    "post": _op(
        "uploadPortalIndex", "Reports", "Upload the portal's monthly export of item 3.6 and compare",
        "`multipart/form-data`: `month` (`YYYY-MM`), `file` (the export per unit, CSV or XLSX: unit code, name, "
        "numerator, denominator, rate — header names in docs/REPORTS.md, Vietnamese as the portal writes them) "
        "and optionally `dossiers` (the per-dossier export: dossier code, unit, `DuocThanhToanTrucTuyen`, fee "
        "total; an XLSX `file` may carry it as a second sheet). Answers 201 with the comparison; the same files "
        "for the same month again answer 200 with the upload already stored.", ["supervisor", "admin"],
        {"201": {"description": "Stored and compared.", "content": _json("PortalIndexComparison", EXAMPLE_COMPARISON)},
         "200": {"description": "The same files were uploaded before: that upload's comparison.",
                 "content": _json("PortalIndexComparison", EXAMPLE_COMPARISON)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "413": "PortalExportTooLarge",
                      "422": "BadPortalExport"})},
        requestBody={"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["month", "file"],
                       "properties": {"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                      "file": {"type": "string", "format": "binary"},
                                      "dossiers": {"type": "string", "format": "binary"}}}}}}),
    "get": _op(
        "listPortalIndexUploads", "Reports", "The portal's exports uploaded", "The latest 50, newest first.",
        READERS,
        {"200": {"description": "The uploads.", "content": _json("PortalIndexUploads", {"items": [
            {k: EXAMPLE_COMPARISON[k] for k in ("id", "month", "filename", "dossier_filename", "uploaded_at",
                                                "uploaded_by", "units_in_file", "dossiers_in_file")}]})},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden"})}),
}
PATHS["/api/v1/reports/portal-index/{upload_id}"] = {"get": _op(
    "getPortalIndexComparison", "Reports", "An upload of the portal's export compared with the service's figure",
    "The comparison as the upload answered it, computed again now.", READERS,
    {"200": {"description": "The comparison.", "content": _json("PortalIndexComparison", EXAMPLE_COMPARISON)},
     **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownUpload"})},
    parameters=[{"name": "upload_id", "in": "path", "required": True, "schema": {"type": "integer"},
                 "example": 7}])}
