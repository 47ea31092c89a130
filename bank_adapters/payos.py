"""The payOS payment webhook (``bank-specs/payos.md``): verify, parse, answer.

payOS signs ``data`` alone, not the whole body: the lowercase hex HMAC-SHA256, keyed with
the channel's checksum key, of ``data``'s keys sorted, written ``key=value`` and joined with
``&``. The spec fixes how ``null``, numbers and strings are written; what it leaves open is
decided here, the way payOS's own JavaScript SDK writes values (a template string):

- ``null`` → empty string; a number → its decimal integer (JSON has one number type, so
  ``3000.0`` is written ``3000``); a string → as it is, UTF-8, unescaped.
- a boolean → ``true`` / ``false`` (as JavaScript and JSON write it, not Python's ``True``).
- a nested object or array, or a number that is not whole → refused (``invalid``): the spec
  does not say how to write them, and guessing would accept what payOS never signed.

The top-level ``code``, ``desc`` and ``success`` are NOT signed. They can therefore only
ever turn a webhook into ``ignored``, never into money: a transfer needs the signed
``data.code == "00"`` as well.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Mapping

from .callbacks import (KIND_IGNORED, KIND_TEST, KIND_TRANSFER, CallbackEvent, CallbackResponse, ChannelKeys,
                        InboundRequest, Outcome, Refusal, register)
from ._callback_fields import MAX_ACCOUNT, MAX_CODE, MAX_CONTENT, MAX_NAME, MAX_REF, Fields, TIME_SECONDS, json_bytes, load_object, optional, quote, same, text_fault
from .transfers import IN, BankTransfer

NAME = "payos"

# The registration call (spec: "Confirmation call"): it refers to no real transfer.
TEST_ORDER_CODE = 123
TEST_DESCRIPTION = "VQRIO123"
TEST_REFERENCE = "TF230204212323"
SUCCESS_CODE = "00"

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _written(key: str, value: Any) -> str:
    """One value as the signature writes it; ValueError for what the spec does not define."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int in Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= 2**53:
            return str(int(value))
        raise ValueError(f"data.{key} is {quote(value)}: the signature writes numbers as whole integers")
    if isinstance(value, str):
        fault = text_fault(value)
        if fault:
            raise ValueError(f"data.{key} {fault}")
        return value
    raise ValueError(f"data.{key} is a nested {'array' if isinstance(value, list) else 'object'}: "
                     "the payOS signature does not define how to write it")


def signature_string(data: Mapping[str, Any]) -> str:
    """``key=value`` over ``data``'s keys sorted, joined with ``&`` (the signed text)."""
    for key in data:
        fault = text_fault(key)
        if fault:
            raise ValueError(f"a key of data {fault}")
    return "&".join(f"{key}={_written(key, data[key])}" for key in sorted(data))


def sign(data: Mapping[str, Any], checksum_key: str) -> str:
    """The lowercase hex HMAC-SHA256 of ``data`` under ``checksum_key``."""
    return hmac.new(checksum_key.encode("utf-8"), signature_string(data).encode("utf-8"), hashlib.sha256).hexdigest()


def is_test_call(data: Mapping[str, Any]) -> bool:
    """payOS's registration call: its fixed reference, or its order code with its description."""
    return data.get("reference") == TEST_REFERENCE or (
        data.get("orderCode") == TEST_ORDER_CODE and data.get("description") == TEST_DESCRIPTION
    )


DATA_LIMITS = {"accountNumber": MAX_ACCOUNT, "reference": MAX_REF, "description": MAX_CONTENT, "code": MAX_CODE,
               "desc": MAX_CONTENT, "currency": 3, "paymentLinkId": MAX_REF, "counterAccountBankId": MAX_CODE,
               "counterAccountBankName": MAX_NAME, "counterAccountName": MAX_NAME, "counterAccountNumber": MAX_ACCOUNT,
               "virtualAccountName": MAX_NAME, "virtualAccountNumber": MAX_ACCOUNT}


