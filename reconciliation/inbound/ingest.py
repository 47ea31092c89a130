"""Callbacks in: the raw request is journalled and committed first, then stored as one
bank transaction, then answered.

The order is the point (DESIGN.md, invariants):

1. The adapter authenticates and parses, in memory (adapters are pure). A request it
   refuses is journalled cut to its first ``REFUSED_BODY_KEPT`` bytes (with the size and
   SHA-256 of the whole) and answered in the format's own words; nothing else changes.
2. ``journal_request`` commits the exact bytes of a verified request, the headers that matter
   and the source address, before anything else is stored. If that fails, the sender is
   told to retry (nothing was promised).
3. ``process`` stores the transfer (``record_transfer``: one row per real transfer), checks
   the request nonce against replays, lets the reconciliation hooks act on it (matching,
   the portal's confirmations), and records the outcome on the journal entry, all in ONE
   database transaction. Only after that commit is a success answered.
4. If step 3 fails for a reason of ours, its transaction is rolled back, the entry is marked
   ``failed`` (kept, with the error) and the sender is told to retry; the retry job and
   ``flask journal replay`` re-run failed entries from their stored bytes.

Callbacks that arrive together go through the same steps together (``process_batch``, driven
by ``group_commit``): one commit for their journal entries, then one for all the rest.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bank_adapters.callbacks import (KIND_IGNORED, KIND_PORTAL_FAILED, KIND_PORTAL_PAID, KIND_TEST, KIND_TRANSFER,
                                     CallbackAdapter, CallbackEvent, CallbackResponse, ChannelKeys, InboundRequest,
                                     Outcome, Refusal, get_adapter)
from core.clock import utcnow
from core.db import database_unavailable
from core.rawsql import Raw, json_value, pipelined

from reconciliation.models import CallbackNonce, JournalEntry
from reconciliation.inbound.transactions import Recorded, insert_ignoring_conflict, record_transfer, record_transfers

log = logging.getLogger(__name__)

CALLBACK_MAX_BYTES = 64 * 1024  # a real callback is under 2 KB; anything near this is not one
# A refused or unauthenticated callback keeps only this much of its body (with its size and the
# SHA-256 of the whole): enough to see what it was, not a store anyone can fill for free.
REFUSED_BODY_KEPT = 4096
_KEPT_HEADERS = ("content-type", "content-length", "user-agent", "x-forwarded-for", "x-real-ip",
                 "x-sepay-timestamp", "x-sepay-signature", "authorization")


def _log_failure(message: str, *args) -> None:
    """Log the exception being handled: one line when the database is away (an outage would
    otherwise write a traceback per callback), the traceback for anything else."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        detail = str(getattr(exc, "orig", None) or exc).strip() or type(exc).__name__
        log.warning(message + ": the database does not answer (%s)", *args, detail.splitlines()[0][:200])
    else:
        log.exception(message, *args)


class Replay(Exception):
    pass


class Unprocessable(Exception):
    """A verified callback the service must refuse for what it names (unknown dossier, ...)."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class Handled:
    """What a hook made of a verified event: the journal outcome and the answer's outcome."""

    outcome: Outcome
    journal_outcome: str
    transaction_id: int | None = None
    reason: str | None = None


# Hooks the reconciliation layer registers: called inside the processing transaction.
# ``on_transfers(session, seen)`` runs once for the transfers one transaction stored or saw
# again, ``seen`` being a list of ``(Recorded, CallbackEvent)`` (one callback, or a group
# commit's batch); ``portal_handler(session, event, journal_id)`` handles the portal's
# confirmations.
_transfer_hooks: list[Callable] = []
_portal_handler: list[Callable] = []


def on_transfers(hook: Callable) -> Callable:
    if hook not in _transfer_hooks:
        _transfer_hooks.append(hook)
    return hook


def set_portal_handler(handler: Callable) -> None:
    _portal_handler[:] = [handler]


