"""Delivering a built callback the way each sender does, retries included.

Each format's sender decides from the answer whether it is done, and otherwise retries on
its own schedule (delays in seconds between attempts):

- direct bank (``bankdirect.md``): on a network error, a timeout (10 s), a non-200 status,
  code ``99``, or an answer whose signature does not verify, it retries the same
  transaction with a NEW ``requestId`` after 10 s, 30 s, 1 min, 5 min, 15 min, 1 h, then
  hourly while the retry still falls within 24 h of the first attempt (22 more): 29
  attempts. ``00`` is delivered, ``01`` duplicate, ``02``/``03``/``04`` refused (it stops).
- SePay (``sepay.md``): anything but HTTP 200/201 with ``{"success": true}`` (or no answer
  within 30 s) is retried with the same body (same ``id``) after 1, 1, 2, 3, 5, 8, 13
  minutes, then it gives up. It never stops early, so it never reports "refused". In HMAC
  mode each attempt is signed with a fresh timestamp (an old one would be ``expired``).
- payOS does not publish a schedule. Assumed here: a 4xx is final (refused), a 2xx
  delivered, anything else (5xx, no answer within 10 s) retried after 1 min, 5 min, 30 min.
- portal (``portal.md``): ``00`` delivered, ``01`` duplicate, ``02``/``04`` refused; ``99``,
  a non-200 answer that says nothing, or no answer, retried; the spec gives no schedule, so
  1 min, 5 min, 15 min, 1 h is assumed.

The request is made by a ``build(attempt, now)`` function, so that a sender that changes
something per attempt (the direct bank's ``requestId``, SePay's timestamp) can. ``sleep``,
``time_scale`` (0 runs the whole schedule at once), ``max_attempts`` and ``now`` are
injectable for tests and the CLI. Transports: :class:`HttpTransport` (``urllib.request``)
and :class:`WsgiTransport` (a Flask app's test client, in-process; Flask is never imported
here).
"""
from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol, Sequence

from bank_adapters import bankdirect
from bank_adapters.transfers import BankTransfer
from simulator import callbacks

DELIVERED = "delivered"
DUPLICATE = "duplicate"
REFUSED = "refused"
GAVE_UP = "gave_up"
RETRY = "retry"  # one attempt's verdict: not done, try again

DAY = 24 * 3600


def _bankdirect_schedule() -> tuple[int, ...]:
    delays = [10, 30, 60, 300, 900, 3600]
    while sum(delays) + 3600 <= DAY:
        delays.append(3600)
    return tuple(delays)


SCHEDULES: dict[str, tuple[int, ...]] = {
    "bankdirect": _bankdirect_schedule(),
    "sepay": (60, 60, 120, 180, 300, 480, 780),
    "payos": (60, 300, 1800),         # assumed: payOS publishes none
    "portal": (60, 300, 900, 3600),   # assumed: the spec names none
}
TIMEOUTS: dict[str, float] = {"bankdirect": 10.0, "sepay": 30.0, "payos": 10.0, "portal": 10.0}


@dataclass(frozen=True)
class Answer:
    """What came back: an HTTP status and body, or ``status`` None and the network error."""

    status: int | None
    body: bytes = b""
    error: str | None = None


