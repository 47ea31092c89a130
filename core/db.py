"""The database: declarative base, engine with the right pragmas, and one session per request.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so that the same models and sessions serve the web
app, the CLI, the scheduler and the benchmarks.
"""
from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .rawsql import wait_for_rows

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
        queue = _WriterQueue(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", queue.begin)
        event.listen(engine, "commit", queue.end)
        event.listen(engine, "rollback", queue.end)
        event.listen(engine.pool, "reset", queue.reset)
        event.listen(engine.pool, "checkin", queue.checkin)
        return engine
    # A connection that died with the server (a restart, a failover) is found at checkout
    # (pre-ping) and replaced; a server that cannot be reached fails the connect within
    # CONNECT_TIMEOUT rather than the operating system's minutes, so requests get a quick 503.
    connect_args = kwargs.pop("connect_args", {})
    if "connect_timeout" not in url:
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    event.listen(engine, "after_cursor_execute", wait_for_rows)  # rawsql.pipelined
    return engine


# SQLAlchemy keeps 5 connections per process and opens up to this many more under load: 20 in
# all, so every thread of a worker (deploy/gunicorn.conf.py: 16) can hold one at once.
POOL_OVERFLOW = 15
CONNECT_TIMEOUT = 5  # seconds (libpq's connect_timeout; a URL's own ?connect_timeout= wins)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers go on while one writer commits; FULL makes a commit survive power loss,
    # which the "2xx only after durable" rule needs.
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class WriterQueueTimeout(OperationalError):
    pass


class _WriterQueue:
    """SQLite's transactions queue on one lock per database: a lock per process, then an
    ``flock`` on a file beside the database across processes, then ``BEGIN IMMEDIATE``.

    SQLite's own busy handler makes a waiting writer sleep and poll, so under concurrent
    callbacks the waits grow to hundreds of milliseconds (PERFORMANCE.md); here a waiter is
    woken as soon as the lock is free. Every transaction starts with ``BEGIN IMMEDIATE``
    (taking the write lock at once, so two writers never fail at upgrade time), so every
    transaction queues; reads are short. A wait longer than the busy timeout fails as SQLite
    would ("database is locked")."""

    TIMEOUT = 30.0

    def __init__(self, url: str) -> None:
        self.local = threading.Lock()
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        self.path = path + ".lock" if path and path != ":memory:" else None
        self._handle = None

    def _file(self):
        if self._handle is None and self.path:
            self._handle = open(self.path, "a+")
        return self._handle

    def begin(self, connection) -> None:
        record = connection.connection._connection_record
        if not record.info.get("queued"):
            if not self.local.acquire(timeout=self.TIMEOUT):
                raise WriterQueueTimeout("BEGIN IMMEDIATE", None, RuntimeError("database is locked (writer queue)"))
            handle = self._file()
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # the kernel queues the processes
            record.info["queued"] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _release(self, info: dict) -> None:
        if info.pop("queued", False):
            handle = self._file()
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
            self.local.release()

    def end(self, connection) -> None:
        self._release(connection.connection._connection_record.info)

    def reset(self, _dbapi_connection, record, _state=None) -> None:
        self._release(record.info)  # a connection handed back without commit or rollback

    def checkin(self, _dbapi_connection, record) -> None:
        if record is not None:
            self._release(record.info)


# SQLSTATE classes of a server that is away or busy, where the same request later succeeds:
# connection exceptions, insufficient resources (too many connections), operator intervention
# (shutting down, starting up, a cancelled statement), transaction rollback (deadlock, serialisation).
_UNAVAILABLE_SQLSTATE = ("08", "53", "57", "40")
_UNAVAILABLE_SQLITE = ("database is locked", "database table is locked", "unable to open database file",
                       "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error) says the database is away or busy, for a moment,
    rather than that the statement is wrong: the first is "try again" (503), the second a
    defect (500)."""
    if getattr(exc, "connection_invalidated", False) or isinstance(exc, WriterQueueTimeout):
        return True
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    if type(orig).__module__.startswith("psycopg"):
        # No SQLSTATE: the connection itself failed (refused, no socket, timed out).
        return sqlstate is None or sqlstate[:2] in _UNAVAILABLE_SQLSTATE
    return str(orig).lower().startswith(_UNAVAILABLE_SQLITE)


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


@contextmanager
def transactional(session: Session) -> Iterator[Session]:
    """A unit of work on a session a request already holds: commits when the block ends,
    rolls back if anything in it raises (a refusal changes nothing), and re-raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


db = Database()
