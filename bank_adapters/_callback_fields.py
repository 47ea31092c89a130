"""Reading a callback body the same strict way in every callback adapter.

The four callback formats (payOS, SePay, direct bank, portal) are all one JSON object with
typed fields. What they share lives here, so that every adapter refuses the same things
for the same reasons: a body that is not a UTF-8 JSON object is ``unreadable``; a field that
is missing, of the wrong type, holds a NUL or a lone surrogate (neither can be stored or
signed), or an amount that is not a whole number of đồng is ``invalid``. Every refusal is a
:class:`~bank_adapters.callbacks.Refusal` whose reason names the field and what is wrong;
nothing else is ever raised.
"""
from __future__ import annotations

import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from core.clock import ICT
from core.money import MAX_AMOUNT

from .callbacks import Outcome, Refusal

TIME_SECONDS = "%Y-%m-%d %H:%M:%S"  # payOS, SePay: ``2023-02-04 18:25:00``
TIME_COMPACT = "%Y%m%d%H%M%S"       # direct bank, portal: ``20261125093012``
_SHAPES = {TIME_SECONDS: "YYYY-MM-DD HH:MM:SS", TIME_COMPACT: "yyyyMMddHHmmss"}
# strptime alone accepts one-digit fields and stray spaces; the shapes are exact.
_EXACT = {TIME_SECONDS: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"),
          TIME_COMPACT: re.compile(r"[0-9]{14}")}
