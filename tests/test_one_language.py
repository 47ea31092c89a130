"""One language at a time: every page reachable by each staff role, a citizen and the public,
crawled in Vietnamese and in English, shows no text of the other language (proper names and
data excepted); and the English catalogue has no untranslated or fuzzy entry."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from app import create_app
from core.db import db
from core.users import User
from payments.models import Agency, CollectionAccount, Dossier, FeeItem, FeeLawRule, Procedure
from qr.banks import all_banks
from payments.demo import DEMO
from simulator.demo_world import build_demo_world
from tests.core.web import login
from tests.language_crawl import crawl, is_vietnamese, leaks

ROOT = Path(__file__).resolve().parents[1]
# The API reference (/api/docs) is written in English for developers, quoting Vietnamese terms: not crawled.
PUBLIC = ["/", "/reports/public/", "/login", "/no-such-page"]


@pytest.fixture(scope="module")
def world_app(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("crawl") / "crawl.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "crawl",
                      "INSTANCE_PATH": str(path.parent / "instance"), "RATELIMIT_ENABLED": False})
    world = build_demo_world(app)
    with app.app_context():
        session = db.session
        # Agencies and procedures with an English name must show it in English: only the others'
        # Vietnamese names are proper names to let through.
        allowed = [*session.scalars(select(Agency.name).where(Agency.name_en.is_(None))),
                   *session.scalars(select(Procedure.name).where(Procedure.name_en.is_(None))),
                   *session.scalars(select(Dossier.applicant_name)), *session.scalars(select(User.full_name))]
        # Data without an English name: fee items, their legal basis, the names the banks and the
        # collection accounts are registered under, what a dossier was charged.
        allowed += [*session.scalars(select(FeeItem.name)), *session.scalars(select(FeeItem.legal_basis)),
                    *session.scalars(select(FeeItem.exempt_condition).where(FeeItem.exempt_condition.is_not(None))),
                    *session.scalars(select(CollectionAccount.holder_name)),
                    *session.scalars(select(FeeLawRule.legal_basis)), *(bank.name for bank in all_banks())]
        for dossier in session.scalars(select(Dossier)):
            allowed += [charge.name for charge in dossier.charges] + [charge.legal_basis for charge in dossier.charges]
        # The column names of the portal's export, quoted as the file must carry them (data).
        from reports.portal_export import COLUMN_NAMES

        allowed += [*COLUMN_NAMES.values(), "Tỷ lệ (%)"]
    yield app, world, allowed
    app.extensions["database"].engine.dispose()


def start_pages(world, who: str) -> list[str]:
    if who == "public":
        return PUBLIC
    if who == "citizen":
        return [*world.citizen.values(), *PUBLIC]
    pages = ["/"]
    if who in ("motcua", "admin"):
        pages += ["/counter/", "/counter/dossiers/new", *world.dossiers.values(), *world.print_pages,
                  *(f"/counter/dossiers/{d['code']}" for d in DEMO)]
    if who in ("ketoan", "admin"):
        pages += [*world.finance, "/finance/refunds/new", "/finance/days/1/2099-12-31"]
    if who in ("giamsat", "admin", "ketoan"):
        pages += ["/reports/", "/reports/dossiers", "/reports/collections", "/reports/receipts/daily",
                  "/reports/receipts/usage", "/reports/?from=2026-12-05&to=2026-12-01", "/reports/collections?month=x"]
    if who == "admin":
        pages += ["/admin/users", "/admin/catalogue", "/admin/events"]
    return pages


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("who", ["public", "citizen", "motcua", "ketoan", "giamsat", "admin"])
def test_every_page_speaks_one_language(world_app, who, locale):
    app, world, allowed = world_app
    client = app.test_client()
    if who not in ("public", "citizen"):
        assert login(client, who, world.password).status_code == 302
    client.get(f"/lang/{locale}")
    pages: list[str] = []
    problems = crawl(client, start_pages(world, who), locale, allowed, pages=pages)
    assert len(pages) >= len(start_pages(world, who))  # the crawl read the pages, not just a sign-in form
    assert problems == {}, "\n".join(f"{url}:\n  " + "\n  ".join(found) for url, found in problems.items())


def test_the_leak_detector_sees_leaks():
    assert is_vietnamese("Không") and is_vietnamese("đồng") and not is_vietnamese("Receipt")
    assert leaks(["Mức thu cố định"], "en", []) and not leaks(["Phường Hoàn Kiếm"], "en", ["Phường Hoàn Kiếm"])
    assert leaks(["from is after to"], "vi", []) and leaks(["Ghép bởi user:ketoan"], "vi", [])
    assert leaks(["Quy tắc reference_partial"], "vi", []) and not leaks(["Tải CSV, XLSX, PDF"], "vi", [])


def test_every_message_of_the_code_is_in_the_catalogue(tmp_path):
    """What `pybabel extract` finds in the code and templates (babel.cfg) is in the English
    catalogue, translated: a page string added without its English fails here."""
    import subprocess
    import sys

    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_",
                    "-k", "_", "-o", str(pot), "--no-location", "--ignore-dirs=.venv node_modules test-output",
                    "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as handle:
        extracted = read_po(handle)
    with open(ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="en")
    missing = [m.id for m in extracted if m.id and not (catalogue.get(m.id) and catalogue.get(m.id).string)]
    assert len(extracted) > 500 and missing == [], missing[:20]


def test_the_english_catalogue_is_complete():
    with open(ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="en")
    untranslated = [m.id for m in catalogue if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == [], (untranslated[:20], fuzzy[:20])
    assert len(catalogue) > 500  # the real catalogue, not an empty file
