"""The reports' part of the OpenAPI document (``payments.openapi`` holds the document):
the online payment rate of CONTRACT.md, the other indicators, and the e-receipt reports. Added to the document by
``app.register_api_docs``."""
from __future__ import annotations

from typing import Any

from core.vocabulary import DossierChannel, FeeKind, values
from payments.openapi import MONEY, TIME, _error, _json, _nullable, _op, _problem, _ref

from .definitions import GROUPS
from .indicators import DRILL_MEASURES
from .operations import COLLECTION_GROUPS, COLLECTION_PER

READERS = ["supervisor", "finance", "system", "admin"]
DATE = {"type": "string", "format": "date", "examples": ["2026-11-01"]}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
        "description": "A share between 0 and 1 (not a percentage); null when the denominator is 0."}
COUNT = {"type": "integer", "minimum": 0}
RECEIPT_NUMBER = {"type": "string", "pattern": "^[0-9]{8}$", "examples": ["00000001"],
                  "description": "The receipt number, 8 digits."}
_RECEIPT_REF = {"required": ["form", "series", "number"],
                "properties": {"form": {"type": "string"}, "series": {"type": "string"}, "number": RECEIPT_NUMBER}}

DEFINITION_36 = (
    "Item 3.6 of Quyết định 766/QĐ-TTg (the online payment rate the city is scored on, 6 of 100 points), "
    "computed the way the national public service portal computes it: `rate = paid_online ÷ "
    "dossiers_with_fees` over every dossier whose processing started in the period (the Indochina day of its "
    "`submitted_at`, `from` and `to` both included), whatever its later status — withdrawn, refused and stopped "
    "dossiers stay in. `dossiers`: every dossier of the group in the period. `dossiers_with_fees`: the dossiers "
    "of procedures that have a non-zero fee in the catalogue, less those whose every charge line is 0 đồng (a "
    "dossier without any charge line stays in). `paid_online`: the dossiers whose online-payment flag "
    "(`DuocThanhToanTrucTuyen`, the value the outbound events send) is 1 (paid in full on the national portal's "
    "platform) or 2 (paid in full through the city's gateway: a VietQR transfer for a dossier filed online, only "
    "when `online_flag_vietqr_as_gateway` is true — the setting ONLINE_FLAG_VIETQR_AS_GATEWAY, off by default). "
    "Added beside the contract's fields: `paid_on_portal` and `paid_through_gateway` (flag 1 and 2), "
    "`paid_online_outside` (flagged dossiers outside the denominator: a charged dossier of a procedure without "
    "fees; `rate` is then at most 1), `fee_procedure_dossiers`, `zero_fee`, and the service's own cashless rate "
    "(`paid_cashless` ÷ `cashless_dossiers_to_pay` = `cashless_rate`: dossiers with charges above 0, not "
    "rejected, withdrawn, stopped or merely submitted, paid without cash). A payment made after the period counts "
    "for the period its dossier started in. docs/REPORTS.md gives every rule and its source."
)

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

_ROW_PROPS = {"key": {"type": "string", "description": "The agency's or procedure's code, the field, the dossier "
                                                       "channel, or the month `YYYY-MM`; `total` in `total`."},
              "name": {"type": "string"}, "dossiers": {**COUNT, "description": "Dossiers counted."},
              "dossiers_with_fees": {**COUNT, "description": "The denominator."}}
_FLAG_SETTING = {"type": "boolean", "description": "ONLINE_FLAG_VIETQR_AS_GATEWAY: whether a VietQR transfer for "
                                                   "a dossier filed online sets the online-payment flag 2."}

