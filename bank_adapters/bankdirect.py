"""A bank's direct balance-change notification (``bank-specs/bankdirect.md``), version 1.

Both directions are signed with RSA PKCS#1 v1.5 over SHA-256, the signature written in
standard base64 with padding:

- bank → service: the 12 fields of :data:`SIGNED_FIELDS`, joined with ``|``, UTF-8, verified
  with the bank's public key (``keys.bankdirect_bank_public_key``);
- service → bank: ``requestId|responseCode|responseTime``, signed with the service's private
  key (``keys.bankdirect_service_private_key``). :func:`verify_acknowledgement` is the bank's
  side of that (the simulator uses it to decide whether to retry).

Every field is required and a string. The request is refused as ``expired`` when its
``requestTime`` is more than 300 s from ``request.received_at``; its ``requestId`` is the
replay key. The answer is always HTTP 200 with a response code, except 400 for a body that
cannot be read at all. A ``|`` inside a signed field would make the signed text ambiguous
(the bank replaces it in descriptions), so one that arrives is refused as ``invalid``, as is
a ``description`` longer than the spec's 210 characters.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from core.clock import utcnow

from .callbacks import (KIND_TRANSFER, CallbackEvent, CallbackResponse, ChannelKeys, InboundRequest, Outcome,
                        Refusal, register)
from ._callback_fields import MAX_ACCOUNT, MAX_CODE, MAX_NAME, MAX_REF, Fields, TIME_COMPACT, format_ict, json_bytes, load_object, optional, quote, text_fault
from .transfers import IN, OUT, BankTransfer

NAME = "bankdirect"
MAX_SKEW_SECONDS = 300
MAX_DESCRIPTION = 210

SIGNED_FIELDS = (
    "requestId", "requestTime", "bankCode", "transactionId", "accountNo", "amount", "currency",
    "creditDebit", "transactionTime", "description", "counterAccountNo", "virtualAccountNo",
)
FIELDS = SIGNED_FIELDS + ("counterAccountName", "counterBankCode", "signature")
ACK_FIELDS = ("requestId", "responseCode", "responseMessage", "responseTime", "signature")

ACCEPTED, DUPLICATE, BAD_SIGNATURE, EXPIRED_OR_REPLAYED, INVALID, TEMPORARY_FAILURE = "00", "01", "02", "03", "04", "99"
CODES: dict[Outcome, str] = {
    Outcome.ACCEPTED: ACCEPTED,
    Outcome.DUPLICATE: DUPLICATE,
    Outcome.SIGNATURE: BAD_SIGNATURE,
    Outcome.EXPIRED: EXPIRED_OR_REPLAYED,
    Outcome.REPLAY: EXPIRED_OR_REPLAYED,
    Outcome.UNREADABLE: INVALID,
    Outcome.INVALID: INVALID,
    Outcome.UNKNOWN_ACCOUNT: INVALID,
    Outcome.UNKNOWN_DOSSIER: INVALID,
    Outcome.FAILED: TEMPORARY_FAILURE,
}
MESSAGES = {
    ACCEPTED: "Success",
    DUPLICATE: "Already received",
    BAD_SIGNATURE: "Invalid signature",
    EXPIRED_OR_REPLAYED: "Request expired or replayed",
    INVALID: "Invalid request",
    TEMPORARY_FAILURE: "Temporary failure, please retry",
}
_BIN = re.compile(r"[0-9]{6}")

_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()


def signed_text(values: Mapping[str, str], names: tuple[str, ...] = SIGNED_FIELDS) -> bytes:
    return "|".join(values[name] for name in names).encode("utf-8")


def rsa_sign(private_key: RSAPrivateKey, text: bytes) -> str:
    return base64.b64encode(private_key.sign(text, _PADDING, _HASH)).decode("ascii")


def rsa_verifies(public_key: Any, text: bytes, signature: str) -> bool:
    """Whether ``signature`` (standard base64, padded) is ``public_key``'s over ``text``."""
    if not isinstance(public_key, RSAPublicKey):
        return False
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    try:
        public_key.verify(raw, text, _PADDING, _HASH)
    except InvalidSignature:
        return False
    return True


