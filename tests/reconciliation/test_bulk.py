"""The statement run's bulk matching leaves exactly the state that matching one transfer at a
time leaves (SQLite and PostgreSQL): same allocations, sums, states, histories, exceptions,
receipts and events, on a day with every kind of transfer."""
from __future__ import annotations

import random
import shutil
from contextlib import contextmanager
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import create_engine, event, select, text

from app import create_app
from bank_adapters.transfers import IN, BankTransfer
from core.audit import verify
from core.clock import utcnow
from core.db import db
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.requests import cancel_request
from qr.vietqr import decode
from reconciliation.matching.bulk import match_many
from reconciliation.models import BankTransaction
from reconciliation.matching.reconcile import match_transaction
from reconciliation.inbound.transactions import record_transfer

from .conftest import make_dossier


def build_day(session, rng: random.Random) -> None:
    from payments.requests import create_payment_request

    requests = []
    for i in range(40):
        dossier = make_dossier(session, amount=rng.choice([8000, 28000, 100000]),
                               channel=rng.choice(["online", "counter"]),
                               code=f"000.00.12.H26-261125-{i:04d}")
        requests.append(create_payment_request(session, dossier, "test"))
        if i % 7 == 0:  # a second, smaller request on some dossiers
            session.flush()
    session.flush()
    cancel_request(session, requests[3], "sai", "test")
    now = utcnow() - timedelta(hours=2)

    def transfer(n: int, request, amount: int, content: str) -> BankTransfer:
        qr = decode(request.qr_payload)
        return BankTransfer(account=qr.account, bank_ref=f"FTBULK{n:06d}", amount=amount, direction=IN,
                            booked_at=now + timedelta(seconds=n), content=content, bank_bin=qr.bin)

    n = 0
    for i, request in enumerate(requests):
        n += 1
        kind = i % 9
        if kind == 0:
            t = transfer(n, request, request.amount, f"MBVCB.123.{request.reference}.CT tu 0011 NGUYEN VAN A")
        elif kind == 1:
            t = transfer(n, request, request.amount // 2, f"IBFT {request.reference}")
        elif kind == 2:
            t = transfer(n, request, request.amount + 5000, f"QR - {request.reference}")
        elif kind == 3:
            other = requests[(i + 1) % len(requests)]
            t = transfer(n, request, request.amount + other.amount, f"{request.reference} {other.reference}")
        elif kind == 4:
            damaged = request.reference[:-1] + ("2" if request.reference[-1] != "2" else "3")
            t = transfer(n, request, request.amount, f"IBFT {damaged}")
        elif kind == 5:
            t = transfer(n, request, 12345, "CHUYEN TIEN")
        elif kind == 6:
            t = transfer(n, request, request.amount, f"THANH TOAN HO SO {request.dossier.code}")
        elif kind == 7:  # paid twice
            record_transfer(session, transfer(n, request, request.amount, request.reference), "statement")
            n += 1
            t = transfer(n, request, request.amount, f"{request.reference} LAN 2")
        else:
            t = transfer(n, request, request.amount, f"{request.reference.lower()} le phi")
        record_transfer(session, t, "statement")
    session.commit()


def state(url: str, instance) -> dict:
    engine = create_engine(url)
    queries = {
        "allocations": "SELECT transaction_id, dossier_id, payment_request_id, amount, payment_channel, rule, "
                       "confidence FROM allocations ORDER BY transaction_id, dossier_id, amount",
        "transactions": "SELECT id, allocated, status FROM bank_transactions ORDER BY id",
        "requests": "SELECT id, amount_paid, status, cancel_reason FROM payment_requests ORDER BY id",
        "dossiers": "SELECT id, amount_paid FROM dossiers ORDER BY id",
        "decisions": "SELECT transaction_id, rule, outcome, confidence FROM match_decisions ORDER BY transaction_id",
        "exceptions": "SELECT transaction_id, reason, status, amount, dossier_id, payment_request_id "
                      "FROM exceptions ORDER BY transaction_id, reason",
        "receipts": "SELECT dossier_id, kind, number, amount, status FROM receipts ORDER BY dossier_id, kind",
        "events": "SELECT request_id, action, from_status, to_status FROM payment_request_events "
                  "ORDER BY request_id, id",
        "outbox": "SELECT dossier_code, event_type FROM outbox_events ORDER BY id",
    }
    with engine.connect() as conn:
        found = {name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in queries.items()}
    engine.dispose()
    return found


def copy_database(url: str, request, tmp_path) -> str:
    if url.startswith("sqlite"):
        copy = tmp_path / "bulk-copy.db"
        shutil.copyfile(url[len("sqlite:///"):], copy)
        return f"sqlite:///{copy}"
    server = request.getfixturevalue("postgres")
    name = url.split("@/", 1)[1].split("?")[0]
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \'{name}\' '
                          'AND pid <> pg_backend_pid()'))
        conn.execute(text(f'CREATE DATABASE "{name}_copy" TEMPLATE "{name}"'))
    admin.dispose()
    return server.url(f"{name}_copy")


