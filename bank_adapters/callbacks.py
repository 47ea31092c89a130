"""The contract every callback format implements, and the registry of formats.

A callback adapter is pure: bytes and headers in, a verified :class:`CallbackEvent` (or a
:class:`Refusal`) out, and the format's own answer for each outcome. It never touches the
database; the service (``reconciliation.inbound.ingest``) journals the raw request first, asks the
adapter, stores the transfer, checks replays against what it has seen, and answers with
what the adapter writes for the outcome.

Outcomes (``Outcome``), in the order the service can reach them:

- ``unreadable``: not JSON, not an object; nothing can be echoed.
- ``signature``: authentication failed (or the channel has no key configured).
- ``expired``: the request's own time is too far from the service's clock.
- ``replay``: the service has seen this request's nonce before (``CallbackEvent.replay_key``).
- ``invalid``: authenticated, but a field is missing or wrong (amount not whole đồng, ...).
- ``unknown_account``: valid, but for an account that is not one of ours (the transfer is
  still recorded and flagged; only some formats say so in their answer).
- ``unknown_dossier``: a portal confirmation for a dossier the service does not know.
- ``accepted``: stored durably (a new transfer, a recorded failure, a test call).
- ``duplicate``: the same transfer (or portal payment) was stored before.
- ``failed``: a temporary failure on the service's side: the sender should retry.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Protocol

from .transfers import BankTransfer


class Outcome(str, enum.Enum):
    UNREADABLE = "unreadable"
    SIGNATURE = "signature"
    EXPIRED = "expired"
    REPLAY = "replay"
    INVALID = "invalid"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_DOSSIER = "unknown_dossier"
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    FAILED = "failed"


# What a verified callback is about.
KIND_TRANSFER = "transfer"            # money moved on an account (in or out)
KIND_TEST = "test"                    # a registration / confirmation call: answer 2xx, no money
KIND_IGNORED = "ignored"              # authenticated but not a movement (e.g. payOS code != 00)
KIND_PORTAL_PAID = "portal_paid"      # the national portal confirms a payment of a dossier
KIND_PORTAL_FAILED = "portal_failed"  # the portal reports a failed payment: record, move nothing


@dataclass(frozen=True)
class InboundRequest:
    """A callback as it arrived. ``headers`` keys are lower-case."""

    body: bytes
    headers: Mapping[str, str]
    remote_addr: str | None
    received_at: datetime  # aware UTC: the service's clock when the request arrived
    request_id: str | None = None  # the service's id of the HTTP request (log line, journal entry)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ChannelKeys:
    """Secrets and keys of every channel, from configuration only. ``None``: not configured,
    and a callback on that channel is refused (``signature``)."""

    payos_checksum_key: str | None = None
    sepay_api_key: str | None = None
    sepay_hmac_secret: str | None = None
    bankdirect_bank_public_key: Any = None      # cryptography RSAPublicKey
    bankdirect_service_private_key: Any = None  # cryptography RSAPrivateKey
    portal_secret: str | None = None


class Refusal(Exception):
    """The adapter refuses the request. ``outcome`` is one of the refusal outcomes;
    ``event_id``/``request_id`` are filled when they could be read (for the journal and the
    echo in the answer)."""

    def __init__(self, outcome: Outcome, reason: str, *, request_id: str | None = None,
                 event_id: str | None = None) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.request_id = request_id
        self.event_id = event_id


@dataclass(frozen=True)
class CallbackEvent:
    """A verified callback, normalised.

    ``event_id`` is the channel's own identity of what it reports (SePay ``id``, payOS
    ``reference``, direct-bank ``transactionId``, portal ``MaThamChieu``); ``replay_key`` is
    a nonce the service must not accept twice (direct-bank ``requestId``, SePay HMAC
    ``timestamp:signature``), or None where the format has none; ``request_id`` is what the
    answer must echo (direct-bank ``requestId``)."""

    channel: str
    kind: str
    event_id: str
    transfer: BankTransfer | None = None
    replay_key: str | None = None
    request_id: str | None = None
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackResponse:
    status: int
    body: bytes
    content_type: str = "application/json"


class CallbackAdapter(Protocol):
    name: str

    def verify(self, request: InboundRequest, keys: ChannelKeys) -> CallbackEvent:
        """Authenticate and parse; raise :class:`Refusal` for anything it must refuse
        (``unreadable``, ``signature``, ``expired``, ``invalid``). The clock is
        ``request.received_at``."""
        ...

    def respond(self, outcome: Outcome, request: InboundRequest, keys: ChannelKeys, *,
                event: CallbackEvent | None = None, refusal: Refusal | None = None,
                message: str | None = None) -> CallbackResponse:
        """The format's answer for ``outcome`` (signed where the format signs answers)."""
        ...


_REGISTRY: dict[str, CallbackAdapter] = {}


def register(adapter: CallbackAdapter) -> CallbackAdapter:
    _REGISTRY[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> CallbackAdapter | None:
    _load_builtin()
    return _REGISTRY.get(name)


def adapter_names() -> tuple[str, ...]:
    _load_builtin()
    return tuple(sorted(_REGISTRY))


def _load_builtin() -> None:
    # The built-in formats register themselves on import.
    from . import bankdirect, payos, portal, sepay  # noqa: F401
