"""What a finance officer does by hand: match a transaction to a request or a dossier, split
it across dossiers, undo a match, mark money as not ours. Each act is one database
transaction (the caller commits) with one decision record and audit records naming the
person; each checks what it changes first (a closed day, money left to allocate)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.refusals import Refusal
from payments.dossiers import find_dossier
from payments.models import PaymentRequest

from reconciliation.matching.allocation import active_allocations, allocate, ensure_day_open, lock_transaction, reverse
from reconciliation.workflow.exceptions import open_exception, resolve_open_for_transaction
from reconciliation.matching.matcher import Decision
from reconciliation.models import Allocation, BankTransaction
from reconciliation.matching.reconcile import record_decision

# Reasons a manual match settles: the transaction is explained once a person allocated it.
SETTLED_BY_MATCH = ("unknown_reference", "amount_mismatch", "below_auto_threshold", "wrong_account",
                    "missing_callback", "request_closed")


@dataclass(frozen=True)
class Part:
    """One piece of a manual allocation: a dossier (by code) or a request (by reference)."""

    amount: int
    dossier_code: str | None = None
    reference: str | None = None


def get_transaction(session: Session, transaction_id: int) -> BankTransaction:
    """The transaction, locked, for a manual act; a closed day's transactions are refused first."""
    transaction = session.get(BankTransaction, transaction_id)
    if transaction is None:
        raise NotFound(f"no transaction {transaction_id}", params={"id": transaction_id})
    transaction = lock_transaction(session, transaction_id)
    ensure_day_open(session, transaction)
    return transaction


def _target(session: Session, part: Part) -> tuple[int, int | None]:
    if part.reference:
        request = session.scalar(select(PaymentRequest).where(PaymentRequest.reference == part.reference.strip().upper()))
        if request is None:
            raise ValidationError(f"no payment request {part.reference}",
                                  errors=[FieldError("reference", "not found")], code=Refusal.UNKNOWN_TARGET,
                                  params={"target": part.reference})
        return request.dossier_id, request.id
    if part.dossier_code:
        dossier = find_dossier(session, part.dossier_code.strip())
        if dossier is None:
            raise ValidationError(f"no dossier {part.dossier_code}", errors=[FieldError("dossier_code", "not found")],
                                  code=Refusal.UNKNOWN_TARGET, params={"target": part.dossier_code})
        return dossier.id, None
    raise ValidationError("name a payment request or a dossier", errors=[FieldError("target", "required")],
                          code=Refusal.NO_TARGET)


def match_manually(session: Session, transaction_id: int, parts: list[Part], actor: str, note: str) -> list[Allocation]:
    """Allocate the transaction's money as ``parts`` say (one part: a match; several: a split)."""
    if not note or not note.strip():
        raise ValidationError("say why (what you checked)", errors=[FieldError("note", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "match"})
    if not parts:
        raise ValidationError("nothing to allocate", errors=[FieldError("parts", "at least one")],
                              code=Refusal.NOTHING_TO_ALLOCATE)
    transaction = get_transaction(session, transaction_id)
    for part in parts:
        if isinstance(part.amount, bool) or not isinstance(part.amount, int) or part.amount <= 0:
            raise ValidationError("each amount is a positive whole number of đồng",
                                  errors=[FieldError("amount", "positive whole đồng")],
                                  code=Refusal.NOT_A_POSITIVE_AMOUNT)
    total = sum(p.amount for p in parts)
    left = transaction.amount - transaction.allocated
    if total > left:
        raise Conflict(f"{total} đ is more than the {left} đ of this transaction left to allocate",
                       code=Refusal.OVER_ALLOCATION, params={"total": total, "left": left})
    rule = "manual_split" if len(parts) > 1 else "manual_match"
    decision = record_decision(session, transaction, Decision(rule, 1.0, "matched", {
        "parts": [p.__dict__ for p in parts], "note": note.strip()}), actor)
    made = []
    for part in parts:
        dossier_id, request_id = _target(session, part)
        made.append(allocate(session, dossier_id=dossier_id, amount=part.amount, actor=actor, rule=rule,
                             transaction=transaction, request_id=request_id, decision_id=decision.id,
                             note=note.strip()[:500]))
    resolve_open_for_transaction(session, transaction.id, actor, f"{rule} by {actor}: {note.strip()}",
                                 reasons=SETTLED_BY_MATCH)
    return made


def unmatch(session: Session, transaction_id: int, actor: str, reason: str) -> int:
    """Undo every allocation of the transaction; it goes back to the queue for a person."""
    if not reason or not reason.strip():
        raise ValidationError("say why the match is undone", errors=[FieldError("reason", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "unmatch"})
    transaction = get_transaction(session, transaction_id)
    allocations = active_allocations(session, transaction_id=transaction.id)
    if not allocations:
        raise Conflict("the transaction has no allocation to undo", code=Refusal.NOTHING_TO_UNDO)
    for allocation in allocations:
        reverse(session, allocation, actor, reason)
    record_decision(session, transaction, Decision("manual_unmatch", 1.0, "unmatched", {"reason": reason.strip()}),
                    actor)
    open_exception(session, "unknown_reference", transaction_id=transaction.id, account_id=transaction.account_id,
                   amount=transaction.amount - transaction.allocated,
                   detail=f"unmatched by {actor}: {reason.strip()}", actor=actor)
    return len(allocations)


def mark_not_ours(session: Session, transaction_id: int, actor: str, reason: str) -> BankTransaction:
    """Money that belongs to no dossier (a wrong beneficiary, a test): to be returned."""
    if not reason or not reason.strip():
        raise ValidationError("say why it is not ours", errors=[FieldError("reason", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "not_ours"})
    transaction = get_transaction(session, transaction_id)
    if transaction.direction != "in":
        raise Conflict("money out is not marked", code=Refusal.MONEY_OUT)
    if transaction.allocated:
        raise Conflict("undo its allocations first: part of it pays a dossier", code=Refusal.STILL_ALLOCATED,
                       params={"allocated": transaction.allocated})
    if transaction.disposition == "not_ours":
        raise Conflict("the transaction is already marked as not ours", code=Refusal.ALREADY_NOT_OURS)
    record_decision(session, transaction, Decision("not_ours", 1.0, "not_ours", {"reason": reason.strip()}), actor)
    # Only what marking explains is settled: a transfer the statement does not show, or one
    # reported differently, still needs its own explanation.
    resolve_open_for_transaction(session, transaction.id, actor, f"not ours ({actor}): {reason.strip()}; to be "
                                 "returned by a refund", reasons=SETTLED_BY_MATCH + ("duplicate_payment", "overpaid"))
    transaction.status = "unmatched"
    transaction.disposition = "not_ours"
    session.flush()
    from core import audit

    audit.record(session, actor, "transaction.not_ours", "bank_transaction", transaction.id,
                 {"reason": reason.strip(), "amount": transaction.amount})
    return transaction