@pytest.mark.parametrize("chunk", [17, 5])
def test_bulk_and_one_at_a_time_agree(database_url, request, tmp_path, monkeypatch, chunk):
    """Chunks of 17 split pairs of transfers of one request; chunks of 5 also put them in
    chunks that two connections decide at once on PostgreSQL (``bulk._in_parallel``)."""
    import threading

    from reconciliation.matching import bulk

    workers = set()
    real = bulk._committed

    def committed(*args, **kwargs):
        workers.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "_committed", committed)
    setup = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "a")})
    with setup.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        db.session.commit()
        build_day(db.session, random.Random(766))
        ids = list(db.session.scalars(select(BankTransaction.id).order_by(BankTransaction.id)))
    setup.extensions["database"].engine.dispose()
    other_url = copy_database(database_url, request, tmp_path)

    one = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "b")})
    with one.app_context():
        for transaction_id in ids:
            match_transaction(db.session, db.session.get(BankTransaction, transaction_id), actor="rule:statement_run")
            db.session.commit()
    one.extensions["database"].engine.dispose()
    many = create_app({"TESTING": True, "DATABASE_URL": other_url, "INSTANCE_PATH": str(tmp_path / "c")})
    with many.app_context():
        counts = match_many(db.session, ids, chunk=chunk)
        assert verify(db.session).ok
        from reports.facts import check

        assert check(db.session).ok  # the reports' rows follow the bulk path's plain SQL
    many.extensions["database"].engine.dispose()
    assert sum(counts.values()) == len(ids)
    single, bulk = state(database_url, one), state(other_url, many)
    for name in single:
        assert bulk[name] == single[name], name
    assert len(single["allocations"]) > 20 and len(single["exceptions"]) > 10 and single["receipts"]
    assert len(workers) == (2 if database_url.startswith("postgresql") else 1), workers


@contextmanager
def analyses(engine):
    """Every ``ANALYZE`` statement run on ``engine`` while the block runs."""
    seen: list[str] = []

    def note(_conn, _cursor, sql, *_args):
        if sql.startswith("ANALYZE"):
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_postgresql_statistics_are_refreshed_as_the_decisions_double(database_url, tmp_path):
    """A run refreshes the planner's statistics when it has decided as many lines as the
    planner knew decisions: after chunks 1, 2, 4, 8, not after every chunk. Unmatched lines
    write no allocation, and counting allocations had a run of them analysed after every chunk
    (200 times at a million lines)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no planner statistics to refresh")
    from payments.models import CollectionAccount

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        seed_agencies(db.session, lambda _: None)
        db.session.commit()
        account = db.session.scalars(select(CollectionAccount).order_by(CollectionAccount.id)).first()
        now = utcnow() - timedelta(hours=1)
        ids = [record_transfer(db.session, BankTransfer(account=account.number, bank_ref=f"FTSTAT{n:04d}", amount=50000,
                                                        direction=IN, booked_at=now + timedelta(seconds=n),
                                                        content=f"CHUYEN TIEN LAN {n}", bank_bin=account.bank_bin),
                               "statement").transaction.id for n in range(40)]
        db.session.commit()
        with analyses(db.session.get_bind()) as analysed:
            counts = match_many(db.session, ids, chunk=5)  # 8 chunks, none matched
        assert sum(counts.values()) == 40 and not db.session.scalar(text("SELECT count(*) FROM allocations"))
    app.extensions["database"].engine.dispose()
    assert len(analysed) == 4, analysed


def test_postgresql_a_large_import_has_its_tables_analysed_before_matching(database_url, tmp_path):
    """The matching after an import starts with a join of the tables the import has just grown;
    planned from statistics that did not know the new lines, it ran for more than ten minutes
    after a million-line import. An import of at least ``STATISTICS_FROM`` new lines that is a
    tenth of what the planner knew has them analysed first; a small one on a large table does not."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no planner statistics to refresh")
    import io

    from core.clock import ICT, ict_day
    from payments.models import CollectionAccount
    from reconciliation.inbound.statement_import import STATISTICS_FROM, import_statement
    from simulator.statement_files import write_statement

    refresh = "ANALYZE bank_transactions, statement_lines, statements"
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        seed_agencies(db.session, lambda _: None)
        db.session.commit()
        account = db.session.scalars(select(CollectionAccount).order_by(CollectionAccount.id)).first()
        day = ict_day(utcnow()) - timedelta(days=1)
        start = datetime.combine(day, time(1), tzinfo=ICT)

        def statement(first: int, count: int) -> io.BytesIO:
            out = io.BytesIO()
            write_statement("csv", out, account=account.number, bank_bin=account.bank_bin, day_from=day, day_to=day,
                            opening_balance=0, transfers=[
                                BankTransfer(account=account.number, bank_ref=f"FTSIZE{n:06d}", amount=50000,
                                             direction=IN, booked_at=start + timedelta(seconds=n),
                                             content=f"CHUYEN TIEN LAN {n}", bank_bin=account.bank_bin)
                                for n in range(first, first + count)])
            out.seek(0)
            return out

        with analyses(db.session.get_bind()) as analysed:
            large = import_statement(db.session, statement(0, STATISTICS_FROM), filename="large.csv", actor="test")
            after_large = list(analysed)
            small = import_statement(db.session, statement(STATISTICS_FROM, 20), filename="small.csv", actor="test")
        assert (large.new_transactions, small.new_transactions) == (STATISTICS_FROM, 20)
    app.extensions["database"].engine.dispose()
    assert after_large.count(refresh) == 1
    assert analysed.count(refresh) == 1  # the small import on the analysed table: none


