"""The SePay bank-feed webhook (``bank-specs/sepay.md``): authenticate, parse, answer.

Two ways to authenticate, each accepted when configured (``SEPAY_API_KEY``,
``SEPAY_HMAC_SECRET``; CONTRACT.md: "either or both; each configured one is accepted"):

- API key: ``Authorization: Apikey <key>``, compared in constant time.
- HMAC: ``X-SePay-Signature: sha256=<lowercase hex>`` of ``"<X-SePay-Timestamp>.<raw body>"``.
  The timestamp must be within 300 s of ``request.received_at`` (else ``expired``), and the
  event's ``replay_key`` is ``"<timestamp>:<signature>"``, which the service refuses to see twice.

A credential that is presented for a configured mode must be right: a wrong API key is
refused even if an HMAC signature also came, and the other way round. A credential for a
mode that is not configured is ignored; at least one configured mode must pass.

``gateway`` is the bank's name as SePay writes it; it becomes the BIN of the bank that holds
the account through ``qr.banks.lookup`` and, for SePay's names the directory does not
know, the alias table below. An unknown name leaves ``bank_bin`` empty (the money is still
recorded; the service resolves the account by its number).
"""
from __future__ import annotations

import hashlib
import hmac
import re

from qr.banks import by_bin, lookup

from .callbacks import (KIND_TRANSFER, CallbackEvent, CallbackResponse, ChannelKeys, InboundRequest, Outcome,
                        Refusal, register)
from ._callback_fields import MAX_ACCOUNT, MAX_CODE, MAX_CONTENT, MAX_REF, Fields, TIME_SECONDS, json_bytes, load_object, optional, quote, same
from .transfers import IN, OUT, BankTransfer

NAME = "sepay"
MAX_SKEW_SECONDS = 300
SIGNATURE_PREFIX = "sha256="

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

# SePay's gateway names that the NAPAS directory (qr/banks.csv) does not spell the same way,
# keyed by the name upper-cased without spaces, dots or dashes.
GATEWAY_ALIASES: dict[str, str] = {
    "BVBANK": "970454",            # Viet Capital Bank's brand since 2023
    "VIETCAPITAL": "970454",
    "MARITIMEBANK": "970426",      # MSB's former name
    "SHINHAN": "970424",
    "COOPBANK": "970446",
    "INDOVINA": "970434",
    "KIENLONG": "970452",
    "LIENVIETPOST": "970449",
    "LIENVIET": "970449",
    "VIETINBANKIPAY": "970415",
    "MB": "970422",
    "MBB": "970422",
    "VIETCOM": "970436",
    "VIETTINBANK": "970415",       # a common misspelling
    "SGB": "970400",
    "PVCOM": "970412",
    "PUBLICBANKVIETNAM": "970439",
    "UOBVIETNAM": "970458",
    "HONGLEONGBANK": "970442",
    "WOORIBANK": "970457",
    "CIMBBANK": "422589",
}

# How SePay writes the banks it watches (the simulator writes ``gateway`` from a BIN with
# this); a BIN not listed is written with the directory's short name.
GATEWAY_NAMES: dict[str, str] = {
    "970436": "Vietcombank",
    "970415": "VietinBank",
    "970418": "BIDV",
    "970422": "MBBank",
    "970416": "ACB",
    "970407": "Techcombank",
    "970423": "TPBank",
    "970432": "VPBank",
    "970405": "Agribank",
    "970403": "Sacombank",
    "970437": "HDBank",
    "970448": "OCB",
    "970426": "MSB",
    "970443": "SHB",
    "970441": "VIB",
    "970431": "Eximbank",
    "970440": "SeABank",
    "970449": "LPBank",
    "970452": "KienLongBank",
    "970425": "ABBANK",
    "970412": "PVcomBank",
    "970428": "NamABank",
    "970409": "BacABank",
    "970454": "BVBank",
    "970433": "VietBank",
    "970419": "NCB",
    "546034": "Cake",
    "963388": "Timo",
}


