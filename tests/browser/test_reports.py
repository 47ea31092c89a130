"""The report pages in a real Chromium: the supervisor's dashboard and the public monthly
disclosure show the same figures as the API (the crafted month of ``tests/reports``), the
drill-down lists the dossiers behind a figure, the public page prints; screenshots in
``test-output/screenshots/reports-*.png``."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from core.db import db
from core.tokens import create_token
from core.users import User
from payments.agencies import seed_agencies
from tests.browser.conftest import screenshot
from tests.reports.conftest import build_november, seed_catalogue

pytestmark = pytest.mark.browser

PASSWORD = "Mật-khẩu-giám-sát-2026"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def report_app(live_app):
    with live_app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session)
        build_november(db.session)
        user = User(username="giamsat", full_name="Trần Văn Giám (giám sát)", role="supervisor")
        user.set_password(PASSWORD)
        db.session.add(user)
        live_app.config["REPORT_TOKEN"] = create_token(db.session, "browser-reports", "supervisor")
        db.session.commit()
    return live_app


def api(app, path: str, **query) -> dict:
    response = requests.get(f"{app.config['LIVE_URL']}{path}", params={**NOVEMBER, **query}, timeout=10,
                            headers={"Authorization": f"Bearer {app.config['REPORT_TOKEN']}"})
    assert response.status_code == 200, response.text
    return response.json()


def rate_of(locator) -> float | None:
    value = locator.get_attribute("data-rate")
    return None if value in (None, "") else float(value)


def test_the_dashboard_shows_what_the_api_says(report_app, page):
    base = report_app.config["LIVE_URL"]
    page.goto(f"{base}/reports/?month=2026-11&group=agency")
    page.fill("#username", "giamsat")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_test_id("period")).to_contain_text("01/11/2026")

    rate = api(report_app, "/api/v1/reports/online-payment-rate", group_by="agency")
    card = page.get_by_test_id("indicator-3.6")
    assert int(card.get_attribute("data-numerator")) == rate["total"]["paid_online"]
    assert int(card.get_attribute("data-denominator")) == rate["total"]["dossiers_with_fees"]
    assert rate_of(card) == pytest.approx(rate["total"]["rate"])
    expect(card.locator(".big")).to_have_text("12,5 %")  # 2 of 16: only the portal sets the flag by default
    indicators = api(report_app, "/api/v1/reports/indicators")
    for item in indicators["items"]:
        if item["item"] == "3.6":
            continue
        shown = page.get_by_test_id(f"indicator-{item['item']}")
        assert (int(shown.get_attribute("data-numerator")), int(shown.get_attribute("data-denominator"))) == \
            (item["numerator"], item["denominator"])
    cashless = page.get_by_test_id("indicator-cashless")
    assert rate_of(cashless) == pytest.approx(indicators["cashless"]["rate"])
    expect(page.get_by_test_id("points")).to_contain_text(str(indicators["points"]).replace(".", ","))

    table = page.get_by_test_id("group-table")
    for row in rate["rows"]:
        line = table.locator(f'tr[data-key="{row["key"]}"]')
        expect(line.locator('[data-measure="paid_online"]')).to_have_text(str(row["paid_online"]))
        expect(line.locator('[data-measure="with_fees"]')).to_have_text(str(row["dossiers_with_fees"]))
        assert rate_of(line.locator("td[data-rate]").first) == pytest.approx(row["rate"])
    ranked = page.get_by_test_id("ranking-commune").locator("tbody tr")
    expect(ranked.first).to_have_attribute("data-key", "P-DONGDA")  # both at 0 %: more dossiers with fees first
    expect(page.get_by_test_id("trend-chart").locator("svg circle")).not_to_have_count(0)
    expect(page.get_by_test_id("delays")).to_contain_text("UBND phường Đống Đa")
    screenshot(page, "reports-dashboard")

    # A figure opens the dossiers behind it: the API's list, one for one.
    table.locator('tr[data-key="HN-VPDKDD-CN02"] [data-measure="paid_online"]').click()
    expect(page.get_by_test_id("count")).to_contain_text("2 hồ sơ")
    listed = api(report_app, "/api/v1/reports/dossiers", measure="paid_online", group_by="agency",
                 key="HN-VPDKDD-CN02")
    codes = page.locator("[data-testid=dossiers] tbody tr")
    expect(codes).to_have_count(listed["count"])
    assert [codes.nth(i).get_attribute("data-code") for i in range(listed["count"])] == \
        [item["code"] for item in listed["items"]]
    screenshot(page, "reports-drill-down")

    page.goto(f"{base}/reports/?month=2026-11&group=field&lang=en")
    expect(page.get_by_test_id("indicator-3.6").locator(".big")).to_have_text("12.5%")
    screenshot(page, "reports-dashboard-en")


def test_the_public_disclosure_shows_what_the_api_says(report_app, browser):
    base = report_app.config["LIVE_URL"]
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/reports/public/2026-11")  # no login
        rate = api(report_app, "/api/v1/reports/online-payment-rate", group_by="agency")
        card = page.get_by_test_id("public-3.6")
        assert (int(card.get_attribute("data-numerator")), int(card.get_attribute("data-denominator"))) == \
            (rate["total"]["paid_online"], rate["total"]["dossiers_with_fees"])
        for row in rate["rows"]:
            line = page.locator(f'[data-testid^="public-ranking-"] tr[data-key="{row["key"]}"]')
            expect(line.locator("td[data-value]")).to_have_text(str(row["paid_online"]))
            assert rate_of(line.locator("td[data-rate]")) == pytest.approx(row["rate"])
        fields = api(report_app, "/api/v1/reports/online-payment-rate", group_by="field")
        for row in fields["rows"]:
            line = page.get_by_test_id("public-fields").locator(f'tr[data-key="{row["key"]}"]')
            assert rate_of(line.locator("td[data-rate]")) == pytest.approx(row["rate"])
        expect(page.get_by_test_id("public-delays")).to_be_visible()
        assert page.evaluate("[...document.querySelectorAll('script[src],link[href],img[src]')]"
                             ".every(e => (e.src || e.href).startsWith(location.origin))")
        screenshot(page, "reports-public")
        with page.expect_download() as info:
            page.get_by_test_id("csv").click()
        assert info.value.suggested_filename == "cong-khai-thanh-toan-truc-tuyen-2026-11.csv"
        page.emulate_media(media="print")
        expect(page.locator(".disclosure-head .actions")).to_be_hidden()
        screenshot(page, "reports-public-print")
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
    finally:
        context.close()
