"""Helpers for the page tests of ``tests/core``: CSRF tokens read from pages, sign-in from a
chosen client address, the database read in its own app context."""
from __future__ import annotations

import re

from core.db import db

PASSWORD = "Mật-khẩu-thử-2026"  # what tests.staff.add_staff gives everyone here
STAFF = {"motcua": "counter", "ketoan": "finance", "ketoan2": "finance", "giamsat": "supervisor",
         "quantri": "admin", "truongphong": ("finance", "admin")}


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_token(client, url: str = "/login") -> str:
    page = client.get(url)
    match = re.search(r'name="csrf_token" value="([^"]+)"', text(page))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, *, address: str = "127.0.0.1", next_url=None):
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def signed_in(app, username: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    client = app.test_client()
    response = login(client, username, password, address=address)
    assert response.status_code == 302, text(response)
    return client


def form_post(client, url: str, data: dict, page: str, **kwargs):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)


def in_db(app, fn):
    with app.app_context():
        return fn(db.session)


def copy_session(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value)
    return other
