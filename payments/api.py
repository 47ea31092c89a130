"""The REST API of CONTRACT.md under /api/v1: thin handlers over ``payments``' rules.

Every handler authenticates with ``api_roles`` (``Authorization: Bearer <token>``), reads a
JSON body through :func:`json_body` (at most ``API_MAX_JSON_BYTES``, 1 MB by default),
calls the plain functions of ``payments``, commits, and answers with ``serializers``'
shapes. Refusals are ``ServiceError``s, which ``core.web`` turns into problem JSON; a
refused request is rolled back and changes nothing. The OpenAPI document
(``payments.openapi``) is served at ``/api/v1/openapi.json`` and rendered at ``/api/docs``.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge

from core.auth import api_roles
from core.db import db
from core.errors import PROBLEM_JSON, Conflict, FieldError, NotFound, ServiceError, ValidationError
from core.refusals import Refusal

from core.api_schema import answer, validate

from . import api_schemas as shapes
from .api_schemas import DOSSIER_STATUSES, external_url
from .dossiers import get_dossier, parse_dossier_input, register_dossier, storable_text
from .models import Agency, PaymentRequest, Procedure, Receipt
from .requests import cancel_request, create_payment_request, get_request, refresh_expiry

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_MAX_JSON_BYTES = 1024 * 1024
WRITERS = ("system", "counter")  # and admin, which api_roles always lets through


class BadRequest(ServiceError):
    status = 400
    default_code = Refusal.BAD_REQUEST


class PayloadTooLarge(ServiceError):
    status = 413
    default_code = Refusal.PAYLOAD_TOO_LARGE


# --- request bodies ---------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"key {key!r} appears twice")
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key: which one counts would depend on the parser. Refuse, as the callbacks do.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def json_body(*, required: bool) -> Any:
    """The request's JSON value; ``None`` for an empty body when not ``required``."""
    limit = current_app.config.get("API_MAX_JSON_BYTES", DEFAULT_MAX_JSON_BYTES)
    request.max_content_length = limit
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes, the most this API reads") from None
    if not raw.strip():
        if required:
            raise ValidationError("send a JSON object in the body (Content-Type: application/json)",
                                  errors=[FieldError("body", "required")])
        return None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise BadRequest(f"the body must be JSON (Content-Type: application/json), not {request.mimetype}")
    try:
        value = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        raise ValidationError(f"the body has the key {exc.key!r} twice; each key may have one value only",
                              errors=[FieldError(exc.key, "appears twice")], code=Refusal.DUPLICATE_KEY,
                              params={"key": exc.key}) from None
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadRequest(f"the body is not valid UTF-8 JSON{where}") from None
    errors: list[FieldError] = []
    _check_text(value, "", errors)
    if errors:
        raise ValidationError("text in the body must be valid Unicode without NUL characters", errors=errors[:20])
    return value


