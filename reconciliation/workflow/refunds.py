"""Refunds: money given back, either the excess a dossier received (an overpayment, a
duplicate payment) or a transfer that is not ours.

Four eyes: one finance officer requests, another approves or rejects; nobody approves their own
request, and only a person who holds the finance role decides: an admin without it decides
nothing (``roles_required(..., admin_may=False)`` keeps them off the forms too). The sum that may still be refunded is checked under a lock of the row it comes
from (the transaction, or the dossier) at request time and again at approval, counting the
refunds already requested or approved, so two officers at once cannot refund the same
đồng twice. Once the bank has sent the money back, ``mark_paid`` records the bank's
reference and takes the excess off the dossier.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.users import Role, actor_holds
from payments.dossiers import payment_status
from payments.models import Dossier
from qr.banks import by_bin

from reconciliation.matching.allocation import lock_dossier, lock_request, lock_transaction, request_status
from reconciliation.workflow.exceptions import resolve, resolve_open_for_transaction
from reconciliation.models import Refund, ReconException
from reconciliation.channels.outbox import emit

HELD = ("requested", "approved")  # refunds that hold money until they are paid or dropped


def _held_for_transaction(session: Session, transaction_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.transaction_id == transaction_id, Refund.dossier_id.is_(None),
        Refund.status.in_(HELD + ("paid",)))) or 0)


def _held_for_dossier(session: Session, dossier_id: int, *, excluding: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.dossier_id == dossier_id,
                                                                    Refund.status.in_(HELD))
    if excluding is not None:
        query = query.where(Refund.id != excluding)
    return int(session.scalar(query) or 0)


def refundable_from_transaction(session: Session, transaction) -> int:
    """Money of a transaction that pays no dossier and is not already being returned."""
    return max(transaction.amount - transaction.allocated - _held_for_transaction(session, transaction.id), 0)


def refundable_from_dossier(session: Session, dossier: Dossier, *, excluding: int | None = None) -> int:
    """What a dossier received beyond what it owes, less what is already being returned."""
    return max(dossier.amount_paid - dossier.amount_due - _held_for_dossier(session, dossier.id, excluding=excluding), 0)


def refuse_if_remitted(session: Session, dossier: Dossier) -> None:
    """Money of a month whose collections were remitted to the State Treasury is no longer in
    the collection account: it is refunded through the treasury's procedure for refunding
    budget revenue, not by a transfer from the account (docs/TREASURY.md)."""
    from payments.models import Receipt
    from payments.treasury import month_of, remittance_covering
    from reconciliation.models import Allocation

    instants = list(session.scalars(select(Allocation.created_at).where(Allocation.dossier_id == dossier.id,
                                                                        Allocation.reversed_at.is_(None))))
    instants += list(session.scalars(select(Receipt.issued_at).where(Receipt.dossier_id == dossier.id)))
    remittance = remittance_covering(session, dossier.agency_id, {month_of(i) for i in instants})
    if remittance is not None:
        raise Conflict(f"the money of dossier {dossier.code} collected in {remittance.month:%Y-%m} was remitted to the "
                       f"State Treasury ({remittance.document_number}): refund it through the treasury's procedure",
                       code=Refusal.REFUND_AFTER_REMITTANCE,
                       params={"dossier": dossier.code, "month": f"{remittance.month:%m/%Y}",
                               "document": remittance.document_number})


def _check_beneficiary(bank_bin: str, account: str, name: str) -> list[FieldError]:
    errors = []
    if by_bin(bank_bin or "") is None:
        errors.append(FieldError("beneficiary_bank", "a NAPAS bank BIN (6 digits)"))
    if not re.fullmatch(r"[0-9A-Za-z]{6,19}", account or ""):
        errors.append(FieldError("beneficiary_account", "6 to 19 letters or digits"))
    if not (name or "").strip() or len(name) > 200:
        errors.append(FieldError("beneficiary_name", "the account holder's name"))
    return errors


def request_refund(session: Session, *, amount: int, reason: str, beneficiary_bank: str, beneficiary_account: str,
                   beneficiary_name: str, actor: str, transaction_id: int | None = None,
                   dossier_id: int | None = None, exception_id: int | None = None) -> Refund:
    errors = _check_beneficiary(beneficiary_bank, beneficiary_account, beneficiary_name)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors.append(FieldError("amount", "a positive whole number of đồng"))
    elif amount > MAX_AMOUNT:
        errors.append(FieldError("amount", f"at most {MAX_AMOUNT} đồng"))
    if not (reason or "").strip():
        errors.append(FieldError("reason", "required"))
    if (transaction_id is None) == (dossier_id is None):
        errors.append(FieldError("source", "refund either a transaction's unowned money or a dossier's excess"))
    if errors:
        raise ValidationError("the refund is not valid", errors=errors, code=Refusal.INVALID_REFUND)
    if dossier_id is not None:
        dossier = lock_dossier(session, dossier_id)
        refuse_if_remitted(session, dossier)
        available = refundable_from_dossier(session, dossier)
        source = f"dossier {dossier.code}"
    else:
        transaction = lock_transaction(session, transaction_id)
        if transaction.direction != "in":
            raise Conflict("money out cannot be refunded", code=Refusal.MONEY_OUT)
        if not transaction.on_statement:
            raise Conflict("the bank's statement does not show this transfer yet: money is returned only once the "
                           "statement proves it arrived", code=Refusal.NOT_ON_STATEMENT,
                           params={"ref": transaction.bank_ref})
        unexplained = session.scalar(select(ReconException.id).where(
            ReconException.transaction_id == transaction.id, ReconException.status == "open",
            ReconException.reason.in_(("missing_from_statement", "conflicting_report"))).limit(1))
        if unexplained is not None:
            raise Conflict("the transfer has an open question (missing from the statement, or reported differently): "
                           "settle it first", code=Refusal.OPEN_QUESTION, params={"ref": transaction.bank_ref})
        available = refundable_from_transaction(session, transaction)
        source = f"transaction {transaction.bank_ref}"
    if amount > available:
        raise Conflict(f"{amount} đ is more than the {available} đ of {source} that may still be refunded",
                       code=Refusal.REFUND_OVER_AVAILABLE, params={"amount": amount, "available": available})
    refund = Refund(transaction_id=transaction_id, dossier_id=dossier_id, exception_id=exception_id, amount=amount,
                    reason=reason.strip()[:2000], beneficiary_bank=beneficiary_bank,
                    beneficiary_account=beneficiary_account, beneficiary_name=beneficiary_name.strip().upper(),
                    status="requested", requested_by=actor, requested_at=utcnow())
    session.add(refund)
    session.flush()
    audit.record(session, actor, "refund.requested", "refund", refund.id,
                 {"amount": amount, "source": source, "beneficiary": f"{beneficiary_bank}/{beneficiary_account}"})
    return refund


def get_refund(session: Session, refund_id: int) -> Refund:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(f"no refund {refund_id}", params={"id": refund_id})
    return refund


def decide(session: Session, refund: Refund, actor: str, *, approve: bool, note: str | None = None) -> Refund:
    if refund.status != "requested":
        raise Conflict(f"refund {refund.id} is already {refund.status}", code=Refusal.REFUND_STATE,
                       params={"id": refund.id, "status": refund.status})
    if actor == refund.requested_by:
        raise Forbidden("four eyes: a refund is approved or rejected by someone other than who requested it",
                        code=Refusal.FOUR_EYES)
    if not actor_holds(session, actor, Role.FINANCE.value):
        raise Forbidden(f"four eyes: only a finance officer approves or rejects a refund, not {actor}",
                        code=Refusal.NOT_FINANCE_OFFICER, params={"actor": actor})
    if approve:
        if refund.dossier_id is not None:
            dossier = lock_dossier(session, refund.dossier_id)
            refuse_if_remitted(session, dossier)
            available = refundable_from_dossier(session, dossier, excluding=refund.id)
        else:
            transaction = lock_transaction(session, refund.transaction_id)
            available = refundable_from_transaction(session, transaction) + refund.amount
        if refund.amount > available:
            raise Conflict(f"only {available} đ may still be refunded: reject this request",
                           code=Refusal.REFUND_NO_LONGER_AVAILABLE,
                           params={"amount": refund.amount, "available": available})
    elif not (note or "").strip():
        raise ValidationError("say why the refund is rejected", errors=[FieldError("note", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "reject_refund"})
    refund.status = "approved" if approve else "rejected"
    refund.decided_by = actor
    refund.decided_at = utcnow()
    refund.decision_note = (note or "").strip()[:2000] or None
    session.flush()
    audit.record(session, actor, f"refund.{refund.status}", "refund", refund.id,
                 {"amount": refund.amount, "note": refund.decision_note})
    return refund


def mark_paid(session: Session, refund: Refund, actor: str, payout_ref: str) -> Refund:
    """The bank sent the money back: record its reference; the dossier's excess is gone."""
    if refund.status != "approved":
        raise Conflict(f"refund {refund.id} is {refund.status}: only an approved refund is paid",
                       code=Refusal.REFUND_STATE, params={"id": refund.id, "status": refund.status})
    if not (payout_ref or "").strip():
        raise ValidationError("give the bank's reference of the money sent back",
                              errors=[FieldError("payout_ref", "required")], code=Refusal.PAYOUT_REF_REQUIRED)
    refund.status = "paid"
    refund.paid_at = utcnow()
    refund.payout_ref = payout_ref.strip()[:120]
    if refund.dossier_id is not None:
        dossier = lock_dossier(session, refund.dossier_id)
        dossier.amount_paid -= refund.amount
        request = next((r for r in reversed(dossier.payment_requests) if r.amount_paid > r.amount), None)
        if request is not None:
            request = lock_request(session, request.id)
            request.amount_paid -= min(refund.amount, request.amount_paid - request.amount)
            previous = request.status
            request.status = request_status(request)
            from payments.models import PaymentRequestEvent

            request.events.append(PaymentRequestEvent(actor=actor, action="refunded", from_status=previous,
                                                      to_status=request.status, note=refund.reason[:500],
                                                      data={"refund_id": refund.id, "amount": refund.amount},
                                                      at=utcnow()))
        session.flush()
        emit(session, "payment_request.refunded", dossier, request=request,
             data={"refund": {"amount": refund.amount, "payout_ref": refund.payout_ref}})
        if refundable_from_dossier(session, dossier) == 0 and payment_status(dossier) == "paid":
            for item in list(session.scalars(select(ReconException).where(
                    ReconException.dossier_id == dossier.id, ReconException.status == "open",
                    ReconException.reason.in_(("overpaid", "duplicate_payment"))))):
                resolve(session, item, actor, f"excess refunded (refund {refund.id}, {refund.payout_ref})")
    else:
        transaction = lock_transaction(session, refund.transaction_id)
        if refundable_from_transaction(session, transaction) == 0:
            resolve_open_for_transaction(session, refund.transaction_id, actor,
                                         f"returned to the payer (refund {refund.id}, {refund.payout_ref})")
    session.flush()
    audit.record(session, actor, "refund.paid", "refund", refund.id,
                 {"amount": refund.amount, "payout_ref": refund.payout_ref})
    return refund


