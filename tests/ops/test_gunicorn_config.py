"""deploy/gunicorn.conf.py under a real gunicorn (2 gthread workers): JSON log lines from the
app and none from gunicorn's access log, request ids through to the journal, callbacks counted
across both workers (Prometheus multiprocess mode), no version in ``Server``."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import urllib.request
from urllib.error import HTTPError
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-the-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def served(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "APP_ENV": "production",
           "SECRET_KEY": "test-secret", "DATABASE_URL": database_url, "METRICS_TOKEN": TOKEN,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "HOME": str(tmp_path)}
    for key in ("LOG_FORMAT", "PUBLIC_BASE_URL", "TRUSTED_PROXIES"):
        env.pop(key, None)
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if fetch(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "gunicorn.log").read_text())
        yield base, tmp_path / "gunicorn.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_gunicorn_with_the_deploy_configuration(served, database_url):
    base, log_path = served
    status, headers, _ = fetch(base + "/healthz", headers={"X-Request-ID": "probe-1"})
    assert status == 200 and headers["X-Request-ID"] == "probe-1"
    assert headers.get("Server") == "gunicorn"  # no version number
    for n in range(8):  # several connections: both workers answer some
        status, headers, _ = fetch(base + "/callbacks/payos", data=b'{"code": "00"}',
                                   headers={"Content-Type": "application/json", "X-Request-ID": f"bank-{n}"})
        assert headers["X-Request-ID"] == f"bank-{n}"
    status, _, body = fetch(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                  if line.startswith('hanoi_callbacks_total{channel="payos"'))
    assert counted == 8
    assert "hanoi_journal_backlog" in body.decode()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT request_id FROM journal_entries ORDER BY id")).scalars().all()
    engine.dispose()
    assert sorted(ids) == [f"bank-{n}" for n in range(8)]
    time.sleep(0.3)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON: the app's and gunicorn's own
    access = [r for r in records if r.get("logger") == "access"]
    assert {r["request_id"] for r in access} >= {"probe-1", *(f"bank-{n}" for n in range(8))}
    assert all(r["method"] and r["status"] and "duration_ms" in r for r in access)
    assert any(r.get("logger") == "gunicorn.error" and "Booting worker" in r["message"] for r in records)
    assert not any(r.get("logger") == "gunicorn.access" for r in records)
