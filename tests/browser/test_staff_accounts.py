"""Staff accounts and the Content-Security-Policy in a real Chromium: an admin creates a user on
/admin/users, the user's first sign-in leads to the password change before anything else; and
every kind of page (counter, citizen, finance, reports, print, API docs, admin) works under the
CSP with no violation reported by the browser."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.db import db
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from tests.browser.conftest import screenshot
from tests.reconciliation.conftest import make_request
from tests.staff import add_staff

pytestmark = pytest.mark.browser

PASSWORD = "Mật-khẩu-quản-trị-2026"


@pytest.fixture
def staff_app(live_app):
    with live_app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        add_staff(db.session, {"quantri": ("admin", "counter", "finance", "supervisor")}, PASSWORD)
        db.session.commit()
        request = make_request(db.session, amount=8000)
        live_app.config.update(PAYMENT_TOKEN=request.token, PAYMENT_REFERENCE=request.reference)
    return live_app


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Đăng nhập").click()


def watch_csp(page) -> list[str]:
    """What the browser says about the page breaking the CSP, and any script error."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_an_admin_creates_a_user_who_chooses_a_password_first(staff_app, page, browser):
    base = staff_app.config["LIVE_URL"]
    problems = watch_csp(page)
    sign_in(page, base, "quantri", PASSWORD)
    page.get_by_role("link", name="Tài khoản cán bộ").click()
    expect(page).to_have_url(base + "/admin/users")
    page.fill("#username", "lan.nguyen")
    page.fill("#full_name", "Nguyễn Thị Lan")
    page.get_by_test_id("create-user").get_by_label("Một cửa").check()
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã tạo tài khoản lan.nguyen")
    password = page.get_by_test_id("generated-password").inner_text().strip()
    screenshot(page, "admin-user-created")

    clerk = browser.new_context(locale="vi-VN").new_page()
    clerk_problems = watch_csp(clerk)
    sign_in(clerk, base, "lan.nguyen", password)
    expect(clerk).to_have_url(re.compile(r"/password"))
    expect(clerk.get_by_test_id("must-change")).to_be_visible()
    clerk.goto(base + "/counter/")
    expect(clerk).to_have_url(re.compile(r"/password\?next=/counter/"))
    clerk.fill("#current_password", password)
    clerk.fill("#new_password", "Hồ Gươm mùa thu năm 2026")
    clerk.fill("#confirmation", "Hồ Gươm mùa thu năm 2026")
    clerk.get_by_role("button", name="Đổi mật khẩu").click()
    expect(clerk).to_have_url(base + "/counter/")
    expect(clerk.get_by_test_id("user")).to_have_text("Nguyễn Thị Lan")
    clerk.context.close()

    page.goto(base + "/admin/users")
    row = page.locator('[data-username="lan.nguyen"]')
    expect(row.get_by_test_id("status")).to_have_text("Đang hoạt động")
    row.get_by_test_id("disable").click()
    expect(page.locator(".flash")).to_contain_text("Đã khóa tài khoản lan.nguyen")
    assert problems == [] and clerk_problems == []


def test_every_kind_of_page_works_under_the_csp(staff_app, page):
    base = staff_app.config["LIVE_URL"]
    problems = watch_csp(page)
    sign_in(page, base, "quantri", PASSWORD)
    token = staff_app.config["PAYMENT_TOKEN"]
    for path in ("/", "/counter/", "/counter/dossiers/new", "/finance/exceptions", "/finance/transactions",
                 "/reports/", "/reports/public/", "/admin/users", "/admin/catalogue", "/api/docs", f"/pay/{token}"):
        response = page.goto(base + path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    # The counter's script runs: choosing a procedure asks for what its fees depend on.
    page.goto(base + "/counter/dossiers/new")
    page.select_option("#agency_code", "HN-VPDKDD-CN02")
    page.select_option("#procedure_code", "1.013831")
    expect(page.locator("#payer_class")).to_be_visible()
    # The API page's stylesheet applies (it used to be an inline <style>).
    page.goto(base + "/api/docs")
    method = page.locator(".api .method").first
    expect(method).to_have_css("color", "rgb(255, 255, 255)")
    # The print page (it prints itself: fetched, not opened) takes its page size from a stylesheet.
    printed = page.request.get(base + f"/counter/payment-requests/{staff_app.config['PAYMENT_REFERENCE']}/print"
                                      "?layout=receipt80")
    assert printed.status == 200 and "/static/css/page-80mm.css" in printed.text()
    assert page.request.get(base + "/static/css/page-80mm.css").text().strip().endswith(
        "@page { size: 80mm 297mm; margin: 0; }")  # a valid size: Chromium ignored "80mm auto"
    assert problems == [], problems
