from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_home_page_in_vietnamese_then_english(live_app, page):
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Thanh toán không dùng tiền mặt phí, lệ phí thủ tục hành chính"
    assert page.locator("html").get_attribute("lang") == "vi"
    assert screenshot(page, "home-vi").stat().st_size > 10_000
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Cashless payment of the fees and charges of administrative procedures"
    screenshot(page, "home-en")


def test_home_page_on_a_phone(live_app, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(live_app.config["LIVE_URL"] + "/")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "home-phone")
    context.close()
