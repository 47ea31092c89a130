"""Several instances on one PostgreSQL, with real processes (DESIGN.md: stateless instances
behind a load balancer, the scheduler as its own process).

Two gunicorn instances (``deploy/gunicorn.conf.py``, two workers each) on two ports and one
scheduler process share a fresh, migrated database on a PostgreSQL server of this test's own
(it is restarted, so not the suite's). Bank senders play the direct bank and SePay through a
load balancer that sends each request to the next instance in turn, retrying on their own
(sped-up) schedule; every fourth transfer is also sent twice at once, to both instances.
While they send, in turn:

1. the matching rules are changed through instance A's API (``PUT /api/v1/matching/rules``);
2. instance A is killed with SIGKILL (master and workers) and started again;
3. PostgreSQL is restarted (``pg_ctl restart``);
4. PostgreSQL is stopped for a few seconds and started again, while both instances are asked
   for pages, the API and callbacks.

Then, in the database: every transfer is acknowledged, stored once and allocated once, the
requests are paid once, ``flask audit verify`` says OK (money invariants and the audit hash
chain that both instances wrote); every transfer first sent after the rule change was decided
with the new rules, whichever instance took it (the documented bound: the next callback);
while the database was down every answer was a quick "try again" (503, or the direct bank's
``99``), and both instances served again without a restart, as did the scheduler.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY, DEMO_SEPAY_API_KEY, DEMO_SERVICE_PUBLIC_KEY
from bank_adapters.transfers import IN, BankTransfer
from core.cli import alembic_config
from core.clock import utcnow
from simulator.delivery import RETRY, Answer, HttpTransport, bankdirect_builder, deliver, judge, sepay_builder
from tests.pg import PostgresUnavailable, TempPostgres, _free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PHASE = 24                  # transfers released before each event
PHASES = 5
NEW_CONFIDENCE = 0.96       # reference_exact after the change (still above auto_threshold: everything allocates)
# Seconds a "try again" may take while the database is down: it must not wait on the database
# (a connect attempt gives up after 5 s, core.db.CONNECT_TIMEOUT); real answers take milliseconds.
QUICK = 2.0
DOWN_FOR = 2.5              # seconds the database stays down in step 4
PROBE_SEPAY_ID = 20_000     # SePay's id of the probe it sends while the database is down (and again after)


# --- processes --------------------------------------------------------------------------------

class Processes:
    """The instances and the scheduler, each in its own process group; all are killed at the
    end whatever happens (``close``)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.running[name] = process
        return process

    def instance(self, name: str, port: int) -> subprocess.Popen:
        process = self.start(name, [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
                             GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="4")
        _wait_until(lambda: _get(port, "/healthz")[0] == 200, 30, f"{name} did not start: {self.log(name)}")
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def close(self) -> None:
        for name in list(self.running):
            process = self.running[name]
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group (workers)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
            del self.running[name]

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait_until(condition, seconds: float, message: str, every: float = 0.05) -> float:
    """Poll ``condition`` until true; returns how long it took, fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    pytest.fail(message)


def _get(port: int, path: str, token: str | None = None, method: str = "GET", body: bytes | None = None,
         timeout: float = 5.0) -> tuple[int | None, dict, bytes, float]:
    """(status, headers, body, seconds); status None when nothing answered."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (our loopback)
            return response.status, dict(response.headers), response.read(), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read(), time.monotonic() - started
    except (OSError, urllib.error.URLError):
        return None, {}, b"", time.monotonic() - started


# --- the bank's side ----------------------------------------------------------------------------

@dataclass
class Post:
    port: int
    started: float
    ended: float
    answer: Answer
    channel: str


class Balancer:
    """The load balancer as the bank sees it: each request goes to the next instance in turn
    (a dead one answers nothing, and the sender retries, reaching the other)."""

    def __init__(self, bank: Bank, channel: str, turn: int = 0):
        self.bank, self.ports, self.posts, self.lock = bank, bank.ports, bank.posts, bank.lock
        self.channel, self.turn = channel, turn

    def post(self, path, headers, body, timeout) -> Answer:
        if self.bank.aborted.is_set():
            return Answer(None, error="the test gave up")
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        started = time.monotonic()
        answer = HttpTransport(f"http://127.0.0.1:{port}").post(path, headers, body, timeout)
        with self.lock:
            self.posts.append(Post(port, started, time.monotonic(), answer, self.channel))
        return answer


@dataclass
class Planned:
    transfer: BankTransfer
    channel: str
    sepay_id: int
    twice: bool                                  # also sent at once to the other instance
    first_sent: float | None = None
    acknowledged: list[float] = field(default_factory=list)


class Bank:
    """Sender threads taking transfers as the test releases them."""

    def __init__(self, ports: list[int], senders: int = 4) -> None:
        self.ports = ports
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)
        self.queue: list[Planned] = []
        self.closed = False
        self.aborted = threading.Event()  # the test failed: stop at once rather than retry for a minute
        self.posts: list[Post] = []
        self.failures: list[str] = []
        self.turn = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(senders)]
        for thread in self.threads:
            thread.start()

    def release(self, planned: list[Planned]) -> None:
        with self.ready:
            self.queue.extend(planned)
            self.ready.notify_all()

    def close(self, abort: bool = False) -> None:
        with self.ready:
            self.closed = True
            if abort:
                self.aborted.set()
                self.queue.clear()
            self.ready.notify_all()
        for thread in self.threads:
            thread.join(timeout=90)

    def _run(self) -> None:
        while True:
            with self.ready:
                while not self.queue and not self.closed:
                    self.ready.wait()
                if not self.queue:
                    return
                item = self.queue.pop(0)
                self.turn += 1
                turn = self.turn
            try:
                self.send(item, turn)
            except Exception as exc:  # noqa: BLE001 (reported by the test, not lost in a thread)
                with self.lock:
                    self.failures.append(f"{item.transfer.bank_ref}: {type(exc).__name__}: {exc}")
            time.sleep(0.1)  # a bank's pace, so the events below happen mid-stream

    def send(self, item: Planned, turn: int) -> None:
        if not item.twice:
            self._deliver(item, turn, None)
            return
        together = threading.Barrier(2)
        other = threading.Thread(target=self._deliver, args=(item, turn + 1, together))
        other.start()
        self._deliver(item, turn, together)
        other.join()

    def _deliver(self, item: Planned, turn: int, together: threading.Barrier | None) -> None:
        if item.channel == "bankdirect":
            build = bankdirect_builder(item.transfer, DEMO_BANK_PRIVATE_KEY)
        else:
            build = sepay_builder(item.transfer, sepay_id=item.sepay_id, api_key=DEMO_SEPAY_API_KEY)

        def first_noted(attempt, now):
            made = build(attempt, now)
            if attempt == 1:
                if together is not None:
                    together.wait(timeout=10)  # both copies leave at the same moment
                with self.lock:
                    if item.first_sent is None:
                        item.first_sent = time.monotonic()
            return made

        result = deliver(item.channel, first_noted, Balancer(self, item.channel, turn), schedule=[0.2] * 300,
                         timeout=5.0, service_public_key=DEMO_SERVICE_PUBLIC_KEY,
                         sleep=lambda seconds: self.aborted.wait(seconds))
        with self.lock:
            if result.done:
                item.acknowledged.append(time.monotonic())
            else:
                self.failures.append(f"{item.transfer.bank_ref}: {result.outcome} after {len(result.attempts)} "
                                     f"attempts, last {result.last}")

    def acknowledged(self, planned: list[Planned]) -> int:
        with self.lock:
            return sum(1 for p in planned if p.acknowledged)


