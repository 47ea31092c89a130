"""The few SQL expressions that differ between SQLite and PostgreSQL: the Indochina day and
month of a stored UTC moment, and a moment as whole seconds since the epoch.

Times are stored in UTC (``core.types.UTCDateTime``): naive text on SQLite, ``timestamptz`` on
PostgreSQL. Indochina Time is UTC+7 all year (no daylight saving), so adding 7 hours is exact.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class ict_date(FunctionElement):  # noqa: N801 - SQL function style
    """The Indochina calendar day of a UTC moment."""

    type = Date()
    name = "ict_date"
    inherit_cache = True


class ict_month(FunctionElement):  # noqa: N801
    """The Indochina month of a UTC moment as an integer ``yyyymm``."""

    type = Integer()
    name = "ict_month"
    inherit_cache = True


class epoch_seconds(FunctionElement):  # noqa: N801
    """A UTC moment as whole seconds since 1970-01-01 (fractions dropped)."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


def _arg(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(ict_date, "sqlite")
def _ict_date_sqlite(element, compiler, **kw):
    return f"date({_arg(element, compiler, **kw)}, '+7 hours')"


@compiles(ict_date, "postgresql")
def _ict_date_pg(element, compiler, **kw):
    return f"CAST(({_arg(element, compiler, **kw)} AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)"


@compiles(ict_month, "sqlite")
def _ict_month_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%Y%m', {_arg(element, compiler, **kw)}, '+7 hours') AS INTEGER)"


@compiles(ict_month, "postgresql")
def _ict_month_pg(element, compiler, **kw):
    moment = f"({_arg(element, compiler, **kw)} AT TIME ZONE 'UTC') + INTERVAL '7 hours'"
    return f"CAST(to_char({moment}, 'YYYYMM') AS INTEGER)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {_arg(element, compiler, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element, compiler, **kw):
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {_arg(element, compiler, **kw)})) AS BIGINT)"