SCHEMAS: dict[str, Any] = {
    "OnlineRateRow": {
        "type": "object", "required": ["key", "name", "dossiers", "dossiers_with_fees", "paid_online", "rate"],
        "properties": {**_ROW_PROPS,
                       "dossiers": {**COUNT, "description": "Every dossier of the group in the period."},
                       "paid_online": {**COUNT, "description": "The numerator: online-payment flag 1 or 2."},
                       "rate": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "paid_online ÷ dossiers_with_fees, between 0 and 1 (at most 1); 0 "
                                               "when dossiers_with_fees is 0 (nothing to pay)."},
                       "fee_procedure_dossiers": {**COUNT, "description": "Dossiers of procedures with a fee."},
                       "zero_fee": {**COUNT, "description": "Of those, with charge lines all 0 đồng (subtracted)."},
                       "paid_on_portal": {**COUNT, "description": "Flag 1."},
                       "paid_through_gateway": {**COUNT, "description": "Flag 2."},
                       "paid_online_outside": {**COUNT, "description": "Flagged, outside the denominator."},
                       "cashless_dossiers_to_pay": {**COUNT, "description": "The service's own cashless rate: its "
                                                                            "denominator."},
                       "paid_cashless": {**COUNT, "description": "Paid in full without cash."},
                       "cashless_rate": RATE},
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
                                "description": "The payment channels the online-payment flag counts (from "
                                               "`online_flag_vietqr_as_gateway`)."},
            "online_flag_vietqr_as_gateway": _FLAG_SETTING,
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
        "description": "The service's own cashless rate, beyond the 766 index: of the dossiers with something to "
                       "pay (charges above 0 đồng; not rejected, withdrawn, stopped or merely submitted; "
                       "`dossiers_with_fees` here), those paid in full without any cash payment — portal, gateway, "
                       "a VietQR transfer at the counter and a card all count.",
        "required": ["from", "to", "group_by", "rows", "total", "online_channels", "generated_at"],
        "properties": {"from": DATE, "to": DATE, "group_by": {"type": "string", "enum": list(GROUPS)},
                       "rows": {"type": "array", "items": _ref("CashlessRateRow")}, "total": _ref("CashlessRateRow"),
                       "online_channels": {"type": "array", "items": {"type": "string"}},
                       "online_flag_vietqr_as_gateway": _FLAG_SETTING, "generated_at": TIME},
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
                       "paid_on_portal": COUNT, "paid_through_gateway": COUNT, "paid_online_outside": COUNT,
                       "fee_data": COUNT, "no_fee_data": COUNT, "cashless_dossiers_to_pay": COUNT,
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
            "online_channels": {"type": "array", "items": {"type": "string"}},
            "online_flag_vietqr_as_gateway": _FLAG_SETTING, "generated_at": TIME,
        },
    },
    "ReportDossier": {
        "type": "object",
        "required": ["code", "agency_code", "procedure_code", "field", "channel", "submitted_at", "status",
                     "amount_due", "amount_paid", "payment_channels", "paid_online", "cashless"],
        "properties": {"code": {"type": "string"}, "agency_code": {"type": "string"},
                       "procedure_code": {"type": "string"}, "field": {"type": "string"},
                       "channel": {"type": "string", "enum": list(values(DossierChannel))}, "submitted_at": TIME,
                       "status": {"type": "string"}, "amount_due": MONEY,
                       "amount_paid": {"type": "integer", "description": "Net: allocations less paid refunds."},
                       "payment_channels": {"type": "array", "items": {"type": "string", "enum": [
                           "portal", "gateway", "counter_transfer", "card", "cash"]}},
                       "paid_online": {"type": "boolean"}, "cashless": {"type": "boolean"},
                       "online_flag": {"type": "integer", "enum": [0, 1, 2],
                                       "description": "DuocThanhToanTrucTuyen, as the outbound events send it."}},
    },
    "ReportDossierList": {
        "type": "object", "required": ["from", "to", "measure", "group_by", "key", "count", "items", "next"],
        "properties": {"from": DATE, "to": DATE, "measure": {"type": "string", "enum": list(DRILL_MEASURES)},
                       "group_by": _nullable("string"), "key": _nullable("string"),
                       "count": {**COUNT, "description": "How many dossiers the figure has in all."},
                       "items": {"type": "array", "items": _ref("ReportDossier")},
                       "next": _nullable("string", format="uri", description="The next page, or null.")},
    },
    "CollectionPart": {
        "type": "object", "required": ["lines", "amount"],
        "description": "The part of lines and amount on the service's e-receipts (e_receipts), or receipted by "
                       "another issuer's document, which gets no e-receipt (other_documents: the national portal's "
                       "platform, a paper receipt for cash); the two add up to the row's lines and amount.",
        "properties": {"lines": COUNT, "amount": MONEY},
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
                                            "description": "False for fee codes without a budget sub-item."},
                               "e_receipts": _ref("CollectionPart"), "other_documents": _ref("CollectionPart")}}},
            "total": {"type": "object", "required": ["lines", "amount"],
                      "properties": {"lines": COUNT, "amount": MONEY, "e_receipts": _ref("CollectionPart"),
                                     "other_documents": _ref("CollectionPart")}},
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
    "ReportAgency": {
        "type": "object", "required": ["code", "name", "tax_code"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "tax_code": _nullable("string")},
    },
    "ReceiptKindTotal": {
        "type": "object",
        "description": "Receipts of one kind (`kind`), or of every kind (no `kind`): those in force with their "
                       "amount, and those cancelled with theirs.",
        "required": ["issued", "amount", "cancelled", "cancelled_amount"],
        "properties": {"kind": {"type": "string", "enum": list(values(FeeKind))},
                       "issued": {**COUNT, "description": "Receipts not cancelled."},
                       "amount": {**MONEY, "description": "Their amount: cancelled receipts do not count."},
                       "cancelled": {**COUNT, "description": "Receipts cancelled (as they are now)."},
                       "cancelled_amount": {**MONEY, "description": "The amount of the cancelled receipts."}},
    },
    "ListedReceipt": {
        "type": "object",
        "required": ["form", "series", "number", "issued_at", "payer_name", "dossier_code", "kind", "amount", "status",
                     "cancelled_at", "cancel_reason", "replaces", "replaced_by"],
        "properties": {
            "form": {"type": "string"}, "series": {"type": "string"}, "number": RECEIPT_NUMBER, "issued_at": TIME,
            "payer_name": {"type": "string"}, "dossier_code": {"type": "string"},
            "kind": {"type": "string", "enum": list(values(FeeKind))}, "amount": MONEY,
            "status": {"type": "string", "enum": ["issued", "cancelled"],
                       "description": "As it is now: a receipt cancelled after the day is `cancelled`."},
            "cancelled_at": {**TIME, "type": ["string", "null"]}, "cancel_reason": _nullable("string"),
            "replaces": _nullable("object", **_RECEIPT_REF,
                                  description="The cancelled receipt this one replaces (form, series, number)."),
            "replaced_by": _nullable("object", **_RECEIPT_REF,
                                     description="The receipt that replaces this cancelled one.")},
    },
    "DailyReceipts": {
        "type": "object",
        "description": "The daily list of the receipts an agency issued (bảng kê biên lai): every receipt issued "
                       "on the Indochina `day`, by form, series and number, with totals per series and kind and "
                       "for the day.",
        "required": ["day", "agency", "series", "totals", "total", "generated_at"],
        "properties": {
            "day": DATE, "agency": _ref("ReportAgency"),
            "series": {"type": "array", "items": {
                "type": "object", "required": ["form", "series", "receipts", "totals", "total"],
                "properties": {"form": {"type": "string"}, "series": {"type": "string"},
                               "receipts": {"type": "array", "items": _ref("ListedReceipt")},
                               "totals": {"type": "array", "items": _ref("ReceiptKindTotal"),
                                          "description": "One per kind, phí and lệ phí."},
                               "total": _ref("ReceiptKindTotal")}}},
            "totals": {"type": "array", "items": _ref("ReceiptKindTotal"), "description": "The day's, per kind."},
            "total": _ref("ReceiptKindTotal"), "generated_at": TIME,
        },
    },
    "NumberRange": {
        "type": "object", "description": "Receipt numbers `from` to `to`, both included.",
        "required": ["from", "to", "count"],
        "properties": {"from": RECEIPT_NUMBER, "to": RECEIPT_NUMBER, "count": {"type": "integer", "minimum": 1}},
    },
    "ReceiptSeriesUsage": {
        "type": "object",
        "required": ["form", "series", "first", "last", "ranges", "count", "used", "cancelled", "cancelled_numbers",
                     "previous_last", "missing", "missing_count", "outside", "outside_count", "ok"],
        "properties": {
            "form": {"type": "string"}, "series": {"type": "string"},
            "first": {**RECEIPT_NUMBER, "description": "The first number used in the quarter."},
            "last": {**RECEIPT_NUMBER, "description": "The last number used in the quarter."},
            "ranges": {"type": "array", "items": _ref("NumberRange"),
                       "description": "The numbers used in the quarter (one range when none is missing)."},
            "count": {**COUNT, "description": "Receipts issued in the quarter, cancelled ones included."},
            "used": {**COUNT, "description": "Of those, the ones not cancelled."},
            "cancelled": {**COUNT, "description": "Of those, the ones cancelled (as they are now)."},
            "cancelled_numbers": {"type": "array", "items": {
                "type": "object",
                "required": ["number", "dossier_code", "issued_at", "cancelled_at", "reason", "after_quarter"],
                "properties": {"number": RECEIPT_NUMBER, "dossier_code": {"type": "string"}, "issued_at": TIME,
                               "cancelled_at": {**TIME, "type": ["string", "null"]}, "reason": _nullable("string"),
                               "after_quarter": {"type": "boolean",
                                                 "description": "Cancelled after the quarter ended."}}}},
            "previous_last": {**RECEIPT_NUMBER, "type": ["string", "null"],
                              "description": "The last number of the series used before the quarter in the same "
                                             "year; null when the quarter opened it (it should start at 1)."},
            "missing": {"type": "array", "items": _ref("NumberRange"),
                        "description": "Numbers on no receipt at all, from the number after `previous_last` (or 1) "
                                       "to `last`: a gap in the numbering, which is a defect. Empty when all is well."},
            "missing_count": COUNT,
            "outside": {"type": "array", "items": _ref("NumberRange"),
                        "description": "Numbers in that range on receipts of another quarter or agency sharing the "
                                       "series. Empty when all is well."},
            "outside_count": COUNT,
            "ok": {"type": "boolean", "description": "No number missing and none outside."},
        },
    },
    "ReceiptUsage": {
        "type": "object",
        "description": "The quarterly receipt-usage report (BC26/BLĐT) of an agency: per form and series, the "
                       "numbers used in the quarter, those cancelled, and any gap in the numbering. The exact BC26 "
                       "layout still needs confirming with the city.",
        "required": ["quarter", "from", "to", "agency", "series", "total", "ok", "generated_at"],
        "properties": {
            "quarter": {"type": "string", "pattern": "^[0-9]{4}-Q[1-4]$", "examples": ["2026-Q4"]},
            "from": DATE, "to": DATE, "agency": _ref("ReportAgency"),
            "series": {"type": "array", "items": _ref("ReceiptSeriesUsage")},
            "total": {"type": "object", "required": ["count", "used", "cancelled", "missing_count", "outside_count"],
                      "properties": {"count": COUNT, "used": COUNT, "cancelled": COUNT, "missing_count": COUNT,
                                     "outside_count": COUNT}},
            "ok": {"type": "boolean"}, "generated_at": TIME,
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
    "BadReceiptQuery": _error(
        "A query parameter is not valid: a missing or malformed day (`YYYY-MM-DD`) or quarter (`YYYY-Qn`), or no "
        "agency code.",
        _problem(422, "Unprocessable Entity", "the query is not valid: day a date YYYY-MM-DD",
                 [{"field": "day", "message": "a date YYYY-MM-DD"}])),
    "UnknownAgency": _error("No agency has that code.", _problem(404, "Not Found", "no agency 'P-NOWHERE'")),
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

_AGENCY = {"name": "agency", "in": "query", "required": True, "schema": {"type": "string"},
           "description": "The agency's code.", "example": "P-HOANKIEM"}


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
    "/api/v1/reports/receipts/daily": {"get": _op(
        "getDailyReceipts", "Reports", "The daily list of receipts issued (bảng kê biên lai)",
        "Every e-receipt the agency issued on the Indochina `day`, by form, series and number: form (mẫu số), "
        "series (ký hiệu), number, issue time, payer, dossier code, kind (phí / lệ phí), amount and status. A "
        "receipt cancelled later shows as `cancelled`, with when and why; a replacement names the receipt it "
        "replaces, and a cancelled receipt the one that replaced it. Totals per series and kind and for the day: "
        "amounts count only receipts not cancelled; cancelled receipts are counted apart.", READERS,
        {"200": {"description": "The list.", "content": _json("DailyReceipts", EXAMPLE_DAILY_RECEIPTS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "UnknownAgency", "422": "BadReceiptQuery"})},
        parameters=[{"name": "day", "in": "query", "required": True, "schema": DATE,
                     "description": "The Indochina day.", "example": "2026-11-25"}, _AGENCY])},
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
        parameters=[{"name": "quarter", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": "^[0-9]{4}-[Qq][1-4]$", "examples": ["2026-Q4"]},
                     "description": "The quarter, `YYYY-Qn`.", "example": "2026-Q4"}, _AGENCY])},
}

