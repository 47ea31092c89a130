"""Migration 0008 on SQLite and PostgreSQL, both ways: ``journal_entries.body_size`` and
``statement_imports.error`` come and go, and the rows already there stay."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from core.cli import alembic_config


def columns(engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_0008_up_and_down(database_url):
    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    command.downgrade(config, before)
    engine = create_engine(database_url)
    try:
        assert "body_size" not in columns(engine, "journal_entries")
        assert "error" not in columns(engine, "statement_imports")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO journal_entries (channel, received_at, remote_addr, headers, body, "
                              "body_sha256, outcome, attempts) VALUES ('sepay', CURRENT_TIMESTAMP, '', '{}', :b, "
                              "'x', 'accepted', 1)"), {"b": b"{}"})
        command.upgrade(config, "0008")
        engine.dispose()
        assert "body_size" in columns(engine, "journal_entries") and "error" in columns(engine, "statement_imports")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT body, body_size FROM journal_entries")).one() == (b"{}", None)
        command.downgrade(config, before)
        engine.dispose()
        assert "body_size" not in columns(engine, "journal_entries")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 1
        command.upgrade(config, "head")
    finally:
        engine.dispose()
