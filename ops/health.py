"""Readiness: may this instance take traffic? Each check says ok or what is wrong.

- ``database``: it answers;
- ``migrations``: its schema is at the Alembic head this code was written for;
- ``scheduler``: a leading scheduler wrote its heartbeat within ``SCHEDULER_STALE_MINUTES``
  (``reconciliation.scheduler.beat``, every minute).

Liveness (``/healthz``, ``core.views``) asks nothing of the database: a database outage must
not get every instance restarted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.cli import MIGRATIONS

from reconciliation.models import SchedulerHeartbeat


@dataclass
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.detail}


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def check_database(session: Session) -> Check:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of the check is to say the database does not answer
        session.rollback()
        return Check("database", False, {"error": type(exc).__name__})
    return Check("database", True)


def check_migrations(session: Session) -> Check:
    try:
        current = frozenset(session.scalars(text("SELECT version_num FROM alembic_version")).all())
    except Exception as exc:  # no alembic_version table: never migrated
        session.rollback()
        return Check("migrations", False, {"error": type(exc).__name__, "head": sorted(migration_heads())})
    heads = migration_heads()
    return Check("migrations", current == heads, {"current": sorted(current), "head": sorted(heads)})


def check_scheduler(session: Session, stale_minutes: int, now: datetime | None = None) -> Check:
    now = now or utcnow()
    seen = session.scalar(select(func.max(SchedulerHeartbeat.seen_at)).where(SchedulerHeartbeat.is_leader.is_(True)))
    if seen is None:
        return Check("scheduler", False, {"error": "no leading scheduler has written a heartbeat",
                                          "stale_after_seconds": stale_minutes * 60})
    from core.clock import as_utc

    age = (now - as_utc(seen)).total_seconds()
    return Check("scheduler", age <= timedelta(minutes=stale_minutes).total_seconds(),
                 {"last_seen": as_utc(seen).isoformat(timespec="seconds"), "age_seconds": round(age),
                  "stale_after_seconds": stale_minutes * 60})


def readiness(session: Session, stale_minutes: int, now: datetime | None = None) -> list[Check]:
    database = check_database(session)
    if not database.ok:
        skipped = {"error": "skipped: the database does not answer"}
        return [database, Check("migrations", False, dict(skipped)), Check("scheduler", False, dict(skipped))]
    return [database, check_migrations(session), check_scheduler(session, stale_minutes, now)]