TAGS = [{"name": "Reports", "description": "The online payment rate the city is judged on (Quyết định 766/QĐ-TTg), "
                                           "the cashless rate, money collected, payment times, delays, e-receipts."}]



# --- reconciling item 3.6 with the portal's figure ------------------------------------------------------

_FIGURE = {"type": "object", "required": ["numerator", "denominator", "rate"],
           "properties": {"numerator": COUNT, "denominator": COUNT, "rate": RATE}}
_EXPLANATION = {
    "type": "object",
    "required": ["dossier_code", "unit_code", "reason", "our_flag", "portal_flag", "our_fee_total",
                 "portal_fee_total", "in_our_denominator", "event_status"],
    "properties": {
        "dossier_code": {"type": "string"}, "unit_code": {"type": "string"},
        "reason": {"type": "string", "enum": ["not_synced", "missing_on_portal", "unknown_to_service",
                                              "flag_differs", "fee_data_differs"],
                   "description": "not_synced: its last outbound event is pending or dead; missing_on_portal / "
                                  "unknown_to_service: only one side lists it (per-dossier export); flag_differs, "
                                  "fee_data_differs: what the portal holds (its per-dossier export, else the last "
                                  "delivered event) is not what the service counts now."},
        "our_flag": {"type": ["integer", "null"]}, "portal_flag": {"type": ["integer", "null"]},
        "our_fee_total": {"type": ["integer", "null"]}, "portal_fee_total": {"type": ["integer", "null"]},
        "in_our_denominator": {"type": ["boolean", "null"]}, "event_status": _nullable("string")},
}
SCHEMAS["PortalIndexComparison"] = {
    "type": "object",
    "description": "An upload of the portal's monthly export of item 3.6 against the service's figure of the same "
                   "month: per unit, both figures and, for a unit that differs, the dossiers that explain it.",
    "required": ["id", "month", "filename", "dossier_filename", "uploaded_at", "uploaded_by", "units_in_file",
                 "dossiers_in_file", "online_flag_vietqr_as_gateway", "ours", "portal", "units", "unknown_dossiers"],
    "properties": {
        "id": {"type": "integer"}, "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
        "filename": {"type": "string"}, "dossier_filename": _nullable("string"), "uploaded_at": TIME,
        "uploaded_by": {"type": "string"}, "units_in_file": COUNT, "dossiers_in_file": COUNT,
        "online_flag_vietqr_as_gateway": _FLAG_SETTING, "ours": _FIGURE, "portal": _FIGURE,
        "units": {"type": "array", "description": "Units that differ first, then by code.", "items": {
            "type": "object",
            "required": ["code", "name", "known", "differs", "ours", "portal", "portal_rate_in_file",
                         "numerator_difference", "denominator_difference", "dossiers"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                           "known": {"type": "boolean", "description": "The service knows the unit's code."},
                           "differs": {"type": "boolean"}, "ours": _FIGURE,
                           "portal": {**_FIGURE, "type": ["object", "null"]},
                           "portal_rate_in_file": {"type": ["number", "null"]},
                           "numerator_difference": {"type": "integer", "description": "Ours − the portal's."},
                           "denominator_difference": {"type": "integer", "description": "Ours − the portal's."},
                           "dossiers": {"type": "array", "items": _EXPLANATION}}}},
        "unknown_dossiers": {"type": "array", "items": _EXPLANATION},
    },
}
SCHEMAS["PortalIndexUploads"] = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {
        "type": "object",
        "required": ["id", "month", "filename", "dossier_filename", "uploaded_at", "uploaded_by", "units_in_file",
                     "dossiers_in_file"],
        "properties": {"id": {"type": "integer"}, "month": {"type": "string"}, "filename": {"type": "string"},
                       "dossier_filename": _nullable("string"), "uploaded_at": TIME, "uploaded_by": {"type": "string"},
                       "units_in_file": COUNT, "dossiers_in_file": COUNT}}}},
}
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
