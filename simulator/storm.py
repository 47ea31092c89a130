"""Load for the benchmarks: signed callbacks at a steady rate from many threads, some of them
repeats of an earlier transfer (a retry, or the same transfer through another channel).

Transfers pay the open payment requests the service holds (so the fast path matches them)
and, when there are none left, carry a plain content. They are not booked in the simulated
bank's ledger: a storm measures the callback path, not statements.
"""
from __future__ import annotations

import itertools
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from simulator import callbacks as build
from simulator.delivery import HttpTransport, judge
from bank_adapters.transfers import IN, BankTransfer
from core.clock import utcnow


@dataclass
class _Target:
    account: str
    bank_bin: str
    amount: int
    purpose: str


@dataclass
class Storm:
    url: str
    targets: list[_Target]
    accounts: list[tuple[str, str]]
    keys: Any
    bank_private: Any
    service_public: Any
    via: str = "mix"
    seed: int | None = None
    _sent: list[BankTransfer] = field(default_factory=list)

    @classmethod
    def from_app(cls, app, *, url: str | None, account: str | None, via: str, seed: int | None) -> Storm:
        from sqlalchemy import select

        from core.db import db
        from payments.models import CollectionAccount, PaymentRequest
        from qr.vietqr import decode

        from simulator.cli import sender_keys

        with app.app_context():
            keys, bank_private, service_public = sender_keys()
            query = select(PaymentRequest).where(PaymentRequest.status == "open").limit(200_000)
            targets = []
            for request in db.session.scalars(query):
                qr = decode(request.qr_payload)
                if account is None or qr.account == account:
                    targets.append(_Target(qr.account, qr.bin, qr.amount, qr.purpose or ""))
            accounts = [(a.number, a.bank_bin) for a in db.session.scalars(
                select(CollectionAccount).where(CollectionAccount.active.is_(True)))
                if account is None or a.number == account]
            db.session.rollback()
        return cls(url=url or app.config.get("SIMULATOR_TARGET_URL") or "http://127.0.0.1:5000", targets=targets,
                   accounts=accounts, keys=keys, bank_private=bank_private, service_public=service_public,
                   via=via, seed=seed)

    def _transfer(self, rng: random.Random, serial: int) -> BankTransfer:
        now = utcnow()
        if self.targets:
            target = self.targets.pop()
            account, bank_bin, amount, content = target.account, target.bank_bin, target.amount, target.purpose
        else:
            account, bank_bin = rng.choice(self.accounts)
            amount, content = rng.randint(1, 500) * 1000, f"CHUYEN KHOAN {rng.randint(10**5, 10**6)}"
        return BankTransfer(account=account, bank_ref=f"ST{int(now.timestamp())}{serial:08d}", amount=amount,
                            direction=IN, booked_at=now - timedelta(seconds=1), content=content, bank_bin=bank_bin,
                            counter_account="0011001234567", counter_name="NGUYEN VAN A", counter_bank="970436",
                        balance_after=125_000_000)

    def _request(self, via: str, transfer: BankTransfer, rng: random.Random, serial: int):
        now = utcnow()
        if via == "payos":
            return build.payos_request(transfer, self.keys.payos_checksum_key, order_code=serial + 1)
        if via == "sepay":
            return build.sepay_request(transfer, api_key=self.keys.sepay_api_key, hmac_secret=None,
                                       sepay_id=serial + 1)
        return build.bankdirect_request(transfer, self.bank_private, request_id=f"ST{serial:012d}{rng.randint(0, 999):03d}",
                                        request_time=now)

    def run(self, *, rate: float, duration: float, duplicates: float, threads: int) -> dict[str, Any]:
        transport = HttpTransport(self.url)
        rng = random.Random(self.seed)
        total = int(rate * duration)
        serials = itertools.count()
        lock = threading.Lock()
        latencies: list[float] = []
        verdicts: dict[str, int] = {}
        schedule_start = time.perf_counter() + 0.2
        vias = ("payos", "sepay", "bankdirect")

        def worker(worker_rng: random.Random) -> None:
            while True:
                with lock:
                    serial = next(serials)
                    if serial >= total:
                        return
                    repeat = self._sent and worker_rng.random() < duplicates
                    transfer = worker_rng.choice(self._sent) if repeat else self._transfer(worker_rng, serial)
                    if not repeat:
                        self._sent.append(transfer)
                via = self.via if self.via != "mix" else worker_rng.choice(vias)
                headers, body = self._request(via, transfer, worker_rng, serial)
                due = schedule_start + serial / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                started = time.perf_counter()
                answer = transport.post(f"/callbacks/{via}", headers, body, 30.0)
                elapsed = time.perf_counter() - started
                verdict, _, _ = judge(via, answer, service_public_key=self.service_public,
                                      request_id=None)
                with lock:
                    latencies.append(elapsed)
                    verdicts[verdict] = verdicts.get(verdict, 0) + 1

        workers = [threading.Thread(target=worker, args=(random.Random(rng.random()),)) for _ in range(threads)]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        wall = time.perf_counter() - started
        ordered = sorted(latencies)

        def pct(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] * 1000, 1) if ordered else 0.0

        return {"sent": len(latencies), "seconds": round(wall, 2),
                "per_second": round(len(latencies) / wall, 1) if wall else 0.0,
                "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else 0.0,
                "verdicts": verdicts, "distinct_transfers": len(self._sent)}
