"""Sign-in throttling: a wait that grows with wrong passwords, never a lock-out.

Failures are counted in the database (``login_throttles``), so every app instance sees the same
counts, under three keys for each attempt:

- the client address (``a:<address>``; an IPv6 address counts by its /64): every name typed
  from there. Slows one machine guessing many accounts;
- the account and the address together (``p:<address>|<name>``): one machine guessing one
  account. This is what stops a guesser; it never touches the account's owner elsewhere;
- the account (``u:<name>``): guesses spread over many addresses. Its wait is kept short
  (``ACCOUNT.cap``, 30 s): that is all anyone can make the owner wait, and the owner does not
  wait even that from an address they signed in from successfully in the last 30 days.

Each key lets a few failures go (``free``); after that every failure sets a wait that doubles,
from 1 s up to the key's cap, and an attempt during a wait is refused without looking at the
password (it does not count). Failures are forgotten after a quiet hour. Unknown names are
counted like real ones, so the waits tell nothing about which names exist.

An attempt is counted as a failure *before* the password is checked (``begin``) and taken back
when it was right (``succeeded``): so that many attempts sent at once cannot all slip through
before the first failure is written. The rows are locked in key order (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import utcnow
from .db import Base
from .types import UTCDateTime


@dataclass(frozen=True)
class Rule:
    free: int  # failures that cost nothing
    cap: int  # the longest wait, in seconds
    first: int = 1  # the wait after the first failure past ``free``, in seconds

    def wait_after(self, failures: int) -> int:
        """Seconds to wait after ``failures`` failures in a row (0 while they are free)."""
        if failures <= self.free:
            return 0
        return min(self.first * 2 ** min(failures - self.free - 1, 30), self.cap)


ADDRESS = Rule(free=20, cap=15 * 60)  # an office behind one NAT address mistypes too
PAIR = Rule(free=3, cap=15 * 60)
ACCOUNT = Rule(free=10, cap=30)  # the bound on what others can make the owner wait
FORGET_AFTER = timedelta(hours=1)
TRUST_FOR = timedelta(days=30)  # a successful sign-in from an address lifts the account's wait there
PURGE_AFTER = timedelta(days=1)


class LoginThrottle(Base):
    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def address_key(address: str | None) -> str:
    """An address as it is counted: IPv4 as it is, IPv6 by its /64 (one subscriber's block)."""
    text = (address or "").strip() or "unknown"
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass
class Attempt:
    """What ``begin`` decided: ``wait`` seconds still to wait (0: go on and check the password)."""

    username: str
    address: str
    wait: int = 0
    claimed: dict[str, datetime | None] = field(default_factory=dict)  # key -> the wait this attempt set

    @property
    def allowed(self) -> bool:
        return self.wait == 0


def _keys(username: str, address: str) -> dict[str, Rule]:
    return {f"a:{address}": ADDRESS, f"p:{address}|{username}": PAIR, f"u:{username}": ACCOUNT}


def _lock_rows(session: Session, keys: list[str]) -> dict[str, LoginThrottle]:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(LoginThrottle).values([{"key": key, "failures": 0} for key in keys])
                    .on_conflict_do_nothing(index_elements=["key"]))
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)
                           .with_for_update().execution_options(populate_existing=True))
    return {row.key: row for row in rows}


def _seconds(until: datetime | None, now: datetime) -> int:
    if until is None or until <= now:
        return 0
    return max(int((until - now).total_seconds() + 0.999), 1)


def begin(session: Session, username: str, address: str | None, now: datetime | None = None) -> Attempt:
    """Whether this attempt may be checked now; if so, it is counted as a failure until
    ``succeeded`` takes it back. Commits."""
    now = now or utcnow()
    address = address_key(address)
    rules = _keys(username, address)
    rows = _lock_rows(session, sorted(rules))
    pair = rows[f"p:{address}|{username}"]
    trusted = pair.last_success_at is not None and now - pair.last_success_at <= TRUST_FOR
    applicable = [key for key in rules if not (trusted and key.startswith("u:"))]
    wait = max(_seconds(rows[key].wait_until, now) for key in applicable)
    attempt = Attempt(username, address, wait)
    if wait == 0:
        for key, rule in rules.items():
            row = rows[key]
            if row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            seconds = rule.wait_after(row.failures)
            if seconds:
                row.wait_until = now + timedelta(seconds=seconds)
                attempt.claimed[key] = row.wait_until
            else:
                attempt.claimed[key] = None
    session.commit()
    return attempt


def wait_now(session: Session, attempt: Attempt, now: datetime | None = None) -> int:
    """After a failed attempt: how long this client must wait before the next one."""
    now = now or utcnow()
    rules = _keys(attempt.username, attempt.address)
    rows = {row.key: row for row in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(rules))
                                                    .execution_options(populate_existing=True))}
    pair = rows.get(f"p:{attempt.address}|{attempt.username}")
    trusted = pair is not None and pair.last_success_at is not None and now - pair.last_success_at <= TRUST_FOR
    return max([_seconds(row.wait_until, now) for key, row in rows.items()
                if not (trusted and key.startswith("u:"))] or [0])


def succeeded(session: Session, attempt: Attempt, now: datetime | None = None) -> None:
    """The password was right: the failure ``begin`` counted is taken back, the pair's count is
    cleared and its address trusted for the account. Flushes; the caller commits."""
    now = now or utcnow()
    rules = _keys(attempt.username, attempt.address)
    rows = _lock_rows(session, sorted(rules))
    for key, row in rows.items():
        if key.startswith("p:"):
            row.failures = 0
            row.wait_until = None
            row.last_success_at = now
            continue
        row.failures = max(row.failures - 1, 0)
        if row.wait_until is not None and row.wait_until == attempt.claimed.get(key):
            row.wait_until = None  # the wait this attempt set, and nobody has set another since
    # Rows with nothing left to remember go (here: a successful sign-in is rarer than a failure).
    session.execute(delete(LoginThrottle).where(_forgettable(now), LoginThrottle.key.not_in(list(rules)))
                    .execution_options(synchronize_session=False))
    session.flush()


def _forgettable(now: datetime):
    """Rows with nothing left to remember: no failure in the last day, no trusted success."""
    return (or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < now - PURGE_AFTER)
            & or_(LoginThrottle.last_success_at.is_(None), LoginThrottle.last_success_at < now - TRUST_FOR)
            & or_(LoginThrottle.wait_until.is_(None), LoginThrottle.wait_until < now))


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete the rows with nothing left to remember (the daily retention job: a guesser who
    never signs in would otherwise leave a row per address and name for ever). Commits."""
    result = session.execute(delete(LoginThrottle).where(_forgettable(now or utcnow()))
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0
