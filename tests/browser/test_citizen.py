"""The citizen's payment page on a phone (390 × 844) in a real Chromium: the QR is visible and
decodes to the request's payload, nothing scrolls sideways, the copy buttons copy, and the
page turns into a confirmation by itself when the payment is recorded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import utcnow
from core.db import db
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.dossiers import parse_dossier_input, register_dossier
from payments.models import PaymentRequest
from payments.requests import create_payment_request
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

LAND = {"code": "000.12.03.H26-261125-0001", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
        "applicant_name": "Nguyễn Văn An", "channel": "counter",
        "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000}}


def open_request(app, **kwargs) -> PaymentRequest:
    with app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        dossier = register_dossier(db.session, parse_dossier_input(LAND), actor="test")
        request = create_payment_request(db.session, dossier, "test", **kwargs)
        db.session.commit()
        return request


@pytest.fixture
def phone(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.config["LIVE_URL"])
    page = context.new_page()
    yield page
    context.close()


def test_citizen_pays_on_a_phone(live_app, phone):
    zxingcpp = pytest.importorskip("zxingcpp")
    request = open_request(live_app)
    phone.goto(f"{live_app.config['LIVE_URL']}/pay/{request.token}")
    qr = phone.get_by_test_id("qr")
    expect(qr).to_be_visible()
    assert phone.evaluate("document.querySelector('[data-testid=qr]').naturalWidth") > 0
    box = qr.bounding_box()
    assert box["width"] >= 250 and box["x"] >= 0 and box["x"] + box["width"] <= 390  # large, and on screen
    expect(phone.get_by_test_id("amount")).to_have_text("3.028.000 ₫")
    expect(phone.get_by_test_id("masked-name")).to_have_text("Ng*** V** A**")
    expect(phone.locator("body")).not_to_contain_text("Nguyễn")
    expect(phone.get_by_test_id("dossier-code")).to_have_text(LAND["code"])
    expect(phone.locator("#transfer-content")).to_have_text(request.purpose)
    expect(phone.locator("#account-number")).to_have_text(request.account.number)
    # Nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    path = screenshot(phone, "citizen-phone")
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(path))]
    assert request.qr_payload in decoded
    account_button = phone.get_by_test_id("copy-account")
    # Printed, the page keeps the QR and what to transfer, and drops the help and the buttons.
    phone.emulate_media(media="print")
    expect(qr).to_be_visible()
    expect(phone.locator(".help")).to_be_hidden()
    expect(phone.locator(".lang")).to_be_hidden()
    expect(account_button).to_be_hidden()
    screenshot(phone, "citizen-print")
    phone.emulate_media(media="screen")

    # The copy buttons put the exact texts on the clipboard.
    expect(account_button).to_be_visible()
    account_button.click()
    expect(account_button).to_have_text("Đã sao chép")
    assert phone.evaluate("navigator.clipboard.readText()") == request.account.number
    phone.get_by_test_id("copy-content").click()
    assert phone.evaluate("navigator.clipboard.readText()") == request.purpose

    # The payment is recorded (flipped in the database): the page confirms it by itself.
    phone.evaluate("window.__sameDocument = true")
    with live_app.app_context():
        record = db.session.scalar(select(PaymentRequest))
        record.status, record.amount_paid = "paid", record.amount
        db.session.commit()
    expect(phone.get_by_test_id("confirmation")).to_be_visible(timeout=10_000)
    expect(phone.get_by_test_id("receipt")).to_contain_text("3.028.000 ₫")
    expect(phone.get_by_test_id("qr")).to_have_count(0)
    expect(phone.locator("[data-state]")).to_have_text("Đã thanh toán")
    assert phone.evaluate("window.__sameDocument") is True
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "citizen-paid")


def test_expired_request_shows_no_qr(live_app, phone):
    request = open_request(live_app, expires_in_minutes=1, now=utcnow() - timedelta(minutes=10))
    response = phone.goto(f"{live_app.config['LIVE_URL']}/pay/{request.token}")
    assert response.status == 200
    expect(phone.get_by_test_id("closed")).to_contain_text("Yêu cầu thanh toán đã hết hiệu lực")
    expect(phone.get_by_test_id("qr")).to_have_count(0)
    expect(phone.locator("[data-copy]")).to_have_count(0)
    qr = phone.request.get(f"{live_app.config['LIVE_URL']}/pay/{request.token}/qr.png")
    assert qr.status == 410
    screenshot(phone, "citizen-expired")


def test_citizen_page_in_english(live_app, phone):
    request = open_request(live_app)
    base = live_app.config["LIVE_URL"]
    phone.goto(f"{base}/pay/{request.token}")
    phone.get_by_role("link", name="English").click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_role("heading", name="Pay the fees of your dossier")).to_be_visible()
    expect(phone.get_by_test_id("copy-account")).to_have_text("Copy")
    expect(phone.get_by_test_id("qr")).to_be_visible()
    screenshot(phone, "citizen-phone-en")