def cancel(session: Session, refund: Refund, actor: str, note: str) -> Refund:
    """Withdraw a refund before it is paid (the payer's account changed, a mistake)."""
    if refund.status not in HELD:
        raise Conflict(f"refund {refund.id} is {refund.status}: only a requested or approved refund is withdrawn",
                       code=Refusal.REFUND_STATE, params={"id": refund.id, "status": refund.status})
    if not (note or "").strip():
        raise ValidationError("say why the refund is withdrawn", errors=[FieldError("note", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "withdraw_refund"})
    refund.status = "cancelled"
    refund.decision_note = note.strip()[:2000]
    refund.decided_by = refund.decided_by or actor
    refund.decided_at = refund.decided_at or utcnow()
    session.flush()
    audit.record(session, actor, "refund.cancelled", "refund", refund.id, {"note": refund.decision_note})
    return refund


def mark_failed(session: Session, refund: Refund, actor: str, note: str) -> Refund:
    """The bank could not send the money back (a closed account): the money is held again."""
    if refund.status != "approved":
        raise Conflict(f"refund {refund.id} is {refund.status}: only an approved refund can fail",
                       code=Refusal.REFUND_STATE, params={"id": refund.id, "status": refund.status})
    if not (note or "").strip():
        raise ValidationError("say what the bank answered", errors=[FieldError("note", "required")],
                              code=Refusal.REASON_REQUIRED, params={"act": "refund_failed"})
    refund.status = "failed"
    refund.decision_note = note.strip()[:2000]
    session.flush()
    audit.record(session, actor, "refund.failed", "refund", refund.id, {"note": refund.decision_note})
    return refund
