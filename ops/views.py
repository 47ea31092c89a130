"""``GET /readyz`` (readiness, JSON) and ``GET /metrics`` (Prometheus, behind a bearer token).

``/metrics`` is safe behind the public nginx: with no ``METRICS_TOKEN`` set it does not exist
(404); without ``Authorization: Bearer <token>`` it answers 401, with another token 403.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from core.db import db

from .health import readiness
from .metrics import scrape

bp = Blueprint("ops", __name__)


@bp.get("/readyz")
def readyz():
    session = db.Session()
    try:
        checks = readiness(session, current_app.config["SCHEDULER_STALE_MINUTES"])
    finally:
        session.close()
    failing = [check.name for check in checks if not check.ok]
    body = {"status": "fail" if failing else "ok", "failing": failing,
            "checks": {check.name: check.as_json() for check in checks}}
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_refusal() -> Response | None:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = Response("bearer token required\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.strip().encode("utf-8"), str(token).encode("utf-8")):
        return Response("wrong token\n", status=403, mimetype="text/plain")
    return None


@bp.get("/metrics")
def metrics():
    refusal = _bearer_refusal()
    if refusal is not None:
        return refusal
    session = db.Session()
    try:
        body = scrape(session)
    finally:
        session.close()
    response = Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
