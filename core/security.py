"""Response headers every answer carries, and what staff answers must never be kept as.

- ``Content-Security-Policy``: scripts, styles, images, fonts and fetches from this site only;
  no inline script or style (the templates have none: scripts are ``static/js/*.js``), no
  plugins, forms post only here, and no framing (``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for older browsers);
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` (a citizen's payment
  link never leaks to another site);
- ``Strict-Transport-Security`` when the public address is https;
- ``Cache-Control: no-store`` on staff pages (whatever ``roles_required`` guards), on the
  sign-in pages, on any page made for a signed-in person, and on the API.

The session cookie's flags (HttpOnly, SameSite=Lax, Secure on https or outside development)
are settings (``core.config``). The server's own ``Server`` header is the WSGI server's
(docs/OPERATIONS.md says what gunicorn and nginx need); the app adds none.
"""
from __future__ import annotations

from flask import Flask, Response, g, request, session
from flask_login import current_user

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HSTS = "max-age=31536000"


def is_https(app: Flask) -> bool:
    return str(app.config.get("PUBLIC_BASE_URL") or "").strip().lower().startswith("https://")


def _private(response: Response) -> bool:
    if getattr(g, "staff_page", False) or request.path.startswith("/api/") or request.blueprint == "auth":
        return True
    if request.endpoint == "static":
        return False
    # A page that shows the signed-in person (their name, a form token) is theirs alone.
    return response.mimetype == "text/html" and "_user_id" in session and current_user.is_authenticated


def init_security(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if is_https(app):
            headers.setdefault("Strict-Transport-Security", HSTS)
        if _private(response) and "no-store" not in (headers.get("Cache-Control") or ""):
            headers["Cache-Control"] = "no-store"
        return response