def kept_headers(headers) -> dict[str, str]:
    """The headers worth keeping, with secrets masked (an API key is a secret; a signature is not)."""
    kept = {}
    for name in _KEPT_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "authorization":
            # The secret itself is not kept; its digest lets a replay check that the key
            # configured now is the one the request carried (see ``_replay_headers``).
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} *** sha256={hashlib.sha256(secret.encode('utf-8', 'replace')).hexdigest()}"
        kept[name] = value[:500]
    return kept


def journal_request(session: Session, channel: str, request: InboundRequest, *, reason: str | None = None,
                    outcome: str = "received") -> int:
    """Commit the raw request. Returns the journal entry's id."""
    entry_id = _journal_insert(session, channel, request, reason=reason, outcome=outcome)
    session.commit()
    return entry_id


def _journal_insert(session: Session, channel: str, request: InboundRequest, *, reason: str | None = None,
                    outcome: str = "received", size: int | None = None) -> int:
    # One plain INSERT: this is the first thing every callback does.
    return Raw(session).one(_JOURNAL_INSERT, _journal_values(channel, request, reason=reason, outcome=outcome,
                                                             size=size))[0]


_JOURNAL_INSERT = (
    "INSERT INTO journal_entries (channel, received_at, remote_addr, headers, body, body_sha256, body_size, outcome, "
    "reason, attempts, request_id) VALUES (:channel, :received_at, :remote_addr, :headers, :body, :sha, :size, "
    ":outcome, :reason, 0, :request_id) RETURNING id")


def _journal_values(channel: str, request: InboundRequest, *, reason: str | None = None,
                    outcome: str = "received", size: int | None = None) -> dict:
    return {"channel": channel, "received_at": request.received_at, "remote_addr": (request.remote_addr or "")[:64],
            "headers": json_value(kept_headers(request.headers)), "body": request.body,
            "sha": hashlib.sha256(request.body).hexdigest(), "size": len(request.body) if size is None else size,
            "outcome": outcome, "reason": reason, "request_id": request.request_id}


_FINISH = ("UPDATE journal_entries SET outcome = :outcome, reason = :reason, response_code = :code, "
           "attempts = attempts + 1, processed_at = :at, event_id = COALESCE(:event_id, event_id), "
           "transaction_id = COALESCE(:transaction_id, transaction_id) WHERE id = :id")
# A refusal keeps the first REFUSED_BODY_KEPT bytes; the size and SHA-256 of the whole stay.
_FINISH_REFUSED = _FINISH.replace(" WHERE id", f", body = CASE WHEN length(body) > {REFUSED_BODY_KEPT} "
                                  f"THEN substr(body, 1, {REFUSED_BODY_KEPT}) ELSE body END WHERE id")


def _finish_values(entry_id: int, journal_outcome: str, reason: str | None, *, event_id: str | None = None,
                   transaction_id: int | None = None, response_code: str | None = None) -> dict:
    return {"outcome": journal_outcome, "reason": reason[:2000] if reason else None, "code": response_code,
            "at": utcnow(), "event_id": event_id[:120] if event_id else None, "transaction_id": transaction_id,
            "id": entry_id}


def _finish(session: Session, entry_id: int, journal_outcome: str, reason: str | None, **fields) -> None:
    Raw(session).execute(_FINISH_REFUSED if journal_outcome == "refused" else _FINISH,
                         _finish_values(entry_id, journal_outcome, reason, **fields))


def _claim_nonce(session: Session, channel: str, nonce: str, entry_id: int) -> None:
    new = insert_ignoring_conflict(session, CallbackNonce.__table__,
                                   {"channel": channel, "nonce": nonce[:200], "journal_id": entry_id,
                                    "seen_at": utcnow()}, ["channel", "nonce"], returning="journal_id")
    if new is None:
        owner = session.scalar(select(CallbackNonce.journal_id).where(CallbackNonce.channel == channel,
                                                                      CallbackNonce.nonce == nonce[:200]))
        if owner != entry_id:  # a replayed journal entry may meet its own nonce
            raise Replay(f"request nonce {nonce[:60]!r} was seen before (journal entry {owner})")


