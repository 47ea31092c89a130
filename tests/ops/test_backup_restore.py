"""A PostgreSQL backup as docs/OPERATIONS.md gives it (``pg_dump -Fc``), restored with
``pg_restore`` into a fresh database: ``flask audit verify`` passes on the copy and every
table has the same rows."""
from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from app import create_app

from .conftest import exercise


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_dump_restores_to_a_copy_that_verifies(database_url, postgres, client, seeded, tmp_path):
    made = exercise(client, seeded)
    assert len(made["transfers"]) == 6
    seeded.close()
    source = make_url(database_url).database
    connection = ["-h", str(postgres.root), "-p", str(postgres.port), "-U", "postgres"]
    dump = tmp_path / "backup.dump"
    subprocess.run([str(postgres.bindir / "pg_dump"), *connection, "-Fc", "-f", str(dump), source], check=True,
                   capture_output=True, text=True)
    assert dump.stat().st_size > 0
    copy = f"{source}_restored"
    admin = create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{copy}"'))
    try:
        subprocess.run([str(postgres.bindir / "pg_restore"), *connection, "--no-owner", "--exit-on-error",
                        "-d", copy, str(dump)], check=True, capture_output=True, text=True)
        restored_url = postgres.url(copy)
        original = table_counts(database_url)
        restored = table_counts(restored_url)
        assert restored == original
        assert original["allocations"] > 0 and original["receipts"] > 0 and original["refunds"] == 1
        restored_app = create_app({"TESTING": True, "DATABASE_URL": restored_url, "SECRET_KEY": "test-secret",
                                   "INSTANCE_PATH": str(tmp_path / "restored")})
        try:
            result = restored_app.test_cli_runner().invoke(args=["audit", "verify"])
            assert result.exit_code == 0, result.output
            assert "money invariants: OK" in result.stdout
            assert f"audit trail intact: {original['audit_records']} records" in result.stdout
        finally:
            restored_app.extensions["database"].engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()
