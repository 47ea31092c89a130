"""The gauges read from the database at scrape time, each one cheap (an indexed count or max):

- the callback journal's backlog (entries ``received`` and not finished, or ``failed``);
- the outbound events' backlog (``pending``) and the ``dead`` ones;
- open exceptions by reason;
- statement imports by status;
- each scheduled job's last success, and the leading scheduler's last heartbeat;
- days not closed: Indochina days already over that are not closed (a close not finished, or
  money booked on a day nobody closed), per account.

The counters and histograms of the processes themselves are ``core.metrics``. Every number
comes from the database, so any instance answers the same, whatever its workers saw.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import as_utc, ict_day, utcnow
from core.metrics import process_registry

from payments.models import CollectionAccount
from reconciliation.models import (BankTransaction, DailyClose, JobRun, JournalEntry, OutboxEvent, ReconException,
                                   SchedulerHeartbeat, StatementImport)
from reconciliation.scheduler import all_jobs


def _timestamp(value: datetime | None) -> float:
    return as_utc(value).timestamp() if value is not None else 0.0


def _gauge(name: str, documentation: str, labels: list[str], rows: Iterable[tuple]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *label_values, value in rows:
        family.add_metric([str(v) for v in label_values], float(value or 0))
    return family


class DatabaseCollector(Collector):
    def __init__(self, session: Session, now: datetime | None = None) -> None:
        self.session = session
        self.now = now or utcnow()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.session
        journal = dict(s.execute(select(JournalEntry.outcome, func.count()).where(
            JournalEntry.outcome.in_(("received", "failed"))).group_by(JournalEntry.outcome)).all())
        yield _gauge("hanoi_journal_backlog", "Callback journal entries not finished (received) or failed.",
                     ["outcome"], [(o, journal.get(o, 0)) for o in ("received", "failed")])
        outbox = dict(s.execute(select(OutboxEvent.status, func.count()).where(
            OutboxEvent.status.in_(("pending", "dead"))).group_by(OutboxEvent.status)).all())
        yield _gauge("hanoi_outbox_events", "Outbound events waiting for delivery (pending) or given up (dead).",
                     ["status"], [(st, outbox.get(st, 0)) for st in ("pending", "dead")])
        oldest = s.scalar(select(func.min(OutboxEvent.created_at)).where(OutboxEvent.status == "pending"))
        yield _gauge("hanoi_outbox_oldest_pending_seconds", "Age of the oldest pending outbound event (0: none).",
                     [], [((self.now - as_utc(oldest)).total_seconds() if oldest else 0,)])
        yield _gauge("hanoi_exceptions_open", "Open exceptions in the finance queue, by reason.", ["reason"],
                     s.execute(select(ReconException.reason, func.count()).where(ReconException.status == "open")
                               .group_by(ReconException.reason).order_by(ReconException.reason)).all())
        yield _gauge("hanoi_statement_imports", "Statement imports, by status (importing: not finished).", ["status"],
                     s.execute(select(StatementImport.status, func.count()).group_by(StatementImport.status)
                               .order_by(StatementImport.status)).all())
        rows = []
        for job in all_jobs():
            last = s.scalar(select(func.max(JobRun.finished_at)).where(JobRun.job == job.name, JobRun.outcome == "ok"))
            rows.append((job.name, _timestamp(last)))
        yield _gauge("hanoi_job_last_success_timestamp_seconds",
                     "When each scheduled job last finished well (Unix time; 0: never).", ["job"], rows)
        beat = s.scalar(select(func.max(SchedulerHeartbeat.seen_at)).where(SchedulerHeartbeat.is_leader.is_(True)))
        yield _gauge("hanoi_scheduler_heartbeat_timestamp_seconds",
                     "The leading scheduler's last heartbeat (Unix time; 0: never).", [], [(_timestamp(beat),)])
        yield _gauge("hanoi_days_not_closed", "Indochina days already over that are not closed (a close record "
                     "not closed, or money booked on a day never closed), by collection account.", ["account"],
                     _days_not_closed(s, ict_day(self.now)))


def _days_not_closed(s: Session, today) -> list[tuple[str, int]]:
    """(account, days): a day counts once, whether its close was started or never was."""
    t, c = BankTransaction, DailyClose
    closed = select(c.id).where(c.account_id == t.account_id, c.day == t.booked_on, c.status == "closed").exists()
    pairs = set(s.execute(select(t.account_number, t.booked_on).where(
        t.account_id.is_not(None), t.booked_on < today, ~closed).distinct()).all())
    pairs |= set(s.execute(select(CollectionAccount.number, c.day).join(
        CollectionAccount, CollectionAccount.id == c.account_id).where(c.status != "closed", c.day < today)).all())
    counts: dict[str, int] = {}
    for account, _day in pairs:
        counts[account] = counts.get(account, 0) + 1
    return sorted(counts.items())


def scrape(session: Session) -> bytes:
    """The whole exposition: the processes' counters, then the database's gauges."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(session))
    return generate_latest(process_registry()) + generate_latest(database)
