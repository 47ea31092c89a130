"""The national public service portal's payment platform: a payment channel of its own
(bank-specs/portal.md), and the only one besides a provincial gateway that counts as "paid
online" for item 3.6 of Quyết định 766/QĐ-TTg.

- ``initialise`` starts a payment of a dossier on the platform (its ``MaThamChieu``), so the
  service knows what to ask about if the confirmation never comes.
- ``handle_event`` (an ``ingest`` handler) takes a confirmation: the money is stored as the
  bank transaction it is (key: the collection account and ``MaGiaoDich``, so the bank's
  callback and statement line for the same transfer meet it), allocated to the dossier it
  names (either of its codes) as a ``portal`` payment, once per ``MaThamChieu``. A failed
  payment is recorded and moves no money. If the bank's report came first and was matched
  by the dossier code, the confirmation only makes that allocation a ``portal`` payment.
- ``query_pending`` is the scheduled status query for payments not confirmed within 15
  minutes; an answer is journalled and handled like a confirmation.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bank_adapters.callbacks import KIND_PORTAL_PAID, CallbackEvent, InboundRequest, Outcome
from core import audit
from core.clock import to_ict, utcnow
from core.errors import Conflict
from core.refusals import Refusal
from core.money import MAX_AMOUNT
from payments.dossiers import check_total, find_dossier, get_dossier
from payments.models import Dossier, code_key

from reconciliation.matching.allocation import active_allocations, allocate, lock_transaction
from reconciliation.workflow.exceptions import open_exception
from reconciliation.inbound.ingest import Handled, journal_request
from reconciliation.models import PortalPayment
from reconciliation.channels.outbox import emit
from reconciliation.inbound.transactions import record_transfer

log = logging.getLogger(__name__)
QUERY_AFTER = timedelta(minutes=15)


def new_ref(dossier: Dossier, when: datetime) -> str:
    """``dvc<code letters and digits>x<yyyyMMddHHmmss ICT>``, as the platform writes it."""
    return f"dvc{code_key(dossier.code)}x{to_ict(when):%Y%m%d%H%M%S}"


def initialise(session: Session, dossier: Dossier, actor: str, *, amount: int | None = None) -> PortalPayment:
    """Start a payment of what the dossier still owes on the platform. Flushes.

    Idempotent: while a pending portal payment of the dossier for the same amount exists,
    that one is returned and nothing is added, so a client that retries the initialisation
    does not pile up payments."""
    payment, _ = initialise_once(session, dossier, actor, amount=amount)
    return payment


def initialise_once(session: Session, dossier: Dossier, actor: str, *,
                    amount: int | None = None) -> tuple[PortalPayment, bool]:
    """``initialise``, also saying whether the payment was created (False: an existing
    pending one for the same dossier and amount is returned). Flushes."""
    # Lock the dossier (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so
    # two initialisations at once cannot both find no pending payment and both add one.
    dossier = session.get(Dossier, dossier.id, with_for_update={"of": Dossier}, populate_existing=True)
    if dossier.amount_due > MAX_AMOUNT:  # registered before the limit was checked: refused, not a 500
        check_total(dossier.amount_due)
    remaining = dossier.amount_due - dossier.amount_paid
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise Conflict(f"nothing remains due on dossier {dossier.code}", code=Refusal.NOTHING_DUE,
                       params={"dossier": dossier.code})
    existing = session.scalar(select(PortalPayment).where(
        PortalPayment.dossier_id == dossier.id, PortalPayment.status == "pending",
        PortalPayment.amount == amount).order_by(PortalPayment.id).limit(1))
    if existing is not None:
        return existing, False
    now = utcnow()
    ref = new_ref(dossier, now)
    while session.scalar(select(PortalPayment.id).where(PortalPayment.ref == ref)) is not None:
        now += timedelta(seconds=1)
        ref = new_ref(dossier, now)
    payment = PortalPayment(ref=ref, dossier_id=dossier.id, dossier_code=dossier.code,
                            procedure_code=dossier.procedure.code, amount=amount, status="pending", created_at=now,
                            created_by=actor)
    session.add(payment)
    session.flush()
    audit.record(session, actor, "portal.initialised", "portal_payment", payment.id,
                 {"ref": ref, "dossier": dossier.code, "amount": amount})
    return payment, True


def _lock_payment(session: Session, ref: str) -> PortalPayment | None:
    query = select(PortalPayment).where(PortalPayment.ref == ref)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def handle_event(session: Session, event: CallbackEvent, journal_id: int | None, *,
                 via: str = "callback") -> Handled:
    hints = event.hints
    payment = _lock_payment(session, event.event_id)
    if payment is not None and payment.status == "paid":
        return Handled(Outcome.DUPLICATE, "duplicate", payment.transaction_id,
                       f"portal payment {payment.ref} was confirmed before")
    dossier_code = str(hints.get("dossier_code") or "")
    dossier = find_dossier(session, dossier_code) if dossier_code else None
    if payment is None:
        payment = PortalPayment(ref=event.event_id, dossier_id=dossier.id if dossier else None,
                                dossier_code=dossier_code[:60], procedure_code=(hints.get("procedure_code") or None),
                                amount=event.transfer.amount if event.transfer else int(hints.get("amount") or 0),
                                status="pending", created_by=f"portal:{via}")
        session.add(payment)
    payment.journal_id = journal_id
    if event.kind != KIND_PORTAL_PAID:
        if payment.status == "failed":
            return Handled(Outcome.DUPLICATE, "duplicate", None, f"portal payment {payment.ref} failed before")
        payment.status = "failed"
        payment.failure_code = str(hints.get("code") or "")[:10]
        payment.failure_message = str(hints.get("message") or "")[:1000]
        payment.confirmed_via = via
        session.flush()
        audit.record(session, f"portal:{via}", "portal.failed", "portal_payment", payment.id,
                     {"ref": payment.ref, "code": payment.failure_code})
        return Handled(Outcome.ACCEPTED, "accepted", None,
                       f"the platform reports a failed payment ({payment.failure_code}): recorded, no money moved")
    transfer = event.transfer
    recorded = record_transfer(session, transfer, "portal", journal_id=journal_id, event_id=event.event_id)
    transaction = lock_transaction(session, recorded.transaction.id)
    payment.status = "paid"
    payment.bank_ref = transfer.bank_ref
    payment.payer_bank = (transfer.counter_bank or None) and transfer.counter_bank[:10]
    payment.account_number = transfer.account
    payment.paid_at = transfer.booked_at
    payment.transaction_id = transaction.id
    payment.confirmed_via = via
    payment.amount = transfer.amount
    session.flush()
    if dossier is None:
        open_exception(session, "portal_unknown_dossier", transaction_id=transaction.id,
                       account_id=transaction.account_id, amount=transaction.amount,
                       detail=f"the portal confirms {payment.ref} for dossier {dossier_code!r}, which is not known here",
                       actor=f"portal:{via}")
        return Handled(Outcome.UNKNOWN_DOSSIER, "accepted", transaction.id,
                       f"unknown dossier {dossier_code!r}: the money is recorded and flagged")
    payment.dossier_id = dossier.id
    _settle(session, transaction, dossier, payment, via)
    return Handled(Outcome.ACCEPTED, "accepted", transaction.id)


def _settle(session: Session, transaction, dossier: Dossier, payment: PortalPayment, via: str) -> None:
    actor = f"portal:{via}"
    existing = active_allocations(session, transaction_id=transaction.id)
    if existing:
        mine = [a for a in existing if a.dossier_id == dossier.id]
        for allocation in mine:  # the bank's report came first: it was a portal payment all along
            if allocation.payment_channel != "portal":
                previous = allocation.payment_channel
                allocation.payment_channel = "portal"
                audit.record(session, actor, "allocation.channel", "allocation", allocation.id,
                             {"from": previous, "to": "portal", "portal_ref": payment.ref})
        if mine:
            session.flush()
            from payments.receipts import withdraw_receipted_elsewhere

            withdraw_receipted_elsewhere(session, dossier, actor)  # the platform receipts this money
            emit(session, f"dossier.{_status(dossier)}", dossier, data={"portal_ref": payment.ref})
        if len(mine) != len(existing):
            open_exception(session, "conflicting_report", transaction_id=transaction.id,
                           dossier_id=dossier.id, account_id=transaction.account_id, amount=transaction.amount,
                           detail=f"the portal says {payment.ref} paid dossier {dossier.code}, but the transfer "
                                  "was allocated to another dossier", actor=actor)
    left = transaction.amount - transaction.allocated
    if left <= 0 or transaction.direction != "in" or transaction.account_id is None:
        if transaction.account_id is None:
            open_exception(session, "unknown_account", transaction_id=transaction.id, amount=transaction.amount,
                           detail=f"portal payment {payment.ref} to account {transaction.account_number}, "
                                  "not one of ours", actor=actor)
        return
    remaining = dossier.amount_due - dossier.amount_paid
    request = next((r for r in dossier.payment_requests if r.status in ("open", "partially_paid")
                    and r.amount - r.amount_paid == left), None)
    allocate(session, dossier_id=dossier.id, amount=left, actor=actor, rule="portal_confirmation",
             transaction=transaction, request_id=request.id if request else None, portal=True)
    transaction.status = "matched" if transaction.allocated >= transaction.amount else "partially_matched"
    if left > max(remaining, 0):
        open_exception(session, "overpaid" if remaining > 0 else "duplicate_payment", transaction_id=transaction.id,
                       dossier_id=dossier.id, account_id=transaction.account_id, amount=left - max(remaining, 0),
                       detail=f"portal payment {payment.ref}: {left} đ for {max(remaining, 0)} đ due", actor=actor)


def _status(dossier: Dossier) -> str:
    from payments.dossiers import payment_status

    status = payment_status(dossier)
    return status if status in ("paid", "partially_paid", "overpaid") else "paid"



# --- the status query for confirmations that did not come ------------------------------------

Poster = Callable[[str, bytes], tuple[int | None, bytes]]


def query_pending(session: Session, url: str | None, secret: str | None, poster: Poster, keys, *,
                  now: datetime | None = None, limit: int = 50) -> list[tuple[str, str]]:
    """Ask the platform about payments initialised over 15 minutes ago and still pending.
    Returns (ref, what happened) pairs. Commits after each."""
    from bank_adapters.portal import parse_query_answer, query_body

    if not url or not secret:
        return []
    now = now or utcnow()
    due = session.scalars(select(PortalPayment).where(
        PortalPayment.status == "pending", PortalPayment.created_at <= now - QUERY_AFTER,
        (PortalPayment.last_query_at.is_(None)) | (PortalPayment.last_query_at <= now - QUERY_AFTER))
        .order_by(PortalPayment.id).limit(limit)).all()
    refs = [p.ref for p in due]
    session.commit()
    results = []
    for ref in refs:
        body = json.dumps(query_body(ref, secret)).encode("utf-8")
        status, answer = poster(url, body)
        payment = _lock_payment(session, ref)
        payment.queries += 1
        payment.last_query_at = now
        session.commit()
        if status != 200 or not answer:
            results.append((ref, f"no answer ({status})"))
            continue
        inbound = InboundRequest(body=answer, headers={"content-type": "application/json"},
                                 remote_addr="portal-query", received_at=now)
        journal_id = journal_request(session, "portal", inbound, reason=f"status query answer for {ref}")
        try:
            event = parse_query_answer(answer, secret)
        except Exception as exc:  # a Refusal or worse: the answer is kept in the journal
            _mark(session, journal_id, "refused", f"query answer refused: {exc}")
            results.append((ref, f"refused: {exc}"))
            continue
        if event is None:  # still pending on the platform
            _mark(session, journal_id, "ignored", "pending on the platform")
            results.append((ref, "pending"))
            continue
        try:
            handled = handle_event(session, event, journal_id, via="query")
            _mark(session, journal_id, handled.journal_outcome, handled.reason, handled.transaction_id)
            results.append((ref, handled.outcome.value))
        except Exception as exc:
            session.rollback()
            log.exception("portal query answer for %s failed", ref)
            _mark(session, journal_id, "failed", f"{type(exc).__name__}: {exc}")
            results.append((ref, "failed"))
    return results


def _mark(session: Session, journal_id: int, outcome: str, reason: str | None, transaction_id: int | None = None) -> None:
    from reconciliation.models import JournalEntry

    entry = session.get(JournalEntry, journal_id)
    entry.outcome = outcome
    entry.reason = reason
    entry.transaction_id = transaction_id
    entry.processed_at = utcnow()
    entry.attempts += 1
    session.commit()


__all__ = ["handle_event", "initialise", "initialise_once", "query_pending", "get_dossier"]
