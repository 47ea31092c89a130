"""Bounded storage for callbacks, on SQLite and PostgreSQL: a refused or unauthenticated
callback keeps only its first 4 KiB, its size and its SHA-256; an accepted one is kept whole;
refused entries past CALLBACK_REFUSED_RETENTION_DAYS are purged by the daily job and by
``flask journal purge``, and nothing else is; stale sign-in throttle rows go with them."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from core.clock import utcnow
from core.throttle import LoginThrottle
from reconciliation.inbound.ingest import REFUSED_BODY_KEPT
from reconciliation.models import JournalEntry
from reconciliation.scheduler import job_by_name, run_job

from .conftest import make_request, ok, post, signed, transfer_for


def stored_body_bytes(session) -> int:
    session.rollback()
    return session.scalar(select(func.coalesce(func.sum(func.length(JournalEntry.body)), 0)))


def database_bytes(session) -> int:
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
    else:
        size = session.scalar(text("PRAGMA page_count")) * session.scalar(text("PRAGMA page_size"))
    session.rollback()
    return size


def junk(n: int, size: int = 60 * 1024) -> bytes:
    head = json.dumps({"id": n, "gateway": "VCB", "content": "x"}).encode()
    return head + os.urandom(size - len(head))


def test_300_junk_posts_of_60_kb_keep_a_few_mb_at_most(client, seeded):
    channels = ("sepay", "payos", "bankdirect", "portal")
    sizes = {}
    before = database_bytes(seeded)
    for n in range(300):
        body = junk(n)
        response = client.post(f"/callbacks/{channels[n % 4]}", data=body,
                               headers={"Content-Type": "application/json", "Authorization": "Apikey wrong"})
        assert 400 <= response.status_code < 500 or response.status_code == 200  # each format's own refusal
        sizes[hashlib.sha256(body).hexdigest()] = len(body)
    stored = stored_body_bytes(seeded)
    assert stored <= 300 * REFUSED_BODY_KEPT  # 1.2 MB, not the 18 MB that came in
    assert stored >= 300 * 1000  # the beginnings are kept
    assert database_bytes(seeded) - before < 4 * 1024 * 1024  # the database grew by a few MB at most
    entries = seeded.scalars(select(JournalEntry)).all()
    assert len(entries) == 300 and {e.outcome for e in entries} == {"refused"}
    for entry in entries:
        assert len(entry.body) == REFUSED_BODY_KEPT and entry.body_size == 60 * 1024
        assert sizes[entry.body_sha256] == 60 * 1024  # the SHA-256 of the whole body as it came


def test_an_accepted_callback_is_kept_whole(client, seeded):
    request = make_request(seeded, amount=8000)
    headers, body = signed("sepay", transfer_for(request, content=request.purpose + " " + "X" * 60))
    assert ok("sepay", post(client, "sepay", headers, body))
    entry = seeded.scalar(select(JournalEntry))
    assert entry.outcome == "accepted" and entry.body == body and entry.body_size == len(body)


def test_a_body_over_the_limit_keeps_its_declared_size_only(app, client, seeded):
    app.config["CALLBACK_MAX_BYTES"] = 10_000
    response = client.post("/callbacks/payos", data=b"x" * 20_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    entry = seeded.scalar(select(JournalEntry))
    assert entry.outcome == "refused" and entry.body == b"" and entry.body_size == 20_000


def _age(session, entry_id: int, days: int) -> None:
    session.execute(update(JournalEntry).where(JournalEntry.id == entry_id)
                    .values(received_at=utcnow() - timedelta(days=days)))
    session.commit()


@pytest.mark.parametrize("how", ["job", "cli"])
def test_the_purge_removes_only_refused_entries_past_retention(app, client, seeded, how):
    request = make_request(seeded, amount=8000)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request))))
    for n in range(3):
        client.post("/callbacks/sepay", data=junk(n, 5000), headers={"Authorization": "Apikey wrong"})
    ids = seeded.scalars(select(JournalEntry.id).order_by(JournalEntry.id)).all()
    accepted, old_refused, older_refused, new_refused = ids
    _age(seeded, accepted, 400)  # accepted: never purged, however old
    _age(seeded, old_refused, 91)
    _age(seeded, older_refused, 365)
    _age(seeded, new_refused, 89)
    now = utcnow()
    seeded.add_all([LoginThrottle(key="a:203.0.113.9", failures=5, last_failure_at=now - timedelta(days=3)),
                    LoginThrottle(key="a:203.0.113.10", failures=5, last_failure_at=now - timedelta(minutes=5)),
                    LoginThrottle(key="p:203.0.113.11|ketoan", failures=0, last_success_at=now - timedelta(days=2))])
    seeded.commit()
    if how == "job":
        run = run_job(app, job_by_name("purge"), "test")
        assert run.outcome == "ok" and run.detail.startswith("2 refused callback(s) older than 90 days and 1 sign-in")
    else:
        result = app.test_cli_runner().invoke(args=["journal", "purge"])
        assert result.exit_code == 0, result.output
        assert "purged 2 refused journal entries older than 90 days and 1 sign-in throttle rows" in result.output
    seeded.rollback()
    assert seeded.scalars(select(JournalEntry.id).order_by(JournalEntry.id)).all() == [accepted, new_refused]
    assert sorted(seeded.scalars(select(LoginThrottle.key))) == ["a:203.0.113.10", "p:203.0.113.11|ketoan"]
    seeded.rollback()
    result = app.test_cli_runner().invoke(args=["journal", "purge", "--days", "0"])
    assert "purged 1 refused" in result.output
    seeded.rollback()
    assert seeded.scalars(select(JournalEntry.id)).all() == [accepted]


def test_journal_show_tells_the_truncation(app, client, seeded):
    body = junk(1, 10_000)
    client.post("/callbacks/sepay", data=body, headers={"Authorization": "Apikey wrong"})
    entry_id = seeded.scalar(select(JournalEntry.id))
    seeded.rollback()
    result = app.test_cli_runner().invoke(args=["journal", "show", str(entry_id)])
    shown = json.loads(result.output)
    assert shown["truncated"] is True and shown["body_size"] == 10_000
    assert shown["body_kept_bytes"] == REFUSED_BODY_KEPT and shown["body_sha256"] == hashlib.sha256(body).hexdigest()
