"""A statement read by a process of its own (``statement_reading``) gives what it gives read
here: the same events for every fixture file and every MT940 of the public corpus, the same
refusal for a bad one, and, imported, the same rows on SQLite and PostgreSQL. A reader that
dies leaves no import behind."""
from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from bank_adapters.statements import StatementError, detect_format
from core.db import db
from core.refusals import Refusal
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from reconciliation.inbound import statement_reading
from reconciliation.inbound.statement_import import import_statement
from reconciliation.models import BankTransaction, Statement, StatementImport, StatementLine

from .test_statement_limits import BIG, api_upload, counts, finance, statement  # noqa: F401

FIXTURES = Path(__file__).parents[1] / "bank_adapters" / "fixtures" / "statements"
CORPUS = Path(__file__).parents[1] / "bank_adapters" / "data" / "mt940"


def statement_files() -> list[Path]:
    files = [p for p in sorted(FIXTURES.iterdir()) if p.suffix != ".py"]
    files += [p for p in sorted(CORPUS.iterdir()) if p.suffix != ".md"]
    readable = []
    for path in files:
        try:
            detect_format(path.read_bytes()[:65536])
        except StatementError:
            continue  # not a statement at all: refused before any reader runs
        readable.append(path)
    return readable


@pytest.fixture
def in_process(monkeypatch):
    """Every file, however small, read by a child process; the children counted."""
    started = []
    real = statement_reading._from_child

    def counted(*args):
        started.append(args)
        return real(*args)

    monkeypatch.setattr(statement_reading, "PROCESS_FROM", 0)
    monkeypatch.setattr(statement_reading, "_from_child", counted)
    return started


def outcome(read) -> tuple:
    try:
        return "read", [item for _position, items in read() for item in items]
    except Exception as exc:  # noqa: BLE001 - the refusal itself is what is compared
        return "refused", type(exc).__name__, str(exc), dict(vars(exc))


@pytest.mark.parametrize("postgresql", [False, True], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize("path", statement_files(), ids=lambda p: p.name)
def test_a_file_read_by_a_process_of_its_own_gives_the_same_events_or_refusal(path, postgresql, in_process):
    fmt = detect_format(path.read_bytes()[:65536])
    with path.open("rb") as here:
        expected = outcome(lambda: list(statement_reading._batches(here, fmt, postgresql)))
    with path.open("rb") as there:
        got = outcome(lambda: list(statement_reading.read_lines(there, fmt, path.stat().st_size,
                                                                postgresql=postgresql)))
        assert there.tell() == 0  # left at its start, for whoever reads it next
    assert len(in_process) == 1
    assert got == expected


def test_a_large_file_comes_in_batches_in_file_order(in_process, tmp_path):
    data = statement("csv", [1000 + i for i in range(5000)])
    (tmp_path / "big.csv").write_bytes(data)
    with (tmp_path / "big.csv").open("rb") as handle:
        batches = list(statement_reading.read_lines(handle, "csv", len(data), postgresql=False))
    lines = [item for _, items in batches for item in items if type(item) is tuple]
    assert len(batches) >= 3 and [line[3] for line in lines] == [1000 + i for i in range(5000)]
    assert batches[-1][0] == len(data)  # the reader's position reached the end


def snapshot(session) -> dict:
    """What an import stored, without ids and clocks."""
    session.rollback()
    t = BankTransaction
    refs = dict(session.execute(select(t.id, t.bank_ref)).all())
    transactions = sorted(
        (row.bank_ref, row.bank_bin, row.account_number, row.direction, row.amount,
         row.booked_at.replace(tzinfo=None).isoformat(), row.booked_on, row.value_date, row.content,
         row.counter_account, row.counter_name, row.counter_bank, row.virtual_account, row.reversal, row.pending,
         row.synthetic_ref, row.on_statement, row.channels, row.status, refs.get(row.reversal_of_id))
        for row in session.scalars(select(t)))
    sections = {s.id: s.section_index for s in session.scalars(select(Statement))}
    lines = sorted((sections[line.statement_id], line.line_no, refs[line.transaction_id], line.booking_date,
                    line.amount, line.direction, line.pending, line.is_new, line.differs)
                   for line in session.scalars(select(StatementLine)))
    statements = sorted((s.section_index, s.account_number, s.opening_balance, s.closing_balance, s.credits,
                         s.debits, s.entries, s.pending_entries, s.balance_ok, s.balance_message)
                        for s in session.scalars(select(Statement)))
    imports = [(i.format, i.entries, i.lines_done, i.new_transactions, i.known_transactions, i.balance_ok, i.status)
               for i in session.scalars(select(StatementImport))]
    return {"transactions": transactions, "lines": lines, "statements": statements, "imports": imports}


def read_here(tmp_path, sqlite_template, data: bytes, name: str) -> dict:
    """The same file imported in a database of its own, read in this process (an in-memory stream)."""
    path = tmp_path / "read-here.db"
    shutil.copyfile(sqlite_template, path)
    other = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "test",
                        "INSTANCE_PATH": str(tmp_path / "read-here")})
    try:
        with other.app_context():
            session = db.Session()
            seed_agencies(session, lambda _: None)
            seed_catalogue(session, lambda _: None)
            session.commit()
            import_statement(session, io.BytesIO(data), filename=name, actor="test")
            rows = snapshot(session)
            session.close()
    finally:
        other.extensions["database"].engine.dispose()
    return rows


