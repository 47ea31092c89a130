"""The counter's registration form in a real Chromium: no empty "Căn cứ tính phí" box before
a procedure is chosen; every error at once in a summary that takes the focus, whose links
focus their fields; the title says "Lỗi:"; what was typed stays."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_counter import counter_app, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_every_error_at_once_and_the_focus_on_the_summary(counter_app, page):
    base = counter_app.config["LIVE_URL"]
    sign_in(page, base)
    page.goto(base + "/counter/dossiers/new")
    expect(page.locator("#fee-facts")).to_be_hidden()
    page.select_option("#agency_code", "HN-VPDKDD-CN02")
    page.select_option("#procedure_code", "1.013831")
    expect(page.locator("#fee-facts")).to_be_visible()
    page.fill("#declared_value", "2,5 tỷ")
    page.fill("#code", "abc/../../x")
    page.get_by_test_id("preview").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    assert page.title().startswith("Lỗi:")
    links = summary.get_by_role("link")
    expect(links).to_have_count(3)  # the code, the payer class, the declared value: all at once
    expect(summary).to_contain_text("không dùng chữ như “tỷ”")
    expect(page.locator("#declared_value")).to_have_value("2,5 tỷ")
    expect(page.locator("#code")).to_have_value("abc/../../x")
    screenshot(page, "counter-form-errors")
    links.nth(2).click()
    expect(page.locator("#declared_value")).to_be_focused()
