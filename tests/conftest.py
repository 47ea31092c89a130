"""Fixtures: every database test runs twice, on SQLite and on a real PostgreSQL that this test
run starts itself. The schema is made by the Alembic migrations, once per run, into a template
that each test copies (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL)."""
from __future__ import annotations

import itertools
import os
import shutil

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from app import create_app
from core.cli import alembic_config
from core.db import db
from tests.pg import PostgresUnavailable, TempPostgres

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    if os.environ.get("TEST_POSTGRES") == "off" and not os.environ.get("CI"):
        pytest.skip("TEST_POSTGRES=off: PostgreSQL tests skipped (never in CI)")
    server = TempPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        pytest.fail(f"PostgreSQL could not start, so the PostgreSQL half of the suite cannot run:\n{exc}",
                    pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres):
    admin = create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE app_template"))
    admin.dispose()
    command.upgrade(alembic_config(postgres.url("app_template")), "head")
    return "app_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield server.url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    application = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
         "INSTANCE_PATH": str(tmp_path / "instance")}
    )
    yield application
    application.extensions["database"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session
