"""The audit trail: every change of money state and every manual act, append-only, each
record chained to the one before by a hash, so that a later edit or deletion is detected.

``record(session, actor, action, entity, entity_id, data)`` appends in the caller's
transaction. The chain needs one order: the single ``audit_head`` row is locked (``FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers) and holds
the last id and hash. Callers append as the last step before their commit, so the lock is
held briefly. ``verify(session)`` recomputes the chain and names the first record that does
not fit.

The hash of a record is SHA-256 over the previous hash and the record's canonical JSON
(sorted keys, no spaces): ``id``, ``at`` (ISO, UTC), ``actor``, ``action``, ``entity``,
``entity_id``, ``data``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import as_utc, utcnow
from .db import Base
from .types import UTCDateTime

GENESIS = "0" * 64


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The end of the chain: one row, locked while a record is appended."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    note: Mapped[str | None] = mapped_column(Text)


def _canonical(record_id: int, at: datetime, actor: str, action: str, entity: str, entity_id: str,
               data: dict[str, Any]) -> bytes:
    body = {"id": record_id, "at": as_utc(at).isoformat(timespec="microseconds"), "actor": actor, "action": action,
            "entity": entity, "entity_id": entity_id, "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def chain_hash(prev_hash: str, record_id: int, at: datetime, actor: str, action: str, entity: str, entity_id: str,
               data: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + _canonical(record_id, at, actor, action, entity, entity_id,
                                                                 data)).hexdigest()


def record(session: Session, actor: str, action: str, entity: str, entity_id: Any,
           data: dict[str, Any] | None = None) -> int:
    """Append one record to the chain, in the caller's transaction; returns its id. Written
    with plain SQL statements (this runs on every change of money, the callbacks' fast path)."""
    from .rawsql import Raw

    data = json.loads(json.dumps(data or {}, default=str))  # what is hashed is what is stored
    raw = Raw(session)
    head = raw.one("SELECT last_id, last_hash FROM audit_head WHERE id = 1" + (" FOR UPDATE" if raw.postgresql else ""))
    if head is None:
        raw.execute("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :genesis)", {"genesis": GENESIS})
        last_id, last_hash = 0, GENESIS
    else:
        last_id, last_hash = head
    record_id = last_id + 1
    at = utcnow()
    digest = chain_hash(last_hash, record_id, at, actor, action, entity, str(entity_id), data)
    raw.run("INSERT INTO audit_records (id, at, actor, action, entity, entity_id, data, prev_hash, hash) "
            "VALUES (:id, :at, :actor, :action, :entity, :entity_id, :data, :prev, :hash)",
            {"id": record_id, "at": at, "actor": actor[:100], "action": action, "entity": entity,
             "entity_id": str(entity_id)[:60], "data": json.dumps(data, ensure_ascii=False), "prev": last_hash,
             "hash": digest})
    raw.run("UPDATE audit_head SET last_id = :id, last_hash = :hash WHERE id = 1", {"id": record_id, "hash": digest})
    return record_id


@dataclass
class Verification:
    ok: bool
    records: int
    problem: str | None = None
    record_id: int | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute the chain from the first record; the first record that does not fit (edited,
    deleted, inserted, reordered) is named, and the head must point at the last one."""
    previous = GENESIS
    expected_id = 1
    count = 0
    last_seen = 0
    while True:
        rows = session.scalars(select(AuditRecord).where(AuditRecord.id > last_seen).order_by(AuditRecord.id)
                               .limit(batch)).all()
        if not rows:
            break
        for row in rows:
            if row.id != expected_id:
                return Verification(False, count, f"record {expected_id} is missing (next is {row.id})", expected_id)
            if row.prev_hash != previous:
                return Verification(False, count, f"record {row.id} does not follow record {row.id - 1}", row.id)
            digest = chain_hash(previous, row.id, row.at, row.actor, row.action, row.entity, row.entity_id,
                                row.data or {})
            if digest != row.hash:
                return Verification(False, count, f"record {row.id} was changed after it was written", row.id)
            previous = row.hash
            expected_id += 1
            count += 1
            last_seen = row.id
        session.expunge_all()
    head = session.execute(select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    if head is not None and (head.last_id != count or head.last_hash != previous):
        return Verification(False, count, f"the chain ends at record {count} but its head says {head.last_id}: "
                                          "records after it were deleted", count + 1)
    if head is None and count:
        return Verification(False, count, "the chain's head is missing", None)
    return Verification(True, count)
