"""A counter clerk in a real Chromium: sign in, register a land and a civil-status dossier,
see the charges with their legal basis, create the payment request, print the card, and watch
"paid" appear without reloading the page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import db
from core.users import User
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.models import PaymentRequest
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

PASSWORD = "Mật-khẩu-quầy-2026"


@pytest.fixture
def counter_app(live_app):
    with live_app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        user = User(username="motcua", full_name="Nguyễn Thị Lan (một cửa)", role="counter")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return live_app


def sign_in(page, base: str) -> None:
    page.goto(base + "/counter/")
    expect(page).to_have_url(re.compile(r"/login\?next=/counter/"))
    page.fill("#username", "motcua")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(base + "/counter/")
    expect(page.get_by_test_id("user")).to_have_text("Nguyễn Thị Lan (một cửa)")


def preview_and_save(page, button: str) -> None:
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("charges")).to_be_visible()
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(re.compile(r"/counter/dossiers/"))


def test_land_dossier_from_registration_to_paid(counter_app, page):
    base = counter_app.config["LIVE_URL"]
    sign_in(page, base)
    page.get_by_role("link", name="+ Đăng ký hồ sơ mới").click()
    page.select_option("#agency_code", "HN-VPDKDD-CN02")
    page.select_option("#procedure_code", "1.013831")
    # The form asks what this procedure's fees depend on, and nothing else.
    expect(page.locator("#payer_class")).to_be_visible()
    expect(page.locator("#declared_value")).to_be_visible()
    expect(page.locator("#copies")).to_be_hidden()
    page.fill("#applicant_name", "Nguyễn Văn An")
    page.select_option("#payer_class", "individual_ward")
    page.fill("#declared_value", "2.000.000.000")
    page.get_by_test_id("preview").click()
    charges = page.get_by_test_id("charges")
    expect(charges).to_contain_text("Lệ phí chứng nhận đăng ký biến động")
    expect(charges).to_contain_text("Nghị quyết 06/2020/NQ-HĐND Hà Nội")
    expect(charges).to_contain_text("Thông tư 85/2019/TT-BTC")
    expect(charges).to_contain_text("1,5 ‰ × 2.000.000.000 ₫")
    expect(page.get_by_test_id("preview-total")).to_have_text("3.028.000 ₫")
    screenshot(page, "counter-new-land-preview")
    page.get_by_role("button", name="Lưu hồ sơ và tạo mã QR").click()
    expect(page).to_have_url(re.compile(r"/counter/dossiers/000\.12\.03\.H26-\d{6}-0001#request-HS"))
    badge = page.locator("[data-status-badge]")
    expect(badge).to_have_text("Chờ thanh toán")
    expect(page.locator('[data-total="remaining"]')).to_have_text("3.028.000 ₫")
    expect(page.locator('[data-when="covered"]')).to_be_visible()  # the open request asks for it all
    expect(page.get_by_test_id("create-request")).to_be_hidden()
    expect(page.get_by_test_id("charges")).to_contain_text("Nghị quyết 06/2020/NQ-HĐND Hà Nội")
    screenshot(page, "counter-dossier-open")

    # One click prints: the A6 card is a PDF, the 80 mm slip a PNG on a page that prints itself.
    with page.context.expect_event("response", lambda r: "/card.pdf" in r.url) as pdf_info:
        with page.expect_popup() as popup_info:
            page.locator('[data-print="a6"]').click()
    pdf = pdf_info.value
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert "layout=a6" in pdf.url
    assert page.request.get(pdf.url).body().startswith(b"%PDF")
    popup_info.value.close()
    with page.context.expect_event("response", lambda r: "/card.png" in r.url) as png_info:
        with page.expect_popup() as popup_info:
            page.locator('[data-print="receipt80"]').click()
    png = png_info.value
    assert png.status == 200 and png.headers["content-type"] == "image/png" and "layout=receipt80" in png.url
    assert png.body().startswith(b"\x89PNG")
    slip = popup_info.value
    expect(slip.locator("img.print-card")).to_be_visible()
    assert slip.evaluate("document.querySelector('img.print-card').naturalWidth") == 576  # 72 mm at 203 dpi
    screenshot(slip, "counter-print-receipt80")
    slip.close()

    # The request turns paid in the database, whatever paid it (the bank's own path, callback to
    # page, is test_receipts.py's): the page follows without a reload.
    page.evaluate("window.__sameDocument = true")
    with counter_app.app_context():
        request = db.session.scalar(select(PaymentRequest))
        request.status = "paid"
        request.amount_paid = request.amount
        request.dossier.amount_paid = request.amount
        db.session.commit()
    expect(badge).to_have_text("Đã thanh toán", timeout=10_000)
    expect(page.locator("[data-dossier-status]")).to_have_text("Đã nộp đủ")
    expect(page.locator('[data-total="remaining"]')).to_have_text("0 ₫")
    expect(page.locator("[data-when-payable]")).to_be_hidden()  # nothing left to print or cancel
    expect(page.locator('[data-when="nothing-due"]')).to_be_visible()
    expect(page.locator('[data-when="covered"]')).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    screenshot(page, "counter-dossier-paid")


def test_civil_status_dossier_then_english(counter_app, page):
    base = counter_app.config["LIVE_URL"]
    sign_in(page, base)
    page.goto(base + "/counter/dossiers/new")
    page.select_option("#agency_code", "P-HOANKIEM")
    page.select_option("#procedure_code", "2.000806")
    expect(page.locator("#payer_class")).to_be_hidden()
    expect(page.locator("#declared_value")).to_be_hidden()
    page.fill("#applicant_name", "Lê Minh Châu")
    page.get_by_test_id("preview").click()
    charges = page.get_by_test_id("charges")
    expect(charges).to_contain_text("Lệ phí đăng ký kết hôn có yếu tố nước ngoài")
    expect(charges).to_contain_text("Nghị định 120/2025/NĐ-CP")
    expect(page.get_by_test_id("preview-total")).to_have_text("1.000.000 ₫")
    # Changing an input after the preview makes it stale: saving needs a new preview.
    page.fill("#applicant_name", "Lê Minh Châu ")
    expect(page.get_by_role("button", name="Chỉ lưu hồ sơ")).to_be_disabled()
    preview_and_save(page, "Chỉ lưu hồ sơ")
    expect(page.get_by_test_id("dossier-code")).to_have_text(re.compile(r"^000\.20\.01\.H26-\d{6}-0001$"))
    page.get_by_test_id("create-request-button").click()
    expect(page.locator("[data-status-badge]")).to_have_text("Chờ thanh toán")
    expect(page.locator(".flash-success").last).to_contain_text("1.000.000 ₫")
    screenshot(page, "counter-dossier-civil")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Payment requests")).to_be_visible()
    expect(page.locator("[data-status-badge]")).to_have_text("Awaiting payment")
    expect(page.get_by_role("link", name="Print A6 card (PDF)")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Yêu cầu thanh toán")
    screenshot(page, "counter-dossier-en")

    # The search page, in English, lists the dossier with its state.
    page.get_by_role("link", name="One-stop counter").first.click()
    page.fill("#q", "Minh Châu")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("results")).to_contain_text("Unpaid")
    screenshot(page, "counter-search-en")


def test_counter_dossier_page_fits_a_phone(counter_app, browser):
    base = counter_app.config["LIVE_URL"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  locale="vi-VN")
    page = context.new_page()
    sign_in(page, base)
    page.goto(base + "/counter/dossiers/new")
    page.select_option("#agency_code", "HN-VPDKDD-CN02")
    page.select_option("#procedure_code", "1.013831")
    page.fill("#applicant_name", "Trần Thị Bích")
    page.select_option("#payer_class", "organisation")
    page.fill("#declared_value", "5000000000")
    preview_and_save(page, "Lưu hồ sơ và tạo mã QR")
    charges = page.get_by_test_id("charges")
    expect(charges).to_contain_text("tối đa 5.000.000 ₫")  # 1,5 ‰ of 5 billion is past the cap
    expect(charges).to_contain_text("5.030.000 ₫")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "counter-dossier-phone")
    context.close()


def test_wrong_password_then_admin_catalogue(counter_app, page):
    base = counter_app.config["LIVE_URL"]
    with counter_app.app_context():
        admin = User(username="quantri", full_name="Quản trị hệ thống", role="admin")
        admin.set_password(PASSWORD)
        db.session.add(admin)
        db.session.commit()
    page.goto(base + "/admin/catalogue")
    page.fill("#username", "quantri")
    page.fill("#password", "sai mật khẩu")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("Đăng nhập không thành công")
    screenshot(page, "login-failed")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(base + "/admin/catalogue")  # back where the login started
    expect(page.locator("body")).to_contain_text("Phí thẩm định hồ sơ cấp Giấy chứng nhận")
    expect(page.locator("body")).to_contain_text("1,5 ‰")
    screenshot(page, "admin-catalogue")


def test_an_exempt_family_sees_nothing_to_pay_with_the_rule(counter_app, page):
    base = counter_app.config["LIVE_URL"]
    sign_in(page, base)
    page.goto(base + "/counter/dossiers/new")
    page.select_option("#agency_code", "HN-TTPVHCC-P-HOANKIEM")  # the centre's branch at the ward, since 2026
    page.select_option("#procedure_code", "1.000894")  # on-time domestic marriage: nothing to ask
    expect(page.locator("#exemption_ground")).to_be_hidden()  # its only fee is exempt by the schedule
    page.select_option("#procedure_code", "2.000806")
    expect(page.locator("#exemption_ground")).to_be_visible()
    expect(page.locator("[name=child_under_14]")).to_be_hidden()
    page.select_option("#procedure_code", "1.004859")
    expect(page.locator("[name=child_under_14]")).to_be_visible()
    page.select_option("#procedure_code", "2.000806")
    page.fill("#applicant_name", "Phan Thị Mai")
    page.select_option("#exemption_ground", "revolutionary_merit")
    page.get_by_test_id("preview").click()
    charges = page.get_by_test_id("charges")
    expect(charges).to_contain_text("HT-MIEN-NCC")
    expect(charges).to_contain_text("Miễn lệ phí hộ tịch: gia đình người có công với cách mạng")
    expect(charges).to_contain_text("Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội")
    expect(charges).to_contain_text("Mức theo biểu phí: 1.000.000 ₫")
    expect(page.get_by_test_id("preview-total")).to_have_text("0 ₫")
    screenshot(page, "counter-exempt-preview")
    page.get_by_role("button", name="Chỉ lưu hồ sơ").click()
    expect(page).to_have_url(re.compile(r"/counter/dossiers/"))
    expect(page.get_by_test_id("exemption-ground")).to_have_text("Gia đình người có công với cách mạng")
    expect(page.get_by_test_id("charges")).to_contain_text("HT-MIEN-NCC")
    expect(page.get_by_test_id("dossier-code")).to_have_text(re.compile(r"^000\.01\.01\.H26-\d{6}-0001$"))
    screenshot(page, "counter-exempt-dossier")
