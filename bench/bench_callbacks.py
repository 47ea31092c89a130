"""Callbacks per second the service sustains, next to a bare Flask endpoint under the same server.

    .venv/bin/python bench/bench_callbacks.py [--duration 20] [--connections 16] [--backends sqlite postgresql]
                                             [--realtime-rate 100]

Method (PERFORMANCE.md's): gunicorn, 2 gthread workers × ``--threads`` threads (16, as
``deploy/gunicorn.conf.py``), ``--no-control-socket``; wrk from Debian on the same machine, 16
connections, a 5 s warm-up then ``--duration`` seconds. Every request is a different transfer: payOS webhooks (HMAC-SHA256 over the sorted
data) paying distinct open payment requests, signed beforehand and cycled through by a wrk
Lua script (on PostgreSQL the tables are analysed after the warm-up, as in a database in
service: ``analyse``), so each one is authenticated, journalled (committed), stored as a bank
transaction, matched, allocated and answered — the whole fast path, durable (SQLite WAL
synchronous=FULL; PostgreSQL 15 with fsync on). The bare endpoint reads the same bodies and
answers ``{"success": true}``; it is measured with the service's threads and with 8 (PERFORMANCE.md's
best for it), and the ratio is to the faster of the two. Each row also gives the CPU milliseconds per request of the app
server (all its processes) and of PostgreSQL (``cpu_seconds``, from /proc): the rate moves from run
to run, the CPU per request much less, and on two cores
1,000 requests a second leave at most 2 ms of CPU per request for everything (wrk included).

Then the real-time path: a steady ``--realtime-rate`` callbacks per second for 20 s from the
simulator's storm, whose latency is the time from the bank's request to "paid" being
committed and visible (the request is answered after the commit that pays).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LUA = r"""
local bodies = {}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  step = tonumber(args[2])
  i = id