# --- the database ------------------------------------------------------------------------------

def prepare(url: str, workdir: Path, count: int) -> tuple[list[BankTransfer], dict[str, str]]:
    """Agencies, the catalogue, ``count`` dossiers with an open request each; API tokens."""
    from app import create_app
    from core.db import db
    from core.tokens import create_token
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue
    from payments.dossiers import parse_dossier_input, register_dossier
    from payments.requests import create_payment_request
    from qr.vietqr import decode

    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "multi",
                      "INSTANCE_PATH": str(workdir / "instance")})
    transfers = []
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session, lambda _: None)
        for i in range(count):
            dossier = register_dossier(session, parse_dossier_input({
                "code": f"000.20.01.H26-261203-{i:04d}", "procedure_code": "1.001193", "agency_code": "P-HOANKIEM",
                "applicant_name": "Nguyễn Văn Nhiều", "channel": "counter",
                "charges": [{"name": "Lệ phí", "amount": 1000 * (1 + i % 50)}]}), "multi")
            qr = decode(create_payment_request(session, dossier, "multi").qr_payload)
            transfers.append(BankTransfer(account=qr.account, bank_ref=f"FTMULTI{i:08d}", amount=qr.amount,
                                          direction=IN, booked_at=utcnow() - timedelta(seconds=2),
                                          content=f"IBFT {qr.purpose}", bank_bin=qr.bin,
                                          counter_account="0011001234567", counter_name="NGUYEN VAN A",
                                          counter_bank="970436", balance_after=125_000_000 + i))
        tokens = {role: create_token(session, f"multi-{role}", role) for role in ("admin", "finance")}
        session.commit()
    app.extensions["database"].engine.dispose()
    return transfers, tokens