def _handle(session: Session, event: CallbackEvent, entry_id: int) -> Handled:
    if event.kind == KIND_TEST:
        return Handled(Outcome.ACCEPTED, "test", reason="confirmation call: no money")
    if event.kind == KIND_IGNORED:
        return Handled(Outcome.ACCEPTED, "ignored", reason=event.hints.get("reason") or "not a movement of money")
    if event.kind in (KIND_PORTAL_PAID, KIND_PORTAL_FAILED):
        if not _portal_handler:
            raise RuntimeError("no handler for the portal's confirmations")
        return _portal_handler[0](session, event, entry_id)
    if event.kind != KIND_TRANSFER or event.transfer is None:
        raise RuntimeError(f"unknown callback kind {event.kind!r}")
    stored = _record(session, event, entry_id)
    _run_hooks(session, [(stored[0], event)])
    return _outcome(*stored)


def _record(session: Session, event: CallbackEvent, entry_id: int) -> tuple[Recorded, tuple]:
    return _facts(record_transfer(session, event.transfer, event.channel, journal_id=entry_id,
                                  event_id=event.event_id))


def _facts(recorded: Recorded) -> tuple[Recorded, tuple]:
    transaction = recorded.transaction
    # Read before the hooks: they may write with plain SQL and leave the object expired.
    return recorded, (transaction.id, transaction.channels, transaction.account_number, recorded.known_account)


def _run_hooks(session: Session, seen: list[tuple[Recorded, CallbackEvent]]) -> None:
    if seen:
        for hook in _transfer_hooks:
            hook(session, seen)


def _outcome(recorded: Recorded, facts: tuple) -> Handled:
    transaction_id, channels, account, known_account = facts
    if not recorded.created:
        note = f"transaction {transaction_id} was stored before (channels: {channels})"
        if recorded.differences:
            note += f"; this report differs: {recorded.differences}"
        return Handled(Outcome.DUPLICATE, "duplicate", transaction_id, note)
    if not known_account:
        return Handled(Outcome.UNKNOWN_ACCOUNT, "accepted", transaction_id,
                       f"account {account} is not one of ours: recorded and flagged")
    return Handled(Outcome.ACCEPTED, "accepted", transaction_id)


@dataclass
class IngestResult:
    response: CallbackResponse
    journal_id: int | None
    outcome: Outcome
    transaction_id: int | None = None


def process(session: Session, entry_id: int, adapter: CallbackAdapter, keys: ChannelKeys,
            request: InboundRequest, event: CallbackEvent | None = None) -> IngestResult:
    """Verify (unless ``event`` is the request already verified), store and answer one
    journalled request. Commits."""
    try:
        if event is None:
            event = adapter.verify(request, keys)
    except Refusal as refusal:
        response = adapter.respond(refusal.outcome, request, keys, refusal=refusal)
        _finish(session, entry_id, "refused", f"{refusal.outcome.value}: {refusal.reason}", event_id=refusal.event_id,
                response_code=_code(response))
        session.commit()
        return IngestResult(response, entry_id, refusal.outcome)
    try:
        if event.replay_key:
            _claim_nonce(session, adapter.name, event.replay_key, entry_id)
        handled = _handle(session, event, entry_id)
        response = adapter.respond(handled.outcome, request, keys, event=event, message=handled.reason)
        _finish(session, entry_id, handled.journal_outcome, handled.reason, event_id=event.event_id,
                transaction_id=handled.transaction_id, response_code=_code(response))
        session.commit()
        return IngestResult(response, entry_id, handled.outcome, handled.transaction_id)
    except (Replay, Unprocessable) as exc:
        session.rollback()
        outcome = Outcome.REPLAY if isinstance(exc, Replay) else exc.outcome
        refusal = Refusal(outcome, str(exc), request_id=event.request_id, event_id=event.event_id)
        response = adapter.respond(outcome, request, keys, event=event, refusal=refusal)
        _finish(session, entry_id, "refused", f"{outcome.value}: {exc}", event_id=event.event_id,
                response_code=_code(response))
        session.commit()
        return IngestResult(response, entry_id, outcome)
    except Exception as exc:  # ours, not the sender's: keep the entry as failed and ask for a retry
        session.rollback()
        _log_failure("callback journal entry %s failed", entry_id)
        response = adapter.respond(Outcome.FAILED, request, keys, event=event, message="temporary failure")
        try:
            _finish(session, entry_id, "failed", f"{type(exc).__name__}: {exc}", event_id=event.event_id,
                    response_code=_code(response))
            session.commit()
        except Exception:  # the database itself is gone: the entry stays 'received', the job retries it
            session.rollback()
            _log_failure("could not mark journal entry %s failed", entry_id)
        return IngestResult(response, entry_id, Outcome.FAILED)


