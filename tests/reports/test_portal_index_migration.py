"""Migration 0012 on SQLite and PostgreSQL: the upload tables come and go, nothing else changes,
and an upload stored after the upgrade goes with its lines on the way down."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from core.cli import alembic_config

TABLES = {"portal_index_uploads", "portal_index_units", "portal_index_dossiers"}


def test_the_upload_tables_come_and_go(database_url):
    from alembic.script import ScriptDirectory

    config = alembic_config(database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0012").down_revision
    engine = create_engine(database_url)
    try:
        command.downgrade(config, previous)
        before = set(inspect(engine).get_table_names())
        assert not before & TABLES
        command.upgrade(config, "0012")
        assert set(inspect(engine).get_table_names()) == before | TABLES
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO portal_index_uploads (month, filename, sha256, uploaded_at, uploaded_by, "
                              "unit_count, dossier_count) VALUES ('2026-11', 'x.csv', 'ab', CURRENT_TIMESTAMP, "
                              "'user:giamsat', 1, 1)"))
            upload = conn.execute(text("SELECT id FROM portal_index_uploads")).scalar()
            conn.execute(text("INSERT INTO portal_index_units (upload_id, line, unit_code, unit_name, numerator, "
                              "denominator, rate) VALUES (:u, 2, 'P-HOANKIEM', '', 1, 4, 0.25)"), {"u": upload})
            conn.execute(text("INSERT INTO portal_index_dossiers (upload_id, dossier_code, flag, fee_total) "
                              "VALUES (:u, 'HK-A1', 1, 8000)"), {"u": upload})
        with engine.begin() as conn:  # the lines go with their upload
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            conn.execute(text("DELETE FROM portal_index_uploads"))
            assert conn.execute(text("SELECT count(*) FROM portal_index_units")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM portal_index_dossiers")).scalar() == 0
        command.downgrade(config, previous)
        assert set(inspect(engine).get_table_names()) == before
        command.upgrade(config, "head")
    finally:
        engine.dispose()