@pytest.fixture
def cluster(tmp_path):
    """A PostgreSQL of this test's own, a migrated database on it, and the processes (all
    stopped at the end, even on failure)."""
    if os.environ.get("TEST_POSTGRES") == "off" and not os.environ.get("CI"):
        pytest.skip("TEST_POSTGRES=off: PostgreSQL tests skipped (never in CI)")
    server = TempPostgres()
    processes = None
    try:
        try:
            server.start()
        except PostgresUnavailable as exc:
            pytest.fail(f"PostgreSQL could not start:\n{exc}", pytrace=False)
        url = server.url("postgres")
        env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "SECRET_KEY": "multi-instance-test",
               "PYTHONPATH": str(ROOT), "RATELIMIT_ENABLED": "false"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        processes = Processes(tmp_path, env)
        yield server, url, processes
    finally:
        if processes is not None:
            processes.close()
        server.stop()


# --- the test ------------------------------------------------------------------------------------

def test_two_instances_and_a_scheduler_share_one_postgresql(cluster, tmp_path):
    server, url, processes = cluster
    probes = 2
    transfers, tokens = prepare(url, tmp_path, PHASE * PHASES + probes)
    planned = [Planned(t, "sepay" if i % 3 == 2 else "bankdirect", 10_000 + i, twice=i % 4 == 1)
               for i, t in enumerate(transfers[:PHASE * PHASES])]
    probe_transfers = transfers[PHASE * PHASES:]

    port_a, port_b = _free_port(), _free_port()
    processes.start("scheduler", [str(BIN / "flask"), "--app", "app", "scheduler", "run", "--scale", "0.05",
                                  "--poll", "0.5"])
    processes.instance("a", port_a)
    instance_b = processes.instance("b", port_b)
    bank = Bank([port_a, port_b])
    try:
        # 1. The rules change through A while B is serving (B has the old rules in its caches by then).
        bank.release(planned[:PHASE])
        _wait_until(lambda: bank.acknowledged(planned) >= PHASE * 2 // 3, 30,
                    "the first transfers were not acknowledged")
        bank.release(planned[PHASE:2 * PHASE])
        status, _, body, _ = _get(port_a, "/api/v1/matching/rules", tokens["admin"], "PUT",
                                  json.dumps({"confidence": {"reference_exact": NEW_CONFIDENCE}}).encode())
        assert status == 200, body
        rules_changed = time.monotonic()

        # 2. Instance A is killed mid-stream (master and workers, SIGKILL), then started again.
        _wait_until(lambda: bank.acknowledged(planned) >= PHASE * 5 // 3, 30,
                    "transfers stalled after the rule change")
        bank.release(planned[2 * PHASE:3 * PHASE])
        time.sleep(0.2)
        processes.kill("a")
        time.sleep(0.5)
        instance_a = processes.instance("a", port_a)

        # 3. PostgreSQL restarted mid-stream (pg_ctl restart: every connection cut).
        _wait_until(lambda: bank.acknowledged(planned) >= PHASE * 8 // 3, 45, "transfers stalled after the kill")
        bank.release(planned[3 * PHASE:4 * PHASE])
        time.sleep(0.2)
        server.restart()

        # 4. PostgreSQL away for DOWN_FOR seconds while the bank goes on sending: everyone is
        # told quickly to try again.
        _wait_until(lambda: bank.acknowledged(planned) >= PHASE * 11 // 3, 45, "transfers stalled after the restart")
        server.halt()
        down_at = time.monotonic()
        bank.release(planned[4 * PHASE:])
        seen_down = _probe_while_down(port_a, port_b, tokens["finance"], probe_transfers)
        up_from = time.monotonic()
        server.resume()
        up_wall = utcnow()
        for port in (port_a, port_b):  # served again, with the processes that were running
            _wait_until(lambda port=port: _get(port, "/api/v1/matching/rules", tokens["finance"])[0] == 200, 15,
                        f"instance on {port} does not serve after the database came back")
        for i, transfer in enumerate(probe_transfers):  # the probes, delivered in full now
            extra = Planned(transfer, "bankdirect" if i == 0 else "sepay", PROBE_SEPAY_ID, twice=False)
            planned.append(extra)
            bank.release([extra])

        _wait_until(lambda: bank.acknowledged(planned) == len(planned), 60,
                    f"not every transfer was acknowledged: {bank.failures[:5]}", every=0.2)
    except BaseException:
        bank.close(abort=True)
        raise
    finally:
        bank.close()
    assert bank.failures == []

    # The scheduler took the lead again and runs jobs, without being restarted.
    scheduler = processes.running["scheduler"]
    engine = create_engine(url)
    try:
        _wait_until(lambda: _job_ran_since(engine, up_wall), 20,
                    f"the scheduler ran no job after the database came back:\n{processes.log('scheduler')}", every=0.3)
        assert scheduler.poll() is None, processes.log("scheduler")
        assert instance_b.poll() is None and processes.running["b"] is instance_b  # never restarted
        assert instance_a.poll() is None and processes.running["a"] is instance_a  # not since its SIGKILL
        processes.close()
        _check_database(engine, planned, rules_changed)
    finally:
        engine.dispose()

    # While the database was down: only quick "try again" answers, from both instances.
    during = [p for p in bank.posts if p.started >= down_at and p.ended <= up_from]
    assert during, "no bank callback reached an instance while the database was down"
    for post in during:
        verdict, code, note = judge(post.channel, post.answer, service_public_key=DEMO_SERVICE_PUBLIC_KEY)
        assert post.answer.status is not None and verdict == RETRY, (post, note)
        assert post.ended - post.started < QUICK, post
    assert {p.port for p in seen_down} == {port_a, port_b}
    acknowledging = {p.port for p in bank.posts
                     if judge(p.channel, p.answer, service_public_key=DEMO_SERVICE_PUBLIC_KEY)[0] != RETRY}
    assert acknowledging == {port_a, port_b}  # both instances took the bank's callbacks
    assert {p.port for p in during} == {port_a, port_b}
    verify = subprocess.run([str(BIN / "flask"), "--app", "app", "audit", "verify"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**processes.env})
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stdout + verify.stderr


@dataclass
class Seen:
    port: int
    what: str
    status: int | None
    seconds: float


def _probe_while_down(port_a: int, port_b: int, finance: str, probe_transfers: list[BankTransfer]) -> list[Seen]:
    """Ask both instances for readiness, the API and a callback until DOWN_FOR has passed;
    each answer must be a quick "not now"."""
    from simulator.callbacks import bankdirect_request, new_request_id, sepay_request

    seen: list[Seen] = []
    until = time.monotonic() + DOWN_FOR
    while time.monotonic() < until:
        for port in (port_a, port_b):
            status, headers, body, seconds = _get(port, "/readyz")
            assert status == 503 and seconds < QUICK, (port, status, body, seconds)
            assert json.loads(body)["checks"]["database"]["ok"] is False
            seen.append(Seen(port, "readyz", status, seconds))
            status, headers, body, seconds = _get(port, "/api/v1/matching/rules", finance)
            assert status == 503 and seconds < QUICK, (port, status, body, seconds)
            assert json.loads(body)["code"] == "database_unavailable" and headers.get("Retry-After") == "5"
            seen.append(Seen(port, "api", status, seconds))
            now = utcnow()
            direct_headers, direct_body = bankdirect_request(probe_transfers[0], DEMO_BANK_PRIVATE_KEY,
                                                             request_id=new_request_id(now), request_time=now)
            answer = HttpTransport(f"http://127.0.0.1:{port}").post("/callbacks/bankdirect", direct_headers,
                                                                     direct_body, QUICK * 5)
            verdict, code, _ = judge("bankdirect", answer, service_public_key=DEMO_SERVICE_PUBLIC_KEY)
            assert (answer.status, verdict, code) == (200, RETRY, "99"), answer
            sepay_headers, sepay_body = sepay_request(probe_transfers[1], api_key=DEMO_SEPAY_API_KEY,
                                                      sepay_id=PROBE_SEPAY_ID)
            answer = HttpTransport(f"http://127.0.0.1:{port}").post("/callbacks/sepay", sepay_headers, sepay_body,
                                                                     QUICK * 5)
            assert answer.status == 503, answer
        time.sleep(0.1)
    return seen


def _job_ran_since(engine, since) -> bool:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM job_runs WHERE started_at > :t AND outcome = 'ok'"),
                                {"t": since}).scalar_one() > 0
    except Exception:  # noqa: BLE001 (the pool's connections died with the restart: ask again)
        engine.dispose()
        return False


def _check_database(engine, planned: list[Planned], rules_changed: float) -> None:
    refs = {p.transfer.bank_ref: p for p in planned}
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT bank_ref, count(*) FROM bank_transactions GROUP BY bank_ref")).all())
        allocated = {ref: (count, total) for ref, count, total in conn.execute(text(
            "SELECT t.bank_ref, count(a.id), sum(a.amount) FROM bank_transactions t JOIN allocations a "
            "ON a.transaction_id = t.id WHERE a.reversed_at IS NULL GROUP BY t.bank_ref")).all()}
        requests = conn.execute(text("SELECT status, amount, amount_paid FROM payment_requests")).all()
        duplicates = conn.execute(text("SELECT count(*) FROM journal_entries WHERE outcome = 'duplicate'")).scalar_one()
        decisions = conn.execute(text("SELECT t.bank_ref, d.rule, d.confidence FROM match_decisions d "
                                      "JOIN bank_transactions t ON t.id = d.transaction_id")).all()
    assert stored == {ref: 1 for ref in refs}  # every transfer stored, once; nothing else
    assert allocated == {ref: (1, p.transfer.amount) for ref, p in refs.items()}  # allocated once, in full
    assert len(requests) == len(refs) and all(s == "paid" and paid == amount for s, amount, paid in requests)
    assert duplicates >= sum(1 for p in planned if p.twice)  # the copies sent at once were answered "seen before"
    # Every transfer first sent after the change was decided with the new rules, on either instance.
    after = {ref for ref, p in refs.items() if p.first_sent > rules_changed}
    before = {ref for ref, p in refs.items() if p.acknowledged and max(p.acknowledged) < rules_changed}
    assert len(after) >= PHASE * 3 and len(before) >= PHASE // 2
    stale = [(ref, rule, confidence) for ref, rule, confidence in decisions
             if ref in after and (rule, confidence) != ("reference_exact", NEW_CONFIDENCE)]
    assert stale == []
    assert {(rule, confidence) for ref, rule, confidence in decisions if ref in before} == {("reference_exact", 1.0)}