@dataclass(eq=False)
class Pending:
    """One callback waiting for its group commit (see ``group_commit``)."""

    channel: str
    request: InboundRequest
    keys: ChannelKeys
    result: IngestResult | None = None
    event: CallbackEvent | None = None  # verified before it was queued


def process_batch(session: Session, items: list[Pending]) -> None:
    """Group commit: the same steps as ``receive`` for several callbacks, with two commits for
    all of them instead of two each. Sets every item's ``result``.

    1. Every raw request is journalled, and the journal committed, before any is verified.
    2. All are verified, stored, matched (the hooks run once, over all the batch's transfers:
       one set-based pass) and answered, and their journal entries finished, in one
       transaction. If anything in it fails (a replay, an error of ours, a database error),
       it is rolled back and each entry is processed on its own by ``process``, exactly as
       a lone callback would be: one bad callback never costs the others their answer.
    """
    adapters = [get_adapter(item.channel) for item in items]
    try:
        entry_ids = [row[0] for row in Raw(session).returning_many(
            _JOURNAL_INSERT, [_journal_values(item.channel, item.request) for item in items])]
        session.commit()
    except Exception:
        session.rollback()
        _log_failure("could not journal %d callbacks", len(items))
        for item, adapter in zip(items, adapters):
            item.result = IngestResult(adapter.respond(Outcome.FAILED, item.request, item.keys,
                                                       message="temporary failure"), None, Outcome.FAILED)
        return
    try:
        with pipelined(session):  # PostgreSQL: the writes are not waited for one by one
            results = _process_together(session, items, adapters, entry_ids)
        session.commit()
    except Exception as exc:
        session.rollback()
        if not isinstance(exc, (Replay, Unprocessable)):
            log.warning("a batch of %d callbacks failed as one (%s: %s): processing them one by one",
                        len(items), type(exc).__name__, exc)
        results = [process(session, entry_id, adapter, item.keys, item.request, item.event)
                   for item, adapter, entry_id in zip(items, adapters, entry_ids)]
    for item, result in zip(items, results):
        item.result = result


def _process_together(session: Session, items: list[Pending], adapters: list[CallbackAdapter],
                      entry_ids: list[int]) -> list[IngestResult]:
    """``process`` for a batch, in the caller's transaction (not committed). Raises what
    ``process`` would catch."""
    planned: list[list] = []
    transfers: list[tuple[list, CallbackEvent, int]] = []
    for item, adapter, entry_id in zip(items, adapters, entry_ids):
        try:
            event = item.event or adapter.verify(item.request, item.keys)
        except Refusal as refusal:
            planned.append([refusal, None])
            continue
        if event.replay_key:
            _claim_nonce(session, adapter.name, event.replay_key, entry_id)
        if event.kind == KIND_TRANSFER and event.transfer is not None:
            planned.append([event, None])
            transfers.append((planned[-1], event, entry_id))
        else:
            planned.append([event, _handle(session, event, entry_id)])
    # All the batch's transfers stored at once, then matched at once (the hooks).
    stored = record_transfers(session, [(event.transfer, event.channel, entry_id, event.event_id)
                                        for _, event, entry_id in transfers])
    for (plan, _, _), recorded in zip(transfers, stored):
        plan[1] = _facts(recorded)
    _run_hooks(session, [(recorded, event) for recorded, (_, event, _) in zip(stored, transfers)])
    results, finished = [], []
    for (item, adapter, entry_id), (event, handled) in zip(zip(items, adapters, entry_ids), planned):
        if isinstance(event, Refusal):
            response = adapter.respond(event.outcome, item.request, item.keys, refusal=event)
            finished.append(_finish_values(entry_id, "refused", f"{event.outcome.value}: {event.reason}",
                                           event_id=event.event_id, response_code=_code(response)))
            results.append(IngestResult(response, entry_id, event.outcome))
            continue
        if not isinstance(handled, Handled):
            handled = _outcome(*handled)
        response = adapter.respond(handled.outcome, item.request, item.keys, event=event, message=handled.reason)
        finished.append(_finish_values(entry_id, handled.journal_outcome, handled.reason, event_id=event.event_id,
                                       transaction_id=handled.transaction_id, response_code=_code(response)))
        results.append(IngestResult(response, entry_id, handled.outcome, handled.transaction_id))
    for sql, rows in ((_FINISH, [v for v in finished if v["outcome"] != "refused"]),
                      (_FINISH_REFUSED, [v for v in finished if v["outcome"] == "refused"])):
        if rows:
            Raw(session).executemany(sql, rows)
    return results


