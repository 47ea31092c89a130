"""``/healthz`` is liveness (no database); ``/readyz`` is readiness: database, migrations at
head, a fresh scheduler heartbeat; 503 naming what fails."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from core.clock import utcnow
from core.db import db
from reconciliation.models import SchedulerHeartbeat
from reconciliation.scheduler import beat


def test_healthz_is_liveness_and_asks_nothing_of_the_database(app, client, database_url):
    from core.db import _State

    app.extensions["database"].engine.dispose()
    if database_url.startswith("sqlite"):
        gone = "sqlite:////nonexistent-directory/gone.db"
    else:
        gone = database_url.replace("postgres@/", "postgres@/no_such_database_", 1)
    app.extensions["database"] = _State(gone)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failing"] == ["database", "migrations", "scheduler"]
    assert body["checks"]["database"]["ok"] is False


def test_ready_when_all_is_well(app, client):
    beat(app, "host:1", leading=True)
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert body["checks"]["scheduler"]["age_seconds"] <= 5
    assert response.headers["Cache-Control"] == "no-store"


def test_no_heartbeat_yet_is_not_ready(app, client):
    beat(app, "host:2", leading=False)  # a standby is not enough: no one runs the jobs
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["scheduler"] and "no leading scheduler" in body["checks"]["scheduler"]["error"]


def test_a_stale_heartbeat_is_not_ready(app, client):
    app.config["SCHEDULER_STALE_MINUTES"] = 5
    with app.app_context():
        with db.transaction() as session:
            session.add(SchedulerHeartbeat(instance="host:3", is_leader=True, seen_at=utcnow() - timedelta(minutes=6)))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["failing"] == ["scheduler"]
    app.config["SCHEDULER_STALE_MINUTES"] = 10
    assert client.get("/readyz").status_code == 200


def test_a_database_behind_the_code_is_not_ready(app, client):
    beat(app, "host:4", leading=True)
    with app.app_context():
        with db.transaction() as session:
            session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["current"] == ["0001"]
    with app.app_context():
        with db.transaction() as session:
            session.execute(text("DROP TABLE alembic_version"))
    body = client.get("/readyz").get_json()
    assert body["failing"] == ["migrations"] and body["checks"]["migrations"]["error"]


def test_the_scheduler_writes_its_heartbeat(app):
    from reconciliation.scheduler import serve

    serve(app, poll=0.05, stop_after=0.5, only=["expire_requests"], scale=0.001)
    with app.app_context():
        rows = db.session.query(SchedulerHeartbeat).all()
        assert len(rows) == 1 and rows[0].is_leader is True
        assert (utcnow() - rows[0].seen_at).total_seconds() < 5