def sign_request(values: Mapping[str, str], bank_private_key: RSAPrivateKey) -> str:
    """The bank's signature over a request's :data:`SIGNED_FIELDS`."""
    return rsa_sign(bank_private_key, signed_text(values))


def sign_acknowledgement(request_id: str, code: str, response_time: str, service_private_key: RSAPrivateKey) -> str:
    return rsa_sign(service_private_key, f"{request_id}|{code}|{response_time}".encode("utf-8"))


LIMITS = {"requestId": MAX_REF, "transactionId": MAX_REF, "accountNo": MAX_ACCOUNT, "counterAccountNo": MAX_ACCOUNT,
          "virtualAccountNo": MAX_ACCOUNT, "counterAccountName": MAX_NAME, "counterBankCode": MAX_CODE}


class BankDirectAdapter:
    name = NAME

    def verify(self, request: InboundRequest, keys: ChannelKeys) -> CallbackEvent:
        body = load_object(request.body)
        request_id = _echo_id(body)
        transaction_id = body.get("transactionId")
        fields = Fields(body, request_id=request_id,
                        event_id=transaction_id if isinstance(transaction_id, str) and not text_fault(transaction_id)
                        else None)
        values = {name: fields.string(name) for name in FIELDS}

        public_key = keys.bankdirect_bank_public_key
        if public_key is None:
            raise fields.refuse("signature", "cannot be checked: no bank public key is configured "
                                             "(BANKDIRECT_BANK_PUBLIC_KEY)", Outcome.SIGNATURE)
        if not isinstance(public_key, RSAPublicKey):
            raise fields.refuse("signature", "cannot be checked: the configured bank key is not an RSA public key",
                                Outcome.SIGNATURE)
        if not rsa_verifies(public_key, signed_text(values), values["signature"] or ""):
            raise fields.refuse("signature", "does not verify with the bank's public key over "
                                             "requestId|requestTime|...|virtualAccountNo", Outcome.SIGNATURE)

        for name in SIGNED_FIELDS:
            if "|" in (values[name] or ""):
                raise fields.refuse(name, "contains '|', which separates the signed fields")
        fields.check_lengths(LIMITS)
        description = values["description"] or ""
        if len(description) > MAX_DESCRIPTION:
            raise fields.refuse("description", f"has {len(description)} characters; the bank sends at most "
                                               f"{MAX_DESCRIPTION}")
        request_time = fields.ict_time("requestTime", TIME_COMPACT)
        skew = (request.received_at - request_time).total_seconds()
        if abs(skew) > MAX_SKEW_SECONDS:
            raise fields.refuse("requestTime", f"{values['requestTime']} is {abs(int(skew))} s "
                                               f"{'behind' if skew > 0 else 'ahead of'} the service's clock; "
                                               f"at most {MAX_SKEW_SECONDS} s are allowed", Outcome.EXPIRED)

        request_id = fields.string("requestId", nonempty=True)
        bank_code = values["bankCode"] or ""
        if not _BIN.fullmatch(bank_code):
            raise fields.refuse("bankCode", f"must be a 6-digit BIN, not {quote(bank_code)}")
        transaction_id = fields.string("transactionId", nonempty=True)
        account = fields.string("accountNo", nonempty=True)
        amount = fields.digit_amount("amount")
        if values["currency"] != "VND":
            raise fields.refuse("currency", f"is {quote(values['currency'])}; only VND is received")
        credit_debit = values["creditDebit"]
        if credit_debit not in ("C", "D"):
            raise fields.refuse("creditDebit", f"must be 'C' or 'D', not {quote(credit_debit)}")
        booked_at = fields.ict_time("transactionTime", TIME_COMPACT)
        assert request_id and transaction_id and account
        transfer = BankTransfer(
            account=account, bank_ref=transaction_id, amount=amount, direction=IN if credit_debit == "C" else OUT,
            booked_at=booked_at, content=values["description"] or "", bank_bin=bank_code,
            counter_account=optional(values["counterAccountNo"]), counter_name=optional(values["counterAccountName"]),
            counter_bank=optional(values["counterBankCode"]), virtual_account=optional(values["virtualAccountNo"]),
        )
        hints: dict[str, Any] = {"request_time": request_time.isoformat()}
        return CallbackEvent(channel=NAME, kind=KIND_TRANSFER, event_id=transaction_id, transfer=transfer,
                             replay_key=request_id, request_id=request_id, hints=hints)

    def respond(self, outcome: Outcome, request: InboundRequest, keys: ChannelKeys, *,
                event: CallbackEvent | None = None, refusal: Refusal | None = None,
                message: str | None = None) -> CallbackResponse:
        code = CODES[outcome]
        request_id = (event.request_id if event else None) or (refusal.request_id if refusal else None) \
            or _echo_id_from(request.body)
        text = MESSAGES[code]
        detail = (refusal.reason if refusal else None) or message
        if code in (BAD_SIGNATURE, EXPIRED_OR_REPLAYED, INVALID) and detail:
            text = f"{text}: {detail}"
        response_time = format_ict(utcnow(), TIME_COMPACT)
        key = keys.bankdirect_service_private_key
        # Without the service's key the answer cannot be signed: the bank will not trust it and
        # will retry, which is right for a service that is misconfigured.
        signature = sign_acknowledgement(request_id, code, response_time, key) if isinstance(key, RSAPrivateKey) else ""
        answer = {"requestId": request_id, "responseCode": code, "responseMessage": text,
                  "responseTime": response_time, "signature": signature}
        status = 400 if outcome is Outcome.UNREADABLE else 200
        return CallbackResponse(status, json_bytes(answer))