class PayOSAdapter:
    name = NAME

    def verify(self, request: InboundRequest, keys: ChannelKeys) -> CallbackEvent:
        body = load_object(request.body)
        data = body.get("data")
        if not isinstance(data, dict):
            what = "is missing" if "data" not in body else f"must be an object, not {quote(data)}"
            raise Refusal(Outcome.INVALID, f"data {what}: there is nothing signed to verify")
        reference = data.get("reference")
        event_id = reference if isinstance(reference, str) and not text_fault(reference) else None
        self._authenticate(body, data, keys, event_id)

        top = Fields(body, event_id=event_id)
        top.check_lengths({"code": MAX_CODE, "desc": MAX_CONTENT})
        code = top.string("code", required=False, nullable=True)
        desc = top.string("desc", required=False, nullable=True)
        if "success" in body and body["success"] is not None and not isinstance(body["success"], bool):
            raise top.refuse("success", f"must be true or false, not {quote(body['success'])}")
        fields = Fields(data, prefix="data.", event_id=event_id)
        fields.check_lengths(DATA_LIMITS)
        order_code = fields.whole_number("orderCode", required=False, nullable=True)

        if is_test_call(data):
            return CallbackEvent(channel=NAME, kind=KIND_TEST, event_id=event_id or TEST_REFERENCE,
                                 hints={"order_code": order_code, "reason": "payOS webhook registration call"})

        data_code = fields.string("code", required=False, nullable=True)
        data_desc = fields.string("desc", required=False, nullable=True)
        failures = []
        if data_code != SUCCESS_CODE:
            failures.append(f"data.code is {quote(data_code)}")
        if code is not None and code != SUCCESS_CODE:
            failures.append(f"code is {quote(code)}")
        if body.get("success") is False:
            failures.append("success is false")
        if failures:
            ident = event_id or (f"order:{order_code}" if order_code is not None else f"sig:{body['signature']}")
            reason = "payOS reports no successful payment: " + ", ".join(failures)
            text = data_desc or desc
            return CallbackEvent(channel=NAME, kind=KIND_IGNORED, event_id=ident,
                                 hints={"reason": reason + (f" ({text})" if text else ""), "code": data_code,
                                        "order_code": order_code})

        transfer = self._transfer(fields, data)
        return CallbackEvent(
            channel=NAME, kind=KIND_TRANSFER, event_id=transfer.bank_ref, transfer=transfer,
            hints={"order_code": order_code,
                   "payment_link_id": fields.string("paymentLinkId", required=False, nullable=True)},
        )

    @staticmethod
    def _authenticate(body: dict[str, Any], data: dict[str, Any], keys: ChannelKeys, event_id: str | None) -> None:
        if not keys.payos_checksum_key:
            raise Refusal(Outcome.SIGNATURE, "the payOS channel has no checksum key configured (PAYOS_CHECKSUM_KEY)",
                          event_id=event_id)
        given = body.get("signature")
        if given is None:
            raise Refusal(Outcome.SIGNATURE, "signature is missing", event_id=event_id)
        if not isinstance(given, str) or not _HEX64.fullmatch(given):
            raise Refusal(Outcome.SIGNATURE, f"signature must be 64 lowercase hex digits, not {quote(given)}",
                          event_id=event_id)
        try:
            expected = sign(data, keys.payos_checksum_key)
        except ValueError as exc:
            raise Refusal(Outcome.INVALID, str(exc), event_id=event_id) from None
        if not same(given, expected):
            raise Refusal(Outcome.SIGNATURE,
                          "signature does not match data under the configured checksum key", event_id=event_id)

    @staticmethod
    def _transfer(fields: Fields, data: dict[str, Any]) -> BankTransfer:
        account = fields.string("accountNumber", nonempty=True)
        reference = fields.string("reference", nonempty=True)
        amount = fields.amount("amount")
        booked_at = fields.ict_time("transactionDateTime", TIME_SECONDS)
        currency = fields.string("currency", required=False, nullable=True)
        if currency is not None and currency != "VND":
            raise fields.refuse("currency", f"is {quote(currency)}; only VND is received")
        description = fields.string("description", required=False, nullable=True, default="")
        counter_bank = optional(fields.string("counterAccountBankId", required=False, nullable=True)) or optional(
            fields.string("counterAccountBankName", required=False, nullable=True))
        counter_name = optional(fields.string("counterAccountName", required=False, nullable=True))
        counter_account = optional(fields.string("counterAccountNumber", required=False, nullable=True))
        virtual_name = optional(fields.string("virtualAccountName", required=False, nullable=True))
        virtual_account = optional(fields.string("virtualAccountNumber", required=False, nullable=True))
        assert account and reference and description is not None
        return BankTransfer(
            account=account, bank_ref=reference, amount=amount, direction=IN, booked_at=booked_at,
            content=description, bank_bin=None,  # payOS does not say which bank holds the account
            counter_account=counter_account, counter_name=counter_name, counter_bank=counter_bank,
            virtual_account=virtual_account,
            extra={"virtual_account_name": virtual_name} if virtual_name else {},
        )

    def respond(self, outcome: Outcome, request: InboundRequest, keys: ChannelKeys, *,
                event: CallbackEvent | None = None, refusal: Refusal | None = None,
                message: str | None = None) -> CallbackResponse:
        status = STATUS[outcome]
        if 200 <= status < 300:
            return CallbackResponse(status, b'{"success": true}')
        text = message or (refusal.reason if refusal else None) or _DEFAULT_MESSAGE[outcome]
        return CallbackResponse(status, json_bytes({"success": False, "message": text}))


# 2xx tells payOS "received, do not resend": every outcome where the money (or the test
# call) is in our hands, including an account that is not ours (recorded and flagged).
STATUS: dict[Outcome, int] = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.UNKNOWN_ACCOUNT: 200,
    Outcome.UNKNOWN_DOSSIER: 200,
    Outcome.SIGNATURE: 401,
    Outcome.EXPIRED: 401,   # payOS carries no request time; kept for completeness
    Outcome.REPLAY: 401,    # payOS carries no nonce; kept for completeness
    Outcome.UNREADABLE: 400,
    Outcome.INVALID: 400,
    Outcome.FAILED: 503,    # ours: payOS may resend
}
_DEFAULT_MESSAGE = {
    Outcome.SIGNATURE: "invalid signature",
    Outcome.EXPIRED: "request expired",
    Outcome.REPLAY: "request replayed",
    Outcome.UNREADABLE: "unreadable request",
    Outcome.INVALID: "invalid request",
    Outcome.FAILED: "temporary failure, please retry",
}

ADAPTER = register(PayOSAdapter())
