"""The reconciliation side of the REST API (``/api/v1``): statements, bank transactions and
(with the reconciliation work) exceptions. Thin handlers over ``reconciliation``'s rules;
refusals are problem JSON, and a refused request changes nothing."""
from __future__ import annotations

import tempfile
from datetime import date

from flask import Blueprint, current_app, g, jsonify, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from core.auth import api_roles
from core.db import db
from core.errors import FieldError, ServiceError, ValidationError
from core.refusals import Refusal
from payments.api import no_nul_in_paths, roll_back_refusals

from reconciliation.models import BankTransaction, ReconException
from reconciliation.api.serializers import allocations_json, exception_json, import_json, transaction_json

bp = Blueprint("recon_api", __name__, url_prefix="/api/v1")
bp.url_value_preprocessor(no_nul_in_paths)
bp.after_request(roll_back_refusals)

FINANCE = ("finance",)  # and admin, which api_roles always lets through
STATEMENT_MAX_BYTES = 512 * 1024 * 1024
PAGE = 200


class PayloadTooLarge(ServiceError):
    status = 413
    default_code = Refusal.PAYLOAD_TOO_LARGE


@bp.post("/statements")
@api_roles(*FINANCE)
def upload_statement():
    limit = current_app.config.get("STATEMENT_MAX_BYTES", STATEMENT_MAX_BYTES)
    request.max_content_length = limit
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes, the most this service imports") from None
    if upload is None:
        raise ValidationError("send the statement as multipart/form-data with one part named 'file'",
                              errors=[FieldError("file", "required")])
    from reconciliation.inbound.statement_import import import_statement

    with tempfile.TemporaryFile() as spool:  # seekable and on disk, whatever the upload's size
        upload.save(spool)
        summary = import_statement(db.session, spool, filename=upload.filename, actor=g.principal.actor)
    response = jsonify(import_json(summary))
    response.status_code = 201 if summary.created else 200
    return response


def _day(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a date YYYY-MM-DD", errors=[FieldError(name, "YYYY-MM-DD")]) from None


@bp.get("/transactions")
@api_roles(*FINANCE)
def list_transactions():
    account = (request.args.get("account") or "").strip()
    day_from, day_to = _day("from"), _day("to")
    if day_from and day_to and day_from > day_to:
        raise ValidationError("from is after to", errors=[FieldError("from", "on or before 'to'")])
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise ValidationError("after must be a transaction cursor from 'next'", errors=[FieldError("after", "digits")])
    query = select(BankTransaction).where(BankTransaction.id > int(after))
    if account:
        query = query.where(BankTransaction.account_number == account)
    if day_from:
        query = query.where(BankTransaction.booked_on >= day_from)
    if day_to:
        query = query.where(BankTransaction.booked_on <= day_to)
    rows = list(db.session.scalars(query.order_by(BankTransaction.id).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for(".list_transactions", after=rows[-1].id, _external=True, **args)
    return jsonify(items=[transaction_json(t, allocations_json(db.session, t)) for t in rows], next=next_url)


EXCEPTION_STATUSES = ("open", "resolved", "dismissed", "all")


@bp.get("/exceptions")
@api_roles(*FINANCE)
def list_exceptions():
    from payments.models import Dossier

    status = request.args.get("status", "open")
    if status not in EXCEPTION_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(EXCEPTION_STATUSES)}",
                              errors=[FieldError("status", "open, resolved, dismissed or all")])
    reason = request.args.get("reason")
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise ValidationError("after must be a cursor from 'next'", errors=[FieldError("after", "digits")])
    query = select(ReconException, BankTransaction, Dossier.code) \
        .outerjoin(BankTransaction, ReconException.transaction_id == BankTransaction.id) \
        .outerjoin(Dossier, ReconException.dossier_id == Dossier.id) \
        .where(ReconException.id > int(after))
    if status != "all":
        query = query.where(ReconException.status == status)
    if reason:
        query = query.where(ReconException.reason == reason)
    rows = db.session.execute(query.order_by(ReconException.id).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for(".list_exceptions", after=rows[-1][0].id, _external=True, **args)
    return jsonify(items=[exception_json(item, transaction, code) for item, transaction, code in rows], next=next_url)


@bp.post("/dossiers/<path:code>/portal-payments")
@api_roles("system")
def start_portal_payment(code: str):
    """The platform's payment initialisation: a MaThamChieu for what the dossier still owes.
    The same call again, while that payment is pending, answers 200 with the same payment."""
    from payments.dossiers import get_dossier

    from reconciliation.channels.portal import initialise_once, portal_payment_json

    dossier = get_dossier(db.session, code)
    payment, created = initialise_once(db.session, dossier, g.principal.actor)
    db.session.commit()
    response = jsonify(portal_payment_json(payment))
    response.status_code = 201 if created else 200
    return response


@bp.get("/matching/rules")
@api_roles(*FINANCE)
def get_matching_rules():
    """The matcher's rules in force (thresholds and each rule's confidence)."""
    from reconciliation.matching.reconcile import load_rules

    return jsonify(load_rules(db.session).as_data())


@bp.put("/matching/rules")
@api_roles("admin")
def put_matching_rules():
    """Replace the matcher's rules (what is left out takes its default). Every instance uses
    them from its next callback on (``core.versions``)."""
    from payments.api import json_body

    from reconciliation.matching.matcher import MatchRules
    from reconciliation.matching.reconcile import save_rules

    data = json_body(required=True)
    if not isinstance(data, dict):
        raise ValidationError("send the rules as a JSON object", errors=[FieldError("body", "an object")])
    unknown = sorted(set(data) - {"auto_threshold", "suggest_threshold", "confidence"})
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}", errors=[FieldError(k, "unknown")
                                                                              for k in unknown])
    if data.get("confidence") is not None and not isinstance(data["confidence"], dict):
        raise ValidationError("confidence is an object of rule names and numbers from 0 to 1",
                              errors=[FieldError("confidence", "an object")])
    try:
        rules = MatchRules.from_data(data)
    except ValueError as exc:
        raise ValidationError(f"the rules are not valid: {exc}", errors=[FieldError("rules", str(exc))]) from None
    save_rules(db.session, rules, g.principal.actor)
    db.session.commit()
    return jsonify(rules.as_data())
