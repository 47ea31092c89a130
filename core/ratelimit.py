"""Per-address throttling of what anyone on the internet can ask for, with Flask-Limiter:

- the citizen's payment page and its files (``payments.citizen``), with a stricter count of
  the misses (an unknown token: somebody guessing);
- the public disclosure pages, PNG, CSV and XLSX (``reports.views``, ``/reports/public/...``);
- refused callbacks (``reconciliation.inbound.webhooks``): a client whose callbacks keep
  being refused (bad signatures, junk) gets 429 before anything is stored. A callback that
  verifies is never throttled, whatever its address did before: the bank's money comes first.

The client is the address core.throttle counts by (after ``TRUSTED_PROXIES``; an IPv6 address
by its /64). Counts live in ``RATELIMIT_STORAGE_URI`` (default ``memory://``: per process, so
with several gunicorn workers or hosts each counts alone; ``redis://`` or ``memcached://``
share them). ``RATELIMIT_ENABLED`` false turns it all off (the default under tests). A throttled
request gets 429 with ``Retry-After`` and the refusal ``too_many_requests`` (a page in the
reader's language, or a problem document under ``/api/`` and ``/callbacks/``).
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse

from .errors import PROBLEM_JSON, ServiceError
from .refusals import Refusal, api_text, refusal_text
from .throttle import address_key

log = logging.getLogger(__name__)

DEFAULTS = {
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_CITIZEN": "300 per minute",          # a page polls its status every 0.8 s
    "RATELIMIT_CITIZEN_MISSES": "20 per minute",    # unknown tokens (404): guessing
    "RATELIMIT_PUBLIC_REPORTS": "60 per minute",
    "RATELIMIT_REFUSED_CALLBACKS": "30 per minute",
}


def client_address() -> str:
    return address_key(request.remote_addr)


limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=True)


class TooManyRequests(ServiceError):
    status = 429
    default_code = Refusal.TOO_MANY_REQUESTS


def init_ratelimit(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("RATELIMIT_ENABLED", app.config.get("APP_ENV") != "testing")
    app.config["RATELIMIT_ENABLED"] = _flag(app.config["RATELIMIT_ENABLED"])
    # A storage that cannot be reached (redis down) lets requests through rather than failing them.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        return too_many_response(exc.limit.limit.get_expiry())


def _flag(value) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off", "")


def too_many_response(wait: int):
    """429 with Retry-After, as a problem document or a page in the reader's language."""
    from .web import wants_problem_json

    wait = max(int(wait), 1)
    exc = TooManyRequests(f"too many requests from this address: wait {wait} s", params={"wait": wait})
    if wants_problem_json() or request.path.startswith("/callbacks/"):
        response = jsonify(exc.to_problem(api_text(exc, request.accept_languages)))
        response.mimetype = PROBLEM_JSON
    else:
        response = current_app.make_response(render_template("error.html", status=429, title=exc.title,
                                                             detail=refusal_text(exc)))
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def limit(setting: str, **kwargs):
    """A limit read from the setting ``setting`` at request time, one count per address shared
    by every route (or blueprint) it decorates."""
    return limiter.shared_limit(lambda: current_app.config[setting], scope=setting.lower(), key_func=client_address,
                                **kwargs)


# Refused callbacks: counted by hand, since only a refusal counts and the answer is known last.
_CALLBACK_SCOPE = "refused-callbacks"


def callbacks_exhausted() -> int:
    """Seconds this address must still wait because its callbacks keep being refused, or 0."""
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return 0
    item = parse(current_app.config["RATELIMIT_REFUSED_CALLBACKS"])
    key = client_address()
    try:
        if limiter.limiter.test(item, _CALLBACK_SCOPE, key):
            return 0
        reset, _remaining = limiter.limiter.get_window_stats(item, _CALLBACK_SCOPE, key)
    except Exception:  # the storage is unreachable: a bank's callback must not fail for it
        log.exception("rate limit storage unavailable: callbacks not throttled")
        return 0
    return max(math.ceil(reset - time.time()), 1)


def callback_refused() -> None:
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return
    try:
        limiter.limiter.hit(parse(current_app.config["RATELIMIT_REFUSED_CALLBACKS"]), _CALLBACK_SCOPE,
                            client_address())
    except Exception:
        log.exception("rate limit storage unavailable: a refused callback not counted")
