"""Site-wide pages: home, language switch, health check."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import text

from .db import db
from .web import safe_next

bp = Blueprint("site", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("site.index"))  # no open redirects


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of the endpoint is to say the database does not answer
        return jsonify(status="error", detail=type(exc).__name__), 503
    return jsonify(status="ok")
