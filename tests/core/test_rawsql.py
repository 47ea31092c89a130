"""``core.rawsql.pipelined``: on PostgreSQL the statements whose rows nobody reads are sent
without waiting for each answer; everything that reads rows (plain SQL or SQLAlchemy) still
sees every statement before it, and an error anywhere in the block aborts the whole
transaction. On SQLite the block changes nothing; the same assertions hold on both."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import db
from core.rawsql import PIPELINE, Raw, pipelined

# A table with a unique key and plain columns: a receipt series' counter (form, series, year).
_SETTING = "INSERT INTO receipt_counters (form, series, year, last_number) VALUES ('PIPE', :k, 2026, :v)"


def _keys(session) -> list[str]:
    return list(session.scalars(text("SELECT series FROM receipt_counters WHERE form = 'PIPE' ORDER BY series")))


def test_statements_in_the_block_see_the_ones_before_them(app):
    with app.app_context():
        session = db.session
        with pipelined(session):
            raw = Raw(session)
            if raw.postgresql:
                assert raw.pipeline is not None and raw.driver.pgconn.pipeline_status != 0
            raw.executemany(_SETTING, [{"k": "pipe-a", "v": 1}, {"k": "pipe-b", "v": 2}])
            raw.run("UPDATE receipt_counters SET last_number = 3 WHERE form = 'PIPE' AND series = 'pipe-b'")
            # Plain SQL that returns rows waits for the two statements above.
            assert raw.execute("SELECT series, last_number FROM receipt_counters WHERE form = 'PIPE' "
                               "ORDER BY series") == [("pipe-a", 1), ("pipe-b", 3)]
            assert raw.execute("UPDATE receipt_counters SET last_number = 4 WHERE form = 'none'") == []
            raw.executemany(_SETTING, [{"k": "pipe-c", "v": 5}])
            # So does SQLAlchemy (core.db's after_cursor_execute).
            assert _keys(session) == ["pipe-a", "pipe-b", "pipe-c"]
            returned = raw.returning_many(_SETTING + " RETURNING series, last_number",
                                          [{"k": "pipe-d", "v": 6}, {"k": "pipe-e", "v": 7}])
            assert returned == [("pipe-d", 6), ("pipe-e", 7)]
            raw.executemany(_SETTING, [{"k": "pipe-f", "v": 8}])
        assert PIPELINE not in session.connection().info
        if Raw(session).postgresql:
            assert Raw(session).driver.pgconn.pipeline_status == 0  # the block left pipeline mode
        session.commit()
        assert _keys(session) == ["pipe-a", "pipe-b", "pipe-c", "pipe-d", "pipe-e", "pipe-f"]


def test_an_error_in_the_block_comes_out_of_it_and_nothing_is_kept(app):
    with app.app_context():
        session = db.session
        with pytest.raises(Exception) as raised:
            with pipelined(session):
                raw = Raw(session)
                raw.executemany(_SETTING, [{"k": "pipe-a", "v": 1}])
                raw.executemany(_SETTING, [{"k": "pipe-a", "v": 9}])  # the same key: refused
                raw.executemany(_SETTING, [{"k": "pipe-b", "v": 2}])
        assert "unique" in str(raised.value).lower()  # what the server said, not a stand-in
        session.rollback()
        assert _keys(session) == []
        # The connection serves again, in and out of a block.
        with pipelined(session):
            Raw(session).executemany(_SETTING, [{"k": "pipe-c", "v": 3}])
        session.commit()
        assert _keys(session) == ["pipe-c"]


def test_blocks_nest_as_one(app):
    with app.app_context():
        session = db.session
        with pipelined(session):
            outer = session.connection().info.get(PIPELINE)
            with pipelined(session):
                Raw(session).executemany(_SETTING, [{"k": "pipe-a", "v": 1}])
                assert session.connection().info.get(PIPELINE) is outer
            assert session.connection().info.get(PIPELINE) is outer  # the inner block did not end it
            assert _keys(session) == ["pipe-a"]
        session.rollback()
        assert _keys(session) == []


def test_many_rows_are_loaded_in_the_block_too(app):
    """Outside a block PostgreSQL loads more than a handful of rows with COPY, which pipeline mode
    refuses; inside, the same rows go as one pipelined insert (a large CALLBACK_BATCH_MAX)."""
    rows = [("PIPE", f"pipe-{n:03d}", 2026, n) for n in range(250)]
    with app.app_context():
        session = db.session
        with pipelined(session):
            Raw(session).copy_rows("receipt_counters", ["form", "series", "year", "last_number"], rows)
            assert len(_keys(session)) == 250
        Raw(session).copy_rows("receipt_counters", ["form", "series", "year", "last_number"],
                               [("PIPE", f"pipe-x{n:03d}", 2026, n) for n in range(150)])  # COPY, out of the block
        session.commit()
        assert len(_keys(session)) == 400
        assert session.scalar(text("SELECT sum(last_number) FROM receipt_counters WHERE form = 'PIPE'")) == \
            sum(range(250)) + sum(range(150))
