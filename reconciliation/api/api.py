"""The reconciliation side of the REST API (``/api/v1``): statements, bank transactions and
(with the reconciliation work) exceptions. Thin handlers over ``reconciliation``'s rules;
refusals are problem JSON, and a refused request changes nothing."""
from __future__ import annotations

import tempfile

from flask import Blueprint, current_app, g, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from core.api_schema import answer, validate, validate_query
from core.auth import api_roles
from core.db import db
from core.errors import FieldError, ServiceError, ValidationError
from core.refusals import Refusal
from payments.api import no_nul_in_paths, roll_back_refusals

from reconciliation.models import BankTransaction, ReconException
from reconciliation.api import schemas as shapes

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
    return answer(shapes.StatementImport.of(summary), 201 if summary.created else 200)


@bp.get("/transactions")
@api_roles(*FINANCE)
def list_transactions():
    given = validate_query(shapes.TransactionQuery, request.args)
    account, day_from, day_to, after = (given.account or "").strip(), given.day_from, given.day_to, given.after
    if day_from and day_to and day_from > day_to:
        raise ValidationError("from is after to", errors=[FieldError("from", "on or before 'to'")])
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
    return answer(shapes.TransactionList(items=[shapes.Transaction.of(t) for t in rows], next=next_url))


@bp.get("/exceptions")
@api_roles(*FINANCE)
def list_exceptions():
    from payments.models import Dossier

    given = validate_query(shapes.ExceptionQuery, request.args)
    status, reason, after = given.status, given.reason, given.after
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
    return answer(shapes.ExceptionList(items=[shapes.ExceptionItem.of(item, transaction, code)
                                              for item, transaction, code in rows], next=next_url))


@bp.post("/dossiers/<path:code>/portal-payments")
@api_roles("system")
def start_portal_payment(code: str):
    """The platform's payment initialisation: a MaThamChieu for what the dossier still owes.
    The same call again, while that payment is pending, answers 200 with the same payment."""
    from payments.dossiers import get_dossier

    from reconciliation.channels.portal import initialise_once

    dossier = get_dossier(db.session, code)
    payment, created = initialise_once(db.session, dossier, g.principal.actor)
    db.session.commit()
    return answer(shapes.PortalPayment.of(payment), 201 if created else 200)


@bp.get("/matching/rules")
@api_roles(*FINANCE)
def get_matching_rules():
    """The matcher's rules in force (thresholds and each rule's confidence)."""
    from reconciliation.matching.reconcile import load_rules

    return answer(shapes.MatchRules.of(load_rules(db.session)))


@bp.put("/matching/rules")
@api_roles("admin")
def put_matching_rules():
    """Replace the matcher's rules (what is left out takes its default). Every instance uses
    them from its next callback on (``core.versions``)."""
    from payments.api import json_body

    from reconciliation.matching.matcher import MatchRules
    from reconciliation.matching.reconcile import save_rules

    body = validate(shapes.MatchRulesInput, json_body(required=True), detail="the rules are not valid")
    data = body.model_dump(exclude_none=True)
    try:
        rules = MatchRules.from_data(data)
    except ValueError as exc:
        raise ValidationError(f"the rules are not valid: {exc}", errors=[FieldError("rules", str(exc))]) from None
    save_rules(db.session, rules, g.principal.actor)
    db.session.commit()
    return answer(shapes.MatchRules.of(rules))
