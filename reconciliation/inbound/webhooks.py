"""``POST /callbacks/<channel>``: the banks' and the portal's callbacks, in their own formats.

Thin: the body is read up to ``CALLBACK_MAX_BYTES`` (a larger one is refused before any
parsing), handed to ``ingest.receive`` with the service's clock and the app's group commit,
and the adapter's answer is sent back as it is. No cookies, no CSRF (these are not browser forms): authentication is
each format's own signature or key.
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, g, request

from bank_adapters.callbacks import ChannelKeys, InboundRequest, Outcome, Refusal, adapter_names, get_adapter
from core.ratelimit import callback_refused, callbacks_exhausted, too_many_response
from core.clock import utcnow
from core.db import db
from core.metrics import observe_callback

from reconciliation.inbound.ingest import CALLBACK_MAX_BYTES, receive

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
# What counts against an address: the sender's faults, never ours nor a business answer.
_REFUSALS = {Outcome.UNREADABLE, Outcome.SIGNATURE, Outcome.EXPIRED, Outcome.REPLAY, Outcome.INVALID}


def _verifies(channel: str, inbound: InboundRequest) -> bool:
    """Whether a callback from a throttled address authenticates and reads (checked in memory,
    nothing stored): a bank's valid callback is never throttled."""
    try:
        get_adapter(channel).verify(inbound, channel_keys())
    except Refusal:
        return False
    return len(inbound.body) <= current_app.config.get("CALLBACK_MAX_BYTES", CALLBACK_MAX_BYTES)


def channel_keys() -> ChannelKeys:
    """The channels' keys, loaded once per app from its configuration."""
    keys = current_app.extensions.get("channel_keys")
    if keys is None:
        from bank_adapters.keys import load_channel_keys

        keys = current_app.extensions["channel_keys"] = load_channel_keys(current_app.config)
    return keys


def batcher():
    """This app's group commit (one per process: gunicorn forks before the first request)."""
    found = current_app.extensions.get("callback_batcher")
    if found is None:
        from reconciliation.inbound.group_commit import CallbackBatcher

        found = current_app.extensions.setdefault(
            "callback_batcher", CallbackBatcher(current_app.config["CALLBACK_BATCH_MAX"]))
    return found


@bp.post("/<channel>")
def callback(channel: str):
    if channel not in adapter_names():
        abort(404)
    started = time.perf_counter()
    limit = current_app.config.get("CALLBACK_MAX_BYTES", CALLBACK_MAX_BYTES)
    if request.content_length is not None and request.content_length > limit:
        body = b"\0" * (limit + 1)  # not read at all: only its size matters
    else:
        body = request.stream.read(limit + 1)
    inbound = InboundRequest(body=body, headers={k.lower(): v for k, v in request.headers.items()},
                             remote_addr=request.remote_addr, received_at=utcnow(), request_id=g.get("request_id"))
    wait = callbacks_exhausted()
    if wait and not _verifies(channel, inbound):
        return too_many_response(wait)  # nothing stored: this address only sends what is refused
    result = receive(db.session, channel, inbound, channel_keys(), max_bytes=limit, batcher=batcher())
    observe_callback(channel, result.outcome.value, time.perf_counter() - started)
    if result.outcome in _REFUSALS:
        callback_refused()
    return Response(result.response.body, status=result.response.status, content_type=result.response.content_type)