@pytest.mark.parametrize("name", ["mt940_two_blocks.sta", "two_accounts.csv", "vcb_en_noref.csv",
                                  "camt053_001_02.xml", "bidv.xlsx"])
def test_a_file_imported_through_a_reader_process_stores_what_one_read_here_stores(
        client, seeded, finance, in_process, tmp_path, sqlite_template, name):  # noqa: F811
    data = (FIXTURES / name).read_bytes()
    response = api_upload(client, finance, data, name)  # the API spools the upload to a file
    assert response.status_code == 201, response.get_json()
    assert len(in_process) == 1
    got = snapshot(seeded)
    assert got["transactions"] and got["lines"]
    assert got == read_here(tmp_path, sqlite_template, data, name)


@pytest.mark.parametrize("fmt", ["camt053", "mt940", "csv"])
def test_a_refusal_found_by_the_reader_process_is_the_refusal_found_here(client, seeded, finance, monkeypatch,
                                                                        fmt):  # noqa: F811
    bad = statement(fmt, [8000, BIG[1], 5000])
    here = api_upload(client, finance, bad, f"s.{fmt}")
    started = []
    real = statement_reading._from_child
    monkeypatch.setattr(statement_reading, "PROCESS_FROM", 0)
    monkeypatch.setattr(statement_reading, "_from_child", lambda *a: started.append(a) or real(*a))
    there = api_upload(client, finance, bad, f"s.{fmt}")
    assert started and there.status_code == here.status_code == 422
    assert there.get_json() == here.get_json()
    assert there.get_json()["code"] == Refusal.STATEMENT_AMOUNT_OUT_OF_RANGE
    assert counts(seeded) == (0, 0, 0, 0)


def test_a_reader_process_that_dies_leaves_no_import_behind(seeded, in_process, monkeypatch, tmp_path):
    monkeypatch.setattr(statement_reading, "reader_command",
                        lambda *_: [sys.executable, "-c", "import sys; sys.exit(3)"])
    path = tmp_path / "s.csv"
    path.write_bytes(statement("csv", [8000, 9000]))
    with path.open("rb") as handle, pytest.raises(RuntimeError, match=r"stopped before the end .*exit code 3"):
        import_statement(seeded, handle, filename="s.csv", actor="test")
    assert counts(seeded) == (0, 0, 0, 0)
    monkeypatch.undo()
    with path.open("rb") as handle:
        summary = import_statement(seeded, handle, filename="s.csv", actor="test")
    assert summary.created and summary.new_transactions == 2
    assert seeded.scalar(select(func.count()).select_from(StatementLine)) == 2


def test_an_import_that_stops_reading_stops_the_reader_and_its_thread(in_process, tmp_path):
    import threading

    data = statement("csv", [1000 + i for i in range(20000)])
    (tmp_path / "big.csv").write_bytes(data)
    with (tmp_path / "big.csv").open("rb") as handle:
        batches = statement_reading.read_lines(handle, "csv", len(data), postgresql=False)
        next(batches)  # one batch, then the import fails (a database error while staging, say)
        batches.close()
        assert handle.tell() == 0
    assert not [t for t in threading.enumerate() if t.name == "statement-reader" and t.is_alive()]


def test_where_no_process_can_be_started_the_file_is_read_here(seeded, in_process, monkeypatch, tmp_path):
    monkeypatch.setattr(statement_reading, "reader_command", lambda *_: [str(tmp_path / "no-such-interpreter")])
    path = tmp_path / "s.csv"
    path.write_bytes(statement("csv", [8000, 9000, 10000]))
    with path.open("rb") as handle:
        summary = import_statement(seeded, handle, filename="s.csv", actor="test")
    assert len(in_process) == 1 and summary.created and summary.new_transactions == 3
    assert sorted(seeded.scalars(select(BankTransaction.amount))) == [8000, 9000, 10000]
