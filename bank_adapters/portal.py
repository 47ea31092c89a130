"""The national public service portal's payment confirmation (``bank-specs/portal.md``).

``MaXacThuc`` is the lowercase hex SHA-256 of ``MaThamChieu|MaHoSo|SoTien|MaLoi|MaGiaoDich|
MaNganHang|ThoiGianGD|TaiKhoanThuHuong|<PORTAL_SECRET>``. ``MaLoi == "00"`` is a payment
(kind ``portal_paid``, with the :class:`BankTransfer` the collection account will also show:
the bank transaction ``MaGiaoDich`` is its reference); anything else is a failed payment
(kind ``portal_failed``: recorded, no money). ``MaThamChieu`` is the idempotency key.

The answer is always HTTP 200 with ``{"MaLoi", "MoTaLoi"}`` (400 for a body that cannot be
read at all). The status query the service sends for a payment not confirmed within 15
minutes is here too: :func:`query_body` (what the service sends), :func:`verify_query` (what
the platform, played by the simulator, checks) and :func:`parse_query_answer` (the answer,
the same object as a confirmation, with ``MaLoi`` 00 paid, 01 pending, 02 failed: the same
events as a confirmation, and None while the payment is still pending).

The fields are joined with ``|`` before hashing, so a ``|`` inside one would make the text
ambiguous: such a field is refused as ``invalid``. ``MaTTHC`` and ``MoTaLoi`` are not
signed; they are optional strings.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping

from .callbacks import (KIND_PORTAL_FAILED, KIND_PORTAL_PAID, CallbackEvent, CallbackResponse, ChannelKeys,
                        InboundRequest, Outcome, Refusal, register)
from ._callback_fields import MAX_ACCOUNT, MAX_REF, TIME_COMPACT, Fields, json_bytes, load_object, optional, quote, same, text_fault
from .transfers import IN, BankTransfer

NAME = "portal"
SIGNED_FIELDS = ("MaThamChieu", "MaHoSo", "SoTien", "MaLoi", "MaGiaoDich", "MaNganHang", "ThoiGianGD",
                 "TaiKhoanThuHuong")
PAID = "00"
# Status query answers (only there: in a confirmation every code but 00 is a failure).
QUERY_PENDING = "01"
QUERY_FAILED = "02"

CONTENT_PREFIX = "THANH TOAN HO SO "  # the platform's transfer content, as the statement shows it

ANSWER_CODES: dict[Outcome, str] = {
    Outcome.ACCEPTED: "00",
    Outcome.DUPLICATE: "01",
    Outcome.SIGNATURE: "02",
    Outcome.EXPIRED: "04",   # the portal has no request time or nonce; kept for completeness
    Outcome.REPLAY: "04",
    Outcome.UNREADABLE: "04",
    Outcome.INVALID: "04",
    Outcome.UNKNOWN_DOSSIER: "04",
    Outcome.UNKNOWN_ACCOUNT: "04",
    Outcome.FAILED: "99",
}
_MESSAGES: dict[Outcome, str] = {
    Outcome.ACCEPTED: "Thanh cong",
    Outcome.DUPLICATE: "Giao dich da duoc ghi nhan truoc do",
    Outcome.SIGNATURE: "Sai ma xac thuc",
    Outcome.EXPIRED: "Yeu cau het han",
    Outcome.REPLAY: "Yeu cau da duoc gui truoc do",
    Outcome.UNREADABLE: "Khong doc duoc yeu cau",
    Outcome.INVALID: "Du lieu khong hop le",
    Outcome.UNKNOWN_DOSSIER: "Khong tim thay ho so",
    Outcome.UNKNOWN_ACCOUNT: "Tai khoan thu huong khong dung",
    Outcome.FAILED: "Loi tam thoi, vui long thu lai",
}

_HEX64 = re.compile(r"[0-9a-f]{64}")


# What the service stores of a confirmation (reconciliation/models.py, PortalPayment).
LIMITS = {"MaThamChieu": MAX_REF, "MaHoSo": 60, "MaTTHC": 40, "MaLoi": 10, "MoTaLoi": 1000, "MaGiaoDich": MAX_REF,
          "MaNganHang": 10, "TaiKhoanThuHuong": MAX_ACCOUNT}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def confirmation_signature(values: Mapping[str, str], secret: str) -> str:
    """``MaXacThuc`` of a confirmation (or a query answer)."""
    return _sha256("|".join([*(values[name] for name in SIGNED_FIELDS), secret]))


def query_body(ref: str, secret: str) -> dict[str, str]:
    """The status query for the payment ``ref`` (``MaThamChieu``)."""
    return {"MaThamChieu": ref, "MaXacThuc": _sha256(f"{ref}|{secret}")}


def verify_query(body: bytes | Mapping[str, Any], secret: str | None) -> str:
    """The platform's check of a status query: the ``MaThamChieu`` asked about, or a :class:`Refusal`."""
    obj = load_object(body) if isinstance(body, (bytes, bytearray)) else dict(body)
    fields = Fields(obj)
    ref = fields.string("MaThamChieu", nonempty=True)
    given = fields.string("MaXacThuc")
    assert ref is not None and given is not None
    _check_mac(given, _sha256(f"{ref}|{secret}") if secret else None, ref)
    if "|" in ref:
        raise fields.refuse("MaThamChieu", "contains '|', which separates the hashed fields")
    return ref


