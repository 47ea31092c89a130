"""Cache versions: how a process knows that what it caches from a table changed, wherever it changed.

Every callback needs the collection accounts and the matching rules; reading them each time
costs statements on the hot path, so each process keeps them in memory. With several
processes and instances a pure time-to-live would serve a change late (up to the TTL), so
instead ``cache_versions`` holds one counter per cached table, which triggers bump in the
same transaction as any write to that table (migration 0017: whoever writes, the app, a
migration or psql). A cache stores the counter it was loaded at and reloads when the counter
moved. The counters are read once per transaction (one small statement, shared by every
cache the transaction asks), before the cached data, so that a cache never stores older data
under a newer counter.

The bound this gives: a change is used by every transaction that starts after its commit,
on every instance; no time-to-live. A transaction that wrote a cached table itself reads it
afresh and caches nothing of it (``mark_changed``): it may yet roll back.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base

_MEMO = "cache_versions"
_CHANGED = "cache_versions_changed"


class CacheVersion(Base):
    """One counter per cached table (bumped by the table's triggers, never by the code)."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


def versions(session: Session) -> dict[str, int]:
    """Every table's counter as this transaction sees it (read once per transaction)."""
    memo = session.info.get(_MEMO)
    transaction = session.get_transaction()
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo[1]
    found = dict(session.connection().execute(text("SELECT name, version FROM cache_versions")).all())
    # The transaction object itself, not its id: the memo keeps it alive, so a later
    # transaction can never be mistaken for it.
    session.info[_MEMO] = (session.get_transaction(), found)
    return found


def version(session: Session, table: str) -> int | None:
    """The counter of ``table`` in this transaction; None if it has none (then nothing of it
    may be cached)."""
    return versions(session).get(table)


def mark_changed(session: Session, table: str) -> None:
    """This transaction writes ``table``: what it reads of it is its own, maybe never committed,
    so it must not be cached (``changed_here``)."""
    transaction = session.get_transaction()
    memo = session.info.get(_CHANGED)
    if memo is None or memo[0] is not transaction:
        memo = session.info[_CHANGED] = (transaction, set())
    memo[1].add(table)


def changed_here(session: Session, table: str) -> bool:
    """Whether this session's current transaction wrote ``table`` (``mark_changed``)."""
    memo = session.info.get(_CHANGED)
    return memo is not None and memo[0] is session.get_transaction() and table in memo[1]
