"""The callbacks each sender would send, built from a :class:`BankTransfer` and signed.

Each builder returns ``(headers, body)``: the body exactly as the spec's JSON (field names,
types: payOS and SePay amounts are JSON integers, the direct bank's and the portal's are
strings of digits), the headers a sender would set. They are the inverse of the adapters:
what a builder makes, the matching adapter's ``verify`` accepts and turns back into the same
transfer, except where the format itself loses something (written below each builder).

Times are written in Indochina Time to the second; a fraction of a second is dropped.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from qr.banks import by_bin
from qr.text import strip_diacritics

from bank_adapters import bankdirect, payos, portal, sepay
from bank_adapters._callback_fields import TIME_COMPACT, TIME_SECONDS, format_ict
from bank_adapters.transfers import IN, BankTransfer

JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"
Request = tuple[dict[str, str], bytes]


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# payOS


def payos_data(transfer: BankTransfer, *, order_code: int, payment_link_id: str | None = None) -> dict[str, Any]:
    """The ``data`` object of a payOS success webhook for ``transfer`` (money in only)."""
    if transfer.direction != IN:
        raise ValueError("payOS reports payments received, not money going out")
    counter = transfer.counter_bank or ""
    counter_is_bin = counter.isdigit() and len(counter) == 6
    bank = by_bin(counter) if counter_is_bin else None
    return {
        "orderCode": order_code,
        "amount": transfer.amount,
        "description": transfer.content,
        "accountNumber": transfer.account,
        "reference": transfer.bank_ref,
        "transactionDateTime": format_ict(transfer.booked_at, TIME_SECONDS),
        "currency": "VND",
        "paymentLinkId": payment_link_id or hashlib.sha256(transfer.bank_ref.encode("utf-8")).hexdigest()[:32],
        "code": "00",
        "desc": "Thành công",
        "counterAccountBankId": counter if counter_is_bin else "",
        "counterAccountBankName": (bank.short_name if bank else "") if counter_is_bin else counter,
        "counterAccountName": transfer.counter_name or "",
        "counterAccountNumber": transfer.counter_account or "",
        "virtualAccountName": str(transfer.extra.get("virtual_account_name") or ""),
        "virtualAccountNumber": transfer.virtual_account or "",
    }


def payos_request(transfer: BankTransfer, checksum_key: str, *, order_code: int,
                  payment_link_id: str | None = None) -> Request:
    """A signed payOS success webhook. Lost on the way: ``bank_bin`` (payOS does not say
    which bank holds the account)."""
    data = payos_data(transfer, order_code=order_code, payment_link_id=payment_link_id)
    body = {"code": "00", "desc": "success", "success": True, "data": data,
            "signature": payos.sign(data, checksum_key)}
    return {"Content-Type": JSON}, _json(body)


def payos_test_request(checksum_key: str) -> Request:
    """payOS's registration call (the spec's example data, signed with ``checksum_key``)."""
    data = {
        "orderCode": payos.TEST_ORDER_CODE, "amount": 3000, "description": payos.TEST_DESCRIPTION,
        "accountNumber": "12345678", "reference": payos.TEST_REFERENCE,
        "transactionDateTime": "2023-02-04 18:25:00", "currency": "VND",
        "paymentLinkId": "124c33293c43417ab7879e14c8d9eb18", "code": "00", "desc": "Thành công",
        "counterAccountBankId": "", "counterAccountBankName": "", "counterAccountName": "",
        "counterAccountNumber": "", "virtualAccountName": "", "virtualAccountNumber": "",
    }
    body = {"code": "00", "desc": "success", "success": True, "data": data,
            "signature": payos.sign(data, checksum_key)}
    return {"Content-Type": JSON}, _json(body)


# ---------------------------------------------------------------------------------------------
# SePay


def sepay_body(transfer: BankTransfer, *, sepay_id: int, code: str | None = None) -> bytes:
    """The exact bytes SePay posts for ``transfer`` (the same on every retry)."""
    if transfer.bank_bin is None:
        raise ValueError("SePay names the bank of the account (gateway): the transfer needs bank_bin")
    if transfer.balance_after is None:
        raise ValueError("SePay reports the balance after each movement (accumulated): "
                         "the transfer needs balance_after (the simulated ledger fills it)")
    return _json({
        "id": sepay_id,
        "gateway": sepay.gateway_name(transfer.bank_bin),
        "transactionDate": format_ict(transfer.booked_at, TIME_SECONDS),
        "accountNumber": transfer.account,
        "code": code,
        "content": transfer.content,
        "transferType": transfer.direction,
        "transferAmount": transfer.amount,
        "accumulated": transfer.balance_after,
        "subAccount": transfer.virtual_account,
        "referenceCode": transfer.bank_ref,
        "description": "",
    })


def sepay_headers(body: bytes, *, api_key: str | None = None, hmac_secret: str | None = None,
                  timestamp: int | None = None) -> dict[str, str]:
    """The authentication headers for ``body``: API key, HMAC (needs ``timestamp``), or both."""
    if not api_key and not hmac_secret:
        raise ValueError("SePay authenticates with an API key or an HMAC secret: give at least one")
    headers = {"Content-Type": JSON}
    if api_key:
        headers["Authorization"] = f"Apikey {api_key}"
    if hmac_secret:
        if timestamp is None:
            raise ValueError("HMAC mode needs the unix timestamp it signs")
        stamp = str(int(timestamp))
        headers["X-SePay-Timestamp"] = stamp
        headers["X-SePay-Signature"] = sepay.SIGNATURE_PREFIX + sepay.hmac_signature(hmac_secret, stamp, body)
    return headers


def sepay_request(transfer: BankTransfer, *, api_key: str | None = None, hmac_secret: str | None = None,
                  sepay_id: int, timestamp: int | None = None, code: str | None = None) -> Request:
    """A SePay webhook. Lost on the way: the counterparty (SePay does not send it)."""
    body = sepay_body(transfer, sepay_id=sepay_id, code=code)
    return sepay_headers(body, api_key=api_key, hmac_secret=hmac_secret, timestamp=timestamp), body


# ---------------------------------------------------------------------------------------------
# Direct bank

_request_serial = itertools.count(secrets.randbelow(10**6))


def new_request_id(when: datetime) -> str:
    """A fresh ``requestId`` (``BD`` + yyyyMMddHHmmss + 6 digits), unique within a process
    and unlikely to meet another process's in the same second."""
    return f"BD{format_ict(when, TIME_COMPACT)}{next(_request_serial) % 10**6:06d}"


