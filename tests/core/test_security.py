"""The response headers every answer carries (CSP, framing, sniffing, referrer, HSTS on https,
no-store on staff pages and the API) and the session cookie's flags; on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app

from .web import PASSWORD, login, signed_in

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_answer_carries_the_security_headers(staff):
    client = signed_in(staff, "quantri")
    for url in ("/", "/login", "/counter/", "/admin/users", "/no-such-page", "/api/v1/agencies", "/healthz",
                "/static/css/app.css", "/reports/public/"):
        response = client.get(url)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "same-origin", url
        assert "Strict-Transport-Security" not in headers, url  # not on http
        assert "Server" not in headers, url  # the app adds no banner; the server's is docs/OPERATIONS.md


def test_staff_pages_and_the_api_are_never_stored(staff):
    signed = signed_in(staff, "quantri")
    for url in ("/counter/", "/finance/exceptions", "/admin/users", "/admin/catalogue", "/reports/", "/password",
                "/"):
        response = signed.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", url
    anonymous = staff.test_client()
    for url in ("/counter/", "/admin/users", "/login", "/api/v1/agencies"):
        assert "no-store" in anonymous.get(url).headers.get("Cache-Control", ""), url
    assert "no-store" not in anonymous.get("/").headers.get("Cache-Control", "")
    assert "no-store" not in signed.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_no_template_has_inline_script_or_style():
    """The CSP allows no inline script or style: pages must not need any."""
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", source, flags=re.I):
            assert "src=" in tag, f"{path}: inline <script>"
        assert not re.search(r"<style\b", source, flags=re.I), f"{path}: inline <style>"
        assert not re.search(r"\sstyle\s*=", source, flags=re.I), f"{path}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", source, flags=re.I), f"{path}: on... handler"
        assert "javascript:" not in source.lower(), f"{path}: javascript: URL"


# ---------------------------------------------------------------------------------------------
# The session cookie


def session_cookie(response) -> str:
    cookies = [value for name, value in response.headers.items() if name == "Set-Cookie" and value.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_the_session_cookie_is_http_only_and_same_site_lax(staff):
    cookie = session_cookie(login(staff.test_client(), "motcua"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http, in tests


@pytest.fixture
def https_app(database_url, tmp_path):
    from core.db import db
    from tests.staff import add_staff

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "PUBLIC_BASE_URL": "https://thanhtoan.hanoi.gov.vn", "INSTANCE_PATH": str(tmp_path / "i")})
    with app.app_context():
        add_staff(db.session, {"motcua": "counter"}, PASSWORD)
        db.session.commit()
    yield app
    app.extensions["database"].engine.dispose()


def test_on_https_the_cookie_is_secure_and_hsts_is_sent(https_app):
    client = https_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = login(client, "motcua")
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_in_production_the_cookie_is_secure_even_without_a_public_address(tmp_path, monkeypatch):
    for key in ("PUBLIC_BASE_URL", "APP_ENV"):
        monkeypatch.delenv(key, raising=False)
    app = create_app({"APP_ENV": "production", "SECRET_KEY": "s", "INSTANCE_PATH": str(tmp_path / "i"),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    app.extensions["database"].engine.dispose()
