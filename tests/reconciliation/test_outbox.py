"""Outbound events to the dossier system: written with the change, delivered to a real HTTP
receiver, signed, retried on the published schedule, logged, replayable (SQLite and PostgreSQL)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta

from flask import Flask, request
from sqlalchemy import select
from werkzeug.serving import make_server

from core.clock import utcnow
from reconciliation.models import OutboxDelivery, OutboxEvent
from reconciliation.channels.outbox import MAX_ATTEMPTS, RETRY_DELAYS, deliver_due, replay

from .conftest import make_request, ok, post, signed, transfer_for

SECRET = "dossier-system-secret"


class Receiver:
    """A dossier system on a loopback port: checks signatures; answers what it is told."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.received: list[dict] = []
        app = Flask("receiver")

        @app.post("/events")
        def events():
            body = request.get_data()
            stamp = request.headers["X-Hanoi-Timestamp"]
            expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers["X-Hanoi-Signature"]):
                return "bad signature", 401
            status = self.answers.pop(0) if self.answers else 200
            if status == 200:
                self.received.append(json.loads(body))
            return "", status

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_delivered_signed_retried_and_logged(client, seeded):
    receiver = Receiver()
    request = make_request(seeded, amount=8000)
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer_for(request))))
    receiver.answers = [500]
    now = utcnow()
    assert deliver_due(seeded, receiver.url, SECRET, now=now) == 1
    event = seeded.scalars(select(OutboxEvent)).one()
    assert (event.status, event.attempts, event.next_attempt_at) == ("pending", 1, now + RETRY_DELAYS[0])
    assert deliver_due(seeded, receiver.url, SECRET, now=now) == 0  # not due yet
    assert deliver_due(seeded, receiver.url, SECRET, now=now + timedelta(minutes=2)) == 1
    seeded.rollback()
    event = seeded.scalars(select(OutboxEvent)).one()
    assert (event.status, event.attempts) == ("delivered", 2)
    assert receiver.received[0]["type"] == "payment_request.paid"
    assert receiver.received[0]["id"] == event.event_id
    assert receiver.received[0]["dossier"]["code"] == request.dossier.code
    log = seeded.scalars(select(OutboxDelivery).order_by(OutboxDelivery.id)).all()
    assert [(d.status_code, d.error is None) for d in log] == [(500, False), (200, True)]
    receiver.server.shutdown()


def test_a_wrong_secret_is_refused_by_the_receiver_and_the_event_dies_after_the_schedule(client, seeded):
    receiver = Receiver()
    request = make_request(seeded)
    assert ok("payos", post(client, "payos", *signed("payos", transfer_for(request))))
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS):
        deliver_due(seeded, receiver.url, "wrong-secret", now=moment)
        moment += timedelta(days=2)
    seeded.rollback()
    event = seeded.scalars(select(OutboxEvent)).one()
    assert (event.status, event.attempts) == ("dead", MAX_ATTEMPTS)
    assert receiver.received == []
    replay(seeded, event, receiver.url, SECRET, "user:admin")  # an admin sends it again, by hand
    seeded.commit()
    assert seeded.get(OutboxEvent, event.id).status == "delivered"
    assert seeded.scalars(select(OutboxDelivery.actor).order_by(OutboxDelivery.id.desc())).first() == "user:admin"
    receiver.server.shutdown()


def test_nothing_is_sent_when_no_receiver_is_configured(client, seeded):
    request = make_request(seeded)
    assert ok("payos", post(client, "payos", *signed("payos", transfer_for(request))))
    assert deliver_due(seeded, None, None) == 0
    seeded.rollback()
    assert seeded.scalars(select(OutboxEvent.status)).one() == "pending"
