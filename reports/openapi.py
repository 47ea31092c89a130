"""The reports' part of the OpenAPI document (``payments.openapi`` holds the document):
the online payment rate of CONTRACT.md and the other indicators. Imported by
``app.import_api_docs``."""
from __future__ import annotations

from typing import Any

from payments.openapi import MONEY, TIME, _error, _json, _nullable, _op, _problem, _ref, extend

from .definitions import GROUPS
from .indicators import DRILL_MEASURES
from .operations import COLLECTION_GROUPS, COLLECTION_PER

READERS = ["supervisor", "finance", "system", "admin"]
DATE = {"type": "string", "format": "date", "examples": ["2026-11-01"]}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
        "description": "A share between 0 and 1 (not a percentage); null when the denominator is 0."}
COUNT = {"type": "integer", "minimum": 0}

DEFINITION_36 = (
    "Item 3.6 of Quyết định 766/QĐ-TTg (the online payment rate the city is scored on, 6 of 100 points): "
    "`rate = paid_online ÷ dossiers_with_fees` over the dossiers whose processing started in the period, "
    "which is the Indochina day of the dossier's `submitted_at`, `from` and `to` both included. "
    "`dossiers`: dossiers counted (every status except rejected, withdrawn, stopped — cancelled — and "
    "submitted — processing not started). `dossiers_with_fees`: those whose charges add up to more than 0 "
    "(the dossiers of procedures with a fee, less those whose fees are all 0: exempt payers, online dossiers "
    "under Nghị quyết 77/2025/NQ-HĐND). `paid_online`: those paid in full (allocations not reversed, less "
    "refunds paid out) with every payment through a channel counted as online — by default the national "
    "portal's payment platform (`portal`) and the city's payment gateway (`gateway`); the list is the setting "
    "`reports.online_channels`, echoed as `online_channels`. A payment made after the period counts for the "
    "period its dossier started in. `rate` is null for a group without dossiers with fees. The service's "
    "documentation (docs/REPORTS.md) gives every rule and its basis."
)