def _gateway_key(name: str) -> str:
    return re.sub(r"[\s.\-_]", "", name).upper()


def gateway_bin(gateway: str) -> str | None:
    """The BIN of the bank SePay names ``gateway``, or None."""
    key = _gateway_key(gateway)
    if key in GATEWAY_ALIASES:
        return GATEWAY_ALIASES[key]
    bank = lookup(key)
    return bank.bin if bank else None


def gateway_name(bank_bin: str) -> str:
    """How SePay writes the bank with ``bank_bin`` (the inverse of :func:`gateway_bin`)."""
    if bank_bin in GATEWAY_NAMES:
        return GATEWAY_NAMES[bank_bin]
    bank = by_bin(bank_bin)
    if bank is None:
        raise ValueError(f"BIN {bank_bin!r} is not in the bank directory")
    return bank.short_name


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``"<timestamp>.<raw body>"``."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


LIMITS = {"gateway": MAX_CODE, "accountNumber": MAX_ACCOUNT, "code": MAX_REF, "content": MAX_CONTENT,
          "transferType": 3, "subAccount": MAX_ACCOUNT, "referenceCode": MAX_REF, "description": MAX_CONTENT}


class SePayAdapter:
    name = NAME

    def verify(self, request: InboundRequest, keys: ChannelKeys) -> CallbackEvent:
        mode, replay_key = self._authenticate(request, keys)
        body = load_object(request.body)
        fields = Fields(body)
        fields.check_lengths(LIMITS)
        sepay_id = fields.whole_number("id", minimum=1)
        event_id = fields.event_id = str(sepay_id)
        gateway = fields.string("gateway", nonempty=True)
        booked_at = fields.ict_time("transactionDate", TIME_SECONDS)
        account = fields.string("accountNumber", nonempty=True)
        code = fields.string("code", required=False, nullable=True)
        content = fields.string("content", required=False, nullable=True, default="")
        transfer_type = fields.string("transferType")
        if transfer_type not in ("in", "out"):
            raise fields.refuse("transferType", f"must be 'in' or 'out', not {quote(transfer_type)}")
        amount = fields.amount("transferAmount")
        accumulated = fields.whole_number("accumulated", required=False, nullable=True)
        sub_account = optional(fields.string("subAccount", required=False, nullable=True))
        reference = fields.string("referenceCode", nonempty=True)
        description = fields.string("description", required=False, nullable=True, default="")
        assert gateway and account and reference and content is not None
        bank_bin = gateway_bin(gateway)
        transfer = BankTransfer(
            account=account, bank_ref=reference, amount=amount, direction=IN if transfer_type == "in" else OUT,
            booked_at=booked_at, content=content, bank_bin=bank_bin, virtual_account=sub_account,
            balance_after=accumulated,
            extra={"sepay_id": sepay_id, "gateway": gateway, **({"description": description} if description else {})},
        )
        hints = {"code": code, "accumulated": accumulated, "gateway": gateway, "auth": mode}
        if bank_bin is None:
            hints["unknown_gateway"] = gateway
        return CallbackEvent(channel=NAME, kind=KIND_TRANSFER, event_id=event_id, transfer=transfer,
                             replay_key=replay_key, hints=hints)

    @staticmethod
    def _authenticate(request: InboundRequest, keys: ChannelKeys) -> tuple[str, str | None]:
        """The mode that passed and the replay key; a ``signature`` or ``expired`` refusal otherwise."""
        if not keys.sepay_api_key and not keys.sepay_hmac_secret:
            raise Refusal(Outcome.SIGNATURE, "the SePay channel has no API key or HMAC secret configured "
                                             "(SEPAY_API_KEY, SEPAY_HMAC_SECRET)")
        passed: list[str] = []
        replay_key = None
        authorization = request.header("authorization")
        if keys.sepay_api_key and authorization is not None:
            scheme, _, given = authorization.strip().partition(" ")
            if scheme.lower() != "apikey":
                raise Refusal(Outcome.SIGNATURE, f"Authorization must be 'Apikey <key>', not scheme {quote(scheme)}")
            if not same(given.strip(), keys.sepay_api_key):
                raise Refusal(Outcome.SIGNATURE, "Authorization carries a wrong API key")
            passed.append("apikey")
        signature = request.header("x-sepay-signature")
        timestamp = request.header("x-sepay-timestamp")
        if keys.sepay_hmac_secret and (signature is not None or timestamp is not None):
            if signature is None or timestamp is None:
                missing = "X-SePay-Signature" if signature is None else "X-SePay-Timestamp"
                raise Refusal(Outcome.SIGNATURE, f"{missing} is missing (HMAC needs both headers)")
            if not _TIMESTAMP.fullmatch(timestamp):
                raise Refusal(Outcome.SIGNATURE, f"X-SePay-Timestamp must be unix seconds, not {quote(timestamp)}")
            hex_part = signature[len(SIGNATURE_PREFIX):] if signature.startswith(SIGNATURE_PREFIX) else None
            if hex_part is None or not _HEX64.fullmatch(hex_part):
                raise Refusal(Outcome.SIGNATURE, "X-SePay-Signature must be 'sha256=' and 64 lowercase hex "
                                                 f"digits, not {quote(signature)}")
            if not same(hex_part, hmac_signature(keys.sepay_hmac_secret, timestamp, request.body)):
                raise Refusal(Outcome.SIGNATURE, "X-SePay-Signature does not match the timestamp and the body")
            skew = request.received_at.timestamp() - int(timestamp)
            if abs(skew) > MAX_SKEW_SECONDS:
                raise Refusal(Outcome.EXPIRED, f"X-SePay-Timestamp {timestamp} is {abs(int(skew))} s "
                                               f"{'behind' if skew > 0 else 'ahead of'} the service's clock; "
                                               f"at most {MAX_SKEW_SECONDS} s are allowed")
            passed.append("hmac")
            replay_key = f"{timestamp}:{hex_part}"
        if not passed:
            wanted = " or ".join(
                what for what, configured in (("'Authorization: Apikey <key>'", keys.sepay_api_key),
                                              ("X-SePay-Timestamp and X-SePay-Signature", keys.sepay_hmac_secret))
                if configured)
            raise Refusal(Outcome.SIGNATURE, f"no credential: {wanted} is required")
        return "+".join(passed), replay_key

    def respond(self, outcome: Outcome, request: InboundRequest, keys: ChannelKeys, *,
                event: CallbackEvent | None = None, refusal: Refusal | None = None,
                message: str | None = None) -> CallbackResponse:
        status = STATUS[outcome]
        if status == 200:
            return CallbackResponse(200, b'{"success": true}')
        text = message or (refusal.reason if refusal else None) or _DEFAULT_MESSAGE[outcome]
        return CallbackResponse(status, json_bytes({"success": False, "message": text}))


# 200 {"success": true} is the only answer that stops SePay resending (same id, Fibonacci
# minutes): given once the money is recorded, including on an account that is not ours.
STATUS: dict[Outcome, int] = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.UNKNOWN_ACCOUNT: 200,
    Outcome.UNKNOWN_DOSSIER: 200,
    Outcome.SIGNATURE: 401,
    Outcome.EXPIRED: 401,
    Outcome.REPLAY: 401,
    Outcome.UNREADABLE: 400,
    Outcome.INVALID: 400,
    Outcome.FAILED: 503,
}
_DEFAULT_MESSAGE = {
    Outcome.SIGNATURE: "authentication failed",
    Outcome.EXPIRED: "request timestamp too far from the service's clock",
    Outcome.REPLAY: "request replayed",
    Outcome.UNREADABLE: "unreadable request",
    Outcome.INVALID: "invalid request",
    Outcome.FAILED: "temporary failure, please retry",
}

ADAPTER = register(SePayAdapter())
