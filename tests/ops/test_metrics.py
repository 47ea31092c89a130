"""``/metrics``: only with the bearer token; the numbers move when callbacks, exceptions and
statement imports happen."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from core.clock import utcnow
from reconciliation.models import ReconException
from reconciliation.scheduler import beat, job_by_name, run_job

from .conftest import callback, make_request, post, signed, statement_of

TOKEN = "scrape-secret-0123456789"


@pytest.fixture
def metrics_app(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(values, name, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_no_token_set_means_no_endpoint(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_a_token_is_required_and_must_be_the_right_one(metrics_app, client):
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_callbacks_are_counted_by_channel_and_outcome_with_their_latency(metrics_app, client, seeded):
    before = scrape(client)
    request = make_request(seeded, amount=8000)
    transfer = callback(client, request, "sepay")
    again = post(client, "bankdirect", *signed("bankdirect", transfer))  # the same transfer again
    assert again.json["responseMessage"] == "Already received"
    after = scrape(client)
    for outcome in ("accepted", "duplicate"):
        channel = "sepay" if outcome == "accepted" else "bankdirect"
        assert value(after, "hanoi_callbacks_total", channel=channel, outcome=outcome) == \
            value(before, "hanoi_callbacks_total", channel=channel, outcome=outcome) + 1
        count = "hanoi_callback_duration_seconds_count"
        assert value(after, count, channel=channel, outcome=outcome) == \
            value(before, count, channel=channel, outcome=outcome) + 1
        assert value(after, "hanoi_callback_duration_seconds_sum", channel=channel, outcome=outcome) > \
            value(before, "hanoi_callback_duration_seconds_sum", channel=channel, outcome=outcome)


def test_exceptions_imports_and_backlogs_are_read_from_the_database(metrics_app, client, seeded):
    before = scrape(client)
    assert value(before, "hanoi_exceptions_open", reason="no_reference") == 0
    assert value(before, "hanoi_statement_imports", status="done") == 0
    request = make_request(seeded, amount=8000)
    transfers = [callback(client, request, "sepay", content="KHONG CO MA", amount=4321)]
    seeded.rollback()
    reasons = seeded.scalars(select(ReconException.reason).where(ReconException.status == "open")).all()
    seeded.rollback()
    assert len(reasons) == 1
    middle = scrape(client)
    assert value(middle, "hanoi_exceptions_open", reason=reasons[0]) == 1
    assert value(middle, "hanoi_outbox_events", status="pending") >= value(before, "hanoi_outbox_events",
                                                                             status="pending")
    statement_of(seeded, transfers)
    seeded.commit()
    seeded.execute(text("UPDATE journal_entries SET outcome = 'failed' WHERE id = (SELECT MAX(id) FROM journal_entries)"))
    seeded.commit()
    after = scrape(client)
    assert value(after, "hanoi_statement_imports", status="done") == 1
    assert value(after, "hanoi_journal_backlog", outcome="failed") == 1


def test_jobs_last_success_heartbeat_and_days_not_closed(metrics_app, app, client, seeded):
    from datetime import date

    from payments.models import CollectionAccount
    from reconciliation.models import DailyClose

    before = scrape(client)
    assert value(before, "hanoi_job_last_success_timestamp_seconds", job="expire_requests") == 0
    assert value(before, "hanoi_scheduler_heartbeat_timestamp_seconds") == 0
    started = utcnow().timestamp()
    assert run_job(app, job_by_name("expire_requests"), "test").outcome == "ok"
    beat(app, "test-instance", leading=True)
    account = seeded.scalars(select(CollectionAccount).order_by(CollectionAccount.id)).first()
    seeded.add_all([DailyClose(account_id=account.id, day=date(2026, 11, 24), status="open"),
                    DailyClose(account_id=account.id, day=date(2026, 11, 25), status="closed")])
    seeded.commit()
    after = scrape(client)
    assert after[("hanoi_job_last_success_timestamp_seconds", (("job", "expire_requests"),))] >= started - 1
    assert value(after, "hanoi_scheduler_heartbeat_timestamp_seconds") >= started - 1
    assert value(after, "hanoi_days_not_closed", account=account.number) == 1
    # Money booked on a day nobody ever ran counts too; on the closed day it does not.
    from datetime import datetime, timezone

    from bank_adapters.transfers import IN, BankTransfer
    from reconciliation.inbound.transactions import record_transfer

    for n, booked in enumerate((datetime(2026, 11, 23, 3, tzinfo=timezone.utc),
                                datetime(2026, 11, 25, 3, tzinfo=timezone.utc))):
        record_transfer(seeded, BankTransfer(account=account.number, bank_ref=f"FTMETRIC{n}", amount=10_000,
                                             direction=IN, booked_at=booked, content="x"), "statement")
    seeded.commit()
    assert value(scrape(client), "hanoi_days_not_closed", account=account.number) == 2


def test_several_workers_add_up_in_multiprocess_mode(tmp_path):
    """Two processes count (as two gunicorn workers would); a third one's scrape sees both."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = ("from core.metrics import observe_callback; "
             "observe_callback('payos', 'accepted', 0.02); observe_callback('payos', 'accepted', 0.03)")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, cwd=os.getcwd())
    read = ("from prometheus_client import generate_latest; from core.metrics import process_registry; "
            "print(generate_latest(process_registry()).decode())")
    out = subprocess.run([sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True,
                         cwd=os.getcwd()).stdout
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(out) for s in f.samples}
    labels = (("channel", "payos"), ("outcome", "accepted"))
    assert samples[("hanoi_callbacks_total", labels)] == 4
    assert samples[("hanoi_callback_duration_seconds_count", labels)] == 4