def _code(response: CallbackResponse) -> str:
    """What we answered, for the journal: the format's code when it has one, else the HTTP status."""
    import json

    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("responseCode", "MaLoi"):
            if isinstance(body.get(key), str):
                return body[key][:10]
    return str(response.status)


def receive(session: Session, channel: str, request: InboundRequest, keys: ChannelKeys, *,
            max_bytes: int = CALLBACK_MAX_BYTES, batcher=None) -> IngestResult:
    """The whole path for one callback on ``channel``. With a ``batcher``
    (``group_commit.CallbackBatcher``), the bank channels' callbacks that arrive together
    are committed together (``process_batch``); the portal's go one by one."""
    adapter = get_adapter(channel)
    if adapter is None:
        raise LookupError(channel)
    if len(request.body) > max_bytes:
        # Refused before parsing; the journal keeps that it came and its declared size, not the bytes.
        declared = (request.header("content-length") or "").strip()
        size = int(declared) if declared.isdigit() and len(declared) < 16 else len(request.body)
        entry_id = _journal_insert(session, channel, InboundRequest(b"", request.headers, request.remote_addr,
                                                                    request.received_at, request.request_id),
                                   outcome="refused", reason=f"body over {max_bytes} bytes: not read", size=size)
        session.commit()
        refusal = Refusal(Outcome.UNREADABLE, "body too large")
        response = adapter.respond(Outcome.UNREADABLE, request, keys, refusal=refusal)
        return IngestResult(CallbackResponse(413, response.body, response.content_type), entry_id, Outcome.UNREADABLE)
    # Authentication and reading are pure: done first, so that a request that fails them (junk,
    # a bad signature: nothing in it can become money) is journalled already cut to its first
    # REFUSED_BODY_KEPT bytes, never written whole.
    try:
        event = adapter.verify(request, keys)
    except Refusal as refusal:
        return _refuse_unverified(session, channel, adapter, request, keys, refusal)
    if batcher is not None and channel != "portal":
        # The portal's confirmations settle dossiers outside the matcher, which must not run
        # over a transfer whose match a batch has not made yet: they keep the single path.
        return batcher.submit(session, Pending(channel, request, keys, event=event))
    try:
        entry_id = journal_request(session, channel, request)
    except Exception:
        session.rollback()
        _log_failure("could not journal a %s callback", channel)
        response = adapter.respond(Outcome.FAILED, request, keys, message="temporary failure")
        return IngestResult(response, None, Outcome.FAILED)
    return process(session, entry_id, adapter, keys, request, event)


