"""The exceptions queue: what a finance officer must look at, and why.

One open exception per (transaction, reason): deciding the same transaction again updates
it rather than piling up copies. Every act on an exception (assign, note, resolve, dismiss)
is an audit record.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import ict_day, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.refusals import Refusal

from reconciliation.models import EXCEPTION_REASONS, ExceptionNote, ReconException, Statement

# Working days a finance officer has to settle each reason, by default.
DEADLINE_DAYS = {"missing_from_statement": 1, "unknown_account": 1, "conflicting_report": 1,
                 "citizen_inquiry": 2}  # a person waits for the answer
DEFAULT_DEADLINE_DAYS = 3


def _deadline(reason: str, today: date) -> date:
    days = DEADLINE_DAYS.get(reason, DEFAULT_DEADLINE_DAYS)
    day = today
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def open_exception(session: Session, reason: str, *, transaction_id: int | None = None, dossier_id: int | None = None,
                   payment_request_id: int | None = None, statement_id: int | None = None,
                   account_id: int | None = None, amount: int = 0, detail: str = "", decision_id: int | None = None,
                   suggestions: list[dict[str, Any]] | None = None, actor: str = "rule:matcher",
                   status: str = "open") -> ReconException:
    if reason not in EXCEPTION_REASONS:
        raise ValueError(f"unknown exception reason {reason!r}")
    existing = None
    if transaction_id is not None:
        existing = session.scalar(select(ReconException).where(
            ReconException.transaction_id == transaction_id, ReconException.reason == reason,
            ReconException.status == "open"))
    if existing is not None:
        existing.amount = amount
        existing.detail = detail or existing.detail
        existing.dossier_id = dossier_id or existing.dossier_id
        existing.payment_request_id = payment_request_id or existing.payment_request_id
        existing.decision_id = decision_id or existing.decision_id
        existing.suggestions = suggestions if suggestions is not None else existing.suggestions
        session.flush()
        return existing
    now = utcnow()
    item = ReconException(reason=reason, status=status, transaction_id=transaction_id, dossier_id=dossier_id,
                          payment_request_id=payment_request_id, statement_id=statement_id, account_id=account_id,
                          amount=amount, detail=detail, decision_id=decision_id, suggestions=suggestions or [],
                          created_at=now, deadline=_deadline(reason, ict_day(now)))
    if status != "open":
        item.resolved_at, item.resolved_by, item.resolution = now, actor, detail
    session.add(item)
    session.flush()
    audit.record(session, actor, "exception.opened" if status == "open" else "exception.recorded", "exception",
                 item.id, {"reason": reason, "transaction_id": transaction_id, "dossier_id": dossier_id,
                           "amount": amount, "status": status})
    return item


def get_exception(session: Session, exception_id: int, *, lock: bool = False) -> ReconException:
    query = select(ReconException).where(ReconException.id == exception_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=ReconException)
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"no exception {exception_id}", params={"id": exception_id})
    return item


def resolve(session: Session, item: ReconException, actor: str, resolution: str, *, status: str = "resolved") -> None:
    if item.status != "open":
        raise Conflict(f"exception {item.id} is already {item.status}", code=Refusal.EXCEPTION_SETTLED,
                       params={"id": item.id, "status": item.status})
    if not resolution or not resolution.strip():
        raise ValidationError("say how it was settled", errors=[FieldError("resolution", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "settle"})
    item.status = status
    item.resolved_at = utcnow()
    item.resolved_by = actor
    item.resolution = resolution.strip()[:2000]
    if item.reason == "balance_mismatch" and item.statement_id is not None:
        # Settling it is accepting the statement's difference: its days may close.
        statement = session.get(Statement, item.statement_id)
        statement.resolved_by, statement.resolved_note = actor, item.resolution
    session.flush()
    audit.record(session, actor, f"exception.{status}", "exception", item.id,
                 {"reason": item.reason, "resolution": item.resolution})


def resolve_open_for_transaction(session: Session, transaction_id: int, actor: str, resolution: str,
                                 reasons: tuple[str, ...] | None = None) -> int:
    """Settle the open exceptions of a transaction that an act has explained (a manual match)."""
    query = select(ReconException).where(ReconException.transaction_id == transaction_id,
                                         ReconException.status == "open")
    if reasons:
        query = query.where(ReconException.reason.in_(reasons))
    items = list(session.scalars(query))
    for item in items:
        resolve(session, item, actor, resolution)
    return len(items)


def resolve_open_for_request(session: Session, request_id: int, reasons: tuple[str, ...], actor: str,
                             resolution: str) -> int:
    items = list(session.scalars(select(ReconException).where(
        ReconException.payment_request_id == request_id, ReconException.status == "open",
        ReconException.reason.in_(reasons))))
    for item in items:
        resolve(session, item, actor, resolution)
    return len(items)


def assign(session: Session, item: ReconException, owner: str | None, deadline: date | None, actor: str) -> None:
    if item.status != "open":
        raise Conflict(f"exception {item.id} is already {item.status}", code=Refusal.EXCEPTION_SETTLED,
                       params={"id": item.id, "status": item.status})
    if deadline is not None and deadline < ict_day(utcnow()):
        raise ValidationError("the deadline is in the past", errors=[FieldError("deadline", "today or later")],
                              code=Refusal.DEADLINE_PAST)
    item.owner = (owner or "").strip()[:64] or None
    if deadline is not None:
        item.deadline = deadline
    session.flush()
    audit.record(session, actor, "exception.assigned", "exception", item.id,
                 {"owner": item.owner, "deadline": item.deadline.isoformat() if item.deadline else None})


def add_note(session: Session, item: ReconException, author: str, text: str) -> ExceptionNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError("a note needs text", errors=[FieldError("text", "required")], code=Refusal.NOTE_REQUIRED)
    note = ExceptionNote(exception_id=item.id, author=author, text=text[:4000], at=utcnow())
    session.add(note)
    session.flush()
    audit.record(session, author, "exception.note", "exception", item.id, {"note_id": note.id})
    return note
