"""Cancelling or replacing an issued e-receipt, by four eyes.

A receipt once issued is never edited: a wrong one (a misspelt payer, a receipt issued in
error) is cancelled, or replaced by a new receipt with a new number in the current year's
series. One finance officer asks, saying why (``request_change``); a different finance officer
approves or rejects (``decide``), as for refunds (``reconciliation.workflow.refunds``): nobody
decides their own request, and only a person holding the finance role asks or decides (an
admin without it does neither). Both documents stay recorded: the old receipt is
``cancelled`` (shown ``replaced`` once a receipt names it in ``replaces_id``), with who
cancelled it, when and why, and the request names the replacement.

Money is not touched here: cancelling a receipt does not unpay the dossier (undoing a payment
is an unmatch or a reversal, which cancels receipts by itself).
"""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import to_ict, utcnow
from core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from core.refusals import Refusal
from core.users import Role, actor_holds

from .models import Agency, Receipt, ReceiptChange, ReceiptLink
from .receipts import receipt_number, series_of, take_numbers

ACTIONS = ("cancel", "replace")


def _label(receipt: Receipt) -> str:
    return f"{receipt.series}-{receipt_number(receipt)}"


def _finance_only(session: Session, actor: str) -> None:
    if not actor_holds(session, actor, Role.FINANCE.value):
        raise Forbidden(f"only a finance officer asks for or decides a receipt's cancellation, not {actor}",
                        code=Refusal.RECEIPT_NOT_FINANCE_OFFICER, params={"actor": actor})


def _lock(session: Session, receipt_id: int) -> Receipt:
    query = select(Receipt).where(Receipt.id == receipt_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Receipt)
    receipt = session.scalars(query).one_or_none()
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}", params={"id": receipt_id})
    return receipt


def pending_change(session: Session, receipt_id: int) -> ReceiptChange | None:
    return session.scalar(select(ReceiptChange).where(ReceiptChange.receipt_id == receipt_id,
                                                      ReceiptChange.status == "requested"))


def request_change(session: Session, receipt_id: int, *, action: str, reason: str, actor: str,
                   payer_name: str | None = None) -> ReceiptChange:
    """Ask for ``receipt_id`` to be cancelled or replaced (a replacement may correct the payer's
    name). Flushes; the caller commits."""
    errors = []
    if action not in ACTIONS:
        errors.append(FieldError("action", "cancel or replace"))
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        errors.append(FieldError("reason", "why (1 to 2,000 characters)"))
    payer_name = (payer_name or "").strip() or None
    if payer_name is not None and (action != "replace" or len(payer_name) > 200):
        errors.append(FieldError("payer_name", "a replacement's payer, at most 200 characters"))
    if errors:
        raise ValidationError("the receipt change is not valid", errors=errors, code=Refusal.INVALID_RECEIPT_CHANGE)
    _finance_only(session, actor)
    receipt = _lock(session, receipt_id)
    if receipt.status != "issued":
        raise Conflict(f"receipt {_label(receipt)} is no longer in force", code=Refusal.RECEIPT_NOT_IN_FORCE,
                       params={"number": _label(receipt)})
    if pending_change(session, receipt.id) is not None:
        raise Conflict(f"receipt {_label(receipt)} already has a change waiting for a decision",
                       code=Refusal.RECEIPT_CHANGE_PENDING, params={"number": _label(receipt)})
    change = ReceiptChange(receipt_id=receipt.id, action=action, reason=reason, payer_name=payer_name,
                           status="requested", requested_by=actor, requested_at=utcnow())
    session.add(change)
    session.flush()
    audit.record(session, actor, "receipt.change_requested", "receipt", receipt.id,
                 {"change": change.id, "action": action, "number": _label(receipt), "reason": reason})
    return change


def get_change(session: Session, change_id: int) -> ReceiptChange:
    change = session.get(ReceiptChange, change_id)
    if change is None:
        raise NotFound(f"no receipt change {change_id}", params={"id": change_id})
    return change


def decide(session: Session, change: ReceiptChange, actor: str, *, approve: bool,
           note: str | None = None) -> Receipt | None:
    """Approve or reject ``change``; an approved replacement returns the new receipt. Flushes."""
    if change.status != "requested":
        raise Conflict(f"receipt change {change.id} is already {change.status}", code=Refusal.RECEIPT_CHANGE_DECIDED,
                       params={"id": change.id})
    if actor == change.requested_by:
        raise Forbidden("four eyes: a receipt change is decided by someone other than who asked for it",
                        code=Refusal.RECEIPT_FOUR_EYES)
    _finance_only(session, actor)
    now = utcnow()
    change.status = "approved" if approve else "rejected"
    change.decided_by, change.decided_at = actor, now
    change.decision_note = (note or "").strip()[:2000] or None
    if not approve:
        audit.record(session, actor, "receipt.change_rejected", "receipt", change.receipt_id,
                     {"change": change.id, "note": change.decision_note})
        session.flush()
        return None
    old = _lock(session, change.receipt_id)
    if old.status != "issued":
        raise Conflict(f"receipt {_label(old)} is no longer in force", code=Refusal.RECEIPT_NOT_IN_FORCE,
                       params={"number": _label(old)})
    old.status, old.cancelled_at, old.cancelled_by = "cancelled", now, actor
    old.cancel_reason = change.reason[:500]
    audit.record(session, actor, "receipt.cancelled", "receipt", old.id,
                 {"change": change.id, "number": _label(old), "reason": old.cancel_reason,
                  "requested_by": change.requested_by})
    replacement = None
    if change.action == "replace":
        replacement = _replacement(session, old, change, actor, now)
        change.replacement_id = replacement.id
    session.flush()
    return replacement


def _replacement(session: Session, old: Receipt, change: ReceiptChange, actor: str, now) -> Receipt:
    """The same money and lines with a new number in the current year's series (the unit's
    series may have moved on since); it covers what the old one covered."""
    agency = session.get(Agency, old.agency_id)
    year = to_ict(now).year
    form, series = series_of(agency, year)
    number = take_numbers(session, form, series, year)
    new = Receipt(agency_id=old.agency_id, dossier_id=old.dossier_id, form=form, series=series, year=year,
                  number=number, kind=old.kind, payer_name=change.payer_name or old.payer_name, lines=old.lines,
                  amount=old.amount, payment_channel=old.payment_channel, lookup_token=secrets.token_urlsafe(18),
                  issued_at=now, issued_by=actor, status="issued", replaces_id=old.id)
    session.add(new)
    session.flush()
    for allocation_id in session.scalars(select(ReceiptLink.allocation_id).where(ReceiptLink.receipt_id == old.id)):
        session.add(ReceiptLink(receipt_id=new.id, allocation_id=allocation_id))
    audit.record(session, actor, "receipt.issued", "receipt", new.id,
                 {"number": _label(new), "replaces": _label(old), "change": change.id, "amount": new.amount})
    return new


def changes_waiting(session: Session) -> list[ReceiptChange]:
    return list(session.scalars(select(ReceiptChange).where(ReceiptChange.status == "requested")
                                .order_by(ReceiptChange.id)))


def recent_changes(session: Session, limit: int = 50) -> list[ReceiptChange]:
    return list(session.scalars(select(ReceiptChange).where(ReceiptChange.status != "requested")
                                .order_by(ReceiptChange.id.desc()).limit(limit)))
