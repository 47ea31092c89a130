"""receipts: the series carries the year of issue, and (form, series, number) never repeats

Before, an agency's receipt series was a fixed string ("DD-26E") while numbers restarted each
year, so 1 January would have issued "DD-26E 00000001" a second time. Now:

- ``agencies.receipt_series`` holds a pattern, ``YY`` standing for the two last digits of the
  Indochina year of issue ("DD-YYE"); a fixed series "XX-26E" becomes "XX-YYE";
- a receipt (and a counter) whose series does not carry its own year is moved to the series
  of its year; the numbers were already per year, so nothing collides;
- a unique index on (form, series, number).

The pattern rule is ``payments.receipts.series_pattern``, frozen here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_FIXED = re.compile(r"^(?P<head>[A-Z0-9]+-)(?P<year>[0-9]{2})(?P<tail>[A-Z]*)$")


def _pattern(series: str) -> str | None:
    series = series.strip().upper()
    if series.count("YY") == 1:
        return series
    fixed = _FIXED.match(series)
    return f"{fixed['head']}YY{fixed['tail']}" if fixed else None


def upgrade() -> None:
    bind = op.get_bind()
    for agency_id, series in bind.execute(sa.text(
            "SELECT id, receipt_series FROM agencies WHERE receipt_series IS NOT NULL")).all():
        pattern = _pattern(series)
        if pattern is not None and pattern != series:
            bind.execute(sa.text("UPDATE agencies SET receipt_series = :p WHERE id = :i"), {"p": pattern, "i": agency_id})
    for table in ("receipts", "receipt_counters"):
        for series, year in bind.execute(sa.text(f"SELECT DISTINCT series, year FROM {table}")).all():
            pattern = _pattern(series)
            if pattern is None:
                pattern = f"{series[:16]}-YY"
            dated = pattern.replace("YY", f"{year % 100:02d}", 1)
            if dated != series:
                bind.execute(sa.text(f"UPDATE {table} SET series = :new WHERE series = :old AND year = :y"),
                             {"new": dated, "old": series, "y": year})
    # A unique index, not a rebuilt table: SQLite can only drop a table constraint by copying
    # the table, which would cascade-delete the report lines that refer to its receipts. The
    # old (form, series, year, number) constraint stays; the new index implies it.
    op.create_index('uq_receipts_form_series_number', 'receipts', ['form', 'series', 'number'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_receipts_form_series_number', table_name='receipts')
