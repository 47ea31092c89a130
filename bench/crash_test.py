"""Crash test: callbacks keep coming while the server is killed with SIGKILL and restarted.

    .venv/bin/python bench/crash_test.py [--backend sqlite|postgresql] [--transfers 300] [--senders 8]
                                         [--kills 2] [--json-out FILE]

A real gunicorn (2 gthread workers) serves the app on a fresh database with open payment
requests. Sender threads play the direct bank: each delivers its share of signed
notifications and retries on its own schedule (sped up) whenever there is no answer or a
``99``. While they send, the whole server is killed with SIGKILL (mid-request, mid-commit)
and started again, ``--kills`` times. At the end:

- every transfer the bank had an acknowledgement (``00`` or ``01``) for is stored, once;
- no transfer is lost: every one sent is stored (the senders retried until acknowledged);
- no payment request was paid twice (each transfer pays its own request exactly once);
- journal entries cut off by a kill (left ``received``) are re-run by the retry job.

Exit status 0 when all hold; the figures are printed (and written as JSON with --json-out).
``tests/reconciliation/test_crash.py`` runs a short version in ``make test``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY, DEMO_SERVICE_PUBLIC_KEY  # noqa: E402
from simulator.delivery import HttpTransport, bankdirect_builder, deliver  # noqa: E402
from bank_adapters.transfers import IN, BankTransfer  # noqa: E402
from core.cli import alembic_config  # noqa: E402
from core.clock import utcnow  # noqa: E402
from core.db import db  # noqa: E402
from tests.pg import TempPostgres  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, port: int, workdir: Path) -> None:
        self.url, self.port, self.workdir = url, port, workdir
        self.process: subprocess.Popen | None = None
        self.log = open(workdir / "gunicorn.log", "ab")

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.url, "APP_ENV": "development", "SECRET_KEY": "crash-test",
               "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "--no-control-socket", "-w", "2", "-k", "gthread",
             "--threads", "4", "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "app:create_app()"],
            env=env, stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start; see gunicorn.log")

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the master and every worker, mid-whatever
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None


def prepare(url: str, workdir: Path, transfers: int) -> list[BankTransfer]:
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue
    from payments.dossiers import parse_dossier_input, register_dossier
    from payments.requests import create_payment_request
    from qr.vietqr import decode

    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "crash", "INSTANCE_PATH": str(workdir)})
    planned = []
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session, lambda _: None)
        rng = random.Random(766)
        for i in range(transfers):
            dossier = register_dossier(session, parse_dossier_input({
                "code": f"000.20.01.H26-261125-{i:04d}", "procedure_code": "1.001193", "agency_code": "P-HOANKIEM",
                "applicant_name": "Nguyễn Văn Crash", "channel": "counter",
                "charges": [{"name": "Lệ phí", "amount": 1000 * rng.randint(1, 900)}]}), "crash")
            request = create_payment_request(session, dossier, "crash")
            qr = decode(request.qr_payload)
            planned.append(BankTransfer(account=qr.account, bank_ref=f"FTCRASH{i:08d}", amount=qr.amount,
                                        direction=IN, booked_at=utcnow() - timedelta(seconds=2),
                                        content=f"IBFT {qr.purpose}", bank_bin=qr.bin, counter_account="0011001234567",
                                        counter_name="NGUYEN VAN A", counter_bank="970436"))
        session.commit()
    app.extensions["database"].engine.dispose()
    return planned


def run(backend: str, transfers: int, senders: int, kills: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="crash-"))
    postgres = None
    if backend == "postgresql":
        postgres = TempPostgres(durable=True)
        postgres.start()
        url = postgres.url("postgres")
    else:
        url = f"sqlite:///{workdir}/crash.db"
    try:
        planned = prepare(url, workdir, transfers)
        server = Server(url, free_port(), workdir)
        server.start()
        transport = HttpTransport(f"http://127.0.0.1:{server.port}")
        acknowledged: dict[str, str] = {}
        attempts = [0]
        lock = threading.Lock()
        queue = list(planned)
        random.Random(1).shuffle(queue)

        def sender() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    transfer = queue.pop()
                # The direct bank's schedule, sped up a thousandfold, and long enough to outlast every kill.
                result = deliver("bankdirect", bankdirect_builder(transfer, DEMO_BANK_PRIVATE_KEY), transport,
                                 schedule=[0.5] * 200, time_scale=1.0, timeout=5.0,
                                 service_public_key=DEMO_SERVICE_PUBLIC_KEY)
                with lock:
                    attempts[0] += len(result.attempts)
                    if result.outcome in ("delivered", "duplicate"):
                        acknowledged[transfer.bank_ref] = result.attempts[-1].code

        threads = [threading.Thread(target=sender) for _ in range(senders)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for number in range(kills):
            # Kill mid-stream: once a share of the transfers has been acknowledged, while the rest are in flight.
            target = len(planned) * (number + 1) // (kills + 2)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    before = len(acknowledged)
                if before >= target:
                    break
                time.sleep(0.02)
            server.kill()
            time.sleep(0.5)
            server.start()
            print(f"kill {number + 1}: server killed with {before} transfers acknowledged; restarted", flush=True)
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # The retry job re-runs what a kill cut off mid-way (left 'received').
        env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "SECRET_KEY": "crash-test"}
        subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "journal", "replay", "--failed"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        server.stop()
        return check(url, workdir, planned, acknowledged, attempts[0], elapsed, backend, kills)
    finally:
        if postgres is not None:
            postgres.stop()


def check(url: str, workdir: Path, planned: list[BankTransfer], acknowledged: dict[str, str], attempts: int,
          elapsed: float, backend: str, kills: int) -> dict:
    from payments.models import PaymentRequest
    from reconciliation.models import BankTransaction, JournalEntry

    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "crash", "INSTANCE_PATH": str(workdir)})
    with app.app_context():
        session = db.session
        stored = dict(session.execute(select(BankTransaction.bank_ref, func.count()).group_by(
            BankTransaction.bank_ref)).all())
        outcomes = dict(session.execute(select(JournalEntry.outcome, func.count()).group_by(JournalEntry.outcome)).all())
        paid = dict(session.execute(select(PaymentRequest.status, func.count()).group_by(PaymentRequest.status)).all())
        overpaid = session.scalar(select(func.count()).select_from(PaymentRequest).where(
            PaymentRequest.amount_paid > PaymentRequest.amount))
    app.extensions["database"].engine.dispose()
    refs = {t.bank_ref for t in planned}
    problems = []
    lost_acknowledged = [r for r in acknowledged if stored.get(r, 0) != 1]
    if lost_acknowledged:
        problems.append(f"acknowledged but not stored once: {lost_acknowledged[:5]}")
    never = refs - set(stored)
    if never:
        problems.append(f"{len(never)} transfers never stored")
    if any(count != 1 for count in stored.values()):
        problems.append("a transfer is stored more than once")
    if overpaid:
        problems.append(f"{overpaid} requests paid more than once")
    if len(acknowledged) != len(refs):
        problems.append(f"only {len(acknowledged)} of {len(refs)} transfers were acknowledged")
    return {"backend": backend, "transfers": len(refs), "kills": kills, "acknowledged": len(acknowledged),
            "stored": len(stored), "delivery_attempts": attempts, "seconds": round(elapsed, 1),
            "journal": outcomes, "requests": paid, "ok": not problems, "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--transfers", type=int, default=300)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    figures = run(args.backend, args.transfers, args.senders, args.kills)
    print(json.dumps(figures, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
