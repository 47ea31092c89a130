"""A finance officer in a real Chromium: the queue, one exception and its suggestion applied,
a refund requested (which the requester cannot approve) and approved by a second officer, a
statement uploaded, the day run, its figures seen and the day closed; the same pages on a
phone, in English, and printed."""
from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from simulator.statement_files import write_statement
from core.clock import ICT, ict_day, utcnow
from core.db import db
from core.users import User
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from reconciliation.models import Refund
from tests.browser.conftest import screenshot
from tests.reconciliation.conftest import make_request, ok, post, signed, transfer_for

pytestmark = pytest.mark.browser

PASSWORD = "Mật-khẩu-kế-toán-2026"
OFFICERS = {"ketoan": "Trần Thị Hoa (kế toán)", "ketoan2": "Lê Văn Minh (kế toán)"}
HOANKIEM = "108405063352"


@pytest.fixture
def finance_app(live_app):
    with live_app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        for username, name in OFFICERS.items():
            user = User(username=username, full_name=name, role="finance")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    return live_app


def pay(app, request, **kwargs):
    transfer = transfer_for(request, **kwargs)
    assert ok("bankdirect", post(app.test_client(), "bankdirect", *signed("bankdirect", transfer)))
    return transfer


def fits_the_screen(page, width: int = 390) -> None:
    """No element of the page reaches past the screen's right edge."""
    page.evaluate("document.fonts.ready")
    wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > {width} + 1 && !e.closest('.table-wrap'))
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert wide == [] and page.evaluate("document.documentElement.scrollWidth") <= width, wide


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/finance/")
    expect(page).to_have_url(re.compile(r"/login\?next=/finance/"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(base + "/finance/exceptions")
    expect(page.get_by_test_id("user")).to_have_text(OFFICERS[username])


def test_a_finance_officers_day(finance_app, page, browser, tmp_path):
    base = finance_app.config["LIVE_URL"]
    with finance_app.app_context():
        damaged_request = make_request(db.session, amount=28000)
        overpaid_request = make_request(db.session, amount=8000)
        exact_request = make_request(db.session, amount=8000)
    ref = damaged_request.reference
    damaged = ref[:-1] + ("2" if ref[-1] != "2" else "3")
    # Booked yesterday: a day is closed only once it has ended.
    day = ict_day(utcnow()) - timedelta(days=1)
    noon = datetime.combine(day, time(12, 0), tzinfo=ICT)
    transfers = [pay(finance_app, damaged_request, content=f"MBVCB.123456.{damaged} LE PHI.CT tu 0011001234567",
                     when=noon),
                 pay(finance_app, overpaid_request, amount=10000, when=noon + timedelta(minutes=5)),
                 pay(finance_app, exact_request, when=noon + timedelta(minutes=10))]

    # The queue, by reason and age.
    sign_in(page, base, "ketoan")
    queue = page.get_by_test_id("queue")
    expect(queue.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("by-reason")).to_contain_text("Không nhận ra mã thanh toán")
    expect(page.get_by_test_id("by-reason")).to_contain_text("Nộp thừa")
    expect(page.get_by_test_id("by-age")).to_contain_text("Dưới 1 ngày 2")
    screenshot(page, "finance-queue")

    # One exception: the near reference is suggested with its evidence; one click, confirmed.
    queue.get_by_role("link", name="Không nhận ra mã thanh toán").click()
    suggestion = page.get_by_test_id("suggestion").first
    expect(suggestion).to_contain_text("Mã gần giống (sai hoặc đảo một ký tự)")
    expect(suggestion).to_contain_text(ref)
    expect(suggestion).to_contain_text("55 %")
    expect(page.get_by_test_id("evidence")).to_contain_text(damaged)
    suggestion.get_by_test_id("apply-suggestion").click()
    expect(suggestion.get_by_test_id("confirm-suggestion")).to_be_visible()
    screenshot(page, "finance-exception-suggestion")
    suggestion.get_by_test_id("confirm-suggestion").click()
    expect(page.locator(".flash-success")).to_contain_text("Đã ghép 28.000 ₫ của giao dịch")
    expect(page.get_by_test_id("exception-status")).to_have_text("Đã xử lý")
    expect(page.get_by_test_id("transaction-status")).to_have_text("Đã khớp")
    screenshot(page, "finance-exception-matched")

    # The overpaid dossier: a refund of its excess, which its requester cannot approve.
    page.get_by_role("link", name="← Danh sách cần xử lý").click()
    expect(page.get_by_test_id("queue").locator("tbody tr")).to_have_count(1)
    page.get_by_test_id("queue").get_by_role("link", name="Nộp thừa").click()
    page.get_by_test_id("refund-dossier").click()
    expect(page.get_by_test_id("available")).to_have_text("2.000 ₫")
    expect(page.locator("#beneficiary_account")).to_have_value("0011001234567")
    expect(page.locator("#beneficiary_name")).to_have_value("NGUYEN VAN A")
    page.fill("#reason", "Người dân chuyển thừa 2.000 đồng")
    screenshot(page, "finance-refund-form")
    page.get_by_test_id("request-refund").click()
    expect(page.get_by_test_id("refund-status")).to_have_text("Chờ duyệt")
    expect(page.get_by_test_id("four-eyes")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)
    refund_url = page.url
    screenshot(page, "finance-refund-requested")

    # A second officer approves it.
    other = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(other, base, "ketoan2")
    other.goto(refund_url)
    other.fill("#decision-note", "Đã đối chiếu sao kê")
    other.get_by_test_id("approve").click()
    expect(other.get_by_test_id("refund-status")).to_have_text("Đã duyệt, chờ chuyển trả")
    expect(other.get_by_test_id("refund-history")).to_contain_text(OFFICERS["ketoan2"])  # by name, not user:ketoan2
    screenshot(other, "finance-refund-approved")
    other.context.close()
    with finance_app.app_context():
        refund = db.session.scalar(select(Refund))
        assert (refund.status, refund.requested_by, refund.decided_by) == ("approved", "user:ketoan", "user:ketoan2")

    # The statement, then the day: run, figures, close.
    statement = tmp_path / "sao-ke-hoan-kiem.xml"
    buffer = io.BytesIO()
    write_statement("camt053", buffer, account=HOANKIEM, bank_bin="970405", day_from=day, day_to=day,
                    opening_balance=125_000_000, transfers=transfers)
    statement.write_bytes(buffer.getvalue())
    page.get_by_role("link", name="Sao kê").click()
    page.set_input_files("#file", str(statement))
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("import-proof")).to_have_text("Phép thử số dư: khớp")
    expect(page.get_by_test_id("new-known")).to_have_text("0 / 3")
    screenshot(page, "finance-statement-import")
    page.get_by_role("link", name=re.compile(r"^Đối soát ngày \d")).click()
    account_id = re.search(r"/finance/days/(\d+)/", page.url).group(1)
    expect(page.get_by_test_id("statement-in")).to_have_text("46.000 ₫")
    expect(page.get_by_test_id("service-in")).to_have_text("46.000 ₫")
    page.get_by_test_id("run").click()
    expect(page.locator(".flash")).to_contain_text("không còn vướng mắc, có thể khóa sổ")
    expect(page.get_by_test_id("matched-sum")).to_have_text("46.000 ₫")
    expect(page.get_by_test_id("unmatched-sum")).to_have_text("0 ₫")
    expect(page.get_by_test_id("balance")).to_contain_text("125.000.000 ₫ + 46.000 ₫ − 0 ₫ = 125.046.000 ₫")
    expect(page.get_by_test_id("cash")).to_contain_text("0 khoản")
    screenshot(page, "finance-day")
    page.get_by_test_id("open-close").click()
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("day-status")).to_have_text("Đã khóa sổ")
    screenshot(page, "finance-day-closed")
    page.emulate_media(media="print")
    screenshot(page, "finance-day-print")
    page.emulate_media(media="screen")

    # The same pages on a phone, and in English.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/finance/exceptions?status=all")
    expect(page.get_by_test_id("queue").locator("tbody tr")).to_have_count(2)
    screenshot(page, "finance-queue-phone")
    fits_the_screen(page)  # nothing runs off the screen
    page.get_by_test_id("queue").get_by_test_id("open-exception").first.click()
    expect(page.get_by_test_id("transaction")).to_be_visible()
    fits_the_screen(page)
    screenshot(page, "finance-exception-phone")
    page.goto(base + f"/finance/days/{account_id}/{day.isoformat()}")
    fits_the_screen(page)
    screenshot(page, "finance-day-phone")
    page.goto(refund_url)
    fits_the_screen(page)
    screenshot(page, "finance-refund-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="English").click()
    expect(page.get_by_test_id("refund-status")).to_have_text("Approved, to be paid out")
    page.goto(base + "/finance/exceptions?status=all")
    expect(page.get_by_role("heading", name="Exceptions queue")).to_be_visible()
    screenshot(page, "finance-queue-en")


def test_the_other_finance_pages_in_a_browser(finance_app, page, browser):
    """A split confirmed without JavaScript's help and with it, the lists, the exports page, a
    supervisor's read-only view and the administrator's delivery log."""
    base = finance_app.config["LIVE_URL"]
    with finance_app.app_context():
        first = make_request(db.session, amount=8000)
        second = make_request(db.session, amount=28000)
        for username, name, role in (("giamsat", "Phạm Thu Trang (giám sát)", "supervisor"),
                                     ("quantri", "Đỗ Quang Huy (quản trị)", "admin")):
            user = User(username=username, full_name=name, role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        second_code = second.dossier.code
    pay(finance_app, first, amount=36000, content="NOP PHI HAI HO SO")
    pay(finance_app, make_request_in(finance_app, 5000), content="CHUYEN TIEN")

    sign_in(page, base, "ketoan")
    page.get_by_test_id("queue").get_by_role("link", name="Không nhận ra mã thanh toán").first.click()
    page.get_by_test_id("open-split").click()
    split = page.get_by_test_id("split-form")
    split.locator('input[name="target-0"]').fill(first.reference)
    split.locator('input[name="amount-0"]').fill("8.000")
    split.get_by_role("button", name="Thêm dòng").click()  # JavaScript adds a row in place
    expect(split.locator("[data-split-row]")).to_have_count(4)
    split.locator('input[name="target-3"]').fill(second_code)
    split.locator('input[name="amount-3"]').fill("28000")
    expect(split.locator("[data-split-total]")).to_have_text("36.000 ₫")
    split.locator("#split-note").fill("Hai hồ sơ của cùng một người nộp")
    screenshot(page, "finance-split-form")
    split.get_by_role("button", name="Xem trước khi chia").click()
    expect(page.get_by_test_id("confirm-total")).to_have_text("36.000 ₫")
    screenshot(page, "finance-split-confirm")
    page.get_by_test_id("confirm-button").click()
    expect(page.locator(".flash-success")).to_contain_text("cho 2 hồ sơ")
    expect(page.get_by_test_id("allocations").locator("tbody tr")).to_have_count(2)

    # A refusal is shown on the page, in Vietnamese, and changes nothing.
    page.get_by_role("link", name="Giao dịch").first.click()
    expect(page.get_by_test_id("transactions").locator("tbody tr")).to_have_count(2)
    screenshot(page, "finance-transactions")
    page.get_by_test_id("transactions").get_by_role("link").last.click()
    page.get_by_test_id("open-unmatch").click()
    page.locator("#unmatch-reason").fill("Ghép nhầm")
    page.get_by_role("button", name="Xác nhận gỡ ghép").click()
    expect(page.locator(".flash-success")).to_contain_text("Đã gỡ 2 khoản phân bổ")
    page.get_by_test_id("open-match").click()
    page.locator("#match-target").fill("HSKHONGTONTAI")
    page.locator("#match-note").fill("thử")
    page.get_by_role("button", name="Xem trước khi ghép").click()
    expect(page.get_by_test_id("error-match")).to_contain_text("Không có yêu cầu thanh toán hay hồ sơ nào mang mã")
    screenshot(page, "finance-match-refused")

    page.goto(base + "/finance/exports")
    expect(page.get_by_test_id("export-transactions-xlsx")).to_be_visible()
    screenshot(page, "finance-exports")
    page.goto(base + "/finance/days")
    expect(page.get_by_test_id("active-days")).to_contain_text("108405063352")
    screenshot(page, "finance-days")
    page.goto(base + "/finance/statements")
    screenshot(page, "finance-statements")

    supervisor = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}).new_page()
    supervisor.goto(base + "/login?next=/finance/exceptions")
    supervisor.fill("#username", "giamsat")
    supervisor.fill("#password", PASSWORD)
    supervisor.get_by_role("button", name="Đăng nhập").click()
    expect(supervisor.get_by_test_id("read-only")).to_be_visible()
    supervisor.get_by_test_id("open-exception").first.click()
    expect(supervisor.get_by_test_id("transaction")).to_be_visible()
    expect(supervisor.locator("form[method=post]")).to_have_count(1)  # signing out, nothing else
    screenshot(supervisor, "finance-supervisor-read-only")
    supervisor.context.close()

    admin = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}).new_page()
    admin.goto(base + "/login?next=/admin/events/")
    admin.fill("#username", "quantri")
    admin.fill("#password", PASSWORD)
    admin.get_by_role("button", name="Đăng nhập").click()
    expect(admin.get_by_test_id("not-configured")).to_be_visible()
    expect(admin.get_by_test_id("event").first).to_contain_text("dossier.payment_reversed")
    expect(admin.get_by_test_id("replay").first).to_be_disabled()
    screenshot(admin, "admin-events")
    admin.context.close()


def make_request_in(app, amount: int):
    with app.app_context():
        return make_request(db.session, amount=amount)