EXAMPLE_RATE = {
    "from": "2026-11-01", "to": "2026-11-30", "group_by": "agency",
    "rows": [
        {"key": "HN-VPDKDD-CN02", "name": "Chi nhánh Văn phòng Đăng ký đất đai Hà Nội khu vực Đống Đa – Cầu Giấy",
         "dossiers": 5, "dossiers_with_fees": 3, "paid_online": 2, "rate": 0.6666666666666666},
        {"key": "P-HOANKIEM", "name": "UBND phường Hoàn Kiếm", "dossiers": 6, "dossiers_with_fees": 4,
         "paid_online": 2, "rate": 0.5},
    ],
    "total": {"key": "total", "name": "Tổng cộng", "dossiers": 11, "dossiers_with_fees": 7, "paid_online": 4,
              "rate": 0.5714285714285714},
    "online_channels": ["portal", "gateway"], "generated_at": "2026-12-01T08:00:00+07:00",
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
        {"item": "3.5", "numerator": 3, "denominator": 5, "rate": 0.6, "points": 1.5, "max_points": 2,
         "full_marks_at": 0.8, "threshold_verified": True},
        {"item": "3.5b", "numerator": 4, "denominator": 5, "rate": 0.8, "points": 2.0, "max_points": 2,
         "full_marks_at": 0.8, "threshold_verified": True},
        {"item": "3.6", "numerator": 5, "denominator": 12, "rate": 0.4166666666666667, "points": 6.0,
         "max_points": 6, "full_marks_at": 0.3, "threshold_verified": False},
    ],
    "points": 9.5, "max_points": 10,
    "cashless": {"numerator": 7, "denominator": 12, "rate": 0.5833333333333334},
    "counts": {"dossiers": 16, "fee_procedure_dossiers": 15, "zero_fee": 3, "dossiers_with_fees": 12,
               "no_fee_procedure": 1, "paid": 9, "paid_online": 5, "cashless": 7, "cancelled": 2, "not_started": 1,
               "amount_due": 9_124_000, "amount_paid": 7_496_000, "online_rate": 0.4166666666666667,
               "cashless_rate": 0.5833333333333334},
    "procedures": [{"code": "2.000806", "name": "Đăng ký kết hôn có yếu tố nước ngoài", "field": "civil_status",
                    "dossiers": 6, "carries_fee_data": True, "paid_online": True}],
    "online_channels": ["portal", "gateway"], "generated_at": "2026-12-01T08:00:00+07:00",
}
EXAMPLE_DOSSIERS = {
    "from": "2026-11-01", "to": "2026-11-30", "measure": "paid_online", "group_by": "agency", "key": "P-HOANKIEM",
    "count": 1,
    "items": [{"code": "000.20.01.H26-261103-0001", "agency_code": "P-HOANKIEM", "procedure_code": "2.000806",
               "field": "civil_status", "channel": "online", "submitted_at": "2026-11-03T09:00:00+07:00",
               "status": "accepted", "amount_due": 1_000_000, "amount_paid": 1_000_000,
               "payment_channels": ["gateway"], "paid_online": True, "cashless": True}],
    "next": None,
}
EXAMPLE_COLLECTIONS = {
    "from": "2026-11-01", "to": "2026-11-30", "by": "fee", "per": "month",
    "rows": [{"period": "2026-11", "key": "KH-NN", "name": "Lệ phí đăng ký kết hôn có yếu tố nước ngoài",
              "kind": "le_phi", "lines": 8, "amount": 8_000_000, "verified": True},
             {"period": "2026-11", "key": "TD", "name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "kind": "phi",
              "lines": 1, "amount": 3_000_000, "verified": True}],
    "total": {"lines": 9, "amount": 11_000_000},
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

_ROW_PROPS = {"key": {"type": "string", "description": "The agency's or procedure's code, the field, the dossier "
                                                       "channel, or the month `YYYY-MM`; `total` in `total`."},
              "name": {"type": "string"}, "dossiers": {**COUNT, "description": "Dossiers counted."},
              "dossiers_with_fees": {**COUNT, "description": "The denominator."}}

SCHEMAS: dict[str, Any] = {
    "OnlineRateRow": {
        "type": "object", "required": ["key", "name", "dossiers", "dossiers_with_fees", "paid_online", "rate"],
        "properties": {**_ROW_PROPS, "paid_online": {**COUNT, "description": "The numerator."},
                       "rate": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "paid_online ÷ dossiers_with_fees, between 0 and 1; 0 when "
                                               "dossiers_with_fees is 0 (nothing to pay)."}},
    },
    "OnlinePaymentRate": {
        "type": "object", "description": DEFINITION_36,
        "required": ["from", "to", "group_by", "rows", "total", "online_channels", "generated_at"],
        "properties": {
            "from": DATE, "to": DATE, "group_by": {"type": "string", "enum": list(GROUPS)},
            "rows": {"type": "array", "items": _ref("OnlineRateRow"),
                     "description": "One per group with at least one counted dossier, by key."},
            "total": _ref("OnlineRateRow"),
            "online_channels": {"type": "array", "items": {"type": "string"},
                                "description": "The payment channels counted as online (configuration)."},
            "generated_at": TIME,
        },
    },
    "CashlessRateRow": {
        "type": "object", "required": ["key", "name", "dossiers", "dossiers_with_fees", "cashless", "rate"],
        "properties": {**_ROW_PROPS, "cashless": {**COUNT, "description": "Paid in full without any cash."},
                       "rate": RATE},
    },
    "CashlessRate": {
        "type": "object",
        "description": "The cashless rate: of the dossiers with fees (as for item 3.6), those paid in full without "
                       "any cash payment — portal, gateway, a VietQR transfer at the counter and a card all count.",
        "required": ["from", "to", "group_by", "rows", "total", "online_channels", "generated_at"],
        "properties": {"from": DATE, "to": DATE, "group_by": {"type": "string", "enum": list(GROUPS)},
                       "rows": {"type": "array", "items": _ref("CashlessRateRow")}, "total": _ref("CashlessRateRow"),
                       "online_channels": {"type": "array", "items": {"type": "string"}}, "generated_at": TIME},
    },
    "IndicatorItem": {
        "type": "object",
        "required": ["item", "numerator", "denominator", "rate", "points", "max_points", "full_marks_at",
                     "threshold_verified"],
        "properties": {"item": {"type": "string", "enum": ["3.5", "3.5b", "3.6"]}, "numerator": COUNT,
                       "denominator": COUNT, "rate": RATE,
                       "points": {"type": ["number", "null"], "minimum": 0,
                                  "description": "max_points × min(1, rate ÷ full_marks_at)."},
                       "max_points": {"type": "number", "minimum": 0},
                       "full_marks_at": {"type": "number", "minimum": 0, "maximum": 1},
                       "threshold_verified": {"type": "boolean",
                                              "description": "False: the threshold is not settled in public "
                                                             "sources (configuration)."}},
    },
    "IndicatorCounts": {
        "type": "object",
        "required": ["dossiers", "fee_procedure_dossiers", "zero_fee", "dossiers_with_fees", "no_fee_procedure",
                     "paid", "paid_online", "cashless", "cancelled", "not_started", "amount_due", "amount_paid",
                     "online_rate", "cashless_rate"],
        "properties": {"dossiers": COUNT, "fee_procedure_dossiers": COUNT, "zero_fee": COUNT,
                       "dossiers_with_fees": COUNT, "no_fee_procedure": COUNT, "paid": COUNT, "paid_online": COUNT,
                       "cashless": COUNT, "cancelled": COUNT, "not_started": COUNT, "amount_due": MONEY,
                       "amount_paid": {"type": "integer"}, "online_rate": RATE, "cashless_rate": RATE},
    },
    "Indicators": {
        "type": "object",
        "description": "Items 3.5, 3.5b and 3.6 of Quyết định 766/QĐ-TTg with their points, and the cashless rate.",
        "required": ["from", "to", "items", "points", "max_points", "cashless", "counts", "procedures",
                     "online_channels", "generated_at"],
        "properties": {
            "from": DATE, "to": DATE, "items": {"type": "array", "items": _ref("IndicatorItem")},
            "points": {"type": "number"}, "max_points": {"type": "number"},
            "cashless": {"type": "object", "required": ["numerator", "denominator", "rate"],
                         "properties": {"numerator": COUNT, "denominator": COUNT, "rate": RATE}},
            "counts": _ref("IndicatorCounts"),
            "procedures": {"type": "array", "description": "Every procedure with fees, for items 3.5 and 3.5b.",
                           "items": {"type": "object",
                                     "required": ["code", "name", "field", "dossiers", "carries_fee_data",
                                                  "paid_online"],
                                     "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                    "field": {"type": "string"}, "dossiers": COUNT,
                                                    "carries_fee_data": {"type": "boolean"},
                                                    "paid_online": {"type": "boolean"}}}},
            "online_channels": {"type": "array", "items": {"type": "string"}}, "generated_at": TIME,
        },
    },
    "ReportDossier": {
        "type": "object",
        "required": ["code", "agency_code", "procedure_code", "field", "channel", "submitted_at", "status",
                     "amount_due", "amount_paid", "payment_channels", "paid_online", "cashless"],
        "properties": {"code": {"type": "string"}, "agency_code": {"type": "string"},
                       "procedure_code": {"type": "string"}, "field": {"type": "string"},
                       "channel": {"type": "string", "enum": ["online", "counter", "post"]}, "submitted_at": TIME,
                       "status": {"type": "string"}, "amount_due": MONEY,
                       "amount_paid": {"type": "integer", "description": "Net: allocations less paid refunds."},
                       "payment_channels": {"type": "array", "items": {"type": "string", "enum": [
                           "portal", "gateway", "counter_transfer", "card", "cash"]}},
                       "paid_online": {"type": "boolean"}, "cashless": {"type": "boolean"}},
    },
    "ReportDossierList": {
        "type": "object", "required": ["from", "to", "measure", "group_by", "key", "count", "items", "next"],
        "properties": {"from": DATE, "to": DATE, "measure": {"type": "string", "enum": list(DRILL_MEASURES)},
                       "group_by": _nullable("string"), "key": _nullable("string"),
                       "count": {**COUNT, "description": "How many dossiers the figure has in all."},
                       "items": {"type": "array", "items": _ref("ReportDossier")},
                       "next": _nullable("string", format="uri", description="The next page, or null.")},
    },
    "Collections": {
        "type": "object", "required": ["from", "to", "by", "per", "rows", "total"],
        "properties": {
            "from": DATE, "to": DATE, "by": {"type": "string", "enum": list(COLLECTION_GROUPS)},
            "per": {"type": "string", "enum": list(COLLECTION_PER)},
            "rows": {"type": "array", "items": {
                "type": "object", "required": ["period", "key", "name", "kind", "lines", "amount", "verified"],
                "properties": {"period": _nullable("string", description="YYYY-MM-DD, YYYY-MM, or null."),
                               "key": {"type": "string", "description": "Agency code, fee code, budget sub-item "
                                                                        "('' when not assigned) or kind."},
                               "name": {"type": "string"}, "kind": _nullable("string"), "lines": COUNT,
                               "amount": MONEY,
                               "verified": {"type": "boolean",
                                            "description": "False for fee codes without a budget sub-item."}}}},
            "total": {"type": "object", "required": ["lines", "amount"],
                      "properties": {"lines": COUNT, "amount": MONEY}},
        },
    },
    "PaymentTimeRow": {
        "type": "object",
        "required": ["key", "name", "count", "median_seconds", "p90_seconds", "mean_seconds", "within_1_hour",
                     "within_1_day"],
        "properties": {"key": {"type": "string"}, "name": {"type": "string"}, "count": COUNT,
                       "median_seconds": {"type": ["integer", "null"]}, "p90_seconds": {"type": ["integer", "null"]},
                       "mean_seconds": {"type": ["integer", "null"]}, "within_1_hour": COUNT,
                       "within_1_day": COUNT},
    },
    "PaymentTimes": {
        "type": "object", "required": ["from", "to", "rows", "total"],
        "properties": {"from": DATE, "to": DATE, "rows": {"type": "array", "items": _ref("PaymentTimeRow")},
                       "total": _ref("PaymentTimeRow")},
    },
    "Backlog": {
        "type": "object", "required": ["from", "to", "as_of", "units"],
        "properties": {
            "from": DATE, "to": DATE, "as_of": DATE,
            "units": {"type": "array", "items": {
                "type": "object",
                "required": ["key", "name", "open_exceptions", "overdue_exceptions", "late_exceptions",
                             "oldest_open_days", "open_by_age", "amount_open", "unclosed_days", "late_closed_days"],
                "properties": {
                    "key": _nullable("string", description="The agency's code; null when no unit is known."),
                    "name": {"type": "string"}, "open_exceptions": COUNT,
                    "overdue_exceptions": {**COUNT, "description": "Open now and past their deadline."},
                    "late_exceptions": {**COUNT, "description": "Raised in the period, settled after their "
                                                                "deadline or still open past it."},
                    "oldest_open_days": {"type": ["integer", "null"]},
                    "open_by_age": {"type": "object", "required": ["lt1", "1to3", "gt3"],
                                    "properties": {"lt1": COUNT, "1to3": COUNT, "gt3": COUNT}},
                    "amount_open": MONEY,
                    "unclosed_days": {"type": "array", "items": DATE},
                    "late_closed_days": {"type": "array", "items": DATE}}}},
        },
    },
}


