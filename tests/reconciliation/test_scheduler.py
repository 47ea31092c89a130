"""The scheduler with two instances at once (SQLite: a file lock; PostgreSQL: an advisory
lock): only one runs jobs; when it stops, the other takes over; no run overlaps another."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from reconciliation.models import JobRun
from reconciliation.scheduler import all_jobs, job_by_name, run_job

ROOT = Path(__file__).resolve().parents[2]


def start(database_url: str, stop_after: float, tmp_path: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "testing", "SECRET_KEY": "scheduler-test"}
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run", "--only",
                             "expire_requests", "--scale", "0.02", "--poll", "0.3", "--stop-after", str(stop_after)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_two_instances_never_run_a_job_twice(database_url, session, tmp_path):
    first = start(database_url, 6, tmp_path, "first")
    time.sleep(2.5)  # the first one leads by then
    second = start(database_url, 12, tmp_path, "second")
    assert first.wait(60) == 0, (tmp_path / "first.log").read_text()
    assert second.wait(60) == 0, (tmp_path / "second.log").read_text()
    session.rollback()
    runs = session.scalars(select(JobRun).order_by(JobRun.started_at)).all()
    instances = [r.instance for r in runs]
    assert len(set(instances)) == 2, instances  # the second took over when the first stopped
    leader, follower = instances[0], instances[-1]
    switch = instances.index(follower)
    assert set(instances[:switch]) == {leader} and set(instances[switch:]) == {follower}  # never interleaved
    for earlier, later in zip(runs, runs[1:]):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at  # never at once
    assert all(r.outcome == "ok" for r in runs)
    assert "stands by" in (tmp_path / "second.log").read_text()


def test_every_job_runs_once_on_demand_and_records_its_outcome(app, session):
    jobs = all_jobs()
    assert "report_facts" in {j.name for j in jobs}
    for job in jobs:
        record = run_job(app, job, "test")
        assert record.outcome == "ok", (job.name, record.detail)
    session.rollback()
    assert sorted(r.job for r in session.scalars(select(JobRun))) == sorted(j.name for j in jobs)
    assert job_by_name("retry_journal").seconds == 60
