"""Web plumbing shared by every page and API: locale choice and error answers."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request, session
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from .errors import PROBLEM_JSON, ServiceError, problem
from .refusals import api_text, refusal_text

babel = Babel()


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    requested = request.args.get("lang")
    if requested in languages:
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


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
