"""The database: declarative base, engine with the right pragmas, and one session per request.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so that the same models and sessions serve the web
app, the CLI, the scheduler and the benchmarks.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers go on while one writer commits; FULL makes a commit survive power loss,
    # which the "2xx only after durable" rule needs.
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    # Take the write lock at BEGIN so two writers queue instead of failing at upgrade time.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _State:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)


class Database:
    """Engine and session factory per app; ``db.session`` is the current request's session.

    The state lives in ``app.extensions`` so that several apps (tests, tools) can coexist.
    """

    def init_app(self, app: Flask) -> None:
        app.extensions["database"] = _State(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _state() -> _State:
        return current_app.extensions["database"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def Session(self) -> sessionmaker[Session]:
        return self._state().Session

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.Session()
        return g.db_session

    def _close_session(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session outside a request (CLI, jobs): commits on success, rolls back on error."""
        with self.Session() as session, session.begin():
            yield session


db = Database()
