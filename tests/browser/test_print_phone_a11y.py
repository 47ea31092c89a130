"""Print, phone and accessibility in a real Chromium, on the demo world (simulator.demo_world):
the 80 mm card prints on an 80 mm page, the public ranking reads on a 390 px phone, every
page has a skip link and an icon, and axe-core (node_modules, `make install`) finds no
violation on the counter, citizen (each payment state), finance, public and print pages."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from simulator.demo_world import build_demo_world

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MM = 72 / 25.4  # PDF points per millimetre


@pytest.fixture
def world(live_app):
    return live_app, build_demo_world(live_app)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_test_id("user")).to_be_visible()


def axe_violations(page) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: `make install` runs `npm ci` for axe-core", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return result


def test_the_80mm_card_prints_on_an_80mm_page(world, browser):
    from pypdf import PdfReader

    app, w = world
    base = app.config["LIVE_URL"]
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    sign_in(page, base, "motcua", w.password)
    for layout, size in (("receipt80", (80, 297)), ("a6", (105, 148))):
        page.goto(base + w.print_pages[0] + f"?layout={layout}")
        page.wait_for_load_state("load")
        expect(page.locator("img.print-card")).to_be_visible()
        pdf = page.pdf(prefer_css_page_size=True)
        box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
        assert (round(float(box.width) / MM), round(float(box.height) / MM)) == size, (layout, box)
    context.close()


def test_the_public_ranking_reads_on_a_phone(world, browser):
    app, w = world
    base = app.config["LIVE_URL"]
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base + "/reports/public/")
    page.locator("a[href^='/reports/public/20']").first.click()
    table = page.locator("table.ranking").first
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    assert rows.count() >= 1
    for i in range(rows.count()):
        row = rows.nth(i)
        name, rate = row.locator("th[scope=row]"), row.locator("td[data-rate]")
        name_box, rate_box = name.bounding_box(), rate.bounding_box()
        # The rate is on the screen, not pushed past its right edge; the name keeps its width
        # (it was squeezed to one word a line).
        assert rate_box and rate_box["x"] >= 0 and rate_box["x"] + rate_box["width"] <= 390, rate_box
        assert rate.is_visible() and re.search(r"\d|—", rate.inner_text())
        assert name_box and name_box["width"] >= 250, name_box
        words = len(name.inner_text().split())
        line = float(name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20"))
        assert name_box["height"] < line * max(2, words - 1), (name.inner_text(), name_box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_every_page_has_a_skip_link_and_an_icon(world, page):
    app, w = world
    base = app.config["LIVE_URL"]
    missing_icon = []
    page.on("response", lambda r: missing_icon.append(r.url) if "favicon" in r.url and r.status >= 400 else None)
    for path in ("/", w.citizen["open"], "/reports/public/", "/login"):
        page.goto(base + path)
        assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")
        first = page.evaluate("""() => document.querySelector(
            'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])').className""")
        assert first == "skip-link", path  # the first stop of the keyboard
        expect(page.locator(".skip-link")).not_to_be_in_viewport()  # hidden until focused
        page.locator(".skip-link").focus()
        expect(page.locator(".skip-link")).to_be_in_viewport()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main", path
    assert page.request.get(base + "/static/favicon.svg").status == 200
    assert page.request.get(base + "/favicon.ico").status == 200  # redirected to the SVG
    assert missing_icon == []


def axe_pages(w) -> dict[str, list[str]]:
    return {
        None: ["/", "/reports/public/", "/login", w.citizen["open"], w.citizen["partially_paid"], w.citizen["paid"],
               w.citizen["overpaid"]],
        "motcua": ["/counter/", "/counter/dossiers/new", w.dossiers["open"], w.dossiers["paid"], w.print_pages[0]],
        "ketoan": ["/finance/exceptions", "/finance/exceptions/1", "/finance/transactions", "/finance/refunds",
                   "/finance/days", "/finance/days/1/2099-12-31", "/finance/exports", "/finance/statements",
                   "/reports/", "/reports/collections"],
    }


@pytest.mark.parametrize("who", [None, "motcua", "ketoan"])
def test_axe_finds_no_violation(world, browser, who):
    app, w = world
    base = app.config["LIVE_URL"]
    found = {}
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        # axe is injected as a script: the pages' CSP (script-src 'self') would refuse it.
        context = browser.new_context(locale="vi-VN", viewport=viewport, bypass_csp=True)
        page = context.new_page()
        if who:
            sign_in(page, base, who, w.password)
        paths = axe_pages(w)[who]
        if viewport["width"] == 1280 and who is None:
            paths = paths + [re.sub(r"^/", "/", page.goto(base + "/reports/public/") and
                                    page.locator("a[href^='/reports/public/20']").first.get_attribute("href"))]
        for path in paths:
            page.goto(base + path)
            page.wait_for_load_state("load")
            violations = axe_violations(page)
            if violations:
                found[f"{path} @{viewport['width']}"] = violations
        context.close()
    assert found == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
