"""The JSON shapes of the reconciliation API (CONTRACT.md): amounts in đồng, times in ICT."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core.clock import isoformat_ict

from reconciliation.models import Allocation, BankTransaction, CashPayment, ReconException

if TYPE_CHECKING:
    from reconciliation.inbound.statement_import import ImportSummary


def transaction_json(transaction: BankTransaction, allocations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "transaction_ref": transaction.bank_ref,
        "bank_bin": transaction.bank_bin or None,
        "account": transaction.account_number,
        "amount": transaction.amount,
        "direction": transaction.direction,
        "booked_at": isoformat_ict(transaction.booked_at),
        "booked_on": transaction.booked_on.isoformat(),
        "content": transaction.content,
        "channels": transaction.channel_list,
        "status": transaction.status,
        "allocated": transaction.allocated,
        "on_statement": transaction.on_statement,
        "known_account": transaction.account_id is not None,
        "allocations": allocations if allocations is not None else [],
    }


def allocations_json(session: Session, transaction: BankTransaction) -> list[dict[str, Any]]:
    from payments.models import Dossier, PaymentRequest

    rows = session.execute(
        select(Allocation.amount, Dossier.code, PaymentRequest.reference, Allocation.payment_channel)
        .join(Dossier, Allocation.dossier_id == Dossier.id)
        .outerjoin(PaymentRequest, Allocation.payment_request_id == PaymentRequest.id)
        .where(Allocation.transaction_id == transaction.id, Allocation.reversed_at.is_(None))
        .order_by(Allocation.id)).all()
    return [{"dossier_code": code, "reference": reference, "amount": amount, "payment_channel": channel}
            for amount, code, reference, channel in rows]


def dossier_payments(dossier) -> list[dict[str, Any]]:
    """``payments`` of the dossier API: every allocation in force, oldest first."""
    session = object_session(dossier)
    rows = session.execute(
        select(Allocation, BankTransaction, CashPayment)
        .outerjoin(BankTransaction, Allocation.transaction_id == BankTransaction.id)
        .outerjoin(CashPayment, Allocation.cash_payment_id == CashPayment.id)
        .where(Allocation.dossier_id == dossier.id, Allocation.reversed_at.is_(None))
        .order_by(Allocation.id)).all()
    from payments.receipt_documents import dossier_documents

    documents = dossier_documents(session, dossier.id)[1] if rows else {}
    payments = []
    for allocation, transaction, cash in rows:
        if transaction is not None:
            ref, channel, received = transaction.bank_ref, transaction.first_channel, transaction.booked_at
        else:
            ref, channel, received = f"CASH-{cash.receipt_number}", "cash", cash.received_at
        payments.append({"transaction_ref": ref, "amount": allocation.amount, "channel": channel,
                         "payment_channel": allocation.payment_channel, "received_at": isoformat_ict(received),
                         "allocated_at": isoformat_ict(allocation.created_at),
                         "receipted_by": documents.get(allocation.id, [])})
    return payments


def exception_json(item: ReconException, transaction: BankTransaction | None, dossier_code: str | None) -> dict:
    return {
        "id": item.id,
        "reason": item.reason,
        "status": item.status,
        "transaction_ref": transaction.bank_ref if transaction else None,
        "amount": transaction.amount if transaction else item.amount,
        "amount_concerned": item.amount,
        "account": transaction.account_number if transaction else None,
        "content": transaction.content if transaction else None,
        "received_at": isoformat_ict(transaction.booked_at) if transaction else isoformat_ict(item.created_at),
        "dossier_code": dossier_code,
        "detail": item.detail,
        "owner": item.owner,
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "created_at": isoformat_ict(item.created_at),
        "suggestions": [{k: s.get(k) for k in ("rule", "confidence", "dossier_code", "reference", "amount")}
                        for s in item.suggestions or []],
    }


def import_json(summary: ImportSummary) -> dict[str, Any]:
    first = summary.sections[0] if summary.sections else None
    starts = [s.period_start for s in summary.sections if s.period_start]
    ends = [s.period_end for s in summary.sections if s.period_end]
    return {
        "statement_id": summary.import_id,
        "format": summary.format,
        "account": first.account if first else None,
        "accounts": sorted({s.account for s in summary.sections}),
        "period_start": min(starts).isoformat() if starts else None,
        "period_end": max(ends).isoformat() if ends else None,
        "entries": summary.entries,
        "new_transactions": summary.new_transactions,
        "known_transactions": summary.known_transactions,
        "balance_ok": summary.balance_ok,
        "matched": summary.matched,
        "statements": [
            {"statement_id": s.statement_id, "account": s.account,
             "period_start": s.period_start.isoformat() if s.period_start else None,
             "period_end": s.period_end.isoformat() if s.period_end else None,
             "entries": s.entries, "new_transactions": s.new_transactions,
             "known_transactions": s.known_transactions, "balance_ok": s.balance_ok,
             "balance_message": s.balance_message, "continuity_ok": s.continuity_ok}
            for s in summary.sections
        ],
    }
