"""The crash test, short: a real gunicorn is killed with SIGKILL twice while signed callbacks
keep coming; every acknowledged transfer is stored exactly once and none is lost
(bench/crash_test.py; the long version is a benchmark)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killing_the_server_loses_nothing_and_duplicates_nothing(backend, tmp_path, request):
    if backend == "postgresql":
        request.getfixturevalue("postgres")  # fails loudly if PostgreSQL cannot run here
    out = tmp_path / "crash.json"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "crash_test.py"), "--backend", backend,
                             "--transfers", "60", "--senders", "6", "--kills", "2", "--json-out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    figures = json.loads(out.read_text()) if out.exists() else {}
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert figures["ok"] and figures["problems"] == []
    assert figures["acknowledged"] == figures["stored"] == figures["transfers"] == 60
    assert figures["requests"] == {"paid": 60}  # each request paid once, none twice
    assert "kill 2: server killed" in result.stdout
