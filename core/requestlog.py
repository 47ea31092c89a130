"""Log lines, and the request id that ties a request's log line, its answer and its journal entry.

- Every request gets an id: the client's ``X-Request-ID`` when it is sane (1 to 64 of
  ``A-Z a-z 0-9 . _ : -``; a bank's or nginx's id is kept so both sides can be searched
  with it), else a new random one. It is answered in ``X-Request-ID`` and kept on the
  callback's journal entry (``reconciliation.inbound.webhooks``).
- One log line per request on the ``access`` logger: method, path, status, duration in
  milliseconds, request id, and the staff user when one is signed in.
- ``LOG_FORMAT``: ``json`` (one JSON object per line, the default outside development and
  testing) or ``text``. Records logged while a request is handled carry its id either way.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_HANDLER_MARK = "_hanoi_payments_handler"
access_log = logging.getLogger("access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# What a LogRecord always has: anything else given with ``extra=`` goes into the JSON object.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def request_id_from(header: str | None) -> str:
    """The client's id when it is sane, else a new one (never a log-injection vector)."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``-`` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, the fields
    given with ``extra=``, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != "-":
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(log_format: str, level: int = logging.INFO) -> logging.Handler:
    """One handler on the root logger, to standard error (systemd's journal), in the format
    asked. Idempotent: a second call re-formats the same handler."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(make_formatter(log_format))
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    # Alembic announces its plugins at INFO whenever it is imported, which every CLI command
    # does: on stderr that would break commands whose stderr is part of the contract
    # (``qr decode``: one line ``error: …``). Its migrations' own lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler


def _signed_in_user() -> str | None:
    # Flask-Login keeps the user it loaded for this request in ``g``; not loading one here
    # saves a query on requests that never asked (callbacks, static files).
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "username", None)
    return None


def logged_path() -> str:
    """The request's path with its secrets shortened: a citizen's payment link and a receipt's
    lookup token are bearer credentials, and logs are read by more people than should pay."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if "token" in name and isinstance(value, str) and len(value) > 6:
            path = path.replace(value, value[:4] + "…")
    return path


def init_request_log(app: Flask) -> None:
    configure_logging(app.config["LOG_FORMAT"])

    @app.before_request
    def _begin() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def _end(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        path = logged_path()
        fields = {"method": request.method, "path": path, "status": response.status_code,
                  "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                  "request_id": request_id}
        user = _signed_in_user()
        if user:
            fields["user"] = user
        access_log.info("%s %s %s %sms%s", request.method, path, response.status_code, fields["duration_ms"],
                        f" user={user}" if user else "", extra=fields)
        return response
