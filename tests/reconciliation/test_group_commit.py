"""Group commit: callbacks that arrive together are journalled, stored, matched and committed
together, with the same outcomes as one by one; a bad one costs the others nothing."""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import event, func, select

from bank_adapters.callbacks import InboundRequest, Outcome
from bank_adapters.keys import DEMO_KEYS
from core.clock import utcnow
from core.db import db
from reconciliation.inbound import group_commit
from reconciliation.inbound import ingest
from reconciliation.inbound.ingest import Pending, process_batch
from reconciliation.models import Allocation, BankTransaction, JournalEntry, MatchDecision

from .conftest import make_request, signed, transfer_for


def pending(via: str, headers, body: bytes) -> Pending:
    inbound = InboundRequest(body=body, headers={k.lower(): v for k, v in dict(headers).items()},
                             remote_addr="127.0.0.1", received_at=utcnow())
    return Pending(via, inbound, DEMO_KEYS)


def paying(via: str, request, **kwargs) -> Pending:
    return pending(via, *signed(via, transfer_for(request, **kwargs)))


def journal(session) -> list[tuple[str, str | None]]:
    return [(e.outcome, e.reason) for e in session.scalars(select(JournalEntry).order_by(JournalEntry.id))]


class Commits:
    def __init__(self, app) -> None:
        self.engine = app.extensions["database"].engine
        self.count = 0

    def __enter__(self):
        event.listen(self.engine, "commit", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "commit", self._seen)

    def _seen(self, _connection) -> None:
        self.count += 1


def test_callbacks_that_arrive_together_are_committed_together(app, seeded):
    requests = [make_request(seeded, amount=8000 + n) for n in range(4)]
    first = transfer_for(requests[0])
    tampered_headers, body = signed("payos", transfer_for(requests[3]))
    tampered = json.loads(body)
    tampered["data"]["amount"] += 1  # the signature no longer holds
    items = [pending("payos", *signed("payos", first)), paying("sepay", requests[1]),
             paying("bankdirect", requests[2]), pending("sepay", *signed("sepay", first)),  # the same transfer again
             pending("payos", tampered_headers, json.dumps(tampered).encode()),
             paying("payos", requests[3])]
    seeded.rollback()
    with Commits(app) as commits:
        process_batch(seeded, items)
    assert commits.count == 2  # the journal, then everything else
    assert [item.result.outcome for item in items] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.ACCEPTED,
                                                       Outcome.DUPLICATE, Outcome.SIGNATURE, Outcome.ACCEPTED]
    assert [outcome for outcome, _ in journal(seeded)] == ["accepted", "accepted", "accepted", "duplicate",
                                                           "refused", "accepted"]
    assert items[4].result.response.status == 401  # the format's own refusal
    assert b"signature" in items[4].result.response.body
    assert seeded.scalar(select(func.count()).select_from(BankTransaction)) == 4
    assert seeded.scalar(select(func.count()).select_from(MatchDecision)) == 4  # the duplicate is not matched twice
    assert seeded.scalar(select(func.sum(Allocation.amount))) == sum(r.amount for r in requests)
    for request in requests:
        seeded.refresh(request)
        assert (request.status, request.amount_paid) == ("paid", request.amount)


def test_a_replay_inside_a_batch_is_refused_and_the_others_go_through(app, seeded):
    requests = [make_request(seeded) for _ in range(2)]
    headers, body = signed("sepay", transfer_for(requests[0]), sepay_mode="hmac")
    items = [pending("sepay", headers, body), pending("sepay", headers, body), paying("payos", requests[1])]
    seeded.rollback()
    process_batch(seeded, items)
    assert [item.result.outcome for item in items] == [Outcome.ACCEPTED, Outcome.REPLAY, Outcome.ACCEPTED]
    entries = journal(seeded)
    assert [outcome for outcome, _ in entries] == ["accepted", "refused", "accepted"]
    assert entries[1][1].startswith("replay")
    assert seeded.scalar(select(func.count()).select_from(BankTransaction)) == 2
    for request in requests:
        seeded.refresh(request)
        assert request.status == "paid"