_MAX_REASON_VALUE = 40  # how much of a bad value a reason quotes
# The longest strings a callback may carry (characters), whatever the format: a transfer's content
# is at most 210 characters at the bank (bank-specs/README.md; bankdirect.md says so of its own),
# and an aggregator may prepend its own reference and the payer's details (SePay); references,
# accounts and names are bounded by what the service stores (reconciliation/models.py).
MAX_CONTENT = 500
MAX_REF = 120
MAX_ACCOUNT = 34
MAX_NAME = 200
MAX_CODE = 60


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key would let the signed and the used value differ: refuse.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(f"key {key!r} appears twice")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_object(body: bytes, *, request_id: str | None = None) -> dict[str, Any]:
    """The body as a JSON object, or a ``unreadable`` refusal saying why not."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refusal(Outcome.UNREADABLE, f"the body is not UTF-8 (byte {exc.start})", request_id=request_id) from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _Duplicate as exc:
        raise Refusal(Outcome.UNREADABLE, f"the body is ambiguous JSON: {exc}", request_id=request_id) from None
    except RecursionError:
        raise Refusal(Outcome.UNREADABLE, "the body is JSON nested too deeply", request_id=request_id) from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers past Python's digit limit
        raise Refusal(Outcome.UNREADABLE, f"the body is not JSON: {exc}", request_id=request_id) from None
    if not isinstance(value, dict):
        raise Refusal(Outcome.UNREADABLE, f"the body is a JSON {_json_type(value)}, not an object",
                      request_id=request_id)
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def quote(value: Any) -> str:
    """A value for a reason, cut short (reasons end up in logs and answers)."""
    text = repr(value)
    return text if len(text) <= _MAX_REASON_VALUE else text[: _MAX_REASON_VALUE - 1] + "…"


def text_fault(text: str) -> str | None:
    """Why ``text`` cannot be kept as it is, or None."""
    if "\x00" in text:
        return f"holds a NUL character at position {text.index(chr(0))}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds a lone surrogate at position {exc.start}"
    return None


def b(text: str) -> bytes:
    """Header and key text as bytes for constant-time comparison (never raises)."""
    return text.encode("utf-8", "surrogatepass")


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(b(given), b(expected))


class Fields:
    """Typed access to one JSON object's fields; every fault is an ``invalid`` refusal."""

    def __init__(self, obj: Mapping[str, Any], *, prefix: str = "", request_id: str | None = None,
                 event_id: str | None = None) -> None:
        self.obj = obj
        self.prefix = prefix
        self.request_id = request_id
        self.event_id = event_id

    def refuse(self, name: str, what: str, outcome: Outcome = Outcome.INVALID) -> Refusal:
        return Refusal(outcome, f"{self.prefix}{name} {what}", request_id=self.request_id, event_id=self.event_id)

    def present(self, name: str) -> bool:
        return name in self.obj

    def string(self, name: str, *, required: bool = True, nullable: bool = False, nonempty: bool = False,
               default: str | None = None) -> str | None:
        """A string field. ``required``: the key must be there; ``nullable``: JSON null is
        allowed (returned as ``default``); ``nonempty``: "" is refused."""
        if name not in self.obj:
            if required:
                raise self.refuse(name, "is missing")
            return default
        value = self.obj[name]
        if value is None:
            if nullable:
                return default
            raise self.refuse(name, "is null; a string is required")
        if not isinstance(value, str):
            raise self.refuse(name, f"must be a string, not a JSON {_json_type(value)} ({quote(value)})")
        fault = text_fault(value)
        if fault:
            raise self.refuse(name, fault)
        if nonempty and not value.strip():
            raise self.refuse(name, "is empty")
        return value

    def check_lengths(self, limits: Mapping[str, int]) -> None:
        """Refuse a string longer than its format allows (``limits``: field -> characters).
        Called once the request is authenticated, so an unsigned one is told ``signature``."""
        for name, most in limits.items():
            value = self.obj.get(name)
            if isinstance(value, str) and len(value) > most:
                raise self.refuse(name, f"has {len(value)} characters; at most {most} are accepted")

    def whole_number(self, name: str, *, minimum: int | None = None, required: bool = True,
                     nullable: bool = False) -> int | None:
        """A JSON number that is a whole number (``3000`` or ``3000.0``); strings, booleans and
        fractions are refused."""
        if name not in self.obj:
            if required:
                raise self.refuse(name, "is missing")
            return None
        value = self.obj[name]
        if value is None:
            if nullable:
                return None
            raise self.refuse(name, "is null; a whole number is required")
        number = json_whole_number(value)
        if number is None:
            raise self.refuse(name, f"must be a whole number, not {_json_type(value)} {quote(value)}")
        if minimum is not None and number < minimum:
            raise self.refuse(name, f"must be at least {minimum}, not {number}")
        return number

    def amount(self, name: str) -> int:
        """A JSON number of đồng: whole, > 0, at most 13 digits."""
        value = self.whole_number(name)
        assert value is not None
        return self.check_amount(name, value)

    def digit_amount(self, name: str) -> int:
        """A string of ASCII digits holding whole đồng, > 0 (direct bank, portal)."""
        text = self.string(name)
        assert text is not None
        if not (text.isascii() and text.isdigit()):
            raise self.refuse(name, f"must be digits only (whole đồng, no separators), not {quote(text)}")
        if len(text) > 20:
            raise self.refuse(name, f"has {len(text)} digits; at most 13 are possible")
        return self.check_amount(name, int(text))

    def check_amount(self, name: str, value: int) -> int:
        if value <= 0:
            raise self.refuse(name, f"must be greater than zero, not {value}")
        if value > MAX_AMOUNT:
            raise self.refuse(name, f"is {value}: more than 13 digits of đồng")
        return value

    def ict_time(self, name: str, fmt: str) -> datetime:
        """A wall-clock time in Indochina Time, as aware UTC."""
        text = self.string(name)
        assert text is not None
        parsed = parse_ict(text, fmt)
        if parsed is None:
            raise self.refuse(name, f"must be a time written {_SHAPES[fmt]} (Indochina Time), not {quote(text)}")
        return parsed


def json_whole_number(value: Any) -> int | None:
    """The int a JSON number stands for when it is whole, else None. JSON has one number
    type: ``3000.0`` is the number 3000, as the sender's JavaScript would read it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return None


def parse_ict(text: str, fmt: str) -> datetime | None:
    """``text`` in exactly the shape ``fmt`` (no more, no less), read as ICT, as aware UTC."""
    if not _EXACT[fmt].fullmatch(text):
        return None
    try:
        naive = datetime.strptime(text, fmt)
    except ValueError:
        return None
    return naive.replace(tzinfo=ICT).astimezone(timezone.utc)


def format_ict(moment: datetime, fmt: str) -> str:
    """An aware moment written in ``fmt`` in Indochina Time (seconds; a fraction is dropped)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(ICT).strftime(fmt)


def optional(text: str | None) -> str | None:
    """``""`` and None both mean "the sender does not know"."""
    return text if text else None


def json_bytes(value: Any) -> bytes:
    """An answer body: UTF-8 JSON that never fails (a stray surrogate becomes ``?``)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "replace")