end
function request()
  i = i + step
  local body = bodies[(i % #bodies) + 1]
  return wrk.format("POST", "/callbacks/payos", {["Content-Type"] = "application/json"}, body)
end
"""

BARE = '''
from flask import Flask, request
app = Flask(__name__)

@app.post("/callbacks/payos")
def bare():
    request.get_data()
    return {"success": True}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


THREADS = 16  # deploy/gunicorn.conf.py's default: a worker's threads cap its group commit's batches


def gunicorn(target: str, port: int, env: dict, cwd: str, threads: int | None = None) -> subprocess.Popen:
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--no-control-socket", "-w", "2", "-k",
                                "gthread", "--threads", str(threads or THREADS), "-b", f"127.0.0.1:{port}", target],
                               cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5)
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{target} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def wrk(port: int, script: Path, bodies: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}", "--", str(bodies), "2"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct: str) -> float:
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"), "non2xx": int(errors.group(1)) if errors else 0,
            "raw": out}


def cpu_seconds(session_id: int) -> dict[str, float]:
    """CPU seconds used so far by the app server (every process of its session: gunicorn was
    started in a session of its own) and by PostgreSQL's processes. Requests per second on this
    machine move by a third from run to run (481–681/s for the same code); CPU per request much less."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"app": 0.0, "db": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if int(fields[3]) == session_id:
            used["app"] += seconds
        elif name == "postgres":
            used["db"] += seconds
    return used


def measured(port: int, script: Path, bodies: Path, seconds: int, connections: int, process) -> dict:
    """``wrk`` for ``seconds``, with the CPU milliseconds per request of the app and the database."""
    before = cpu_seconds(process.pid)
    figures = wrk(port, script, bodies, seconds, connections)
    after = cpu_seconds(process.pid)
    requests = figures["rps"] * seconds
    figures.update({f"cpu_{k}": (after[k] - before[k]) * 1000 / requests for k in after})
    return figures


WARM_UP_BODIES = 15_000  # more than the warm-up can send: the measured run pays only unpaid requests


def split(bodies: Path, first: int) -> tuple[Path, Path]:
    """The warm-up's bodies and the measured run's, apart: a replayed transfer is a duplicate,
    a different (and cheaper) path than the one measured."""
    lines = bodies.read_text().splitlines(keepends=True)
    head, tail = bodies.with_name("warm-up.txt"), bodies.with_name("measured.txt")
    head.write_text("".join(lines[:first]))
    tail.write_text("".join(lines[first:]))
    return head, tail


def analyse(url: str) -> None:
    """Statistics, as a database in service has them. The bench starts on tables that were empty
    a minute ago (allocations, receipts, their links); autovacuum would analyse them only about
    a minute later, and until then the server plans, and caches as generic plans, for empty
    tables (a receipt's link query went from 0.04 to 1–2 ms)."""
    import psycopg

    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(dbname=u.database, user=u.username, host=u.query["host"], port=u.query["port"],
                         autocommit=True) as connection:
        connection.execute("ANALYZE")


def prepare(url: str, workdir: Path, count: int) -> Path:
    """A migrated database with ``count`` open requests, and the signed bodies that pay them."""
    import random

    from alembic import command

    from app import create_app
    from bank_adapters.keys import DEMO_PAYOS_CHECKSUM_KEY
    from simulator.callbacks import payos_request
    from bank_adapters.transfers import IN, BankTransfer
    from core.cli import alembic_config
    from core.clock import utcnow
    from core.db import db
    from fixtures import open_requests
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue

    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(workdir)})
    with app.app_context():
        with db.transaction() as session:
            seed_agencies(session, lambda _: None)
            seed_catalogue(session, lambda _: None)
        made = open_requests(db.session, count)
    app.extensions["database"].engine.dispose()
    rng = random.Random(7)
    bodies = workdir / "bodies.txt"
    with bodies.open("w") as out:
        for n, request in enumerate(made):
            transfer = BankTransfer(account=request["account"], bank_ref=f"FTWRK{n:09d}", amount=request["amount"],
                                    direction=IN, booked_at=utcnow(), content=request["purpose"],
                                    bank_bin=request["bank_bin"])
            _, body = payos_request(transfer, DEMO_PAYOS_CHECKSUM_KEY, order_code=rng.randint(1, 2**31 - 1))
            out.write(body.decode() + "\n")
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--bodies", type=int, default=80_000)
    parser.add_argument("--realtime-rate", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=THREADS, help="gunicorn threads per worker (the service's)")
    args = parser.parse_args()
    from fixtures import fresh_database
    from tests.pg import TempPostgres

    print(f"# Callbacks under load — Python {platform.python_version()}, {os.cpu_count()} cores, gunicorn 2 gthread "
          f"workers × {args.threads} threads, wrk {args.connections} connections, {args.duration} s after a 5 s warm-up\n")
    rows = []
    server = None
    if "postgresql" in args.backends:
        server = TempPostgres(durable=True)
        server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-callbacks-") as workdir:
            work = Path(workdir)
            script = work / "cycle.lua"
            script.write_text(LUA)
            (work / "bare.py").write_text(BARE)
            bare_bodies = None
            for backend in args.backends:
                if backend == "sqlite":
                    url = f"sqlite:///{work}/callbacks.db"
                else:
                    url = fresh_database(server, "callbacks")
                (work / backend).mkdir()
                bodies = prepare(url, work / backend, args.bodies)
                bare_bodies = bare_bodies or bodies
                warm, bodies = split(bodies, WARM_UP_BODIES)
                env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "SECRET_KEY": "bench",
                       "PYTHONPATH": str(ROOT)}
                port = free_port()
                process = gunicorn("app:create_app()", port, env, str(ROOT), args.threads)
                try:
                    wrk(port, script, warm, 5, args.connections)  # warm-up: transfers of its own
                    if backend == "postgresql":
                        analyse(url)
                    figures = measured(port, script, bodies, args.duration, args.connections, process)
                finally:
                    stop(process)
                rows.append((f"service, {backend}", figures))
                realtime = storm(url, work, args.realtime_rate)
                rows.append((f"real time at {args.realtime_rate:.0f}/s, {backend}", realtime))
            bares = []
            for threads in sorted({args.threads, 8}, reverse=True):
                port = free_port()
                process = gunicorn("bare:app", port, {**os.environ, "PYTHONPATH": str(work)}, str(work), threads)
                try:
                    wrk(port, script, bare_bodies, 5, args.connections)
                    figures = measured(port, script, bare_bodies, args.duration, args.connections, process)
                finally:
                    stop(process)
                bares.append((f"bare Flask endpoint, {threads} threads", figures))
            bare = max((figures for _, figures in bares), key=lambda f: f["rps"])  # the ratio is to the faster
            rows[:0] = bares
    finally:
        if server:
            server.stop()
    print("| case | requests/s | p50 ms | p99 ms | ratio to bare | non-2xx | CPU ms per request: app + database |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, f in rows:
        if "rps" in f:
            print(f"| {name} | {f['rps']:,.0f} | {f['p50']:.1f} | {f['p99']:.1f} | {f['rps'] / bare['rps']:.2f} | "
                  f"{f['non2xx']} | {f['cpu_app']:.2f} + {f['cpu_db']:.2f} |")
        else:
            print(f"| {name} | {f['per_second']:,.0f} (offered) | {f['p50_ms']:.1f} | p95 {f['p95_ms']:.1f}, "
                  f"p99 {f['p99_ms']:.1f} | — | {sum(v for k, v in f['verdicts'].items() if k != 'delivered')} | |")


def storm(url: str, work: Path, rate: float) -> dict:
    """The simulator's steady load against a fresh server on the same database (more open requests)."""
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    port = free_port()
    process = gunicorn("app:create_app()", port, env, str(ROOT))
    try:
        out = work / f"storm-{abs(hash(url))}.json"
        subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "bank", "storm", "--rate", str(rate),
                        "--duration", "20", "--duplicates", "0", "--via", "payos", "--threads", "8", "--url",
                        f"http://127.0.0.1:{port}", "--seed", "1", "--json-out", str(out)],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        return json.loads(out.read_text())
    finally:
        stop(process)


if __name__ == "__main__":
    main()
