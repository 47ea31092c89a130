"""No open redirects: the language switch and sign-in follow only paths of this site, whatever
is hidden in ``next`` (tabs, newlines, backslashes, schemes); on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from core.web import safe_next

from .web import login, text

OFF_SITE = [
    "//evil.example/phish",
    "/%09/evil.example/phish",  # a tab: browsers drop it and go to //evil.example
    "/%0A/x",  # a newline: used to answer 500
    "/%0D%0A/evil.example",
    "%09//evil.example",
    "/%20/evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%E2%80%8B/evil.example",  # a zero-width space
    "/%00/evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_language_switch_never_leaves_the_site(client, target):
    response = client.get(f"/lang/en?next={target}")
    assert response.status_code == 302 and response.headers["Location"] == "/", target


@pytest.mark.parametrize("target, location", [
    ("/counter/", "/counter/"),
    ("/finance/exceptions?status=open&q=Nguy%E1%BB%85n%20V%C4%83n", "/finance/exceptions?status=open&q=Nguy%E1%BB%85n%20V%C4%83n"),
    ("/reports/public/2026-11", "/reports/public/2026-11"),
])
def test_the_language_switch_returns_to_pages_of_the_site(client, target, location):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == location


@pytest.mark.parametrize("target", ["//evil.example/phish", "/\t/evil.example/phish", "/\n/x", "/ /evil.example",
                                    "/\\evil.example", "https://evil.example/", "javascript:alert(1)"])
def test_sign_in_never_leads_off_the_site(staff, target):
    response = login(staff.test_client(), "motcua", next_url=target)
    assert response.status_code == 302 and response.headers["Location"] == "/counter/", target


def test_a_next_off_the_site_is_not_even_kept_in_the_login_form(staff):
    client = staff.test_client()
    page = text(client.get("/login", query_string={"next": "/\t/evil.example"}))
    assert 'name="next"' not in page
    page = text(client.get("/login", query_string={"next": "/counter/dossiers/new"}))
    assert 'name="next" value="/counter/dossiers/new"' in page


def test_safe_next_by_itself():
    assert safe_next("/counter/ ") == "/counter/"
    assert safe_next("/a b") == "/a b"
    for target in ("", None, "/\u2028/evil.example", "/\u3000/evil.example", "/\x7f", "/x\\y"):
        assert safe_next(target) is None, repr(target)
