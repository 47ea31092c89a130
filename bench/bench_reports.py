"""The report dashboard's queries over a year of dossiers, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_reports.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]
                                            [--repeat 5]

For each backend and size: a fresh database migrated by Alembic, the agencies and the fee
catalogue seeded, then N dossiers over the 12 months December 2025 – November 2026 with their
charges, payment requests, bank transactions, cash payments, allocations (portal, gateway,
counter transfer, card, cash), a few refunds, receipts, exceptions and daily closes — all
written with bulk inserts (Core ``insert`` executemany), behind the ORM's back, so the
reports' tables are then filled by ``reports.facts.rebuild`` (timed: what ``flask report
rebuild`` costs) and ``ANALYZE`` is run.

Then each query the dashboard makes for the month of November 2026 (about N/12 dossiers) is
timed ``--repeat`` times after one warm-up, as the page calls it (one session, reading the
maintained tables), plus the whole dashboard page through the Flask test client, plus — for
comparison only — the online payment rate computed directly from the base tables, and the cost
of keeping one dossier's row in step (what every paying transaction adds at its commit).
Prints a Markdown table: median and worst milliseconds per query, backend and size.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import command  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app import create_app  # noqa: E402
from core.cli import alembic_config  # noqa: E402
from core.db import db  # noqa: E402
from payments.agencies import seed_agencies  # noqa: E402
from payments.catalogue import seed_catalogue  # noqa: E402
from payments.receipts import series_of  # noqa: E402
from payments.models import (Agency, CollectionAccount, Dossier, DossierCharge, FeeItem, PaymentRequest,  # noqa: E402
                             Procedure, Receipt)
from reconciliation.models import (Allocation, BankTransaction, CashPayment, DailyClose, ReconException,  # noqa: E402
                                   Refund)
from tests.pg import TempPostgres  # noqa: E402

UTC = timezone.utc
ICT = timezone(timedelta(hours=7))
START = datetime(2025, 12, 1, tzinfo=ICT)
DAYS = 365
CHUNK = 20_000


# --- data -------------------------------------------------------------------------------------------


def _reference(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = ""
    for _ in range(9):
        n, r = divmod(n, 32)
        out = alphabet[r] + out
    return "HS" + out + "0"


class Loader:
    """Writes the rows in chunks through one connection, Core insert executemany."""

    def __init__(self, conn, dialect: str) -> None:
        self.conn, self.dialect = conn, dialect
        self.buffers: dict = {}
        self.rows = 0

    def add(self, table, row: dict) -> None:
        buffer = self.buffers.setdefault(table, [])
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Every buffer, parents first (the order the tables were first added in)."""
        for t in list(self.buffers):
            rows = self.buffers.get(t)
            if rows:
                self.conn.execute(t.insert(), rows)
                self.rows += len(rows)
                self.buffers[t] = []


def _when(value: datetime, _dialect: str):
    return value.astimezone(UTC)  # core.types.UTCDateTime stores it as each database wants