def _echo_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("requestId")
    return value if isinstance(value, str) and not text_fault(value) else None


def _echo_id_from(raw: bytes) -> str:
    """The requestId to echo when only the raw body is at hand (a refusal before parsing)."""
    try:
        body = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return ""
    return (_echo_id(body) or "") if isinstance(body, dict) else ""


class AcknowledgementError(ValueError):
    """The service's answer cannot be trusted (unreadable, incomplete, wrongly signed)."""


def verify_acknowledgement(body: bytes, service_public_key: Any, *, request_id: str | None = None) -> dict[str, str]:
    """The bank's check of the service's answer: the five fields, all strings, the signature
    over ``requestId|responseCode|responseTime`` verified with the service's public key, and
    (when given) the echoed ``requestId``. Raises :class:`AcknowledgementError`."""
    try:
        answer = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        raise AcknowledgementError(f"the answer is not JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise AcknowledgementError("the answer is not a JSON object")
    for name in ACK_FIELDS:
        if not isinstance(answer.get(name), str):
            raise AcknowledgementError(f"the answer's {name} is missing or not a string")
    if not re.fullmatch(r"[0-9]{14}", answer["responseTime"]):
        raise AcknowledgementError(f"the answer's responseTime {quote(answer['responseTime'])} is not yyyyMMddHHmmss")
    text = "|".join(answer[name] for name in ("requestId", "responseCode", "responseTime")).encode("utf-8", "replace")
    if not rsa_verifies(service_public_key, text, answer["signature"]):
        raise AcknowledgementError("the answer's signature does not verify with the service's public key")
    if request_id is not None and answer["requestId"] != request_id:
        raise AcknowledgementError(f"the answer is for requestId {quote(answer['requestId'])}, "
                                   f"not {quote(request_id)}")
    return {name: answer[name] for name in ACK_FIELDS}


ADAPTER = register(BankDirectAdapter())
