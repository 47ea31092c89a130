"""Outbound events to the one-stop dossier system: a transactional outbox.

``emit`` writes the event in the same database transaction as the change it reports, so an
event exists exactly when its change does. ``deliver_due`` (the scheduler's job, or
``flask events deliver``) POSTs pending events to ``DOSSIER_EVENTS_URL``, signed, and
records every attempt in the delivery log. The receiver de-duplicates on ``id``.

Signature: header ``X-Hanoi-Timestamp: <unix seconds>`` and ``X-Hanoi-Signature:
sha256=<lowercase hex HMAC-SHA256(DOSSIER_EVENTS_SECRET, "<timestamp>.<raw body>")>``.

Retry schedule (published in docs/API.md): after a failed attempt the next one comes
1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h, then every 24 h, up to 10 attempts in all; then
the event is ``dead`` and stays in the log, where an administrator can replay it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import isoformat_ict, utcnow
from payments.models import Dossier, PaymentRequest
from payments.money_rules import dossier_event_part
from payments.portal_sync import fee_codes, vietqr_as_gateway

from reconciliation.models import OutboxDelivery, OutboxEvent

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
                timedelta(hours=3), timedelta(hours=6), timedelta(hours=12), timedelta(hours=24),
                timedelta(hours=24))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
EVENT_TYPES = ("payment_request.paid", "payment_request.partially_paid", "payment_request.overpaid",
               "payment_request.refunded", "payment_request.cancelled", "dossier.paid", "dossier.partially_paid",
               "dossier.overpaid", "dossier.payment_reversed")
def dossier_payload(session: Session, dossier: Dossier) -> dict[str, Any]:
    from reconciliation.models import Allocation

    with session.no_autoflush:  # also called while a flush is being prepared
        allocations = session.scalars(select(Allocation).where(Allocation.dossier_id == dossier.id,
                                                               Allocation.reversed_at.is_(None))
                                      .order_by(Allocation.id)).all()
    return dossier_event_part(
        code=dossier.code, portal_code=dossier.portal_code, procedure_code=dossier.procedure.code,
        agency_code=dossier.agency.code, channel=dossier.channel, amount_due=dossier.amount_due,
        amount_paid=dossier.amount_paid, fees=fee_list(dossier.charges),
        payment_channels=[a.payment_channel for a in allocations], vietqr_as_gateway=vietqr_as_gateway(),
        fee_codes=fee_codes())


def fee_list(charges) -> list[dict[str, Any]]:
    """The ``fees`` of an event's dossier: its charge lines (``money_rules.portal_fee_list``
    adds the portal's names for them)."""
    return [{"fee_code": c.fee_code, "name": c.name, "kind": c.kind, "amount": c.amount,
             "legal_basis": c.legal_basis} for c in charges]


def emit(session: Session, event_type: str, dossier: Dossier, *, request: PaymentRequest | None = None,
         data: dict[str, Any] | None = None, flush: bool = True) -> OutboxEvent:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    now = utcnow()
    event_id = "evt_" + secrets.token_hex(12)
    payload: dict[str, Any] = {"id": event_id, "type": event_type, "created_at": isoformat_ict(now),
                               "dossier": dossier_payload(session, dossier)}
    if request is not None:
        payload["payment_request"] = {"reference": request.reference, "amount": request.amount,
                                      "amount_paid": request.amount_paid, "status": request.status}
    if data:
        payload.update(data)
    event = OutboxEvent(event_id=event_id, event_type=event_type, dossier_code=dossier.code, payload=payload,
                        created_at=now, status="pending", attempts=0, next_attempt_at=now)
    session.add(event)
    if flush:
        session.flush()
    return event


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def encode(event: OutboxEvent) -> bytes:
    return json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass
class Answer:
    status: int | None
    body: str
    error: str | None = None


Sender = Callable[[str, bytes, dict[str, str]], Answer]


def http_sender(timeout: float = 10.0) -> Sender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
                return Answer(response.status, response.read(2000).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read(2000).decode("utf-8", "replace"), f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return Answer(None, "", f"{type(exc).__name__}: {exc}")

    return send


def deliver(session: Session, event: OutboxEvent, url: str, secret: str, sender: Sender, *,
            actor: str = "system", now: datetime | None = None) -> OutboxDelivery:
    """One attempt; records it and schedules the next one if it failed. Flushes."""
    now = now or utcnow()
    body = encode(event)
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Hanoi-Event": event.event_type,
               "X-Hanoi-Event-Id": event.event_id, "X-Hanoi-Timestamp": str(timestamp),
               "X-Hanoi-Signature": sign(secret, timestamp, body)}
    started = time.perf_counter()
    answer = sender(url, body, headers)
    elapsed = int((time.perf_counter() - started) * 1000)
    ok = answer.status is not None and 200 <= answer.status < 300
    log = OutboxDelivery(event_id=event.id, attempted_at=now, url=url[:500], status_code=answer.status,
                         response_excerpt=answer.body[:1000], error=None if ok else (answer.error or "not 2xx"),
                         duration_ms=elapsed, actor=actor)
    session.add(log)
    event.attempts += 1
    if ok:
        event.status = "delivered"
        event.delivered_at = now
        event.last_error = None
    else:
        event.last_error = log.error
        if event.attempts >= MAX_ATTEMPTS:
            event.status = "dead"
        else:
            event.next_attempt_at = now + RETRY_DELAYS[min(event.attempts - 1, len(RETRY_DELAYS) - 1)]
    session.flush()
    return log


def deliver_due(session: Session, url: str | None, secret: str | None, sender: Sender | None = None, *,
                limit: int = 100, now: datetime | None = None) -> int:
    """Deliver what is due (oldest first). Commits after each attempt. Returns attempts made."""
    if not url or not secret:
        return 0  # nowhere to send: the events wait, and the admin page says so
    now = now or utcnow()
    sender = sender or http_sender()
    query = select(OutboxEvent).where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= now) \
        .order_by(OutboxEvent.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = list(session.scalars(query))
    for event in events:
        deliver(session, event, url, secret, sender, now=now)
        session.commit()
    return len(events)


def replay(session: Session, event: OutboxEvent, url: str | None, secret: str | None, actor: str,
           sender: Sender | None = None) -> OutboxDelivery:
    """An administrator sends an event again (delivered or dead alike): logged with their name."""
    if not url or not secret:
        from core.errors import Conflict

        raise Conflict("DOSSIER_EVENTS_URL and DOSSIER_EVENTS_SECRET are not configured")
    if event.status == "dead":
        event.status = "pending"
        event.attempts = 0
    log = deliver(session, event, url, secret, sender or http_sender(), actor=actor)
    from core import audit

    audit.record(session, actor, "event.replayed", "outbox_event", event.id,
                 {"event_id": event.event_id, "status_code": log.status_code})
    return log


def announce_cancellations(session: Session, _context, _instances) -> None:
    """A ``before_flush`` listener (installed by ``create_app``): a cancellation (from the
    counter, the API or the system) is written with its outbound event in the same
    transaction, whichever package cancelled it."""
    from payments.models import PaymentRequestEvent

    for obj in list(session.new):
        if isinstance(obj, PaymentRequestEvent) and obj.action == "cancelled" and obj.request is not None:
            request = obj.request
            emit(session, "payment_request.cancelled", request.dossier, request=request,
                 data={"reason": obj.note}, flush=False)