RESPONSES = {
    "BadReportQuery": _error(
        "A query parameter is not valid (a missing or malformed date, `from` after `to`, an unknown choice).",
        _problem(422, "Unprocessable Entity", "the period is not valid: from required: a date YYYY-MM-DD",
                 [{"field": "from", "message": "required: a date YYYY-MM-DD"}])),
    "UnknownGroup": _error("No agency, procedure, field, channel or month with that key.", _problem(
        404, "Not Found", "no agency 'P-NOWHERE'")),
}

_PERIOD = [
    {"name": "from", "in": "query", "required": True, "schema": DATE,
     "description": "First Indochina day of the period (processing start), included.", "example": "2026-11-01"},
    {"name": "to", "in": "query", "required": True, "schema": DATE,
     "description": "Last Indochina day, included.", "example": "2026-11-30"},
]
_GROUP_BY = {"name": "group_by", "in": "query", "required": False,
             "schema": {"type": "string", "enum": list(GROUPS), "default": "agency"},
             "description": "agency, field or procedure (CONTRACT.md); also channel (how the dossier was filed) "
                            "and month.", "example": "agency"}


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
        parameters=[*_PERIOD, _GROUP_BY])},
    "/api/v1/reports/cashless-rate": {"get": _op(
        "getCashlessRate", "Reports", "The cashless rate",
        "Of the dossiers with fees whose processing started in the period (as for item 3.6), the share paid in "
        "full without any cash: the portal, the gateway, a VietQR transfer at the counter and a card all count. "
        "Rows have `cashless` where the online payment rate has `paid_online`.", READERS,
        {"200": {"description": "The rate per group and in total.", "content": _json("CashlessRate",
                                                                                      EXAMPLE_CASHLESS)},
         **_STANDARD},
        parameters=[*_PERIOD, _GROUP_BY])},
    "/api/v1/reports/indicators": {"get": _op(
        "getIndicators", "Reports", "Items 3.5, 3.5b and 3.6 with their points, and the cashless rate",
        "Item 3.5: procedures with fees that had dossiers in the period, every one carrying fee data (a charge "
        "line), ÷ procedures with fees in the catalogue. Item 3.5b: procedures with fees that had at least one "
        "online payment for a dossier of the period ÷ procedures with fees. Item 3.6: as "
        "`/api/v1/reports/online-payment-rate`. Points are proportional up to the full-marks threshold; "
        "points and thresholds are configuration (setting `reports.scoring`).", READERS,
        {"200": {"description": "The indicators.", "content": _json("Indicators", EXAMPLE_INDICATORS)},
         **_STANDARD},
        parameters=_PERIOD)},
    "/api/v1/reports/dossiers": {"get": _op(
        "listReportDossiers", "Reports", "The dossiers behind a figure",
        "Drill-down: the dossiers counted in one figure (`measure`) of the period, in total or in one group "
        "(`group_by` and `key`, e.g. `agency` and `P-HOANKIEM`), by dossier, 200 a page.", READERS,
        {"200": {"description": "A page of dossiers.", "content": _json("ReportDossierList", EXAMPLE_DOSSIERS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownGroup", "422": "BadReportQuery"})},
        parameters=[*_PERIOD,
                    {"name": "measure", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(DRILL_MEASURES), "default": "dossiers"},
                     "description": "Which figure: dossiers, with_fees, zero_fee, paid_online, not_paid_online, "
                                    "cashless, cancelled, …", "example": "paid_online"},
                    {**_GROUP_BY, "schema": {"type": "string", "enum": list(GROUPS)},
                     "description": "The group of the figure (none: the total)."},
                    {"name": "key", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "The group's key, required with `group_by`.", "example": "P-HOANKIEM"},
                    {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "The cursor of the next page (from `next`).", "example": "0"}])},
    "/api/v1/reports/collections": {"get": _op(
        "getCollections", "Reports", "Money collected",
        "What the issued e-receipts of the period say (a cancelled receipt drops out), by Indochina day of "
        "issue: per agency, fee item, budget sub-item (configuration: setting `reports.budget_subitems`) or "
        "kind (phí / lệ phí), per day, month, or for the whole period. What finance offices remit to the "
        "treasury.", READERS,
        {"200": {"description": "The amounts.", "content": _json("Collections", EXAMPLE_COLLECTIONS)},
         **_STANDARD},
        parameters=[*_PERIOD,
                    {"name": "by", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(COLLECTION_GROUPS), "default": "agency"},
                     "description": "agency, fee, subitem or kind.", "example": "fee"},
                    {"name": "per", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(COLLECTION_PER), "default": "day"},
                     "description": "day, month, or period (one row per key).", "example": "month"}])},
    "/api/v1/reports/payment-times": {"get": _op(
        "getPaymentTimes", "Reports", "Time from payment request to payment",
        "For the dossiers with fees paid in full whose processing started in the period: seconds from their "
        "first payment request to their last payment (bank booking time, or when cash was taken), per agency "
        "and in total; the 90th percentile by the nearest-rank method.", READERS,
        {"200": {"description": "The times.", "content": _json("PaymentTimes", EXAMPLE_TIMES)}, **_STANDARD},
        parameters=_PERIOD)},
    "/api/v1/reports/backlog": {"get": _op(
        "getBacklog", "Reports", "Units with open or late exceptions, or days not closed",
        "Per unit (the agency of the collection account, else of the dossier): exceptions open now with their "
        "age, those past their deadline, the exceptions of the period settled late, and the days of the period "
        "with transactions that are not closed (or were closed late) once the grace of "
        "`reports.close_grace_days` (1 day) has passed.", READERS,
        {"200": {"description": "The units, the worst first.", "content": _json("Backlog", EXAMPLE_BACKLOG)},
         **_STANDARD},
        parameters=_PERIOD)},
}

TAGS = [{"name": "Reports", "description": "The online payment rate the city is judged on (Quyết định 766/QĐ-TTg), "
                                           "the cashless rate, money collected, payment times, delays."}]

extend(paths=PATHS, schemas=SCHEMAS, responses=RESPONSES, tags=TAGS)
