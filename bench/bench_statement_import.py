"""Statement import end to end (parse + database), per format and size, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_statement_import.py [--sizes 10000 100000 1000000]
                                                      [--formats csv mt940 camt053 xlsx]
                                                      [--backends sqlite postgresql]

For each case the simulator's writers make a file of that many entries for one collection
account and day (bench_statement_parse.Transfers: realistic contents, unique references);
then a fresh subprocess migrates a new database (SQLite WAL synchronous=FULL, or a database
on a durable PostgreSQL 15 started for the run), loads the agencies and their accounts, and
imports the file with ``reconciliation.inbound.statement_import.import_statement`` (the code path of
``flask statement import`` and ``POST /api/v1/statements``): the file is read once (a file of
a megabyte or more by a process of its own, ``statement_reading``) into a staging table and
checked, then every line becomes a bank transaction and a statement line, in 20,000-line
transactions, with the balance proof, and then (CONTRACT.md) every credit no callback
announced is matched. Here no request is open, so
every line is decided ``unknown_reference`` and opens an item for a person: the matching's
worst case. It reports the import's seconds, split into storing and matching
(``fixtures.MatchingClock``), the process's peak resident memory and the reader process's.
Two cores: the reader on one, the import on the other (and PostgreSQL on both).

Goals at 1,000,000 lines (issue 16): storing under 30 s for CSV and MT940, under 40 s for
camt.053, under 300 MB peak, cost growing linearly.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ACCOUNT = "105415039595"  # a seeded collection account (VietinBank, land registration branch)


def child(path: str, url: str, workdir: str) -> None:
    from alembic import command

    from app import create_app
    from core.cli import alembic_config
    from core.db import db
    from payments.agencies import seed_agencies
    from fixtures import MatchingClock
    from reconciliation.inbound import statement_reading
    from reconciliation.inbound.statement_import import import_statement

    matching = MatchingClock()
    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": workdir})
    with app.app_context():
        with db.transaction() as session:
            seed_agencies(session, lambda _: None)
        session = db.Session()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with open(path, "rb") as handle:
            summary = import_statement(session, handle, filename=Path(path).name, actor="bench")
        elapsed = time.perf_counter() - started
        session.close()
    app.extensions["database"].engine.dispose()
    print(json.dumps({"seconds": elapsed, "matching": matching.seconds, "entries": summary.entries, "new": summary.new_transactions,
                      "balance_ok": summary.balance_ok, "rss_before_mb": before / 1024,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      # the file's reader, a process of its own for a large file (statement_reading)
                      "reader_mb": (statement_reading.last_reader_peak_kb or 0) / 1024}))


def make(fmt: str, count: int, directory: Path) -> Path:
    from simulator.statement_files import write_statement
    from bench_statement_parse import DAY, Transfers

    layout = {"csv": {"layout": "vietcombank"}, "xlsx": {"layout": "vietcombank"}}.get(fmt, {})
    path = directory / f"{fmt}-{count}.{ {'camt053': 'xml', 'mt940': 'sta'}.get(fmt, fmt) }"
    transfers = Transfers(count, account=ACCOUNT)
    with path.open("wb") as out:
        write_statement(fmt, out, account=ACCOUNT, bank_bin="970415", day_from=DAY, day_to=DAY,
                        opening_balance=1_000_000_000, transfers=transfers, **layout)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "mt940", "camt053", "xlsx"])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from tests.pg import TempPostgres

    print(f"# Statement import, parse + database — Python {platform.python_version()}, {os.cpu_count()} cores")
    print("\n| backend | format | lines | import s | of which storing s | of which matching s | lines/s | peak RSS MB "
          "| reader process peak MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as workdir:
        work = Path(workdir)
        server = None
        if "postgresql" in args.backends:
            server = TempPostgres(durable=True)
            server.start()
        try:
            for size in args.sizes:
                for fmt in args.formats:
                    path = make(fmt, size, work)
                    for backend in args.backends:
                        if backend == "sqlite":
                            url = f"sqlite:///{work}/{fmt}-{size}.db"
                        else:
                            from fixtures import fresh_database

                            url = fresh_database(server, f"b_{fmt}_{size}")
                        out = subprocess.run([sys.executable, __file__, "--child", str(path), url, workdir],
                                             capture_output=True, text=True, check=True)
                        figures = json.loads(out.stdout.strip().splitlines()[-1])
                        assert figures["entries"] == size and figures["new"] == size and figures["balance_ok"], figures
                        print(f"| {backend} | {fmt} | {size:,} | {figures['seconds']:.1f} | "
                              f"{figures['seconds'] - figures['matching']:.1f} | {figures['matching']:.1f} | "
                              f"{size / figures['seconds']:,.0f} | {figures['peak_mb']:.0f} | {figures['reader_mb']:.0f} |", flush=True)
                    path.unlink()
        finally:
            if server:
                server.stop()


if __name__ == "__main__":
    main()
