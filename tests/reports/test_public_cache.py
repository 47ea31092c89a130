"""The public PNG and CSV (reports.public_cache), on SQLite and PostgreSQL: a second request is
served from the cache (304 to a client that has the ETag; the file not drawn again), and the
file changes, with its ETag, when the month's data changes."""
from __future__ import annotations

from core.db import db
from reports import public_cache

from .conftest import at, dossier
from .test_pages import site, today  # noqa: F401


def test_the_public_files_are_cached_by_their_data(app, site, today):  # noqa: F811
    public_cache.clear()
    client = app.test_client()
    for fmt in ("png", "csv"):
        url = f"/reports/public/2026-11.{fmt}"
        first = client.get(url)
        assert first.status_code == 200 and first.headers["ETag"] and "max-age=3600" in first.headers["Cache-Control"]
        made = public_cache.stats["made"]
        again = client.get(url)
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert public_cache.stats["made"] == made  # served from the cache, not drawn again
        revalidated = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert revalidated.status_code == 304 and revalidated.data == b""
        assert revalidated.headers["ETag"] == first.headers["ETag"]
    before = client.get("/reports/public/2026-11.csv")
    with app.app_context():
        dossier(db.session, "HK-Z9", "P-HOANKIEM", "T.KH-NN", "online", at(20),
                [(1_000_000, "le_phi")])
        db.session.commit()
    after = client.get("/reports/public/2026-11.csv", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.data != before.data