@contextmanager
def _postgresql_session(database_url, tmp_path):
    """A session on the test's PostgreSQL database (SQLite has one writer at a time: no deadlock
    between writers, and statement runs stay on one connection)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: two writers at once")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    try:
        with app.app_context():
            yield db.session
    finally:
        app.extensions["database"].engine.dispose()


def _deadlock(sql: str):
    """What psycopg raises for the victim of a deadlock, as SQLAlchemy hands it on."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    return OperationalError(sql, {}, psycopg.errors.DeadlockDetected("deadlock detected"))


def test_a_chunk_that_loses_a_deadlock_is_rolled_back_and_decided_again(database_url, tmp_path):
    """PostgreSQL picks one transaction of a deadlock to fail (a run and the callbacks locking
    one dossier from two sides): the chunk's work is rolled back whole and done again, once;
    any other error is raised as it is."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from reconciliation.matching import bulk

    with _postgresql_session(database_url, tmp_path) as session:
        session.execute(text("CREATE TABLE attempts (n integer)"))
        session.commit()
        tries = []

        def one(worker, part, decided=None):
            tries.append(len(part))
            worker.execute(text("INSERT INTO attempts VALUES (:n)"), {"n": len(tries)})
            if len(tries) == 1:
                raise _deadlock("UPDATE dossiers ...")
            return {"matched": len(part)}

        assert bulk._committed(session, [1, 2, 3], one) == {"matched": 3}
        assert tries == [3, 3]
        assert session.scalars(text("SELECT n FROM attempts")).all() == [2]  # the first attempt left nothing

        def broken(worker, part, decided=None):
            worker.execute(text("INSERT INTO attempts VALUES (99)"))
            raise OperationalError("SELECT 1", {}, psycopg.errors.UndefinedTable("no such table"))

        with pytest.raises(OperationalError):
            bulk._committed(session, [1], broken)
        assert session.scalars(text("SELECT n FROM attempts")).all() == [2]


def test_a_chunk_redone_after_it_decided_makes_the_next_one_redo_too(database_url, tmp_path):
    """Two connections, in turn: a chunk that has decided lets the next one decide (and lock what
    it reads). If the first then loses a deadlock while writing and is done again, it needs what
    the next one now holds while the next one waits for its commit: the next one must let go and
    decide again after that commit, or both wait for ever (here: a lock timeout)."""
    import time as clock

    from reconciliation.matching import bulk

    with _postgresql_session(database_url, tmp_path) as session:
        session.execute(text("CREATE TABLE shared (id integer PRIMARY KEY, chunks text NOT NULL DEFAULT '')"))
        session.execute(text("INSERT INTO shared VALUES (1, '')"))
        session.commit()
        attempts: list[int] = []

        def one(worker, part, decided=None):
            chunk = part[0]
            attempts.append(chunk)
            worker.execute(text("SET LOCAL lock_timeout = '5s'"))
            # Deciding: every chunk reads (and locks) the one row its dossier would be.
            worker.execute(text("SELECT chunks FROM shared WHERE id = 1 FOR UPDATE"))
            if decided is not None:
                decided()
            worker.execute(text("UPDATE shared SET chunks = chunks || :c WHERE id = 1"), {"c": f"{chunk},"})
            if chunk == 1 and attempts.count(1) == 1:
                clock.sleep(0.5)  # the next chunk is queued on the row by now
                raise _deadlock("INSERT INTO receipts ...")
            return {"matched": 1}

        parts = bulk._Parts([0, 1, 2, 3, 4], 1)
        assert bulk._in_parallel(session, parts, one) == {"matched": 5}
        # Each chunk written once, in the bank's order; chunk 1 twice attempted, chunk 2 maybe too.
        assert session.scalar(text("SELECT chunks FROM shared WHERE id = 1")) == "0,1,2,3,4,"
        assert attempts.count(1) == 2
