"""One's own password and sessions, on SQLite and PostgreSQL: a generated password is changed
before any other page opens; a new password is checked (length, common passwords, the
username); a password change, signing out or a newer session version ends the user's other
sessions everywhere (a copied cookie stops working)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.users import User

from .web import PASSWORD, copy_session, csrf_token, form_post, in_db, login, signed_in, text


def user(app, name: str) -> User:
    return in_db(app, lambda s: s.scalar(select(User).where(User.username == name)))


def must_change(app, name: str) -> None:
    def run(session):
        session.scalar(select(User).where(User.username == name)).must_change_password = True
        session.commit()

    in_db(app, run)


def test_a_generated_password_is_changed_before_anything_else(staff):
    must_change(staff, "motcua")
    client = staff.test_client()
    first = login(client, "motcua", next_url="/counter/dossiers/new")
    assert first.status_code == 302 and first.headers["Location"] == "/password?next=/counter/dossiers/new"
    for url in ("/counter/", "/counter/dossiers/new", "/reports/public/", "/"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/password"), url
    forced = client.get("/password?next=/counter/dossiers/new")
    assert forced.status_code == 200 and "Bạn đang dùng mật khẩu được cấp" in text(forced)
    token = csrf_token(client, "/password")
    posted = client.post("/counter/payment-requests", data={"csrf_token": token, "dossier_code": "x"})
    assert posted.status_code == 302 and posted.headers["Location"] == "/password"
    assert client.get("/lang/en?next=/password").status_code == 302  # the language may still change
    changed = client.post("/password", data={"csrf_token": token, "current_password": PASSWORD,
                                             "new_password": "Hồ Gươm mùa thu 2026",
                                             "confirmation": "Hồ Gươm mùa thu 2026", "next": "/counter/dossiers/new"})
    assert changed.status_code == 302 and changed.headers["Location"] == "/counter/dossiers/new"
    assert client.get("/counter/").status_code == 200
    after = user(staff, "motcua")
    assert not after.must_change_password and after.check_password("Hồ Gươm mùa thu 2026")
    assert after.password_changed_at is not None


@pytest.mark.parametrize("current, new, confirmation, says", [
    ("sai rồi", "Hồ Gươm mùa thu 2026", "Hồ Gươm mùa thu 2026", "Mật khẩu hiện tại không đúng."),
    (PASSWORD, "ngắn quá", "ngắn quá", "Mật khẩu mới phải dài từ 12 đến 128 ký tự."),
    (PASSWORD, "password123456", "password123456", "quá dễ đoán"),
    (PASSWORD, "qwertyuiop2026!", "qwertyuiop2026!", "quá dễ đoán"),
    (PASSWORD, "motcua.motcua2026", "motcua.motcua2026", "quá dễ đoán"),
    (PASSWORD, "Hồ Gươm mùa thu 2026", "Hồ Gươm mùa xuân 2026", "không giống nhau"),
    (PASSWORD, PASSWORD, PASSWORD, "phải khác mật khẩu hiện tại"),
])
def test_a_new_password_is_checked(staff, current, new, confirmation, says):
    client = signed_in(staff, "motcua")
    refused = form_post(client, "/password", {"current_password": current, "new_password": new,
                                              "confirmation": confirmation}, "/password")
    assert refused.status_code == 422 and says in text(refused)
    assert user(staff, "motcua").check_password(PASSWORD)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(staff):
    here = signed_in(staff, "motcua")
    elsewhere = signed_in(staff, "motcua", address="198.51.100.7")
    copied = copy_session(staff, here)
    assert copied.get("/counter/").status_code == 200
    changed = form_post(here, "/password", {"current_password": PASSWORD, "new_password": "Hồ Gươm mùa thu 2026",
                                            "confirmation": "Hồ Gươm mùa thu 2026"}, "/password")
    assert changed.status_code == 302
    assert here.get("/counter/").status_code == 200
    for client in (elsewhere, copied):
        ended = client.get("/counter/")
        assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")


def test_logout_ends_the_session_everywhere(staff):
    client = signed_in(staff, "ketoan")
    copied = copy_session(staff, client)
    assert copied.get("/finance/exceptions").status_code == 200
    out = form_post(client, "/logout", {}, "/finance/exceptions")
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    for browser in (client, copied):
        ended = browser.get("/finance/exceptions")
        assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")


def test_a_session_signed_with_an_older_version_is_refused(staff):
    client = signed_in(staff, "ketoan")

    def bump(session):
        session.scalar(select(User).where(User.username == "ketoan")).session_version += 1
        session.commit()

    in_db(staff, bump)
    assert client.get("/finance/exceptions").headers["Location"].startswith("/login")
