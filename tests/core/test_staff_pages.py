"""The admin's page ``/admin/users`` on SQLite and PostgreSQL: only admins, CSRF on every form;
create (the generated password shown once, changed at the first sign-in), disable (the user's
sessions end at once, a copied cookie too) and enable, reset a password, grant and take roles,
and never the last active admin."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.audit import AuditRecord
from core.users import User

from .web import copy_session, csrf_token, form_post, in_db, login, signed_in, text


def user(app, name: str) -> User:
    return in_db(app, lambda s: s.scalar(select(User).where(User.username == name)))


def uid(app, name: str) -> int:
    return user(app, name).id


def generated_password(response) -> str:
    match = re.search(r'data-testid="generated-password">([^<]+)<', text(response))
    assert match, text(response)
    return match.group(1)


@pytest.mark.parametrize("name", ["motcua", "ketoan", "giamsat"])
def test_only_admins_open_the_page(staff, name):
    assert signed_in(staff, name).get("/admin/users").status_code == 403
    anonymous = staff.test_client().get("/admin/users")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?next=/admin/users")
    page = signed_in(staff, "quantri").get("/admin/users")
    assert page.status_code == 200 and "Tài khoản cán bộ" in text(page) and 'data-username="ketoan2"' in text(page)


def test_an_admin_creates_a_user_who_must_change_the_password_first(staff):
    admin = signed_in(staff, "quantri")
    made = form_post(admin, "/admin/users", {"username": "lan.nguyen", "full_name": "Nguyễn Thị Lan",
                                             "roles": ["counter", "supervisor"]}, "/admin/users")
    assert made.status_code == 200 and "Đã tạo tài khoản lan.nguyen" in text(made)
    assert made.headers["Cache-Control"] == "no-store"  # the password is in this page
    password = generated_password(made)
    created = user(staff, "lan.nguyen")
    assert created.roles == ["counter", "supervisor"] and created.must_change_password
    assert password not in text(admin.get("/admin/users"))  # shown once, nowhere else
    assert in_db(staff, lambda s: s.scalars(select(AuditRecord.actor).where(AuditRecord.action == "user.created"))
                 .all()) == ["user:quantri"]

    # The first sign-in leads to the change page, and every other page leads back there.
    client = staff.test_client()
    first = login(client, "lan.nguyen", password, next_url="/counter/dossiers/new")
    assert first.status_code == 302 and first.headers["Location"].startswith("/password")
    for url in ("/counter/", "/reports/", "/admin/users", "/"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/password"), url
    forced = client.get("/password?next=/counter/dossiers/new")
    assert "Bạn đang dùng mật khẩu được cấp" in text(forced)
    token = csrf_token(client, "/password")
    refused = client.post("/counter/payment-requests", data={"csrf_token": token, "dossier_code": "x"})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/password")

    changed = client.post("/password", data={"csrf_token": token, "current_password": password,
                                             "new_password": "Hồ Gươm mùa thu 2026", "confirmation": "Hồ Gươm mùa thu 2026",
                                             "next": "/counter/dossiers/new"})
    assert changed.status_code == 302 and changed.headers["Location"] == "/counter/dossiers/new"
    assert client.get("/counter/").status_code == 200
    after = user(staff, "lan.nguyen")
    assert not after.must_change_password and after.check_password("Hồ Gươm mùa thu 2026")


def test_create_refusals_are_shown_and_change_nothing(staff):
    admin = signed_in(staff, "quantri")
    before = in_db(staff, lambda s: s.scalars(select(User.username).order_by(User.username)).all())
    for form, status, says in [
        ({"username": "ketoan", "roles": ["finance"]}, 409, "Đã có tài khoản mang tên đăng nhập “ketoan”."),
        ({"username": "moi", "roles": []}, 422, "Chọn ít nhất một vai trò cho tài khoản."),
        ({"username": "moi", "roles": ["system"]}, 422, "Không có vai trò “system”"),
        ({"username": "Người Mới", "roles": ["counter"]}, 422, "không dùng được"),
    ]:
        refused = form_post(admin, "/admin/users", form, "/admin/users")
        assert refused.status_code == status and says in text(refused), form
        assert 'data-testid="create-error"' in text(refused)
    assert in_db(staff, lambda s: s.scalars(select(User.username).order_by(User.username)).all()) == before


def test_forms_need_their_csrf_token(staff):
    admin = signed_in(staff, "quantri")
    ketoan = uid(staff, "ketoan")
    assert admin.post("/admin/users", data={"username": "moi", "roles": ["counter"]}).status_code == 400
    assert admin.post(f"/admin/users/{ketoan}/disable").status_code == 400
    assert admin.post(f"/admin/users/{ketoan}/roles", data={"roles": ["admin"]}).status_code == 400
    assert admin.post(f"/admin/users/{ketoan}/reset-password").status_code == 400
    assert user(staff, "moi") is None and user(staff, "ketoan").active and user(staff, "ketoan").roles == ["finance"]


def test_disable_ends_the_users_sessions_and_enable_lets_them_back(staff):
    ketoan = signed_in(staff, "ketoan")
    copied = copy_session(staff, ketoan)  # the same cookie in another browser
    assert ketoan.get("/finance/exceptions").status_code == 200
    assert copied.get("/finance/exceptions").status_code == 200
    admin = signed_in(staff, "quantri")
    done = form_post(admin, f"/admin/users/{uid(staff, 'ketoan')}/disable", {}, "/admin/users")
    assert done.status_code == 302 and done.headers["Location"] == "/admin/users"
    assert "Đã khóa tài khoản ketoan" in text(admin.get("/admin/users"))
    for browser in (ketoan, copied):
        ended = browser.get("/finance/exceptions")
        assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert login(staff.test_client(), "ketoan").status_code == 200  # a disabled user cannot sign in
    assert form_post(admin, f"/admin/users/{uid(staff, 'ketoan')}/enable", {}, "/admin/users").status_code == 302
    assert signed_in(staff, "ketoan").get("/finance/exceptions").status_code == 200
    assert in_db(staff, lambda s: s.scalars(select(AuditRecord.action).where(AuditRecord.entity == "user")
                                            .order_by(AuditRecord.id)).all()) == ["user.disabled", "user.enabled"]


def test_reset_password_ends_sessions_and_forces_a_change(staff):
    motcua = signed_in(staff, "motcua")
    admin = signed_in(staff, "quantri")
    reset = form_post(admin, f"/admin/users/{uid(staff, 'motcua')}/reset-password", {}, "/admin/users")
    assert reset.status_code == 200 and "Đã cấp lại mật khẩu cho motcua" in text(reset)
    password = generated_password(reset)
    assert motcua.get("/counter/").headers["Location"].startswith("/login")
    assert login(staff.test_client(), "motcua").status_code == 200  # the old password is gone
    again = staff.test_client()
    assert login(again, "motcua", password).headers["Location"].startswith("/password")


def test_grant_and_take_roles(staff):
    admin = signed_in(staff, "quantri")
    motcua = signed_in(staff, "motcua")
    assert motcua.get("/finance/exceptions").status_code == 403
    granted = form_post(admin, f"/admin/users/{uid(staff, 'motcua')}/roles", {"roles": ["counter", "finance"]},
                        "/admin/users")
    assert granted.status_code == 302 and user(staff, "motcua").roles == ["counter", "finance"]
    assert motcua.get("/finance/exceptions").status_code == 200  # at the next request, no new sign-in
    assert motcua.get("/counter/").status_code == 200
    page = text(admin.get("/admin/users"))
    row = page[page.index('data-username="motcua"'):]
    row = row[:row.index("</tr>")]
    assert 'value="counter" checked' in row and 'value="finance" checked' in row and 'value="admin" checked' not in row
    none = form_post(admin, f"/admin/users/{uid(staff, 'motcua')}/roles", {}, "/admin/users")
    assert none.status_code == 422 and "Chọn ít nhất một vai trò" in text(none)
    assert user(staff, "motcua").roles == ["counter", "finance"]


def test_the_last_active_admin_keeps_the_role(staff):
    admin = signed_in(staff, "quantri")
    # truongphong is admin too: quantri's admin role can go, then truongphong's cannot.
    assert form_post(admin, f"/admin/users/{uid(staff, 'quantri')}/roles", {"roles": ["supervisor"]},
                     "/admin/users").status_code == 302
    other = signed_in(staff, "truongphong")
    refused = form_post(other, f"/admin/users/{uid(staff, 'truongphong')}/roles", {"roles": ["finance"]},
                        "/admin/users")
    assert refused.status_code == 409 and "là tài khoản quản trị cuối cùng còn hoạt động" in text(refused)
    refused = form_post(other, f"/admin/users/{uid(staff, 'truongphong')}/disable", {}, "/admin/users")
    assert refused.status_code == 409 and user(staff, "truongphong").active
    assert user(staff, "truongphong").roles == ["admin", "finance"]
