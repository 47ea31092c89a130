"""The reconciliation API's part of the OpenAPI document (``payments.openapi`` holds the
document and its building blocks): statements, bank transactions, exceptions and the
portal payment initialisation: the operations and their examples; the schemas are
``reconciliation.api.schemas``' models. Added to the document by ``app.register_api_docs``."""
from __future__ import annotations

from typing import Any

from core.api_schema import components, query_parameters
from payments.openapi import _error, _json, _op, _problem

from . import schemas


FINANCE = ["finance", "admin"]
SYSTEM = ["system", "admin"]


def _errors(**named: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{name}"} for status, name in named.items()}


EXAMPLE_IMPORT = {
    "statement_id": 12, "format": "camt053", "account": "105415039595", "accounts": ["105415039595"],
    "period_start": "2026-11-25", "period_end": "2026-11-25", "entries": 214, "new_transactions": 9,
    "known_transactions": 205, "balance_ok": True, "matched": 7,
    "statements": [{"statement_id": 31, "account": "105415039595", "period_start": "2026-11-25",
                    "period_end": "2026-11-25", "entries": 214, "new_transactions": 9, "known_transactions": 205,
                    "balance_ok": True, "balance_message": "125.000.000 + 96.400.000 − 0 = 221.400.000",
                    "continuity_ok": True}],
}
EXAMPLE_TRANSACTIONS = {"items": [{
    "transaction_ref": "FT26329000123456", "bank_bin": "970415", "account": "105415039595", "amount": 3_028_000,
    "direction": "in", "booked_at": "2026-11-25T09:30:12+07:00", "booked_on": "2026-11-25",
    "content": "IBFT HS7K2M9QXA4 PHI LE PHI", "channels": ["bankdirect", "statement"], "status": "matched",
    "allocated": 3_028_000, "on_statement": True, "known_account": True,
    "allocations": [{"dossier_code": "000.12.03.H26-261125-0001", "reference": "HS7K2M9QXA4", "amount": 3_028_000,
                     "payment_channel": "counter_transfer"}]}], "next": None}
EXAMPLE_EXCEPTIONS = {"items": [{
    "id": 41, "reason": "unknown_reference", "status": "open", "transaction_ref": "FT26329000123999",
    "amount": 28000, "amount_concerned": 28000, "account": "105415039595", "content": "IBFT HS7K2M9QXA5 LE PHI",
    "received_at": "2026-11-25T10:02:40+07:00", "dossier_code": "000.12.03.H26-261125-0001",
    "detail": "rule unknown_reference (0.00); damaged HS7K2M9QXA5", "owner": None, "deadline": "2026-11-28",
    "created_at": "2026-11-25T10:02:41+07:00",
    "suggestions": [{"rule": "damaged_reference", "confidence": 0.55, "dossier_code": "000.12.03.H26-261125-0001",
                     "reference": "HS7K2M9QXA4", "amount": 28000}]}], "next": None}
EXAMPLE_PORTAL_PAYMENT = {
    "ref": "dvc0001203H262611250001x20261125093000", "dossier_code": "000.12.03.H26-261125-0001",
    "procedure_code": "1.013831", "amount": 3_028_000, "status": "pending", "bank_ref": None, "paid_at": None,
    "created_at": "2026-11-25T09:30:00+07:00", "confirmed_via": None}

EXAMPLE_RULES = {"auto_threshold": 0.9, "suggest_threshold": 0.5,
                 "confidence": {"reference_exact": 1.0, "reference_partial": 0.97, "dossier_code_exact": 0.92}}

SCHEMAS: dict[str, Any] = components(inputs=schemas.INPUTS, shapes=schemas.SHAPES)

RESPONSES = {
    "StatementUnreadable": _error("Not a statement this service reads (the format is told from the content), a "
                                  "line that cannot be read, or a line whose amount is over 9,999,999,999,999 đồng "
                                  "(`statement_amount_out_of_range`, `params`: `line`, `where`, `amount`, `limit`): "
                                  "the file is refused whole, nothing is imported and no import is left behind, so "
                                  "the corrected file can be uploaded.", _problem(
                                      422, "Unprocessable Entity",
                                      "the statement could not be read, nothing was imported: line 57: credit amount "
                                      "'1.500.000,5' is not a whole number of đồng", code="unreadable_statement",
                                      params={"problem": "line 57: credit amount '1.500.000,5' is not a whole "
                                                         "number of đồng"}), "empty_statement",
                                  "not_a_statement", "statement_amount_out_of_range"),
    "StatementTooLarge": _error("The file is larger than the service imports (512 MB).", _problem(
        413, "Request Entity Too Large", "the file is larger than 536870912 bytes, the most this service imports")),
    "BadQuery": _error("A query parameter is not valid.", _problem(
        422, "Unprocessable Entity", "from must be a date YYYY-MM-DD", [{"field": "from", "message": "YYYY-MM-DD"}])),
    "InvalidRules": _error("Not rules the matcher takes: an unknown field or rule, a value outside 0 to 1, or "
                           "`suggest_threshold` above `auto_threshold`; nothing was changed.", _problem(
                               422, "Unprocessable Entity", "the rules are not valid: auto_threshold must be a "
                               "number from 0 to 1", [{"field": "rules",
                                                      "message": "auto_threshold must be a number from 0 to 1"}])),
    "NothingDuePortal": _error("Nothing remains due on the dossier.", _problem(
        409, "Conflict", "nothing remains due on dossier 000.12.03.H26-261125-0001", code="nothing_due",
        params={"dossier": "000.12.03.H26-261125-0001"})),
}

PATHS: dict[str, Any] = {
    "/api/v1/statements": {"post": _op(
        "importStatement", "Statements", "Import an end-of-day statement",
        "`multipart/form-data` with one part `file`: camt.053 (001.02 and later), MT940, or a bank's Excel/CSV "
        "export; the format is told from the content. Each line becomes, or confirms, a bank transaction through "
        "the same unique key the callbacks use; each account section gets its balance proof. The same file again "
        "answers 200 with the same import and creates nothing.",
        FINANCE,
        {"201": {"description": "Imported.", "content": _json("StatementImport", EXAMPLE_IMPORT)},
         "200": {"description": "These exact bytes were imported before; nothing was created.",
                 "content": _json("StatementImport", EXAMPLE_IMPORT)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "413": "StatementTooLarge",
                      "422": "StatementUnreadable"})},
        requestBody={"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}}}}})},
    "/api/v1/transactions": {"get": _op(
        "listTransactions", "Statements", "Bank transactions",
        "Every bank transaction the service holds, once whatever channel brought it, oldest first, 200 a page.",
        FINANCE,
        {"200": {"description": "A page of transactions.", "content": _json("TransactionList", EXAMPLE_TRANSACTIONS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "422": "BadQuery"})},
        parameters=query_parameters(schemas.TransactionQuery))},
    "/api/v1/exceptions": {"get": _op(
        "listExceptions", "Reconciliation", "The exceptions queue",
        "What the rules could not settle, and the differences between the service, the callbacks and the "
        "statement. Reasons include `unknown_reference`, `amount_mismatch`, `overpaid`, `request_closed`, "
        "`duplicate_payment`, `unknown_account`, `missing_from_statement`, `missing_callback`, `wrong_account`, "
        "`conflicting_report`, `reversal`, `unlinked_reversal`, `portal_unknown_dossier`.",
        FINANCE,
        {"200": {"description": "A page of exceptions.", "content": _json("ExceptionList", EXAMPLE_EXCEPTIONS)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "422": "BadQuery"})},
        parameters=query_parameters(schemas.ExceptionQuery))},
    "/api/v1/matching/rules": {
        "get": _op("getMatchingRules", "Reconciliation", "The matcher's rules in force",
                   "The thresholds and every rule's confidence the matcher uses now (defaults included).", FINANCE,
                   {"200": {"description": "The rules.", "content": _json("MatchRules", EXAMPLE_RULES)},
                    **_errors(**{"401": "Unauthorized", "403": "Forbidden"})}),
        "put": _op("putMatchingRules", "Reconciliation", "Replace the matcher's rules",
                   "The rules as a whole: what is left out takes its default (not its current value). Every "
                   "instance of the service uses them from the next callback it processes after this answer "
                   "(docs/OPERATIONS.md, \"Growing past one machine\"). Audited.", ["admin"],
                   {"200": {"description": "Saved: the rules now in force.",
                            "content": _json("MatchRules", EXAMPLE_RULES)},
                    **_errors(**{"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden",
                                 "413": "PayloadTooLarge", "422": "InvalidRules"})},
                   requestBody={"required": True, "content": _json("MatchRulesInput", EXAMPLE_RULES)}),
    },
    "/api/v1/dossiers/{code}/portal-payments": {"post": _op(
        "startPortalPayment", "Payment requests", "Start a payment on the national portal's platform",
        "The platform's payment initialisation for what the dossier still owes: the service records the "
        "`MaThamChieu` (`ref`) and asks the platform about it if no confirmation comes within 15 minutes. "
        "Idempotent: while a pending portal payment of the dossier for the same amount exists, the same call "
        "again answers 200 with that payment and starts no other.",
        SYSTEM,
        {"201": {"description": "Started.", "content": _json("PortalPayment", EXAMPLE_PORTAL_PAYMENT)},
         "200": {"description": "A pending portal payment of the dossier for the same amount already exists: "
                 "that one, unchanged.", "content": _json("PortalPayment", EXAMPLE_PORTAL_PAYMENT)},
         **_errors(**{"401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "409": "NothingDuePortal",
                     "422": "InvalidDossier"})},
        parameters=[{"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "The dossier's code or its national-portal code.",
                     "example": "000.12.03.H26-261125-0001"}])},
}

TAGS = [
    {"name": "Statements", "description": "End-of-day statements and the bank transactions they confirm."},
    {"name": "Reconciliation", "description": "What the matcher could not settle, in front of finance officers."},
]

