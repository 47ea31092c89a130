"""Site-wide pages: home, language switch, liveness (readiness is ``ops.views``: ``/readyz``)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for

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
    """Liveness: the process answers requests. It asks nothing of the database, so that a
    database outage does not get every instance restarted (``/readyz`` says whether to send
    traffic)."""
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on pages that name no icon (a PDF, a JSON answer): the SVG
    icon, so that no such request ends in a 404 in the log."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
