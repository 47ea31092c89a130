"""The OpenAPI 3.1 description of the REST API and the view of it that
``templates/api_docs.html`` renders at ``/api/docs``.

The schemas are generated from the API's own pydantic models (``payments.api_schemas`` and the
other packages' schema modules, through ``core.api_schema.components``): the model that
validates a body or serialises an answer is the one described. This module adds what only a
document has: the operations (roles, error answers, descriptions, tags) and examples made by
the service's own functions. One document serves the machine (``GET /api/v1/openapi.json``)
and the people (the docs page); ``tests/payments/test_openapi.py`` checks that every
``/api/v1`` route is described (and nothing else), that the roles and error answers described
are the ones the service gives, and that the examples have the shapes of the schemas.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from markupsafe import Markup

from core.api_schema import Problem, components
from qr.vietqr import encode_transfer

from . import api_schemas
from .references import check_symbol, purpose_for

ALL_ROLES = ["system", "counter", "finance", "supervisor", "admin"]
WRITERS = ["system", "counter", "admin"]
PROBLEM_JSON = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# --- examples, made with the service's own functions so that they are real ------------------

_REFERENCE = "HS7K2M9QXA" + check_symbol("HS7K2M9QXA")
_PURPOSE = purpose_for(_REFERENCE)
_TOKEN = "q3V0dq2m5Xk1cJ8yQm9pV4bN7sT2wZ6e"
_ACCOUNT = {"bin": "970415", "number": "105415039595",
            "name": "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI KHU VỰC ĐỐNG ĐA – CẦU GIẤY"}
_BASE = "https://thanhtoan.hanoi.gov.vn"

EXAMPLE_DOSSIER_INPUT = {
    "code": "000.12.03.H26-261125-0001",
    "procedure_code": "1.013831",
    "agency_code": "HN-VPDKDD-CN02",
    "applicant_name": "Nguyễn Văn A",
    "submitted_at": "2026-11-25T09:00:00+07:00",
    "channel": "counter",
    "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000},
}
EXAMPLE_DOSSIER_WITH_CHARGES = {
    "code": "000.20.01.H26-261125-0007",
    "procedure_code": "1.001193",
    "agency_code": "P-HOANKIEM",
    "applicant_name": "Nguyễn Văn A",
    "submitted_at": "2026-11-25T09:00:00+07:00",
    "channel": "online",
    "charges": [{"name": "Lệ phí đăng ký khai sinh", "amount": 8000}],
}
EXAMPLE_PAYMENT_REQUEST = {
    "reference": _REFERENCE,
    "dossier_code": "000.12.03.H26-261125-0001",
    "amount": 3_028_000,
    "amount_paid": 0,
    "account": _ACCOUNT,
    "purpose": _PURPOSE,
    "qr_payload": encode_transfer(_ACCOUNT["bin"], _ACCOUNT["number"], 3_028_000, _PURPOSE),
    "pay_url": f"{_BASE}/pay/{_TOKEN}",
    "card_pdf_url": f"{_BASE}/pay/{_TOKEN}/card.pdf",
    "qr_png_url": f"{_BASE}/pay/{_TOKEN}/qr.png",
    "expires_at": "2026-11-26T23:59:59+07:00",
    "created_at": "2026-11-25T09:05:12+07:00",
    "status": "open",
    "cancel_reason": None,
}
EXAMPLE_DOSSIER = {
    "code": "000.12.03.H26-261125-0001",
    "portal_code": None,
    "procedure_code": "1.013831",
    "field": "land",
    "agency_code": "HN-VPDKDD-CN02",
    "applicant_name": "Nguyễn Văn A",
    "channel": "counter",
    "submitted_at": "2026-11-25T09:00:00+07:00",
    "payer_class": "individual_ward",
    "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000},
    "amount_due": 3_028_000,
    "amount_paid": 0,
    "payment_status": "unpaid",
    "charges": [
        {"name": "Lệ phí chứng nhận đăng ký biến động", "amount": 28_000, "kind": "le_phi", "fee_code": "BD",
         "legal_basis": "Nghị quyết 06/2020/NQ-HĐND Hà Nội", "detail": "mức thu cố định",
         "rule": {"code": "schedule", "name": None, "legal_basis": None, "confirmed": None},
         "schedule_amount": 28_000, "city_support": 0},
        {"name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "amount": 3_000_000, "kind": "phi", "fee_code": "TD",
         "legal_basis": "Thông tư 85/2019/TT-BTC Điều 5 (sửa đổi bởi Thông tư 106/2021/TT-BTC); "
                        "Nghị quyết 06/2020/NQ-HĐND Hà Nội",
         "detail": "1,5 ‰ × 2.000.000.000 ₫",
         "rule": {"code": "schedule", "name": None, "legal_basis": None, "confirmed": None},
         "schedule_amount": 3_000_000, "city_support": 0},
    ],
    "payment_requests": [
        {"reference": _REFERENCE, "amount": 3_028_000, "amount_paid": 0, "status": "open",
         "expires_at": "2026-11-26T23:59:59+07:00", "created_at": "2026-11-25T09:05:12+07:00"},
    ],
    "payments": [],
    "receipts": [],
    "tax_obligations": [],
}
EXAMPLE_AGENCIES = {"items": [{
    "code": "HN-VPDKDD-CN02",
    "name": "Chi nhánh Văn phòng Đăng ký đất đai Hà Nội khu vực Đống Đa – Cầu Giấy",
    "name_en": "Land Registration Office branch Dong Da – Cau Giay",
    "kind": "branch",
    "parent_code": "HN-VPDKDD",
    "accounts": [{**_ACCOUNT, "default": True}],
}]}
EXAMPLE_PROCEDURES = {"items": [{
    "code": "1.013831",
    "national_code": "1.013831",
    "name": "Đăng ký biến động đất đai, tài sản gắn liền với đất",
    "name_en": "Registration of a change (sale, gift, inheritance)",
    "field": "land",
    "fees": [
        {"code": "BD", "name": "Lệ phí chứng nhận đăng ký biến động", "kind": "le_phi",
         "payer_class": "individual_ward", "amount": 28_000, "per_copy": False, "exempt": False,
         "exempt_condition": None, "online_free_from": "2026-01-01",
         "legal_basis": "Nghị quyết 06/2020/NQ-HĐND Hà Nội", "verified": True, "budget_chapter": None,
         "budget_subitem": "2805", "retention_percent": 0, "treasury_verified": False},
        {"code": "TD", "name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "kind": "phi", "payer_class": "any",
         "rate": 1.5, "cap": 5_000_000, "per_copy": False, "exempt": False, "exempt_condition": None,
         "online_free_from": None,
         "legal_basis": "Thông tư 85/2019/TT-BTC Điều 5 (sửa đổi bởi Thông tư 106/2021/TT-BTC); "
                        "Nghị quyết 06/2020/NQ-HĐND Hà Nội",
         "verified": False, "budget_chapter": None, "budget_subitem": "2627", "retention_percent": None,
         "treasury_verified": False},
    ],
}]}


_GENERIC_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
                  413: "payload_too_large", 422: "invalid"}


def _problem(status: int, title: str, detail: str, errors: list | None = None, *, code: str | None = None,
             params: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail,
                            "code": code or _GENERIC_CODES[status]}
    if params:
        body["params"] = params
    if errors:
        body["errors"] = errors
    return body


# --- schemas: the API's own models (payments.api_schemas), described ---------------------------

SCHEMAS: dict[str, Any] = components([*api_schemas.INPUTS], [Problem, *api_schemas.SHAPES])

# --- error answers -------------------------------------------------------------------------


def _error(description: str, example: dict[str, Any], *more_codes: str) -> dict[str, Any]:
    codes = ", ".join(f"`{c}`" for c in (example["code"], *more_codes))
    return {"description": f"{description} Code: {codes}.",
            "content": {PROBLEM_JSON: {"schema": _ref("Problem"), "example": example}}}


RESPONSES = {
    "BadRequest": _error("The body is not JSON.", _problem(
        400, "Bad Request", "the body is not valid UTF-8 JSON (line 1, column 1: Expecting value)")),
    "Unauthorized": _error("No token, or an unknown or revoked one.", _problem(
        401, "Unauthorized", "the token is unknown or revoked")),
    "Forbidden": _error("The token's role may not do this.", _problem(
        403, "Forbidden", "role 'finance' may not do this (needs system or counter)")),
    "NotFound": _error("Nothing has that code or reference.", _problem(
        404, "Not Found", "no dossier with code '000.12.03.H26-261125-0009'")),
    "PayloadTooLarge": _error("The body is larger than 1 MB.", _problem(
        413, "Request Entity Too Large", "the body is larger than 1048576 bytes, the most this API reads")),
    "DossierConflict": _error("A dossier with this code (or portal code) exists already.", _problem(
        409, "Conflict", "dossier 000.12.03.H26-261125-0001 already exists", code="dossier_exists",
        params={"code": "000.12.03.H26-261125-0001"})),
    "NothingDue": _error("Nothing remains due that is not already asked for by an open request.", _problem(
        409, "Conflict", f"nothing remains due on dossier 000.12.03.H26-261125-0001 (request {_REFERENCE} is open: "
                         "reprint it, or cancel it first)", code="nothing_due",
        params={"dossier": "000.12.03.H26-261125-0001", "open_requests": [_REFERENCE]})),
    "AlreadyClosed": _error("The request is already paid, overpaid or cancelled.", _problem(
        409, "Conflict", f"payment request {_REFERENCE} is already paid", code="request_paid",
        params={"reference": _REFERENCE, "status": "paid"}), "request_cancelled"),
    "InvalidDossier": _error("Invalid content; `errors` names each field at fault.", _problem(
        422, "Unprocessable Entity", "the dossier is not valid",
        [{"field": "applicant_name", "message": "required"},
         {"field": "parameters.declared_value", "message": "a whole, non-negative number of đồng"}],
        code="invalid_dossier")),
    "InvalidRequest": _error("Invalid amount or validity; `errors` names each field at fault.", _problem(
        422, "Unprocessable Entity", "the payment request is not valid",
        [{"field": "amount", "message": "a positive whole number of đồng"}], code="invalid_request"),
        "not_a_positive_amount", "amount_over_available"),
    "InvalidStatus": _error("Not a status of the national portal; `errors` names the field.", _problem(
        422, "Unprocessable Entity", "the status is not valid",
        [{"field": "status", "message": "one of 1 (submitted), 2 (accepted), 3 (rejected), 4 (in_progress), "
                                        "5 (documents_requested), 6 (awaiting_payment), 7 (withdrawn), 8 (stopped), "
                                        "9 (done), 10 (result_delivered)"}], code="invalid_status")),
    "InvalidCancel": _error("No reason given.", _problem(
        422, "Unprocessable Entity", "say why the request is cancelled", [{"field": "reason", "message": "required"}],
        code="reason_required", params={"act": "cancel_request"}), "invalid_cancel"),
}


def _json(schema: str, example: Any = None, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ref(schema)}
    if example is not None:
        media["example"] = example
    if examples:
        media["examples"] = examples
    return {"application/json": media}


def _errors(*names: str) -> dict[str, Any]:
    codes = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404",
             "PayloadTooLarge": "413", "DossierConflict": "409", "NothingDue": "409", "AlreadyClosed": "409",
             "InvalidDossier": "422", "InvalidRequest": "422", "InvalidCancel": "422",
             "InvalidStatus": "422"}
    return {codes[n]: {"$ref": f"#/components/responses/{n}"} for n in names}


def _roles_text(roles: list[str]) -> str:
    return "Any role." if roles == ALL_ROLES else f"Roles: {', '.join(roles)}."


def _op(op_id: str, tag: str, summary: str, description: str, roles: list[str] | None, responses: dict[str, Any],
        **extra: Any) -> dict[str, Any]:
    body = {"operationId": op_id, "tags": [tag], "summary": summary}
    if roles is None:
        body["description"] = description
        body["security"] = []
    else:
        body["description"] = f"{description}\n\n{_roles_text(roles)}"
        body["x-roles"] = roles
    body.update(extra)
    body["responses"] = dict(sorted(responses.items()))
    return body


_CODE_PARAM = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
               "description": "The dossier's code or its national-portal code. Codes may contain `/`: "
                              "send them as they are.",
               "example": "000.12.03.H26-261125-0001"}
_REFERENCE_PARAM = {"name": "reference", "in": "path", "required": True,
                    "schema": {"type": "string", "examples": [_REFERENCE]},
                    "description": "The payment reference (case does not matter).", "example": _REFERENCE}
_LOCATION = {"Location": {"description": "The absolute URL of the new resource.",
                          "schema": {"type": "string", "format": "uri"}}}

PATHS: dict[str, Any] = {
    "/api/v1/agencies": {"get": _op(
        "listAgencies", "Reference data", "The agencies and their collection accounts",
        "Every agency, by code, with its active collection accounts.",
        ALL_ROLES,
        {"200": {"description": "The agencies.", "content": _json("AgencyList", EXAMPLE_AGENCIES)},
         **_errors("Unauthorized")})},
    "/api/v1/procedures": {"get": _op(
        "listProcedures", "Reference data", "The fee catalogue",
        "Every active procedure with its `field` and its fee items: a fixed `amount`, or a `rate` per mille of "
        "the declared value with an optional `cap`. Where the amount depends on the payer there is one item "
        "per `payer_class`.",
        ALL_ROLES,
        {"200": {"description": "The procedures.", "content": _json("ProcedureList", EXAMPLE_PROCEDURES)},
         **_errors("Unauthorized")})},
    "/api/v1/dossiers": {"post": _op(
        "createDossier", "Dossiers", "Register a dossier",
        "Registers a dossier with its charges. Without `charges`, they come from the fee catalogue for the "
        "procedure, using `parameters` where a fee is a rate or depends on the payer. The same `code` (or "
        "`portal_code`) again is a conflict and changes nothing.",
        WRITERS,
        {"201": {"description": "Registered; the dossier as `GET /api/v1/dossiers/{code}` shows it.",
                 "headers": _LOCATION, "content": _json("Dossier", EXAMPLE_DOSSIER)},
         **_errors("BadRequest", "Unauthorized", "Forbidden", "DossierConflict", "PayloadTooLarge",
                   "InvalidDossier")},
        requestBody={"required": True, "content": _json("DossierInput", examples={
            "catalogue": {"summary": "Charges from the fee catalogue", "value": EXAMPLE_DOSSIER_INPUT},
            "given": {"summary": "Charges given by the dossier system", "value": EXAMPLE_DOSSIER_WITH_CHARGES},
        })})},
    "/api/v1/dossiers/{code}": {"get": _op(
        "getDossier", "Dossiers", "A dossier, its charges, payment requests and payments",
        "Requests past their validity are marked `expired` first.",
        ALL_ROLES,
        {"200": {"description": "The dossier.", "content": _json("Dossier", EXAMPLE_DOSSIER)},
         **_errors("Unauthorized", "NotFound")},
        parameters=[_CODE_PARAM])},
    "/api/v1/receipts/{token}.pdf": {"get": _op(
        "getReceiptPdf", "Dossiers", "An e-receipt as PDF",
        "The address a dossier's `receipts[].pdf_url` gives.",
        ALL_ROLES,
        {"200": {"description": "The receipt (A5 PDF).",
                 "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
         **_errors("Unauthorized", "NotFound")},
        parameters=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "The receipt's own token, from `pdf_url`.",
                     "example": "q8Jm0cS2vXnL4tY7bA1kZ9wE"}])},
    "/api/v1/receipts/{token}.xml": {"get": _op(
        "getReceiptXml", "Dossiers", "An e-receipt's signed XML",
        "The document the unit's e-receipt system issued, signed with XML-DSig (enveloped, RSA-SHA256); "
        "signed on this request if the scheduled job has not yet. 409 `receipt_not_issued` when no signing key "
        "is configured.",
        ALL_ROLES,
        {"200": {"description": "The signed receipt.",
                 "content": {"application/xml": {"schema": {"type": "string"}}}},
         **_errors("Unauthorized", "NotFound")},
        parameters=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "The receipt's own token, from `xml_url`.",
                     "example": "q8Jm0cS2vXnL4tY7bA1kZ9wE"}])},
    "/api/v1/dossiers/{code}/payment-requests": {"post": _op(
        "createPaymentRequest", "Payment requests", "Ask for a payment: a VietQR code for a dossier",
        "Creates a payment request on the agency's default collection account: one amount, one reference, one "
        "validity. The body is optional; by default the amount is what remains due and is not already asked "
        "for by an open request.",
        WRITERS,
        {"201": {"description": "Created.", "headers": _LOCATION,
                 "content": _json("PaymentRequest", EXAMPLE_PAYMENT_REQUEST)},
         **_errors("BadRequest", "Unauthorized", "Forbidden", "NotFound", "NothingDue", "PayloadTooLarge",
                   "InvalidRequest")},
        parameters=[_CODE_PARAM],
        requestBody={"required": False, "content": _json("PaymentRequestInput", examples={
            "default": {"summary": "What remains due, valid to the end of the next working day", "value": {}},
            "partial": {"summary": "A part, valid for 30 minutes",
                        "value": {"amount": 28_000, "expires_in_minutes": 30}},
        })})},
    "/api/v1/dossiers/{code}/status": {"post": _op(
        "setDossierStatus", "Dossiers", "Set a dossier's status",
        "The one-stop dossier system tells the service the dossier's status on the national portal, by name "
        "or number. The reports count a dossier by it: `rejected`, `withdrawn` and `stopped` dossiers are "
        "cancelled and leave the online payment rate; a `submitted` one has not started processing yet (see the "
        "reports' documentation). The same status again changes nothing (`changed` is false). Every change is "
        "an audit record.",
        ["system", "admin"],
        {"200": {"description": "The status now.",
                 "content": _json("DossierStatus", {"code": "000.12.03.H26-261125-0001", "status": "withdrawn",
                                                    "status_number": 7, "previous_status": "accepted",
                                                    "changed": True, "at": "2026-11-26T10:15:00+07:00"})},
         **_errors("BadRequest", "Unauthorized", "Forbidden", "NotFound", "PayloadTooLarge", "InvalidStatus")},
        parameters=[_CODE_PARAM],
        requestBody={"required": True, "content": _json("DossierStatusInput", examples={
            "name": {"summary": "By name", "value": {"status": "withdrawn", "note": "công dân rút hồ sơ"}},
            "number": {"summary": "By the national number", "value": {"status": 7}},
        })})},
    "/api/v1/payment-requests/{reference}": {"get": _op(
        "getPaymentRequest", "Payment requests", "A payment request and its status",
        "`status` is one of open, partially_paid, paid, overpaid, expired, cancelled; an open request past its "
        "validity is marked `expired` first.",
        ALL_ROLES,
        {"200": {"description": "The payment request.", "content": _json("PaymentRequest", EXAMPLE_PAYMENT_REQUEST)},
         **_errors("Unauthorized", "NotFound")},
        parameters=[_REFERENCE_PARAM])},
    "/api/v1/payment-requests/{reference}/cancel": {"post": _op(
        "cancelPaymentRequest", "Payment requests", "Cancel a payment request",
        "Cancels an open, partially paid or expired request, with the reason, in its history. A cancelled "
        "request no longer holds its amount: a new one can be made.",
        WRITERS,
        {"200": {"description": "Cancelled.",
                 "content": _json("PaymentRequest", {**EXAMPLE_PAYMENT_REQUEST, "status": "cancelled",
                                                     "cancel_reason": "sai số tiền"})},
         **_errors("BadRequest", "Unauthorized", "Forbidden", "NotFound", "AlreadyClosed", "PayloadTooLarge",
                   "InvalidCancel")},
        parameters=[_REFERENCE_PARAM],
        requestBody={"required": True, "content": _json("CancelInput", {"reason": "sai số tiền"})})},
    "/api/v1/openapi.json": {"get": _op(
        "getOpenAPI", "Documentation", "This description",
        "The OpenAPI 3.1 document of the API; needs no token. People read it at `/api/docs`.",
        None,
        {"200": {"description": "The OpenAPI document.",
                 "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}})},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Hanoi administrative fees: cashless payment API",
        "version": "1.0.0",
        "summary": "Dossiers, their fees and charges, and VietQR payment requests.",
        "description": (
            "The REST API of the service that collects the fees and charges (phí, lệ phí) of Hanoi's "
            "administrative procedures by bank transfer (VietQR).\n\n"
            "- Send `Authorization: Bearer <token>`; create a token with "
            "`flask --app app token create NAME --role system`. Roles: `system` (the one-stop dossier system), "
            "`counter`, `finance`, `supervisor`, `admin` (may do everything).\n"
            "- JSON is UTF-8; request bodies are at most 1 MB. Amounts are integers of đồng (VND); times are "
            "ISO 8601 with an offset, shown in Indochina Time (+07:00).\n"
            "- Every error is `application/problem+json` (RFC 7807) with `status`, `title`, `detail`, and for "
            "validation errors (422) `errors: [{field, message}]`. 400: the body is not JSON; 401: no valid "
            "token; 403: the role may not do it; 404: unknown; 405: the path does not take that method; "
            "409: conflict; 413: body too large; 422: invalid content. A refused request changes nothing."
        ),
    },
    "tags": [
        {"name": "Reference data", "description": "Agencies, their collection accounts, and the fee catalogue."},
        {"name": "Dossiers", "description": "Dossiers (hồ sơ) and what they owe."},
        {"name": "Payment requests", "description": "What a VietQR code stands for: one amount, one reference, "
                                                    "one account, one validity."},
        {"name": "Documentation", "description": "This description."},
    ],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API token from `flask --app app token create NAME --role ROLE`."}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def extend(*, paths: dict[str, Any], schemas: dict[str, Any] | None = None,
           responses: dict[str, Any] | None = None, tags: list[dict[str, str]] | None = None) -> None:
    """Add another package's operations to the one document (``app.register_api_docs`` calls
    it for ``reconciliation.api.openapi``, ``reports.openapi`` and ``reports.treasury_openapi``).
    Idempotent; two different schemas under one name (two models with one class name) are refused."""
    for name, schema in (schemas or {}).items():
        if SCHEMAS.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name!r}: rename one of the models")
    for name, response in (responses or {}).items():
        RESPONSES.setdefault(name, response)
    known = {tag["name"] for tag in DOCUMENT["tags"]}
    for tag in tags or []:
        if tag["name"] not in known:
            DOCUMENT["tags"].insert(len(DOCUMENT["tags"]) - 1, tag)  # "Documentation" stays last
    for path, item in paths.items():
        PATHS.setdefault(path, {}).update(item)


def document(server_url: str | None = None) -> dict[str, Any]:
    """A copy of the document, with ``servers`` naming where it is served from."""
    doc = copy.deepcopy(DOCUMENT)
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/") or "/"}]
    return doc


# --- the docs page's view of the document ------------------------------------------------------


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def type_label(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    label = " | ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and "items" in schema:
        label = f"array of {type_label(doc, schema['items'])}"
    if schema.get("format"):
        label += f" ({schema['format']})"
    return label


def _is(schema: dict[str, Any], kind: str) -> bool:
    found = schema.get("type")
    return found == kind or (isinstance(found, list) and kind in found)


def schema_rows(doc: dict[str, Any], schema: dict[str, Any] | None, prefix: str = "",
                depth: int = 0) -> list[dict[str, Any]]:
    """A schema as rows of a table: one per field, nested fields as ``a.b`` and ``a[].b``."""
    rows: list[dict[str, Any]] = []
    target = resolve(doc, schema or {})
    if depth > 6 or not _is(target, "object"):
        return rows
    required = set(target.get("required", ()))
    for name, prop in target.get("properties", {}).items():
        resolved = resolve(doc, prop)
        notes = []
        if "enum" in resolved:
            notes.append("one of " + ", ".join("null" if v is None else str(v) for v in resolved["enum"]))
        for key, word in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤")):
            if key in resolved:
                notes.append(f"{word} {resolved[key]}")
        if "pattern" in resolved:
            notes.append(f"pattern {resolved['pattern']}")
        if "default" in resolved:
            notes.append(f"default {resolved['default']}")
        description = prop.get("description") or resolved.get("description") or ""
        rows.append({"name": prefix + name, "type": type_label(doc, prop), "required": name in required,
                     "description": description, "notes": "; ".join(notes)})
        if _is(resolved, "object"):  # a nullable object too
            rows.extend(schema_rows(doc, resolved, f"{prefix}{name}.", depth + 1))
        elif resolved.get("type") == "array":
            rows.extend(schema_rows(doc, resolved.get("items"), f"{prefix}{name}[].", depth + 1))
    return rows


def inline_markdown(text: str | None) -> Markup:
    """A description's Markdown (paragraphs, lists, `code`, emphasis, links) as HTML, by the
    ``markdown`` library. Raw HTML in a description is shown as text, never passed through."""
    import markdown

    renderer = markdown.Markdown(extensions=[], output_format="html")
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    return Markup(renderer.convert(text or ""))


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _media(doc: dict[str, Any], content: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for media_type, media in content.items():
        examples = []
        if "example" in media:
            examples.append({"name": "", "summary": "", "json": _pretty(media["example"])})
        for name, example in media.get("examples", {}).items():
            examples.append({"name": name, "summary": example.get("summary", ""), "json": _pretty(example["value"])})
        schema = media.get("schema", {})
        out.append({"media_type": media_type, "schema": type_label(doc, schema),
                    "rows": schema_rows(doc, schema), "examples": examples})
    return out


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, in order, ready for ``templates/api_docs.html``."""
    ops = []
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            secured = op.get("security", doc.get("security")) != []
            body = op.get("requestBody")
            responses = []
            for status, response in op["responses"].items():
                response = resolve(doc, response)
                responses.append({"status": status, "description": response.get("description", ""),
                                  "headers": list(response.get("headers", {})),
                                  "media": _media(doc, response.get("content", {}))})
            ops.append({
                "id": op["operationId"], "method": method.upper(), "path": path, "tag": op["tags"][0],
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "secured": secured, "roles": op.get("x-roles", []),
                "parameters": [{**p, "type": type_label(doc, p.get("schema", {}))} for p in op.get("parameters", [])],
                "request": ({"required": body.get("required", False), "media": _media(doc, body["content"])}
                            if body else None),
                "responses": responses,
            })
    return ops
