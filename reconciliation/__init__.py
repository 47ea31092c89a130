"""Reconciliation: the journal, bank transactions, the matcher, allocations, exceptions,
statement runs and the daily close, refunds, the portal channel, cash, outbound events and
the scheduled jobs.

``init_app(app)`` connects it to the rest: the callback pipeline's hooks (matching on the
fast path, the portal's confirmations) and the outbound event for a cancelled request.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

_ready = False


def init_app(app: Flask) -> None:
    global _ready
    if _ready:
        return
    from reconciliation.channels import portal  # noqa: F401  (registers the portal's handler)
    from reconciliation.inbound.ingest import on_transfers
    from reconciliation.matching.reconcile import on_new_transfers

    on_transfers(on_new_transfers)
    from payments.serializers import register_payment_lines

    from reconciliation.api.serializers import dossier_payments

    register_payment_lines(dossier_payments)
    event.listen(Session, "before_flush", _cancelled_requests_are_announced)
    _ready = True


def _cancelled_requests_are_announced(session: Session, _context, _instances) -> None:
    """A cancellation (from the counter, the API or the system) is written with its outbound
    event in the same transaction, whichever package cancelled it."""
    from payments.models import PaymentRequestEvent

    from reconciliation.channels.outbox import emit

    for obj in list(session.new):
        if isinstance(obj, PaymentRequestEvent) and obj.action == "cancelled" and obj.request is not None:
            request = obj.request
            emit(session, "payment_request.cancelled", request.dossier, request=request,
                 data={"reason": obj.note}, flush=False)