def generate(app, n: int, seed: int = 20261130) -> dict:
    rng = random.Random(seed)
    started = time.perf_counter()
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session, lambda _: None)
        session.commit()
        agencies = [a for a in session.scalars(select(Agency)) if a.kind != "district"]
        accounts = {}
        for a in session.scalars(select(CollectionAccount).where(CollectionAccount.is_default.is_(True))):
            accounts[a.agency_id] = a
        agencies = [a for a in agencies if a.id in accounts]
        procedures = list(session.scalars(select(Procedure)))
        fees = {p.id: [f for f in session.scalars(select(FeeItem).where(FeeItem.procedure_id == p.id))]
                for p in procedures}
        dialect = db.engine.dialect.name
        engine = db.engine
    weights = [5 if a.kind in ("ward", "commune") else 8 for a in agencies]
    tables = {name: model.__table__ for name, model in (  # parents before children
        ("d", Dossier), ("c", DossierCharge), ("r", PaymentRequest), ("t", BankTransaction), ("cash", CashPayment),
        ("a", Allocation), ("refund", Refund), ("receipt", Receipt), ("e", ReconException), ("close", DailyClose))}
    counters = {"receipt": {}, "bank_ref": 0}
    from sqlalchemy import event

    def no_sync(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    if dialect == "sqlite":  # a bulk load needs no fsync per chunk; FULL again afterwards
        event.listen(engine, "connect", no_sync)
        engine.dispose()
    with engine.begin() as conn:
        load = Loader(conn, dialect)
        for name in ("d", "c", "r", "t", "cash", "a", "receipt", "e", "close"):
            load.buffers[tables[name]] = []
        ids = {"d": 0, "c": 0, "r": 0, "t": 0, "cash": 0, "a": 0, "receipt": 0}
        booked_days = set()
        for i in range(n):
            ids["d"] += 1
            dossier_id = ids["d"]
            agency = rng.choices(agencies, weights)[0]
            procedure = rng.choice(procedures)
            submitted = START + timedelta(seconds=int(DAYS * 86400 * i / n) + rng.randint(0, 3600))
            channel = rng.choices(("online", "counter", "post"), (55, 43, 2))[0]
            status = rng.choices(("accepted", "in_progress", "done", "result_delivered", "withdrawn", "rejected",
                                  "submitted"), (30, 20, 20, 24, 2, 2, 2))[0]
            items = [f for f in fees[procedure.id] if f.payer_class in ("any", "individual_ward")][:2] or []
            charges = []
            for f in items:
                amount = 0 if f.exempt_always else (f.amount if f.amount is not None else rng.choice(
                    (1_500_000, 3_000_000, 12_500_000)))
                if rng.random() < 0.08 or (channel == "online" and f.online_free_from and rng.random() < 0.5):
                    amount = 0  # exempt payer, or free online
                charges.append((f, amount))
            due = sum(a for _, a in charges)
            paid = 0
            pay = None
            if due > 0 and status != "submitted" and rng.random() < 0.82:
                if channel == "online":
                    pay = rng.choices(("gateway", "portal"), (65, 35))[0]
                else:
                    pay = rng.choices(("counter_transfer", "cash", "card"), (55, 35, 10))[0]
                paid = due
            load.add(tables["d"], {
                "id": dossier_id, "code": f"B{dossier_id:09d}", "code_key": f"B{dossier_id:09d}", "portal_code": None,
                "portal_code_key": None, "procedure_id": procedure.id, "agency_id": agency.id,
                "applicant_name": "Nguyễn Văn Bench", "payer_class": "individual_ward", "channel": channel,
                "submitted_at": _when(submitted, dialect), "parameters": {}, "status": status, "amount_due": due,
                "amount_paid": paid, "created_at": _when(submitted, dialect), "created_by": "bench"})
            for f, amount in charges:
                ids["c"] += 1
                load.add(tables["c"], {"id": ids["c"], "dossier_id": dossier_id, "fee_code": f.code, "name": f.name,
                                       "kind": f.kind, "amount": amount, "legal_basis": "", "detail": ""})
            account = accounts[agency.id]
            request_id = None
            requested = submitted + timedelta(minutes=rng.randint(1, 15))
            if due > 0 and rng.random() < 0.85:
                ids["r"] += 1
                request_id = ids["r"]
                load.add(tables["r"], {
                    "id": request_id, "reference": _reference(request_id), "token": f"tok{request_id:012d}",
                    "dossier_id": dossier_id, "account_id": account.id, "amount": due,
                    "amount_paid": due if pay else 0, "purpose": _reference(request_id), "qr_payload": "000201",
                    "status": "paid" if pay else "open", "expires_at": _when(requested + timedelta(days=2), dialect),
                    "created_at": _when(requested, dialect), "created_by": "bench", "version": 1})
            if not pay:
                continue
            moment = requested + timedelta(seconds=int(rng.expovariate(1 / 5400)))
            transaction_id = cash_id = None
            if pay == "cash":
                ids["cash"] += 1
                cash_id = ids["cash"]
                load.add(tables["cash"], {
                    "id": cash_id, "dossier_id": dossier_id, "agency_id": agency.id, "amount": due,
                    "amount_tendered": due, "receipt_number": f"PT{cash_id}", "received_at": _when(moment, dialect),
                    "received_on": moment.astimezone(ICT).date(), "clerk_username": "motcua", "clerk_name": "Bench"})
            else:
                ids["t"] += 1
                transaction_id = ids["t"]
                day = moment.astimezone(ICT).date()
                booked_days.add((account.id, account.number, day))
                load.add(tables["t"], {
                    "id": transaction_id, "bank_bin": account.bank_bin, "account_number": account.number,
                    "bank_ref": f"FT{transaction_id:012d}", "account_id": account.id, "direction": "in", "amount": due,
                    "booked_at": _when(moment, dialect), "booked_on": day, "content": f"B{dossier_id:09d}",
                    "channels": "portal" if pay == "portal" else "sepay", "first_channel": "portal" if pay == "portal"
                    else "sepay", "reversal": False, "pending": False, "on_statement": True, "synthetic_ref": False,
                    "status": "matched", "allocated": due, "created_at": _when(moment, dialect)})
            ids["a"] += 1
            load.add(tables["a"], {
                "id": ids["a"], "transaction_id": transaction_id, "cash_payment_id": cash_id, "dossier_id": dossier_id,
                "payment_request_id": request_id, "amount": due, "payment_channel": pay, "rule": "bench",
                "confidence": 1.0, "created_at": _when(moment, dialect), "created_by": "bench"})
            for kind in ("le_phi", "phi"):
                lines = [{"name": f.name, "amount": a, "legal_basis": "", "fee_code": f.code}
                         for f, a in charges if f.kind == kind and a > 0]
                if not lines:
                    continue
                ids["receipt"] += 1
                year = moment.astimezone(ICT).year
                form, series = series_of(agency, year)
                number = counters["receipt"].get((series, year), 0) + 1
                counters["receipt"][(series, year)] = number
                load.add(tables["receipt"], {
                    "id": ids["receipt"], "agency_id": agency.id, "dossier_id": dossier_id,
                    "form": form, "series": series, "year": year, "number": number,
                    "kind": kind, "payer_name": "Nguyễn Văn Bench", "lines": lines,
                    "amount": sum(x["amount"] for x in lines), "payment_channel": pay,
                    "lookup_token": f"rc{ids['receipt']:012d}", "issued_at": _when(moment, dialect),
                    "issued_by": "system", "status": "issued"})
        load.flush()
        # Exceptions (about one per 200 dossiers), some open, some settled late; daily closes for most days.
        today = (START + timedelta(days=DAYS)).date()
        account_list = list(accounts.values())
        for k in range(max(10, n // 200)):
            created = START + timedelta(days=rng.uniform(0, DAYS))
            deadline = created.astimezone(ICT).date() + timedelta(days=3)
            open_ = rng.random() < 0.15
            resolved = None if open_ else created + timedelta(days=rng.choice((0.5, 1, 2, 5)))
            load.add(tables["e"], {
                "id": k + 1, "reason": rng.choice(("unknown_reference", "amount_mismatch", "overpaid")),
                "status": "open" if open_ else "resolved", "account_id": rng.choice(account_list).id,
                "amount": rng.randint(1, 50) * 10_000, "detail": "", "suggestions": [], "deadline": deadline,
                "created_at": _when(created, dialect), "resolved_at": _when(resolved, dialect) if resolved else None})
        for k, (account_id, _number, day) in enumerate(sorted(booked_days)):
            if day >= today - timedelta(days=1) or rng.random() < 0.03:
                continue  # not closed (yet)
            closed = datetime.combine(day + timedelta(days=rng.choice((1, 1, 1, 3))), datetime.min.time(), ICT) \
                + timedelta(hours=9)
            load.add(tables["close"], {"id": k + 1, "account_id": account_id, "day": day, "status": "closed",
                                       "figures": {}, "blocking": [], "closed_at": _when(closed, dialect),
                                       "version": 1})
        load.flush()
        if dialect == "postgresql":  # the ids were given: move the sequences past them
            for name in ("dossiers", "dossier_charges", "payment_requests", "bank_transactions", "cash_payments",
                         "allocations", "receipts", "exceptions", "daily_closes"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"COALESCE((SELECT MAX(id) FROM {name}), 1))")
    if dialect == "sqlite":
        event.remove(engine, "connect", no_sync)
        engine.dispose()
    return {"rows": load.rows, "seconds": time.perf_counter() - started}


# --- timing -----------------------------------------------------------------------------------------------


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    values = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        values.append((time.perf_counter() - start) * 1000)
    return statistics.median(values), max(values)


def run(url: str, n: int, repeat: int, workdir: str) -> tuple[dict, list[tuple[str, float, float]]]:
    from reports.definitions import Period
    from reports.facts import rebuild, refresh_dossiers
    from reports.indicators import breakdown, dossiers_behind, online_payment_rate, summary, trend
    from reports.operations import backlog, collections, payment_times

    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": workdir,
                      "TESTING": True, "WTF_CSRF_ENABLED": False})
    info = generate(app, n)
    results: list[tuple[str, float, float]] = []
    with app.app_context():
        session = db.session
        start = time.perf_counter()
        outcome = rebuild(session)
        session.commit()
        info["rebuild_s"] = time.perf_counter() - start
        info["facts"], info["receipt_lines"] = outcome.dossiers, outcome.receipt_lines
        session.execute(text("ANALYZE"))
        session.commit()
        month = Period.month(2026, 11)
        today = date(2026, 12, 1)
        some_agency = session.scalar(select(Agency.code).where(Agency.code == "P-HOANKIEM"))
        ids = [r[0] for r in session.execute(select(Dossier.id).order_by(Dossier.id.desc()).limit(200))]
        cases = [
            ("indicators of the month (3.5, 3.5b, 3.6, cashless)", lambda: summary(session, month)),
            ("by agency (ranking)", lambda: breakdown(session, month, "agency")),
            ("by channel", lambda: breakdown(session, month, "channel")),
            ("trend, 12 months", lambda: trend(session, month.end)),
            ("payment times", lambda: payment_times(session, month)),
            ("backlog per unit", lambda: backlog(session, month, today)),
            ("money by agency per day", lambda: collections(session, month, "agency", "day")),
            ("drill-down, first page", lambda: dossiers_behind(session, month, "paid_online", "agency", some_agency)),
            ("(direct from base tables) 3.6 by agency", lambda: online_payment_rate(session, month, "agency",
                                                                                    direct=True)),
        ]
        for name, fn in cases:
            median, worst = timed(lambda: (fn(), session.rollback()), repeat)
            results.append((name, median, worst))
        rows = iter(ids)

        def keep_one_in_step():
            refresh_dossiers(session, [next(rows)])
            session.commit()

        median, worst = timed(keep_one_in_step, min(repeat * 4, 100))
        results.append(("keeping one dossier's row in step (per commit)", median, worst))
        from core.users import User

        user = User(username="giamsat", full_name="Giám sát", role="supervisor")
        user.set_password("bench-password-2026")
        session.add(user)
        session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": "giamsat", "password": "bench-password-2026"})
    assert response.status_code == 302, response.status_code

    def page():
        response = client.get("/reports/?month=2026-11&group=field")
        assert response.status_code == 200

    median, worst = timed(page, repeat)
    results.append(("the dashboard page, end to end", median, worst))
    app.extensions["database"].engine.dispose()
    return info, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print("# Report dashboard queries — the month of November 2026 in a year of dossiers")
    print(f"# Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print()
    table: dict = {}
    loads = []
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            with tempfile.TemporaryDirectory(prefix="bench-reports-") as workdir:
                server = None
                if backend == "sqlite":
                    url = f"sqlite:///{workdir}/bench.db"
                else:
                    server = TempPostgres(durable=True)
                    server.start()
                    url = server.url("postgres")
                try:
                    info, results = run(url, size, args.repeat, workdir)
                finally:
                    if server:
                        server.stop()
            loads.append((backend, size, info))
            for name, median, worst in results:
                table.setdefault(name, {})[(backend, size)] = (median, worst)
            print(f"# {backend} {size:,}: {info['rows']:,} rows loaded in {info['seconds']:.0f} s; "
                  f"reports' tables rebuilt in {info['rebuild_s']:.1f} s ({info['facts']:,} dossiers, "
                  f"{info['receipt_lines']:,} receipt lines)", flush=True)
    columns = sorted({key for row in table.values() for key in row}, key=lambda k: (k[0] != "sqlite", k[1]))
    print()
    print("| query (ms, median / worst) | " + " | ".join(f"{b} {s:,}" for b, s in columns) + " |")
    print("| --- | " + " | ".join("---:" for _ in columns) + " |")
    for name, row in table.items():
        cells = [f"{row[c][0]:.0f} / {row[c][1]:.0f}" if c in row else "" for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"loads": [(b, s, i) for b, s, i in loads],
                                               "results": {k: {f"{b} {s}": v for (b, s), v in row.items()}
                                                           for k, row in table.items()}}, indent=2, default=str))


if __name__ == "__main__":
    main()