def parse_query_answer(body: bytes | Mapping[str, Any], secret: str | None) -> CallbackEvent | None:
    """The platform's answer to a status query, verified: an event of kind ``portal_paid``
    (00) or ``portal_failed`` (02), or None for 01 (still pending: nothing to record yet); any
    other ``MaLoi`` is refused (``invalid``), as is a wrong ``MaXacThuc`` (``signature``)."""
    obj = load_object(body) if isinstance(body, (bytes, bytearray)) else dict(body)
    return _event(obj, secret, query=True)


def _check_mac(given: str, expected: str | None, event_id: str | None) -> None:
    if expected is None:
        raise Refusal(Outcome.SIGNATURE, "the portal channel has no shared secret configured (PORTAL_SECRET)",
                      event_id=event_id)
    if not _HEX64.fullmatch(given):
        raise Refusal(Outcome.SIGNATURE, f"MaXacThuc must be 64 lowercase hex digits, not {quote(given)}",
                      event_id=event_id)
    if not same(given, expected):
        raise Refusal(Outcome.SIGNATURE, "MaXacThuc does not match the fields and the shared secret",
                      event_id=event_id)


def _event(obj: Mapping[str, Any], secret: str | None, *, query: bool) -> CallbackEvent | None:
    ref = obj.get("MaThamChieu")
    fields = Fields(obj, event_id=ref if isinstance(ref, str) and not text_fault(ref) else None)
    values = {name: fields.string(name) or "" for name in SIGNED_FIELDS}
    given = fields.string("MaXacThuc")
    assert given is not None
    _check_mac(given, confirmation_signature(values, secret) if secret else None, fields.event_id)
    for name in SIGNED_FIELDS:
        if "|" in values[name]:
            raise fields.refuse(name, "contains '|', which separates the hashed fields")
    fields.check_lengths(LIMITS)
    ref = fields.string("MaThamChieu", nonempty=True)
    procedure = optional(fields.string("MaTTHC", required=False, nullable=True))
    message = fields.string("MoTaLoi", required=False, nullable=True)
    code = values["MaLoi"]
    hints: dict[str, Any] = {"dossier_code": values["MaHoSo"], "procedure_code": procedure, "portal_ref": ref}
    assert ref is not None
    if code == PAID:
        dossier = fields.string("MaHoSo", nonempty=True)
        amount = fields.digit_amount("SoTien")
        bank_ref = fields.string("MaGiaoDich", nonempty=True)
        booked_at = fields.ict_time("ThoiGianGD", TIME_COMPACT)
        account = fields.string("TaiKhoanThuHuong", nonempty=True)
        assert dossier and bank_ref and account
        transfer = BankTransfer(
            account=account, bank_ref=bank_ref, amount=amount, direction=IN, booked_at=booked_at,
            content=CONTENT_PREFIX + dossier, counter_bank=optional(values["MaNganHang"]),
            extra={"portal_ref": ref},
        )
        return CallbackEvent(channel=NAME, kind=KIND_PORTAL_PAID, event_id=ref, transfer=transfer, hints=hints)
    if query and code not in (QUERY_PENDING, QUERY_FAILED):
        raise fields.refuse("MaLoi", f"is {quote(code)}; a status answer is 00, 01 or 02")
    if query and code == QUERY_PENDING:
        return None
    amount_text = values["SoTien"]
    hints.update(code=code, message=message,
                 amount=int(amount_text) if amount_text.isascii() and amount_text.isdigit() and len(amount_text) < 20
                 else None,
                 reason=f"the portal reports a failed payment (MaLoi {code}{': ' + message if message else ''})")
    return CallbackEvent(channel=NAME, kind=KIND_PORTAL_FAILED, event_id=ref, hints=hints)


class PortalAdapter:
    name = NAME

    def verify(self, request: InboundRequest, keys: ChannelKeys) -> CallbackEvent:
        event = _event(load_object(request.body), keys.portal_secret, query=False)
        assert event is not None  # only a status answer can be "pending"
        return event

    def respond(self, outcome: Outcome, request: InboundRequest, keys: ChannelKeys, *,
                event: CallbackEvent | None = None, refusal: Refusal | None = None,
                message: str | None = None) -> CallbackResponse:
        code = ANSWER_CODES[outcome]
        text = _MESSAGES[outcome]
        detail = (refusal.reason if refusal else None) or message
        if code in ("02", "04") and detail:
            text = f"{text}: {detail}"
        status = 400 if outcome is Outcome.UNREADABLE else 200
        return CallbackResponse(status, json_bytes({"MaLoi": code, "MoTaLoi": text}))


ADAPTER = register(PortalAdapter())
