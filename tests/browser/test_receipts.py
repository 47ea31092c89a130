"""Receipts in a real Chromium: the citizen's page on a phone turns to "paid" by itself when the
bank's callback arrives (delivered to the live server, signed as the bank would sign it) and
shows the e-receipt with its PDF; the counter's dossier page shows a transfer arriving in its
payments section without a reload; a clerk records cash (and is refused, with the reason, when
taking more than is due)."""
from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import db
from core.users import User
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.dossiers import parse_dossier_input, register_dossier
from payments.models import PaymentRequest, Receipt
from payments.requests import create_payment_request
from tests.browser.conftest import screenshot
from tests.reconciliation.conftest import signed, transfer_for

pytestmark = pytest.mark.browser

PASSWORD = "Mật-khẩu-quầy-2026"
LAND = {"code": "000.12.03.H26-261125-0001", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
        "applicant_name": "Nguyễn Văn An", "channel": "counter",
        "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000}}


@pytest.fixture
def seeded_app(live_app):
    with live_app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        user = User(username="motcua", full_name="Nguyễn Thị Lan (một cửa)", role="counter")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return live_app


def open_request(app, body=LAND) -> PaymentRequest:
    with app.app_context():
        dossier = register_dossier(db.session, parse_dossier_input(body), actor="test")
        request = create_payment_request(db.session, dossier, "test")
        db.session.commit()
        db.session.refresh(request)
        db.session.expunge(request)
        return request


def deliver(app, request: PaymentRequest, via: str = "sepay") -> None:
    """The bank's callback for a transfer of the request's exact amount, sent to the live server."""
    headers, body = signed(via, transfer_for(request))
    response = requests.post(f"{app.config['LIVE_URL']}/callbacks/{via}", data=body, headers=dict(headers),
                             timeout=10)
    assert response.status_code in (200, 201) and response.json() == {"success": True}, response.text


@pytest.fixture
def phone(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, base: str) -> None:
    page.goto(base + "/counter/")
    page.fill("#username", "motcua")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(base + "/counter/")


def test_citizen_page_turns_paid_and_shows_the_receipt(seeded_app, phone):
    request = open_request(seeded_app)
    base = seeded_app.config["LIVE_URL"]
    phone.goto(f"{base}/pay/{request.token}")
    expect(phone.get_by_test_id("qr")).to_be_visible()
    expect(phone.get_by_test_id("receipts")).to_have_count(0)
    phone.evaluate("window.__sameDocument = true")

    deliver(seeded_app, request)

    expect(phone.get_by_test_id("confirmation")).to_be_visible(timeout=10_000)
    expect(phone.locator("[data-state]")).to_have_text("Đã thanh toán")
    receipts = phone.get_by_test_id("receipts")
    expect(receipts).to_be_visible()
    items = phone.get_by_test_id("receipt-item")
    with seeded_app.app_context():
        issued = db.session.scalars(select(Receipt).order_by(Receipt.id)).all()
        expected = [(r.number, r.kind, r.amount, r.lookup_token) for r in issued]
    assert expected, "paying the dossier issues its receipts"
    expect(items).to_have_count(len(expected))
    for index, (number, kind, amount, _) in enumerate(expected):
        item = items.nth(index)
        expect(item.get_by_test_id("receipt-number")).to_have_text(f"{number:08d}")
        expect(item).to_contain_text("Biên lai thu lệ phí" if kind == "le_phi" else "Biên lai thu phí")
        expect(item).to_contain_text(f"{amount:,}".replace(",", ".") + " ₫")
    expect(phone.get_by_test_id("receipt-cancelled")).to_have_count(0)
    expect(phone.locator("body")).not_to_contain_text("Nguyễn")  # the page masks the applicant
    assert phone.evaluate("window.__sameDocument") is True  # no reload
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    receipts.scroll_into_view_if_needed()
    screenshot(phone, "receipts-citizen-paid")

    # The download is the receipt's PDF.
    with phone.expect_download() as info:
        items.first.get_by_test_id("receipt-download").click()
    download = info.value
    assert re.fullmatch(r"bien-lai-[A-Za-z0-9-]+-\d{8}\.pdf", download.suggested_filename)
    with open(download.path(), "rb") as handle:
        document = pdfium.PdfDocument(handle.read())
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert f"Số: {expected[0][0]:08d}" in text and LAND["code"] in text
    # Another dossier's token cannot fetch it.
    other = open_request(seeded_app, {**LAND, "code": "000.12.03.H26-261125-0002"})
    refused = phone.request.get(f"{base}/pay/{other.token}/receipts/{expected[0][3]}.pdf")
    assert refused.status == 404


def test_counter_sees_a_transfer_arrive_then_a_clerk_takes_cash(seeded_app, page):
    base = seeded_app.config["LIVE_URL"]
    paid_by_transfer = open_request(seeded_app)
    sign_in(page, base)
    page.goto(f"{base}/counter/dossiers/{LAND['code']}")
    expect(page.get_by_test_id("payments-empty")).to_be_visible()
    expect(page.get_by_test_id("receipts-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    deliver(seeded_app, paid_by_transfer)
    payments = page.get_by_test_id("payments")
    expect(payments).to_contain_text("Chuyển khoản VietQR tại quầy", timeout=10_000)
    expect(payments).to_contain_text("SePay")
    expect(payments).to_contain_text("3.028.000 ₫")
    expect(page.get_by_test_id("receipts")).to_contain_text("Đã phát hành")
    expect(page.get_by_test_id("cash-form")).to_be_hidden()  # nothing left to take
    assert page.evaluate("window.__sameDocument") is True
    page.locator("#payments").scroll_into_view_if_needed()
    screenshot(page, "receipts-counter-transfer")
    pdf = page.request.get(base + page.get_by_test_id("receipt-pdf").first.get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # A second dossier, paid in cash at the counter.
    cash_code = "000.12.03.H26-261125-0002"
    open_request(seeded_app, {**LAND, "code": cash_code, "applicant_name": "Phạm Thị Hồng Nhung"})
    page.goto(f"{base}/counter/dossiers/{cash_code}")
    form = page.get_by_test_id("cash-form")
    expect(form).to_be_visible()
    expect(page.get_by_test_id("cash-clerk")).to_have_text("Nguyễn Thị Lan (một cửa)")
    # More than is due: refused, with the reason, and what was typed is kept.
    page.fill("#cash-amount", "3.100.000")
    page.fill("#cash-receipt", "PT-2026-0457")
    page.get_by_test_id("cash-submit").click()
    expect(page.get_by_test_id("cash-error")).to_be_visible()
    expect(page.locator('[data-error-for="amount"]')).to_contain_text("lớn hơn số còn phải nộp (3.028.000 ₫)")
    expect(page.locator("#cash-receipt")).to_have_value("PT-2026-0457")
    expect(page.get_by_test_id("payments-empty")).to_be_visible()
    page.get_by_test_id("cash-form").scroll_into_view_if_needed()
    screenshot(page, "receipts-counter-cash-refused")

    page.fill("#cash-amount", "3.028.000")
    page.fill("#cash-tendered", "3.030.000")
    page.fill("#cash-note", "Nộp tại quầy số 2")
    page.get_by_test_id("cash-submit").click()
    expect(page).to_have_url(f"{base}/counter/dossiers/{cash_code}#payments")
    expect(page.locator(".flash-success")).to_contain_text("Đã ghi nhận 3.028.000 ₫ tiền mặt, biên lai số PT-2026-0457")
    expect(page.locator(".flash-info")).to_contain_text("Tiền trả lại người nộp: 2.000 ₫")
    row = page.locator('[data-payment="CASH-PT-2026-0457"]')
    expect(row).to_contain_text("Tiền mặt")
    expect(row).to_contain_text("3.028.000 ₫")
    expect(page.get_by_test_id("receipts")).to_contain_text("Đã phát hành")
    expect(page.locator("[data-dossier-status]")).to_have_text("Đã nộp đủ")
    expect(page.get_by_test_id("cash-form")).to_be_hidden()
    expect(row.get_by_test_id("receipted-by")).to_contain_text("Biên lai điện tử")  # a cash slip: e-receipted
    screenshot(page, "receipts-counter-cash")

    # A third dossier, paid in cash against a paper receipt: that paper is its receipt, no e-receipt.
    paper_code = "000.12.03.H26-261125-0003"
    open_request(seeded_app, {**LAND, "code": paper_code, "applicant_name": "Lê Văn Dũng"})
    page.goto(f"{base}/counter/dossiers/{paper_code}")
    page.fill("#cash-amount", "3.028.000")
    page.fill("#cash-receipt", "0000457")
    page.fill("#cash-paper-form", "01BLP2-001")
    page.fill("#cash-paper-series", "AB-26P")
    page.get_by_test_id("cash-submit").click()
    expect(page).to_have_url(f"{base}/counter/dossiers/{paper_code}#payments")
    paper_row = page.locator('[data-payment="CASH-0000457"]')
    expect(paper_row.get_by_test_id("receipted-by")).to_contain_text("Biên lai giấy 01BLP2-001 AB-26P 0000457")
    expect(page.get_by_test_id("receipts-empty")).to_be_visible()
    screenshot(page, "receipts-counter-paper-cash")


def test_finance_replaces_a_receipt_by_four_eyes(seeded_app, browser):
    """One finance officer asks for a receipt to be replaced (a misspelt payer); the same person
    cannot approve it; another finance officer approves, and the replacement opens with a new
    number, the old receipt marked as replaced."""
    base = seeded_app.config["LIVE_URL"]
    with seeded_app.app_context():
        for username in ("ketoan", "ketoan2"):
            user = User(username=username, full_name=f"Kế toán {username}", role="finance")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    deliver(seeded_app, open_request(seeded_app))
    with seeded_app.app_context():
        old, other = db.session.scalars(select(Receipt).order_by(Receipt.id)).all()  # lệ phí and phí
        old_id, old_number, series = old.id, f"{old.number:08d}", old.series
        new_number = f"{max(old.number, other.number) + 1:08d}"

    def officer(username):
        context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.goto(base + "/finance/receipts")
        tab.fill("#username", username)
        tab.fill("#password", PASSWORD)
        tab.get_by_role("button", name="Đăng nhập").click()
        expect(tab).to_have_url(base + "/finance/receipts")
        return context, tab

    first_context, first = officer("ketoan")
    first.fill("#q", f"{series}-{old_number}")
    first.get_by_role("button", name="Tìm").click()
    first.get_by_test_id("receipts-found").get_by_role("link").first.click()
    expect(first.get_by_test_id("receipt-number")).to_have_text(old_number)
    first.fill("#reason", "Sai chính tả tên người nộp")
    first.fill("#payer_name", "Nguyễn Văn Ân")
    first.get_by_test_id("ask").click()
    expect(first.get_by_test_id("four-eyes")).to_be_visible()  # not theirs to approve
    screenshot(first, "receipts-finance-asked")
    first_context.close()

    second_context, second = officer("ketoan2")
    expect(second.get_by_test_id("receipt-changes-waiting")).to_contain_text("Sai chính tả tên người nộp")
    second.goto(f"{base}/finance/receipts/{old_id}")
    second.get_by_test_id("approve").click()
    expect(second.locator(".flash-success")).to_contain_text(f"ký hiệu {series}, số {new_number}")
    expect(second.get_by_test_id("receipt-number")).to_have_text(new_number)
    screenshot(second, "receipts-finance-replacement")
    second.goto(f"{base}/finance/receipts/{old_id}")
    expect(second.get_by_test_id("receipt-status")).to_have_text("Đã hủy, có biên lai thay thế")
    expect(second.get_by_test_id("replaced-by")).to_contain_text(new_number)
    second_context.close()