def test_a_failing_callback_costs_only_itself(app, seeded):
    requests = [make_request(seeded, amount=amount) for amount in (8000, 7777, 9000)]
    items = [paying("payos", request) for request in requests]
    seeded.rollback()

    def broken(session, seen):
        if any(recorded.transaction.amount == 7777 for recorded, _ in seen):
            raise RuntimeError("disk on fire")

    ingest.on_transfers(broken)
    try:
        process_batch(seeded, items)
    finally:
        ingest._transfer_hooks.remove(broken)
    assert [item.result.outcome for item in items] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert items[1].result.response.status == 503  # payOS is asked to resend
    assert journal(seeded) == [("accepted", None), ("failed", "RuntimeError: disk on fire"), ("accepted", None)]
    assert sorted(seeded.scalars(select(BankTransaction.amount))) == [8000, 9000]
    statuses = []
    for request in requests:
        seeded.refresh(request)
        statuses.append(request.status)
    assert statuses == ["paid", "open", "paid"]


@pytest.mark.parametrize("max_batch,sizes", [(32, [1, 5]), (2, [1, 2, 2, 1])])
def test_callbacks_waiting_behind_a_batch_go_in_the_next_one(app, seeded, monkeypatch, max_batch, sizes):
    requests = [make_request(seeded) for _ in range(6)]
    items = [paying("payos", request) for request in requests]
    seeded.rollback()
    batcher = group_commit.CallbackBatcher(max_batch=max_batch)
    go, seen_sizes, real = threading.Event(), [], group_commit.process_batch

    def held_first(session, batch):  # the first batch waits until the others have queued
        seen_sizes.append(len(batch))
        if len(seen_sizes) == 1:
            go.wait(30)
        real(session, batch)

    monkeypatch.setattr(group_commit, "process_batch", held_first)
    results: dict[int, object] = {}

    def send(n: int) -> None:
        with app.app_context():
            results[n] = batcher.submit(db.session, items[n])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    threads[0].start()
    until(lambda: seen_sizes == [1])
    for thread in threads[1:]:
        thread.start()
    until(lambda: len(batcher._queue) == 5)
    go.set()
    for thread in threads:
        thread.join(60)
    assert seen_sizes == sizes
    assert (batcher.batches, batcher.largest) == (len(sizes), max(sizes))
    assert [results[n].outcome for n in range(6)] == [Outcome.ACCEPTED] * 6
    assert not batcher._queue and not batcher._leading and not batcher._ready
    for request in requests:
        seeded.refresh(request)
        assert request.status == "paid"


def test_a_batch_cut_off_answers_every_callback_with_a_retry(app, seeded, monkeypatch):
    requests = [make_request(seeded) for _ in range(2)]
    items = [paying("payos", request) for request in requests]
    seeded.rollback()
    batcher = group_commit.CallbackBatcher()

    def interrupted(session, batch):
        raise KeyboardInterrupt  # not an Exception: process_batch's own fallbacks do not catch it

    monkeypatch.setattr(group_commit, "process_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batcher.submit(seeded, items[0])
    assert items[0].result.outcome == Outcome.FAILED
    assert not batcher._leading  # the next callback is not stuck behind it
    monkeypatch.undo()
    assert batcher.submit(seeded, items[1]).outcome == Outcome.ACCEPTED


def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_callback_endpoint_goes_through_the_apps_group_commit_and_the_portal_does_not(app, client, seeded):
    from .conftest import ok, post

    request = make_request(seeded)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request))))
    batcher = app.extensions["callback_batcher"]
    assert (batcher.max_batch, batcher.batches, batcher.largest) == (32, 1, 1)
    assert post(client, "portal", {"Content-Type": "application/json"}, b"{}").status == 200  # refused in its words
    assert batcher.batches == 1
    assert [outcome for outcome, _ in journal(seeded)] == ["accepted", "refused"]
