"""Redraws docs/screenshots/ (`make screenshots`): the counter, the citizen page in each payment
state, the finance queue and an item, and the public report, on a 1280 px desktop and a 390 px
phone. The app runs on a temporary SQLite filled with the demo world (simulator.demo_world), as
the browser tests do, and Debian's Chromium draws it through Playwright.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

PNGs are quantised to a palette (Pillow) to stay small in the repository.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from PIL import Image  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from core.cli import alembic_config  # noqa: E402
from simulator.demo_world import build_demo_world  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_HEIGHT = 2400  # a long page is cut here: the top says what the page is


def shots(world) -> list[tuple[str, str | None, str, dict]]:
    """(file name, who signs in, path, viewport)."""
    return [
        ("counter-dossier", "motcua", world.dossiers["partially_paid"], DESKTOP),
        ("counter-list", "motcua", "/counter/", DESKTOP),
        ("citizen-open-phone", None, world.citizen["open"], PHONE),
        ("citizen-partially-paid-phone", None, world.citizen["partially_paid"], PHONE),
        ("citizen-paid-phone", None, world.citizen["paid"], PHONE),
        ("citizen-overpaid-phone", None, world.citizen["overpaid"], PHONE),
        ("finance-queue", "ketoan", "/finance/exceptions", DESKTOP),
        ("finance-item", "ketoan", "/finance/exceptions/1", DESKTOP),
        ("public-report", None, "@public-month", DESKTOP),
        ("public-report-phone", None, "@public-month", PHONE),
    ]


def shrink(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    if image.height > MAX_HEIGHT * (2 if image.width < 800 else 1):
        image = image.crop((0, 0, image.width, MAX_HEIGHT * (2 if image.width < 800 else 1)))
    if image.width < 800:  # phone shots are taken at 2× for sharpness; stored at 1×
        image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
    image.quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        command.upgrade(alembic_config(url), "head")
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "screenshots",
                          "INSTANCE_PATH": f"{tmp}/instance", "RATELIMIT_ENABLED": False})
        world = build_demo_world(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
            contexts = {}
            for name, who, path, viewport in shots(world):
                key = (who, viewport["width"])
                if key not in contexts:
                    phone = viewport["width"] < 800
                    contexts[key] = browser.new_context(locale="vi-VN", viewport=viewport,
                                                        device_scale_factor=2 if phone else 1, is_mobile=phone)
                    page = contexts[key].new_page()
                    if who:
                        page.goto(base + "/login")
                        page.fill("#username", who)
                        page.fill("#password", world.password)
                        page.locator("form button[type=submit]").last.click()
                        page.wait_for_load_state("load")
                page = contexts[key].pages[0]
                if path == "@public-month":
                    page.goto(base + "/reports/public/")
                    path = page.locator("a[href^='/reports/public/20']").first.get_attribute("href")
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                target = args.out / f"{name}.png"
                page.screenshot(path=str(target), full_page=True)
                shrink(target)
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB")
            browser.close()
        server.shutdown()
        app.extensions["database"].engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