def _check_text(value: Any, where: str, errors: list[FieldError]) -> None:
    """Strings no database takes (NUL, lone surrogates) are refused here rather than failing there."""
    if isinstance(value, str):
        if not storable_text(value):
            errors.append(FieldError(where or "body", "contains a NUL character or a lone surrogate"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where or "body", errors)
            _check_text(item, f"{where}.{key}" if where else str(key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{where}[{index}]" if where else f"body[{index}]", errors)


def json_object(*, required: bool) -> dict[str, Any]:
    body = json_body(required=required)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", errors=[FieldError("body", "must be an object")])
    return body


# --- shared steps -----------------------------------------------------------------------

def _created(shape, endpoint: str, **values: Any):
    return answer(shape, 201, {"Location": external_url(endpoint, **values)})


def _refresh_and_commit(requests: list[PaymentRequest]) -> None:
    """Expire what is past its validity before showing it; commit only when something changed.
    When another process changed a request meanwhile, its version wins and is read again."""
    try:
        if any([refresh_expiry(db.session, r) for r in requests]):
            db.session.commit()
    except StaleDataError:
        db.session.rollback()  # expires every loaded object: what is shown next is read afresh


@bp.url_value_preprocessor
def no_nul_in_paths(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and any("\x00" in str(v) for v in values.values()):
        raise NotFound("no such resource: the path contains a NUL character")


@bp.after_request
def roll_back_refusals(response):
    """A refused request changes nothing, even where the session outlives the request."""
    if response.status_code >= 400 and "db_session" in g:
        g.db_session.rollback()
    return response


@bp.errorhandler(StaleDataError)
def _concurrent_change(_exc: StaleDataError):
    db.session.rollback()
    refusal = Conflict("the payment request was changed by someone else at the same time: read it again and retry",
                       code=Refusal.CONCURRENT_CHANGE)
    response = jsonify(refusal.to_problem())
    response.status_code = refusal.status
    response.mimetype = PROBLEM_JSON
    return response


# --- reference data ---------------------------------------------------------------------

@bp.get("/agencies")
@api_roles()
def list_agencies():
    agencies = db.session.scalars(select(Agency).order_by(Agency.code))
    return answer(shapes.AgencyList(items=[shapes.Agency.of(a) for a in agencies]))


@bp.get("/procedures")
@api_roles()
def list_procedures():
    procedures = db.session.scalars(select(Procedure).where(Procedure.active.is_(True)).order_by(Procedure.code))
    return answer(shapes.ProcedureList(items=[shapes.Procedure.of(p) for p in procedures]))


# --- dossiers ---------------------------------------------------------------------------

@bp.post("/dossiers")
@api_roles(*WRITERS)
def create_dossier():
    body = json_object(required=True)
    data = parse_dossier_input(body)
    dossier = register_dossier(db.session, data, actor=g.principal.actor)
    db.session.commit()
    return _created(shapes.Dossier.of(dossier), "api.show_dossier", code=dossier.code)


@bp.get("/receipts/<token>.pdf")
@api_roles()
def receipt_pdf(token: str):
    """An e-receipt's PDF, by the token ``receipts[].pdf_url`` of a dossier carries."""
    from .counter import receipt_response  # the page module owns the download's headers

    receipt = db.session.scalar(select(Receipt).where(Receipt.lookup_token == token))
    if receipt is None:
        raise NotFound("no receipt with this token")
    return receipt_response(receipt, "pdf")


@bp.get("/receipts/<token>.xml")
@api_roles()
def receipt_xml(token: str):
    """An e-receipt's signed XML (XML-DSig), by the token ``receipts[].xml_url`` carries."""
    from .counter import receipt_xml_response

    receipt = db.session.scalar(select(Receipt).where(Receipt.lookup_token == token))
    if receipt is None:
        raise NotFound("no receipt with this token")
    return receipt_xml_response(receipt)


@bp.get("/dossiers/<path:code>")
@api_roles()
def show_dossier(code: str):
    dossier = get_dossier(db.session, code)
    _refresh_and_commit(list(dossier.payment_requests))
    return answer(shapes.Dossier.of(dossier))


# --- dossier status (set by the one-stop dossier system) ---------------------------------


@bp.post("/dossiers/<path:code>/status")
@api_roles("system")
def set_dossier_status(code: str):
    from core import audit
    from core.clock import utcnow

    given = validate(shapes.DossierStatusInput, json_object(required=True), detail="the status is not valid",
                     code=Refusal.INVALID_STATUS)
    dossier = get_dossier(db.session, code)
    status, note, previous = given.status, given.note, dossier.status
    now = utcnow()
    if status != previous:
        dossier.status = status
        db.session.flush()
        audit.record(db.session, g.principal.actor, "dossier.status_changed", "dossier", dossier.id,
                     {"code": dossier.code, "from": previous, "to": status, "note": (note or "").strip() or None})
    db.session.commit()
    return answer(shapes.DossierStatus(code=dossier.code, status=status, status_number=DOSSIER_STATUSES[status],
                                       previous_status=previous, changed=status != previous, at=now))


# --- land financial obligations (tax notices and their proof of payment) ---------------------

@bp.post("/dossiers/<path:code>/tax-obligations")
@api_roles(*WRITERS)
def create_obligation(code: str):
    from .obligations import record_notice

    given = validate(shapes.TaxNoticeInput, json_object(required=True), detail="the tax notice is not valid",
                     code=Refusal.INVALID_OBLIGATION)
    dossier = get_dossier(db.session, code)
    obligation = record_notice(db.session, dossier, given.model_dump(mode="json"), g.principal.actor)
    db.session.commit()
    return answer(shapes.TaxObligation.of(obligation), 201)


@bp.post("/dossiers/<path:code>/tax-obligations/<int:obligation_id>/proof")
@api_roles(*WRITERS)
def add_obligation_proof(code: str, obligation_id: int):
    from .obligations import get_obligation, record_proof

    given = validate(shapes.TaxProofInput, json_object(required=True), detail="the proof of payment is not valid",
                     code=Refusal.INVALID_OBLIGATION)
    dossier = get_dossier(db.session, code)
    obligation = record_proof(db.session, get_obligation(db.session, dossier, obligation_id),
                              given.model_dump(mode="json"), g.principal.actor)
    db.session.commit()
    return answer(shapes.TaxObligation.of(obligation))


# --- payment requests -------------------------------------------------------------------

@bp.post("/dossiers/<path:code>/payment-requests")
@api_roles(*WRITERS)
def create_request(code: str):
    given = validate(shapes.PaymentRequestInput, json_object(required=False),
                     detail="the payment request is not valid", code=Refusal.INVALID_REQUEST)
    dossier = get_dossier(db.session, code)
    amount, minutes = given.amount, given.expires_in_minutes
    created = create_payment_request(db.session, dossier, g.principal.actor, amount=amount,
                                     expires_in_minutes=minutes)
    db.session.commit()
    return _created(shapes.PaymentRequest.of(created), "api.show_request", reference=created.reference)


@bp.get("/payment-requests/<reference>")
@api_roles()
def show_request(reference: str):
    found = get_request(db.session, reference)
    _refresh_and_commit([found])
    return answer(shapes.PaymentRequest.of(found))


@bp.post("/payment-requests/<reference>/cancel")
@api_roles(*WRITERS)
def cancel(reference: str):
    given = validate(shapes.CancelInput, json_object(required=True), detail="the cancellation is not valid",
                     code=Refusal.INVALID_CANCEL)
    found = get_request(db.session, reference)
    reason = given.reason
    refresh_expiry(db.session, found)
    cancel_request(db.session, found, reason, g.principal.actor)
    db.session.commit()
    return answer(shapes.PaymentRequest.of(found))


# --- the description of all this -------------------------------------------------------

@bp.get("/openapi.json")
def openapi_json():
    from .openapi import document

    return jsonify(document(server_url=_server_url()))


def api_docs():
    from .openapi import document, inline_markdown, operations

    doc = document(server_url=_server_url())
    return render_template("api_docs.html", doc=doc, operations=operations(doc), md=inline_markdown)


def _server_url() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/") + "/"


# /api/docs sits outside the blueprint's /api/v1 prefix: add it to the app when registered.
bp.record(lambda state: state.app.add_url_rule("/api/docs", "api.docs", api_docs, methods=["GET"]))
