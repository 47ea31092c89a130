"""The scheduler: APScheduler 3 in its own process (``flask --app app scheduler run``), with
the jobs declared here, and a leader lock so that several instances never run a job twice.

Leader lock: on PostgreSQL a session-level advisory lock held on a connection of its own
for as long as the process leads; on SQLite an exclusive ``flock`` on a file beside the
database. An instance that does not get the lock stands by and tries again every few
seconds, so it takes over when the leader dies (the lock dies with its connection or file
handle). Every job run is recorded (``job_runs``) with the instance that ran it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

from flask import Flask
from sqlalchemy import text

from core.clock import ict_day, utcnow
from core.db import db

from reconciliation.models import JobRun, SchedulerHeartbeat

log = logging.getLogger(__name__)
ADVISORY_KEY = 766_2026  # any constant shared by every instance of this service
HEARTBEAT_SECONDS = 60  # each instance says it is alive this often (``/readyz`` reads it)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Flask], str | None]
    seconds: int | None = None        # an interval
    cron: dict | None = None          # or a cron (Indochina Time)
    description: str = ""


def _keys(app: Flask):
    from bank_adapters.keys import load_channel_keys

    keys = app.extensions.get("channel_keys")
    if keys is None:
        keys = app.extensions["channel_keys"] = load_channel_keys(app.config)
    return keys


def job_expire_requests(app: Flask) -> str:
    from payments.requests import expire_due_requests

    with db.transaction() as session:
        count = expire_due_requests(session)
    return f"{count} request(s) expired"


def job_retry_journal(app: Flask) -> str:
    from reconciliation.inbound.ingest import retry_failed

    session = db.Session()
    try:
        # Entries still 'received' a minute on were cut off mid-way (a crash): run them again.
        results = retry_failed(session, _keys(app), older_than=utcnow() - timedelta(minutes=1))
    finally:
        session.close()
    return f"{len(results)} journal entr(ies) re-run: " + ", ".join(f"{r.journal_id}={r.outcome.value}"
                                                                    for r in results[:20])


def job_deliver_events(app: Flask) -> str:
    from reconciliation.channels.outbox import deliver_due

    session = db.Session()
    try:
        count = deliver_due(session, app.config.get("DOSSIER_EVENTS_URL"), app.config.get("DOSSIER_EVENTS_SECRET"))
    finally:
        session.close()
    return f"{count} delivery attempt(s)"


def job_portal_query(app: Flask) -> str:
    from reconciliation.channels.portal import query_pending
    from reconciliation.channels.portal_client import http_poster

    session = db.Session()
    try:
        results = query_pending(session, app.config.get("PORTAL_QUERY_URL"), _keys(app).portal_secret, http_poster(),
                                _keys(app))
    finally:
        session.close()
    return f"{len(results)} portal payment(s) queried: " + ", ".join(f"{r}={o}" for r, o in results[:20])


def job_statement_folder(app: Flask) -> str:
    from reconciliation.inbound.dropfolder import process_folder

    folder = app.config.get("STATEMENT_DROP_DIR")
    if not folder:
        return "no STATEMENT_DROP_DIR configured"
    return process_folder(Path(folder), actor="scheduler")


def job_close_yesterday(app: Flask) -> str:
    from sqlalchemy import select

    from payments.models import CollectionAccount

    from reconciliation.workflow.close import run_day, statements_for

    day = ict_day(utcnow()) - timedelta(days=1)
    done = []
    session = db.Session()
    try:
        for account in session.scalars(select(CollectionAccount).where(CollectionAccount.active.is_(True))).all():
            if not statements_for(session, account, day):
                continue
            from reconciliation.workflow.close import get_close

            record = get_close(session, account.id, day)
            session.commit()
            if record.status == "closed":
                continue
            result = run_day(session, account, day, "scheduler")
            done.append(f"{account.number}:{result.status}")
    finally:
        session.close()
    return f"{day}: " + (", ".join(done) or "nothing to run")


def job_purge(app: Flask) -> str:
    """Retention: refused callbacks' journal entries older than CALLBACK_REFUSED_RETENTION_DAYS,
    and sign-in throttle rows with nothing left to remember."""
    journal, throttles, days = purge_retained(app.config["CALLBACK_REFUSED_RETENTION_DAYS"])
    return f"{journal} refused callback(s) older than {days} days and {throttles} sign-in throttle row(s) purged"


def purge_retained(days: int) -> tuple[int, int, int]:
    """What retention deletes (the job and ``flask journal purge``): refused journal entries
    older than ``days``, stale sign-in throttle rows. Returns (entries, throttle rows, days)."""
    from core.throttle import purge as purge_throttles
    from reconciliation.inbound.ingest import purge_refused

    session = db.Session()
    try:
        journal = purge_refused(session, utcnow() - timedelta(days=days))
        throttles = purge_throttles(session)
    finally:
        session.close()
    return journal, throttles, days


def job_reminders(app: Flask) -> str:
    from sqlalchemy import func, select

    from reconciliation.models import ReconException

    today = ict_day(utcnow())
    with db.transaction() as session:
        rows = session.execute(select(ReconException.owner, func.count()).where(
            ReconException.status == "open", ReconException.deadline < today).group_by(ReconException.owner)).all()
    overdue = {owner or "(unassigned)": count for owner, count in rows}
    for owner, count in overdue.items():
        log.warning("reminder: %s has %d overdue exception(s)", owner, count)
    return "overdue exceptions: " + (", ".join(f"{o}={c}" for o, c in overdue.items()) or "none")


def job_issue_receipts(app: Flask) -> str:
    """Receipts are numbered in the payment's transaction and signed here, off the hot path
    (``payments.receipt_providers``)."""
    from payments.receipt_providers import issue_pending

    with db.transaction() as session:
        try:
            count = issue_pending(session, app.config)
        except LookupError as exc:  # no signing key: the receipts wait, numbered
            return f"receipts not signed: {exc}"
    return f"{count} receipt(s) signed"


JOBS: tuple[Job, ...] = (
    Job("expire_requests", job_expire_requests, seconds=60, description="open requests past their validity expire"),
    Job("retry_journal", job_retry_journal, seconds=60, description="failed or cut-off callbacks are re-run"),
    Job("deliver_events", job_deliver_events, seconds=30, description="outbound events are delivered, with retries"),
    Job("portal_query", job_portal_query, seconds=300, description="unconfirmed portal payments are queried"),
    Job("statement_folder", job_statement_folder, seconds=300, description="statements dropped in the folder are "
                                                                          "imported and their days run"),
    Job("close_yesterday", job_close_yesterday, cron={"hour": 6, "minute": 30},
        description="yesterday's statement runs, and closes where all is explained"),
    Job("issue_receipts", job_issue_receipts, seconds=30,
        description="numbered receipts are signed by the e-receipt system"),
    Job("reminders", job_reminders, cron={"hour": 8, "minute": 0}, description="overdue exceptions are reported"),
    Job("purge", job_purge, cron={"hour": 3, "minute": 15},
        description="refused callbacks past their retention and stale sign-in throttle rows are deleted"),
)


_extra_jobs: list[Job] = []


def register_job(job: Job) -> None:
    """Jobs of packages above this one (the reports' queue), declared where their work is."""
    if all(existing.name != job.name for existing in _extra_jobs):
        _extra_jobs.append(job)


def all_jobs() -> tuple[Job, ...]:
    return JOBS + tuple(_extra_jobs)


def job_by_name(name: str) -> Job:
    for job in all_jobs():
        if job.name == name:
            return job
    raise KeyError(f"no job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(app: Flask, job: Job, instance: str) -> JobRun:
    """Run one job now, recorded in ``job_runs``."""
    with app.app_context():
        with db.transaction() as session:
            run = JobRun(job=job.name, instance=instance, started_at=utcnow(), outcome="running")
            session.add(run)
        try:
            detail = job.run(app)
            outcome = "ok"
        except Exception as exc:  # a job's failure is recorded; the scheduler goes on
            log.exception("job %s failed", job.name)
            detail, outcome = f"{type(exc).__name__}: {exc}", "failed"
        with db.transaction() as session:
            record = session.get(JobRun, run.id)
            record.finished_at = utcnow()
            record.outcome = outcome
            record.detail = (detail or "")[:4000]
        return record


def beat(app: Flask, instance: str, leading: bool) -> None:
    """Record that this instance is alive (and whether it leads); forget instances silent for
    a day (each process has its own name)."""
    now = utcnow()
    with app.app_context():
        with db.transaction() as session:
            row = session.get(SchedulerHeartbeat, instance)
            if row is None:
                session.add(SchedulerHeartbeat(instance=instance, is_leader=leading, seen_at=now))
            else:
                row.is_leader, row.seen_at = leading, now
            session.query(SchedulerHeartbeat).filter(SchedulerHeartbeat.seen_at < now - timedelta(days=1)).delete()


def _beat_safely(app: Flask, instance: str, leading: bool) -> None:
    try:
        beat(app, instance, leading)
    except Exception:  # the database is away for a moment: the jobs say more, and the next beat retries
        log.exception("scheduler %s could not write its heartbeat", instance)


class LeaderLock:
    """Held by at most one scheduler instance at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._connection = None
        self._file = None

    def acquire(self) -> bool:
        url = self.app.config["DATABASE_URL"]
        if url.startswith("postgresql"):
            connection = None
            try:
                with self.app.app_context():
                    connection = db.engine.connect()
                got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
                connection.commit()
            except Exception:  # the database is away (a restart): not leading; the next poll tries again
                log.warning("scheduler %s cannot reach the database to take the lead", instance_name())
                if connection is not None:
                    connection.invalidate()
                    connection.close()
                return False
            if got:
                self._connection = connection
                return True
            connection.close()
            return False
        path = Path(self.app.instance_path) / "scheduler.lock"
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            path = Path(url[len("sqlite:///"):]).with_suffix(".scheduler.lock")
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{instance_name()}\n")
        handle.flush()
        self._file = handle
        return True

    def alive(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except Exception:
                return False
        return self._file is not None

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                self._connection.commit()
            except Exception:  # the connection died with the server: so did the lock
                self._connection.invalidate()
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def serve(app: Flask, *, poll: float = 5.0, stop_after: float | None = None, only: list[str] | None = None,
          scale: float = 1.0) -> None:
    """Run the scheduler until interrupted (or ``stop_after`` seconds, for tests). ``scale``
    shortens every interval (tests run the schedule fast)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    instance = instance_name()
    lock = LeaderLock(app)
    started = time.monotonic()
    scheduler = None
    last_beat, beat_leading = None, False
    try:
        while stop_after is None or time.monotonic() - started < stop_after:
            if scheduler is None:
                if lock.acquire():
                    log.warning("scheduler %s leads: running jobs", instance)
                    scheduler = BackgroundScheduler(timezone="Asia/Ho_Chi_Minh")
                    for job in all_jobs():
                        if only and job.name not in only:
                            continue
                        trigger = (IntervalTrigger(seconds=max(job.seconds * scale, 0.2))
                                   if job.seconds else CronTrigger(timezone="Asia/Ho_Chi_Minh", **job.cron))
                        scheduler.add_job(run_job, trigger, args=[app, job, instance], id=job.name,
                                          max_instances=1, coalesce=True, misfire_grace_time=60)
                    scheduler.start()
                else:
                    log.info("scheduler %s stands by: another instance leads", instance)
            elif not lock.alive():
                log.error("scheduler %s lost its lock: stopping its jobs", instance)
                scheduler.shutdown(wait=True)
                scheduler = None
                lock.release()
            leading = scheduler is not None
            if last_beat is None or leading != beat_leading or time.monotonic() - last_beat >= HEARTBEAT_SECONDS * scale:
                _beat_safely(app, instance, leading)
                last_beat, beat_leading = time.monotonic(), leading
            time.sleep(poll)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        lock.release()
