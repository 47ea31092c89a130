"""Plain SQL on the session's own connection, for the few statements every callback runs.

SQLAlchemy Core costs a few hundred microseconds of Python per statement (building,
caching, binding, result setup); on the callbacks' fast path that was most of the time a
callback took. These helpers hand SQL written once with ``:name`` parameters straight to
the driver of the session's connection (sqlite3 takes ``:name`` as it is; psycopg gets
``%(name)s``), inside the session's transaction, with the two conversions the ORM types
would have made: aware datetimes are stored as naive UTC on SQLite (``core.types``), and
dicts or lists bound to JSON columns are passed through :func:`json_value`.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from itertools import chain, islice
from typing import Any, Iterable, Iterator, Mapping, Sequence

from sqlalchemy.orm import Session

_FEW = 100  # rows below which a pipelined INSERT beats COPY
PIPELINE = "rawsql_pipeline"
_NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _for_psycopg(sql: str) -> str:
    return _NAME.sub(r"%(\1)s", sql.replace("%", "%%"))


def json_value(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """PostgreSQL: within the block, a statement whose rows nobody reads (``executemany``,
    ``copy_rows``, ``run``) is sent without waiting for its answer; one that returns rows
    (``execute``, ``returning_many``, and any SQLAlchemy statement: ``core.db`` syncs after each)
    waits for everything before it. The server runs them all in order, as before: the same
    statements, waited for about a dozen times fewer in a callback batch. No ``COPY`` inside
    (``copy_rows`` inserts instead). An error surfaces at the next wait, maybe from a later
    statement; the transaction is then aborted either way, so callers roll back as before.
    SQLite: nothing changes."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or PIPELINE in connection.info:
        yield
        return
    with connection.connection.driver_connection.pipeline() as pipeline:
        connection.info[PIPELINE] = pipeline  # the pooled connection's own dict
        try:
            yield
        finally:
            connection.info.pop(PIPELINE, None)


def wait_for_rows(connection, *_) -> None:
    """SQLAlchemy's ``after_cursor_execute`` on PostgreSQL (``core.db``): in ``pipelined``, a
    statement's result is read at once, so it waits for its answer."""
    pipeline = connection.info.get(PIPELINE)
    if pipeline is not None:
        pipeline.sync()


class Raw:
    """The session's connection, spoken to in plain SQL."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.postgresql = connection.dialect.name == "postgresql"
        self.driver = connection.connection.driver_connection
        self.pipeline = connection.info.get(PIPELINE) if self.postgresql else None

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if self.postgresql:
            return dict(params)
        return {k: (v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
                    if isinstance(v, datetime) else v) for k, v in params.items()}

    def _sql(self, sql: str) -> str:
        return _for_psycopg(sql) if self.postgresql else sql

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run one statement; the rows it returns (``RETURNING``, ``SELECT``), if any."""
        cursor = self.driver.cursor()
        try:
            cursor.execute(self._sql(sql), self._params(params or {}))
            if self.pipeline is not None:
                self.pipeline.sync()  # its rows, and whether it has any, come with the answer
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement whose rows, if any, nobody reads (in ``pipelined``: not waited for)."""
        cursor = self.driver.cursor()
        try:
            cursor.execute(self._sql(sql), self._params(params or {}))
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        cursor = self.driver.cursor()
        try:
            cursor.executemany(self._sql(sql), [self._params(row) for row in rows])
        finally:
            cursor.close()

    def returning_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> list[tuple | None]:
        """One statement with ``RETURNING`` run for each of ``rows``: the first row each
        returned (or None), in order. On PostgreSQL one pipelined ``executemany`` (one round
        trip); SQLite runs in-process, one call each."""
        if not rows:
            return []
        cursor = self.driver.cursor()
        try:
            if not self.postgresql:
                out = []
                for row in rows:
                    cursor.execute(sql, self._params(row))
                    out.append(cursor.fetchone())
                    cursor.fetchall()
                return out
            cursor.executemany(self._sql(sql), [dict(row) for row in rows], returning=True)
            if self.pipeline is not None:
                self.pipeline.sync()
            out = []
            while True:
                out.append(cursor.fetchone())
                if not cursor.nextset():
                    break
            return out
        finally:
            cursor.close()

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk-load rows (values already as the driver takes them): COPY on PostgreSQL, one
        ``executemany`` on SQLite; inside the session's transaction either way."""
        names = ", ".join(columns)
        if self.postgresql:
            rows = iter(rows)
            few = list(islice(rows, _FEW + 1))
            with self.driver.cursor() as cursor:
                # A callback's handful: a pipelined executemany is one round trip, COPY three; and
                # in ``pipelined`` there is no COPY (psycopg refuses it in pipeline mode).
                if len(few) <= _FEW or self.pipeline is not None:
                    if few:
                        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                                           chain(few, rows))
                    return
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in chain(few, rows):
                        copy.write_row(row)
            return
        cursor = self.driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
        finally:
            cursor.close()

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def among(self, column: str, name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
        """``column`` is one of ``values`` (at least one), and its parameters. SQLite:
        ``column IN (:name_0, :name_1, ...)``. PostgreSQL: ``column = ANY(CAST(:name AS bigint[]))``
        (or ``text[]``): one parameter, so psycopg does not parse a new statement text for every
        length (a list of thousands of placeholders cost it 4 ms a statement), and the planner
        counts the array's elements, where ``IN (SELECT unnest(…))`` is guessed, which planned a
        callback's one-dossier lookups as scans (1 ms each)."""
        values = list(values)
        if self.postgresql and values:
            kind = ("bigint" if all(type(v) is int for v in values)
                    else "text" if all(isinstance(v, str) for v in values) else None)
            if kind:
                return f"{column} = ANY(CAST(:{name} AS {kind}[]))", {name: values}
        return (f"{column} IN ({', '.join(f':{name}_{i}' for i in range(len(values)))})",
                {f"{name}_{i}": v for i, v in enumerate(values)})


def aware(value: Any) -> datetime | None:
    """A datetime read back with plain SQL, as the ORM type gives it: aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back the text it stored
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
