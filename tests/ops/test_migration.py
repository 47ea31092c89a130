"""Migration 0009 on SQLite and PostgreSQL, down and up again: journal entries keep their rows
(and lose only the request id going down), the heartbeat table and the job-runs index come
and go."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from core.cli import alembic_config


def test_0009_down_and_up(database_url):
    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0009").down_revision
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO journal_entries (channel, received_at, headers, body, body_sha256, outcome, "
                              "attempts, request_id) VALUES ('sepay', CURRENT_TIMESTAMP, '{}', :b, 'x', 'received', "
                              "0, 'req-1')"), {"b": b"{}"})
            conn.execute(text("INSERT INTO scheduler_heartbeats (instance, is_leader, seen_at) "
                              "VALUES ('h:1', :t, CURRENT_TIMESTAMP)"), {"t": True})
        command.downgrade(config, before)
        inspector = inspect(engine)
        assert "request_id" not in {c["name"] for c in inspector.get_columns("journal_entries")}
        assert "scheduler_heartbeats" not in inspector.get_table_names()
        assert "ix_job_runs_job_outcome_finished" not in {i["name"] for i in inspector.get_indexes("job_runs")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT channel FROM journal_entries")).scalars().all() == ["sepay"]
        command.upgrade(config, "head")
        inspector = inspect(engine)
        assert "ix_journal_entries_request_id" in {i["name"] for i in inspector.get_indexes("journal_entries")}
        assert "ix_job_runs_job_outcome_finished" in {i["name"] for i in inspector.get_indexes("job_runs")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT channel, request_id FROM journal_entries")).all() == [("sepay", None)]
            assert conn.execute(text("SELECT count(*) FROM scheduler_heartbeats")).scalar_one() == 0
    finally:
        engine.dispose()