class Transport(Protocol):
    def post(self, path: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Answer:
        ...


class HttpTransport:
    """POST over HTTP(S) with the standard library."""

    def __init__(self, base_url: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base URL must be http:// or https:// with a host, not {base_url!r}")
        self.base_url = base_url.rstrip("/")

    def post(self, path: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Answer:
        request = urllib.request.Request(self.base_url + path, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            try:
                content = exc.read()
            except (OSError, http.client.HTTPException):
                content = b""
            return Answer(exc.code, content)
        except (urllib.error.URLError, socket.timeout, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            return Answer(None, error=f"{type(reason).__name__}: {reason}")
        except (OSError, http.client.HTTPException) as exc:
            return Answer(None, error=f"{type(exc).__name__}: {exc}")


class WsgiTransport:
    """POST through a Flask app's test client (in the same process). An answer slower than
    the timeout counts as no answer, as the real sender would have hung up."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def post(self, path: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Answer:
        started = time.monotonic()
        try:
            response = self.app.test_client().post(path, data=body, headers=dict(headers))
        except Exception as exc:  # the app crashed outright: to the sender, the connection broke
            return Answer(None, error=f"{type(exc).__name__}: {exc}")
        if time.monotonic() - started > timeout:
            return Answer(None, error=f"no answer within {timeout:g} s")
        return Answer(response.status_code, response.get_data())


@dataclass(frozen=True)
class Attempt:
    number: int                # 1 for the first
    scheduled_after: float     # nominal seconds since the first attempt (before time_scale)
    status: int | None         # HTTP status, None for no answer
    code: str | None           # the format's answer code (responseCode, MaLoi, "success")
    verdict: str               # delivered | duplicate | refused | retry
    note: str                  # why, for a person
    elapsed: float             # seconds the attempt took
    request_id: str | None = None


@dataclass
class DeliveryResult:
    channel: str
    outcome: str = GAVE_UP     # delivered | duplicate | refused | gave_up
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.outcome in (DELIVERED, DUPLICATE)

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


Build = Callable[[int, datetime], tuple[Mapping[str, str], bytes]]


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def judge(channel: str, answer: Answer, *, service_public_key: Any = None,
          request_id: str | None = None) -> tuple[str, str | None, str]:
    """(verdict, answer code, note) for one answer, by the sender's rules."""
    if answer.status is None:
        return RETRY, None, answer.error or "no answer"
    obj = _json_object(answer.body)
    if channel == "bankdirect":
        if answer.status != 200:
            return RETRY, None, f"HTTP {answer.status}"
        try:
            ack = bankdirect.verify_acknowledgement(answer.body, service_public_key, request_id=request_id)
        except bankdirect.AcknowledgementError as exc:
            return RETRY, (obj or {}).get("responseCode"), str(exc)
        code = ack["responseCode"]
        verdict = {bankdirect.ACCEPTED: DELIVERED, bankdirect.DUPLICATE: DUPLICATE,
                   bankdirect.BAD_SIGNATURE: REFUSED, bankdirect.EXPIRED_OR_REPLAYED: REFUSED,
                   bankdirect.INVALID: REFUSED}.get(code, RETRY)
        return verdict, code, ack["responseMessage"]
    if channel == "sepay":
        success = obj.get("success") if obj else None
        if answer.status in (200, 201) and success is True:
            return DELIVERED, "success", f"HTTP {answer.status}"
        return RETRY, None if success is None else str(success).lower(), f"HTTP {answer.status}"
    if channel == "payos":
        if 200 <= answer.status < 300:
            return DELIVERED, None, f"HTTP {answer.status}"
        if 400 <= answer.status < 500:
            return REFUSED, None, f"HTTP {answer.status}: " + str((obj or {}).get("message", ""))
        return RETRY, None, f"HTTP {answer.status}"
    if channel == "portal":
        code = obj.get("MaLoi") if obj else None
        note = f"HTTP {answer.status}" + (f": {obj.get('MoTaLoi')}" if obj and obj.get("MoTaLoi") else "")
        if not isinstance(code, str):
            return RETRY, None, note
        verdict = {"00": DELIVERED, "01": DUPLICATE, "02": REFUSED, "04": REFUSED}.get(code, RETRY)
        return verdict, code, note
    raise ValueError(f"unknown channel {channel!r}")


def deliver(channel: str, build: Build | tuple[Mapping[str, str], bytes], transport: Transport, *,
            path: str | None = None, schedule: Sequence[float] | None = None, max_attempts: int | None = None,
            time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep, timeout: float | None = None,
            service_public_key: Any = None, now: Callable[[], datetime] | None = None) -> DeliveryResult:
    """Post the callback and retry as ``channel``'s sender does until it is done, refused, or
    the schedule (or ``max_attempts``) runs out. ``build`` is a fixed ``(headers, body)`` or a
    function of the attempt number (1, 2, ...) and the wall-clock time. For ``bankdirect``,
    ``service_public_key`` checks the acknowledgement."""
    if channel not in SCHEDULES:
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(SCHEDULES)}")
    if channel == "bankdirect" and service_public_key is None:
        raise ValueError("the direct bank verifies every answer: give service_public_key")
    delays = tuple(SCHEDULES[channel] if schedule is None else schedule)
    limit = len(delays) + 1 if max_attempts is None else min(max_attempts, len(delays) + 1)
    wait = TIMEOUTS[channel] if timeout is None else timeout
    clock = now or (lambda: datetime.now(timezone.utc))
    target = path or f"/callbacks/{channel}"
    result = DeliveryResult(channel)
    offset = 0.0
    for number in range(1, limit + 1):
        if number > 1:
            delay = delays[number - 2]
            offset += delay
            if time_scale > 0:
                sleep(delay * time_scale)
        headers, body = build(number, clock()) if callable(build) else build
        request_id = _request_id(channel, body)
        started = time.monotonic()
        answer = transport.post(target, headers, body, wait)
        elapsed = time.monotonic() - started
        verdict, code, note = judge(channel, answer, service_public_key=service_public_key, request_id=request_id)
        result.attempts.append(Attempt(number, offset, answer.status, code, verdict, note, elapsed, request_id))
        if verdict != RETRY:
            result.outcome = verdict
            return result
    result.outcome = GAVE_UP
    return result


def _request_id(channel: str, body: bytes) -> str | None:
    if channel != "bankdirect":
        return None
    obj = _json_object(body)
    value = obj.get("requestId") if obj else None
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------
# Builders that change per attempt what each sender changes


def bankdirect_builder(transfer: BankTransfer, bank_private_key: Any) -> Build:
    """Each attempt: a new ``requestId`` and ``requestTime`` (now), the same transaction."""
    def build(attempt: int, now: datetime) -> tuple[Mapping[str, str], bytes]:
        return callbacks.bankdirect_request(transfer, bank_private_key, request_id=callbacks.new_request_id(now),
                                            request_time=now)
    return build


def sepay_builder(transfer: BankTransfer, *, sepay_id: int, api_key: str | None = None,
                  hmac_secret: str | None = None, code: str | None = None) -> Build:
    """Each attempt: the same body (same ``id``); in HMAC mode a fresh timestamp and signature.
    Timestamps only go up: retries run faster than real time (``time_scale``) would otherwise
    repeat a (timestamp, signature) pair within one second, which the service refuses as a
    replay; with the real schedule (minutes apart) this changes nothing."""
    body = callbacks.sepay_body(transfer, sepay_id=sepay_id, code=code)
    last = [0]

    def build(attempt: int, now: datetime) -> tuple[Mapping[str, str], bytes]:
        stamp = max(int(now.timestamp()), last[0] + 1)
        last[0] = stamp
        return callbacks.sepay_headers(body, api_key=api_key, hmac_secret=hmac_secret, timestamp=stamp), body
    return build


def payos_builder(transfer: BankTransfer, checksum_key: str, *, order_code: int) -> Build:
    """payOS resends the same webhook."""
    request = callbacks.payos_request(transfer, checksum_key, order_code=order_code)
    return lambda attempt, now: request


def portal_builder(transfer: BankTransfer, secret: str, *, portal_ref: str, dossier_code: str,
                   procedure_code: str = "", code: str = "00") -> Build:
    """The platform resends the same confirmation."""
    request = callbacks.portal_confirmation(transfer, secret, portal_ref=portal_ref, dossier_code=dossier_code,
                                            procedure_code=procedure_code, code=code)
    return lambda attempt, now: request
