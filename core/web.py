"""Web plumbing shared by every page and API: locale choice, where a ``next`` may lead, and
error answers."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, jsonify, render_template, request, session
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from .errors import PROBLEM_JSON, ServiceError, problem
from .refusals import api_text, refusal_text

babel = Babel()


def select_locale() -> str:
    if not has_request_context():  # the CLI and jobs: the first language, unless force_locale says otherwise
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    requested = request.args.get("lang")
    if requested in languages:
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def safe_next(target: str | None) -> str | None:
    r"""``target`` if it is a path on this site, else None: no open redirects.

    Browsers drop tabs and newlines from a URL and read ``\`` as ``/``, so ``/%09/evil.example``
    (a tab) and ``/\evil.example`` lead off-site: the target is judged with every space character
    taken out, and refused if it then starts with ``//`` or ``/\``, holds a ``\`` or names a
    scheme or a host. A target with a control character is refused outright (it cannot go in a
    header, and no page of ours has one in its address).
    """
    if not target:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in target):
        return None
    squeezed = "".join(c for c in target if not c.isspace())
    if not squeezed.startswith("/") or squeezed.startswith(("//", "/\\")) or "\\" in squeezed:
        return None
    parts = urlsplit(squeezed)
    if parts.scheme or parts.netloc:
        return None
    return target.strip()


def wants_problem_json() -> bool:
    return request.path.startswith(("/api/", "/callbacks/")) or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if wants_problem_json():
            response = jsonify(exc.to_problem(api_text(exc, request.accept_languages)))
            response.status_code = exc.status
            response.mimetype = PROBLEM_JSON
            return response
        return render_template("error.html", status=exc.status, title=exc.title,
                               detail=refusal_text(exc)), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_problem_json():
            response = jsonify(problem(status, exc.description or exc.name, title=exc.name))
            response.status_code = status
            response.mimetype = PROBLEM_JSON
            for name, value in exc.get_headers():  # e.g. Allow on 405
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        return render_template("error.html", status=status, title=exc.name, detail=exc.description), status