def _refuse_unverified(session: Session, channel: str, adapter: CallbackAdapter, request: InboundRequest,
                       keys: ChannelKeys, refusal: Refusal) -> IngestResult:
    """Journal (cut short) and answer a request its adapter refused. Commits."""
    response = adapter.respond(refusal.outcome, request, keys, refusal=refusal)
    values = _journal_values(channel, request, outcome="refused", reason=f"{refusal.outcome.value}: {refusal.reason}")
    values["body"] = request.body[:REFUSED_BODY_KEPT]  # the size and SHA-256 stay those of the whole
    try:
        entry_id = Raw(session).one(_JOURNAL_INSERT, values)[0]
        _finish(session, entry_id, "refused", values["reason"], event_id=refusal.event_id,
                response_code=_code(response))
        session.commit()
    except Exception:  # the refusal stands; only its record is missing
        session.rollback()
        _log_failure("could not journal a refused %s callback", channel)
        entry_id = None
    return IngestResult(response, entry_id, refusal.outcome)


def replay_entry(session: Session, entry_id: int, keys: ChannelKeys) -> IngestResult:
    """Re-run a journal entry from its stored bytes, with the clock it was received at (so a
    replay hours later is judged as the original request was)."""
    entry = session.get(JournalEntry, entry_id)
    if entry is None:
        raise LookupError(f"no journal entry {entry_id}")
    if entry.outcome not in ("received", "failed"):
        raise ValueError(f"journal entry {entry_id} is {entry.outcome}: only received or failed entries are re-run")
    adapter = get_adapter(entry.channel)
    request = InboundRequest(body=entry.body, headers=_replay_headers(entry, keys), remote_addr=entry.remote_addr,
                             received_at=entry.received_at)
    session.commit()
    return process(session, entry_id, adapter, keys, request)


def _replay_headers(entry: JournalEntry, keys: ChannelKeys) -> dict[str, str]:
    """The stored headers; a masked API key is put back when the key configured now is the
    one the request carried (same digest), so the adapter checks it like any request."""
    headers = dict(entry.headers or {})
    stored = headers.get("authorization", "")
    scheme, _, rest = stored.partition(" *** sha256=")
    if rest and keys.sepay_api_key:
        if hmac.compare_digest(hashlib.sha256(keys.sepay_api_key.encode("utf-8")).hexdigest(), rest):
            headers["authorization"] = f"{scheme} {keys.sepay_api_key}"
    return headers


def entry_view(entry: JournalEntry) -> dict:
    """A journal entry for people, honest about what was kept: a refused one holds only the
    first bytes of its body (``truncated``), with the size and SHA-256 of the whole."""
    kept = len(entry.body or b"")
    size = kept if entry.body_size is None else entry.body_size
    return {"id": entry.id, "channel": entry.channel, "received_at": entry.received_at.isoformat(),
            "remote_addr": entry.remote_addr, "outcome": entry.outcome, "reason": entry.reason,
            "response_code": entry.response_code, "body_size": size, "body_sha256": entry.body_sha256,
            "body_kept_bytes": kept, "truncated": kept < size,
            "body": (entry.body or b"").decode("utf-8", "replace")}


def purge_refused(session: Session, older_than: datetime) -> int:
    """Delete the refused journal entries received before ``older_than`` (the retention job and
    ``flask journal purge``); accepted, failed and unfinished ones are never purged. Commits."""
    from sqlalchemy import delete, exists

    from reconciliation.models import PortalPayment, TransactionSighting

    # A refused entry stores nothing that points to it; the guards keep it so if that changes.
    result = session.execute(delete(JournalEntry).where(
        JournalEntry.outcome == "refused", JournalEntry.received_at < older_than,
        ~exists().where(TransactionSighting.journal_id == JournalEntry.id),
        ~exists().where(PortalPayment.journal_id == JournalEntry.id)).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def retry_failed(session: Session, keys: ChannelKeys, *, older_than: datetime | None = None,
                 limit: int = 100) -> list[IngestResult]:
    """The job: re-run entries left failed, or received but never finished (a crash)."""
    cutoff = older_than or utcnow()
    ids = session.scalars(select(JournalEntry.id).where(JournalEntry.outcome.in_(("failed", "received")),
                                                        JournalEntry.received_at <= cutoff)
                          .order_by(JournalEntry.id).limit(limit)).all()
    session.commit()
    results = []
    for entry_id in ids:
        try:
            results.append(replay_entry(session, entry_id, keys))
        except (LookupError, ValueError):
            session.rollback()
    return results
