"""Each state of the citizen's page on a phone (390 × 844) in a real Chromium: a part payment
shows what remains and its QR; an overpayment says what is held and takes a refund request
(errors in a focused summary first); "I paid but it does not show" sends one inquiry."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import ict_day, utcnow
from core.db import db
from payments.models import PaymentRequest
from reconciliation.inbound.transactions import record_transfer
from reconciliation.matching.reconcile import match_transaction
from tests.browser.conftest import screenshot
from tests.browser.test_citizen import open_request, phone  # noqa: F401
from tests.reconciliation.conftest import transfer_for

pytestmark = pytest.mark.browser
DUE = 3_028_000


def pay(app, amount: int) -> None:
    with app.app_context():
        request = db.session.scalar(select(PaymentRequest).order_by(PaymentRequest.id))
        recorded = record_transfer(db.session, transfer_for(request, amount=amount), "statement")
        match_transaction(db.session, recorded.transaction)
        db.session.commit()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_part_payment_shows_the_balance_and_its_qr(live_app, phone):
    request = open_request(live_app)
    pay(live_app, 1_000_000)
    phone.goto(f"{live_app.config['LIVE_URL']}/pay/{request.token}")
    expect(phone.get_by_test_id("remaining")).to_contain_text("2.028.000 ₫")
    qr = phone.get_by_test_id("balance-qr").locator("img")
    expect(qr).to_be_visible()
    assert phone.evaluate("document.querySelector('[data-testid=balance-qr] img').naturalWidth") > 0
    expect(phone.get_by_test_id("balance-amount")).to_have_text("2.028.000 ₫")
    no_sideways_scroll(phone)
    screenshot(phone, "citizen-part-paid")


def test_overpayment_is_asked_back(live_app, phone):
    request = open_request(live_app)
    pay(live_app, DUE + 4_000)
    phone.goto(f"{live_app.config['LIVE_URL']}/pay/{request.token}")
    expect(phone.get_by_test_id("excess-note")).to_contain_text("4.000 ₫")
    expect(phone.get_by_test_id("refund-held")).to_contain_text("4.000 ₫")
    phone.locator("#refund-account").fill("12")
    phone.get_by_test_id("refund-submit").click()
    summary = phone.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert phone.title().startswith("Lỗi:")
    summary.get_by_role("link").nth(1).click()
    expect(phone.locator("#refund-account")).to_be_focused()
    expect(phone.locator("#refund-account")).to_have_value("12")
    no_sideways_scroll(phone)
    screenshot(phone, "citizen-refund-errors")
    phone.locator("#refund-bank").select_option("970436")
    phone.locator("#refund-account").fill("0011001234567")
    phone.locator("#refund-name").fill("Nguyễn Văn An")
    phone.get_by_test_id("refund-submit").click()
    expect(phone.get_by_test_id("refund-progress")).to_have_text("Đã tiếp nhận, chờ kế toán duyệt")
    expect(phone.get_by_test_id("refund-form")).to_have_count(0)
    no_sideways_scroll(phone)
    screenshot(phone, "citizen-refund-requested")


def test_paid_but_not_shown_sends_one_inquiry(live_app, phone):
    request = open_request(live_app)
    phone.goto(f"{live_app.config['LIVE_URL']}/pay/{request.token}")
    phone.get_by_text("Báo cho cơ quan thu").click()
    phone.locator("#inquiry-paid_on").fill(ict_day(utcnow()).isoformat())
    phone.locator("#inquiry-bank").select_option("970436")
    phone.locator("#inquiry-amount").fill("3.028.000")
    phone.get_by_test_id("inquiry-submit").click()
    expect(phone.get_by_test_id("inquiry-item")).to_have_count(1)
    expect(phone.get_by_test_id("inquiry-item")).to_contain_text("đang kiểm tra")
    expect(phone.get_by_test_id("inquiry-form")).to_have_count(0)
    no_sideways_scroll(phone)
    screenshot(phone, "citizen-inquiry")
