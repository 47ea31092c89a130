"""A statement run end to end: N statement lines against N open payment requests, on SQLite and
PostgreSQL, next to a bare SQL join of the same data.

    .venv/bin/python bench/bench_statement_run.py [--sizes 10000 100000 1000000] [--backends sqlite postgresql]

Set-up (not timed): a fresh migrated database with the reference data and N dossiers, each
with one open payment request on one collection account (bulk-inserted: references, tokens,
VietQR payloads made by the service's own functions); a CSV statement of that account's
day whose N lines pay them, with contents altered the way banks alter them (the
simulator's patterns; 2 % carry no reference, 1 % pay half), no callback having announced
any of them.

Timed, each in a fresh subprocess (peak memory is that process's):
- ``import``: ``import_statement`` (parse, one bank transaction and one statement line per line)
  and, since statements are matched on import, every line matched by the matcher, allocations,
  request and dossier sums and states with their history, exceptions, receipts, outbound events
  and the audit trail written (``reconciliation.matching.bulk``);
- ``run``: ``close.run_day`` for the account and day, which finds the lines matched already
  (figures, blocking items, the close);
- ``bare join``: the same lines' (reference, amount) loaded into a table, joined with
  ``payment_requests`` on the reference, and the matches persisted with ``INSERT ... SELECT``
  — the least any database-side reconciliation of this data must do.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

ACCOUNT, BIN, AGENCY = "105415039595", "970415", "HN-VPDKDD-CN02"
DAY = date(2026, 11, 25)


def setup(url: str, workdir: str, count: int) -> None:
    """The database and the statement file (not timed)."""
    from alembic import command
    from sqlalchemy import insert, select

    from app import create_app
    from simulator.contents import alter
    from simulator.statement_files import write_statement
    from bank_adapters.transfers import IN, BankTransfer
    from core.cli import alembic_config
    from core.clock import ICT
    from core.db import db
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue
    from payments.models import Agency, CollectionAccount, Dossier, DossierCharge, PaymentRequest, Procedure
    from payments.references import new_reference, purpose_for
    from qr.vietqr import encode_transfer

    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": workdir})
    rng = random.Random(766)
    lines = []
    with app.app_context():
        with db.transaction() as session:
            seed_agencies(session, lambda _: None)
            seed_catalogue(session, lambda _: None)
        session = db.Session()
        agency = session.scalar(select(Agency).where(Agency.code == AGENCY))
        account = session.scalar(select(CollectionAccount).where(CollectionAccount.number == ACCOUNT))
        procedure = session.scalar(select(Procedure).where(Procedure.code == "1.001193"))
        now = datetime(2026, 11, 24, 2, tzinfo=timezone.utc)
        expires = now + timedelta(days=30)
        issued: set[str] = set()
        for start in range(0, count, 20_000):
            size = min(20_000, count - start)
            dossiers, charges, requests = [], [], []
            for i in range(start, start + size):
                code = f"000.12.03.H26-261124-{i:07d}"
                amount = rng.choice([8000, 28000, 100_000, 1_528_000])
                dossiers.append({"id": i + 1, "code": code, "code_key": code.replace(".", "").replace("-", ""),
                                 "procedure_id": procedure.id, "agency_id": agency.id, "applicant_name": "Nguyễn Văn An",
                                 "channel": "counter", "submitted_at": now, "parameters": {}, "status": "accepted",
                                 "amount_due": amount, "amount_paid": 0, "created_at": now, "created_by": "bench"})
                charges.append({"dossier_id": i + 1, "name": "Lệ phí", "kind": "le_phi", "amount": amount,
                                "legal_basis": "bench", "detail": ""})
                reference = new_reference()
                while reference in issued:  # a million random references collide about one run in two
                    reference = new_reference()
                issued.add(reference)
                purpose = purpose_for(reference)
                requests.append({"id": i + 1, "reference": reference, "token": f"t{i:012d}{rng.random()}",
                                 "dossier_id": i + 1, "account_id": account.id, "amount": amount, "amount_paid": 0,
                                 "purpose": purpose, "qr_payload": encode_transfer(BIN, ACCOUNT, amount, purpose),
                                 "status": "open", "expires_at": expires, "created_at": now, "created_by": "bench",
                                 "version": 1})
                kind = rng.random()
                content = alter(purpose, "combo", rng)[0] if kind > 0.02 else "CHUYEN TIEN NOP PHI"
                paid = amount // 2 if 0.02 <= kind < 0.03 else amount
                lines.append((f"FT26329{i:09d}", paid, content))
            session.execute(insert(Dossier), dossiers)
            session.execute(insert(DossierCharge), charges)
            session.execute(insert(PaymentRequest), requests)
            session.commit()
        session.close()
    app.extensions["database"].engine.dispose()
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=ICT).astimezone(timezone.utc)
    step = 80_000 / max(count, 1)

    class Transfers:  # re-iterable: the writer goes over them twice
        def __iter__(self):
            for n, (ref, amount, content) in enumerate(lines):
                yield BankTransfer(account=ACCOUNT, bank_ref=ref, amount=amount, direction=IN,
                                   booked_at=start + timedelta(seconds=n * step), content=content)

    with open(Path(workdir) / "statement.csv", "wb") as out:
        write_statement("csv", out, account=ACCOUNT, bank_bin=BIN, day_from=DAY, day_to=DAY, opening_balance=0,
                        transfers=Transfers(), layout="vietcombank")
    with open(Path(workdir) / "pairs.json", "w") as out:  # the bare join's input: what a line names
        from payments.references import find_references

        json.dump([[ref, amount, (find_references(content)[0] or [None])[0]] for ref, amount, content in lines], out)


def timed(step: str, url: str, workdir: str) -> dict:
    from sqlalchemy import select, text

    from app import create_app
    from core.db import db
    from payments.models import CollectionAccount

    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": workdir})
    result = {}
    with app.app_context():
        session = db.Session()
        started = time.perf_counter()
        if step == "import":
            from fixtures import MatchingClock
            from reconciliation.inbound.statement_import import import_statement

            matching = MatchingClock()

            with open(Path(workdir) / "statement.csv", "rb") as handle:
                summary = import_statement(session, handle, filename="statement.csv", actor="bench")
            result["entries"] = summary.entries
            result["matching"] = matching.seconds
        elif step == "run":
            from reconciliation.workflow.close import run_day

            account = session.scalar(select(CollectionAccount).where(CollectionAccount.number == ACCOUNT))
            outcome = run_day(session, account, DAY, "bench")
            result["figures"] = {k: outcome.figures.get(k) for k in ("matched_count", "unmatched_count",
                                                                    "open_exceptions")}
        else:  # the bare join
            pairs = json.loads((Path(workdir) / "pairs.json").read_text())
            pg = url.startswith("postgresql")
            session.execute(text("CREATE TABLE bare_lines (bank_ref varchar(40), amount bigint, reference varchar(12))"))
            session.execute(text("CREATE TABLE bare_matches (bank_ref varchar(40), request_id bigint, amount bigint)"))
            raw = session.connection().connection.driver_connection
            if pg:
                with raw.cursor() as cursor, cursor.copy("COPY bare_lines FROM STDIN") as copy:
                    for row in pairs:
                        copy.write_row(row)
            else:
                raw.cursor().executemany("INSERT INTO bare_lines VALUES (?, ?, ?)", pairs)
            session.execute(text("INSERT INTO bare_matches SELECT l.bank_ref, r.id, l.amount FROM bare_lines l "
                                 "JOIN payment_requests r ON r.reference = l.reference"))
            session.commit()
            result["matches"] = session.scalar(text("SELECT count(*) FROM bare_matches"))
        session.commit()
        result["seconds"] = time.perf_counter() - started
        session.close()
    app.extensions["database"].engine.dispose()
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, url, workdir = args.child
        if step == "setup":
            setup(url, workdir, int(os.environ["BENCH_COUNT"]))
        else:
            print(json.dumps(timed(step, url, workdir)))
        return
    from fixtures import fresh_database
    from tests.pg import TempPostgres

    print(f"# Statement run end to end — Python {platform.python_version()}, {os.cpu_count()} cores")
    print("\n| backend | lines | import s (storing + matching) | run s | import + run s | bare join s | ratio |"
          " peak MB (import) | matched | exceptions |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    server = None
    if "postgresql" in args.backends:
        server = TempPostgres(durable=True)
        server.start()
    try:
        for size in args.sizes:
            for backend in args.backends:
                with tempfile.TemporaryDirectory(prefix="bench-run-") as workdir:
                    if backend == "sqlite":
                        url = f"sqlite:///{workdir}/run.db"
                    else:
                        url = fresh_database(server, f"run_{size}")
                    env = {**os.environ, "BENCH_COUNT": str(size)}
                    subprocess.run([sys.executable, __file__, "--child", "setup", url, workdir], env=env, check=True)
                    figures = {}
                    for step in ("import", "run", "bare"):
                        out = subprocess.run([sys.executable, __file__, "--child", step, url, workdir],
                                             capture_output=True, text=True, check=True)
                        figures[step] = json.loads(out.stdout.strip().splitlines()[-1])
                    total = figures["import"]["seconds"] + figures["run"]["seconds"]
                    bare = figures["bare"]["seconds"]
                    run, imported = figures["run"], figures["import"]
                    print(f"| {backend} | {size:,} | {imported['seconds']:.1f} ({imported['seconds'] - imported['matching']:.1f}"
                          f" + {imported['matching']:.1f}) | {run['seconds']:.1f} | "
                          f"{total:.1f} | {bare:.2f} | {total / bare:.0f}× | {imported['peak_mb']:.0f} | "
                          f"{run['figures']['matched_count']:,} | {run['figures']['open_exceptions']:,} |", flush=True)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