def bank_description(content: str) -> str:
    """What the bank makes of a transfer content: upper-cased, diacritics gone, ``|`` → space,
    at most 210 characters."""
    return strip_diacritics(content).upper().replace("|", " ")[: bankdirect.MAX_DESCRIPTION]


def bankdirect_fields(transfer: BankTransfer, *, request_id: str, request_time: datetime) -> dict[str, str]:
    """The request's fields without the signature."""
    if transfer.bank_bin is None:
        raise ValueError("the direct bank sends its own BIN (bankCode): the transfer needs bank_bin")
    return {
        "requestId": request_id,
        "requestTime": format_ict(request_time, TIME_COMPACT),
        "bankCode": transfer.bank_bin,
        "transactionId": transfer.bank_ref,
        "accountNo": transfer.account,
        "amount": str(transfer.amount),
        "currency": "VND",
        "creditDebit": "C" if transfer.direction == IN else "D",
        "transactionTime": format_ict(transfer.booked_at, TIME_COMPACT),
        "description": bank_description(transfer.content),
        "counterAccountNo": transfer.counter_account or "",
        "counterAccountName": transfer.counter_name or "",
        "counterBankCode": transfer.counter_bank or "",
        "virtualAccountNo": transfer.virtual_account or "",
    }


def bankdirect_request(transfer: BankTransfer, bank_private_key: RSAPrivateKey, *, request_id: str,
                       request_time: datetime) -> Request:
    """A signed balance-change notification. Changed on the way: the content, as
    :func:`bank_description` writes it."""
    fields = bankdirect_fields(transfer, request_id=request_id, request_time=request_time)
    fields["signature"] = bankdirect.sign_request(fields, bank_private_key)
    return {"Content-Type": JSON_UTF8}, _json(fields)


# ---------------------------------------------------------------------------------------------
# Portal


def new_portal_ref(dossier_code: str, when: datetime) -> str:
    """A platform reference like ``dvc0000012H262611250001x20261125093000``."""
    return f"dvc{re.sub(r'[^0-9A-Za-z]', '', dossier_code)}x{format_ict(when, TIME_COMPACT)}"


def portal_object(transfer: BankTransfer, secret: str, *, portal_ref: str, dossier_code: str,
                  procedure_code: str = "", code: str = portal.PAID, message: str | None = None) -> dict[str, str]:
    """The platform's object for a payment of ``dossier_code`` that landed as ``transfer``:
    a confirmation, or (with ``code`` 00/01/02) an answer to a status query."""
    values = {
        "MaThamChieu": portal_ref,
        "MaHoSo": dossier_code,
        "MaTTHC": procedure_code,
        "SoTien": str(transfer.amount),
        "MaLoi": code,
        "MoTaLoi": message if message is not None else
        ("Giao dich thanh cong" if code == portal.PAID else "Giao dich khong thanh cong"),
        "MaGiaoDich": transfer.bank_ref,
        "MaNganHang": transfer.counter_bank or "",
        "ThoiGianGD": format_ict(transfer.booked_at, TIME_COMPACT),
        "TaiKhoanThuHuong": transfer.account,
    }
    values["MaXacThuc"] = portal.confirmation_signature(values, secret)
    return values


def portal_confirmation(transfer: BankTransfer, secret: str, *, portal_ref: str, dossier_code: str,
                        procedure_code: str = "", code: str = portal.PAID, message: str | None = None) -> Request:
    """The platform's confirmation callback. The adapter's transfer carries the platform's
    content (``THANH TOAN HO SO <dossier>``), not ``transfer.content``, and no ``bank_bin``."""
    values = portal_object(transfer, secret, portal_ref=portal_ref, dossier_code=dossier_code,
                           procedure_code=procedure_code, code=code, message=message)
    return {"Content-Type": JSON_UTF8}, _json(values)
