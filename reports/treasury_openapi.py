"""The treasury's part of the OpenAPI document: the fee returns, positions and remittances
(``reports.treasury_api``) and the land financial obligations of a dossier (``payments.api``):
the operations and their examples; the schemas are ``reports.treasury_schemas``' and
``payments.api_schemas``' models. Added to the document by ``app.register_api_docs``."""
from __future__ import annotations

from typing import Any

from core.api_schema import components, query_parameters
from payments.dossiers import CODE_MAX, CODE_PATTERN
from payments.openapi import _error, _errors, _json, _op, _problem

from . import treasury_schemas as shapes

READERS = ["supervisor", "finance", "system", "admin"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXAMPLE_RETURN = {
    "form": "01/PHLP",
    "agency": {"code": "HN-VPDKDD-CN02", "name": "Chi nhánh Văn phòng Đăng ký đất đai Hà Nội khu vực Đống Đa – "
                                                 "Cầu Giấy", "tax_code": "0110000003-002"},
    "period": "2026-11",
    "lines": [
        {"fee_code": "BD", "name": "Lệ phí chứng nhận đăng ký biến động", "kind": "le_phi", "budget_chapter": None,
         "budget_subitem": "2805", "collected": 84_000, "collected_e_receipts": 84_000,
         "collected_other_documents": 0, "other_documents_dossiers": 0, "retention_percent": 0, "retention_set": True, "retained": 0,
         "payable": 84_000, "receipts": 3, "treasury_verified": False, "city_support": 0},
        {"fee_code": "TD", "name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "kind": "phi", "budget_chapter": None,
         "budget_subitem": "2627", "collected": 3_000_000, "collected_e_receipts": 3_000_000,
         "collected_other_documents": 0, "other_documents_dossiers": 0, "retention_percent": None, "retention_set": False,
         "retained": 0, "payable": 3_000_000, "receipts": 1, "treasury_verified": False, "city_support": 0},
    ],
    "total": {"collected": 3_084_000, "retained": 0, "payable": 3_084_000, "remitted": 3_000_000, "owed": 84_000,
              "city_support": 16_000, "collected_e_receipts": 3_084_000, "collected_other_documents": 0},
    "months_with_collections": ["2026-11"],
    "tax_obligations_apart": [],
    "city_support_lines": [
        {"fee_code": "TLHT", "name": "Phí cấp bản sao trích lục hộ tịch", "kind": "phi", "budget_chapter": None,
         "budget_subitem": None, "amount": 16_000, "charges": 1,
         "rules": [{"code": "NQ77-HN-BTC", "legal_basis": "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội"}]},
    ],
    "generated_at": "2026-12-03T09:00:00+07:00",
}
EXAMPLE_REMITTANCE_INPUT = {"agency": "HN-VPDKDD-CN02", "month": "2026-11", "remitted_on": "2026-12-02",
                            "amount": 3_000_000, "document_number": "GNT-2026-1102", "note": "Nộp tháng 11"}
EXAMPLE_REMITTANCE = {"id": 1, **{k: v for k, v in EXAMPLE_REMITTANCE_INPUT.items()},
                      "recorded_by": "token:ketoan", "recorded_at": "2026-12-02T10:00:00+07:00"}
EXAMPLE_NOTICE = {"kind": "registration_fee", "notice_number": "TB-2026-001", "amount": 10_000_000,
                  "due_date": "2026-12-25", "issuing_authority": "Thuế cơ sở 1 thành phố Hà Nội"}
EXAMPLE_OBLIGATION = {"id": 1, **EXAMPLE_NOTICE, "status": "unpaid", "proof": None}
EXAMPLE_PROOF = {"kind": "treasury_slip", "number": "GNT-778", "date": "2026-11-26"}

SCHEMAS: dict[str, Any] = components(shapes.INPUTS, shapes.SHAPES)

RESPONSES = {
    "BadTreasuryQuery": _error("A query parameter is not valid (agency missing, month not `YYYY-MM`, year not "
                               "`YYYY`, both month and year).", _problem(
        422, "Unprocessable Entity", "say which return: agency and month or year",
        [{"field": "month", "message": "give month=YYYY-MM (01/PHLP) or year=YYYY (02/PHLP), not both"}])),
    "TreasuryUnknownAgency": _error("No agency has that code.", _problem(404, "Not Found", "no agency 'P-NOWHERE'")),
    "InvalidRemittance": _error("The remittance is not valid.", _problem(
        422, "Unprocessable Entity", "the remittance is not valid",
        [{"field": "amount", "message": "a whole number of đồng, 1 to 9999999999999"}], code="invalid_remittance")),
    "RemittanceExists": _error("This treasury document is already recorded for the agency.", _problem(
        409, "Conflict", "treasury document GNT-2026-1102 is already recorded for HN-VPDKDD-CN02",
        code="remittance_exists", params={"document": "GNT-2026-1102"})),
    "InvalidObligation": _error("The tax notice or proof is not valid.", _problem(
        422, "Unprocessable Entity", "the tax notice is not valid", [{"field": "kind", "message":
                                                                      "one of registration_fee, land_use_levy, "
                                                                      "personal_income_tax"}],
        code="invalid_obligation")),
    "ObligationConflict": _error("The dossier is not a land dossier, or the obligation already has its proof.",
                                 _problem(409, "Conflict", "tax obligation 1 already has its proof",
                                          code="obligation_paid", params={"id": 1}), "not_a_land_dossier"),
}

_CODE = {"name": "code", "in": "path", "required": True,
         "schema": {"type": "string", "maxLength": CODE_MAX, "pattern": CODE_PATTERN.pattern},
         "description": "The dossier's code (or its national-portal code).", "example": "000.12.03.H26-261125-0001"}
_STD = {"401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}

PATHS: dict[str, Any] = {
    "/api/v1/reports/fee-return": {"get": _op(
        "getFeeReturn", "Treasury", "The fee return 01/PHLP (a month) or 02/PHLP (a year)",
        "Per fee item of the agency: budget chapter and sub-item, what was collected (receipts issued in the "
        "Indochina period less receipts cancelled in it), the retention %, the amount retained (rounded half up to "
        "the đồng, per month) and the amount payable to the state budget; totals with what was remitted and what "
        "is still owed; beside them, what the city budget paid in the payers' place (Nghị quyết 77/2025: "
        "`city_support`, per line, in total and per fee item in `city_support_lines`), never counted as collected. "
        "`format=xlsx` answers the form as a workbook, the city's support in a section below it.", READERS,
        {"200": {"description": "The return.", "content": {**_json("FeeReturn", EXAMPLE_RETURN), XLSX: {
            "schema": {"type": "string", "contentMediaType": XLSX}}}},
         "404": {"$ref": "#/components/responses/TreasuryUnknownAgency"},
         "422": {"$ref": "#/components/responses/BadTreasuryQuery"}, **_STD},
        parameters=query_parameters(shapes.FeeReturnQuery))},
    "/api/v1/treasury/positions": {"get": _op(
        "getTreasuryPositions", "Treasury", "What each agency owes the state budget, per month",
        "Per agency and month (newest first; only where something was collected, remitted or supported by the "
        "city): collected, retained, payable, remitted and still owed, and beside them `city_support`, what the city "
        "budget pays in the payers' place (Nghị quyết 77/2025; never collected). `month`, or `from` and `to` (months, at most 36); the "
        "current month by default.", READERS,
        {"200": {"description": "The positions.", "content": _json("TreasuryPositions", {"items": [
            {"agency": "HN-VPDKDD-CN02", "month": "2026-11", "collected": 3_084_000, "retained": 0,
             "payable": 3_084_000, "remitted": 3_000_000, "owed": 84_000, "city_support": 16_000}]})},
         "404": {"$ref": "#/components/responses/TreasuryUnknownAgency"},
         "422": {"$ref": "#/components/responses/BadTreasuryQuery"}, **_STD},
        parameters=query_parameters(shapes.PositionsQuery))},
    "/api/v1/treasury/remittances": {
        "get": _op("listRemittances", "Treasury", "Remittances to the State Treasury",
                   "Newest month first; `agency` and `year` narrow the list.", ["finance", "supervisor", "admin"],
                   {"200": {"description": "The remittances.", "content": _json("RemittanceList", {
                       "items": [EXAMPLE_REMITTANCE]})},
                    "404": {"$ref": "#/components/responses/TreasuryUnknownAgency"},
                    "422": {"$ref": "#/components/responses/BadTreasuryQuery"}, **_STD},
                   parameters=query_parameters(shapes.RemittanceQuery)),
        "post": _op("createRemittance", "Treasury", "Record a remittance to the State Treasury",
                    "The month whose collections it settles, the day it was paid (not before that month, not "
                    "after today), the amount and the treasury document's number (once per agency).",
                    ["finance", "admin"],
                    {"201": {"description": "Recorded.", "content": _json("Remittance", EXAMPLE_REMITTANCE)},
                     **_errors("BadRequest", "PayloadTooLarge"),
                     "409": {"$ref": "#/components/responses/RemittanceExists"},
                     "422": {"$ref": "#/components/responses/InvalidRemittance"}, **_STD},
                    requestBody={"required": True, "content": _json("RemittanceInput", EXAMPLE_REMITTANCE_INPUT)}),
    },
    "/api/v1/dossiers/{code}/tax-obligations": {"post": _op(
        "createTaxObligation", "Dossiers", "Record a tax notice the land dossier depends on",
        "The registration fee (lệ phí trước bạ), land-use levy and personal income tax are assessed by the tax "
        "authority and paid into the State Treasury: never a charge of the office, a payment request or a "
        "receipt. The dossier lists them as `tax_obligations`.", ["system", "counter", "admin"],
        {"201": {"description": "Recorded.", "content": _json("TaxObligation", EXAMPLE_OBLIGATION)},
         **_errors("BadRequest", "NotFound", "PayloadTooLarge"),
         "409": {"$ref": "#/components/responses/ObligationConflict"},
         "422": {"$ref": "#/components/responses/InvalidObligation"}, **_STD},
        parameters=[_CODE], requestBody={"required": True, "content": _json("TaxNoticeInput", EXAMPLE_NOTICE)})},
    "/api/v1/dossiers/{code}/tax-obligations/{obligation_id}/proof": {"post": _op(
        "addTaxObligationProof", "Dossiers", "Record the proof a tax obligation was paid",
        "A State Treasury slip (number and date) or the national portal's confirmation; once.",
        ["system", "counter", "admin"],
        {"200": {"description": "The obligation, paid.", "content": _json("TaxObligation", {
            **EXAMPLE_OBLIGATION, "status": "paid", "proof": {**EXAMPLE_PROOF, "recorded_by": "token:motcua"}})},
         **_errors("BadRequest", "NotFound", "PayloadTooLarge"),
         "409": {"$ref": "#/components/responses/ObligationConflict"},
         "422": {"$ref": "#/components/responses/InvalidObligation"}, **_STD},
        parameters=[_CODE, {"name": "obligation_id", "in": "path", "required": True, "schema": {"type": "integer"},
                            "description": "The obligation's id.", "example": 1}],
        requestBody={"required": True, "content": _json("TaxProofInput", EXAMPLE_PROOF)})},
}

TAGS = [{"name": "Treasury", "description": "Where collected money goes: the fee returns 01/PHLP and 02/PHLP, what "
                                            "each agency owes the state budget, remittances to the State Treasury."}]
