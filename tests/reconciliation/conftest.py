"""Shared pieces of the reconciliation tests: a seeded database with dossiers that owe money
and open payment requests, the simulator's senders, and a way to deliver a callback."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY, DEMO_KEYS
from simulator import callbacks as build
from bank_adapters.transfers import IN, BankTransfer
from core.clock import utcnow
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.dossiers import parse_dossier_input, register_dossier
from payments.requests import create_payment_request
from qr.vietqr import decode


@pytest.fixture
def seeded(session):
    seed_agencies(session, lambda _: None)
    seed_catalogue(session, lambda _: None)
    session.commit()
    return session


_serial = iter(range(1, 10**9))


def make_dossier(session, *, amount: int = 8000, channel: str = "counter", agency: str = "P-HOANKIEM",
                 code: str | None = None, procedure: str = "1.001193"):
    number = next(_serial)
    body = {"code": code or f"000.20.01.H26-261125-{number:04d}", "procedure_code": procedure, "agency_code": agency,
            "applicant_name": "Nguyễn Văn A", "channel": channel, "submitted_at": "2026-11-25T09:00:00+07:00",
            "charges": [{"name": "Lệ phí đăng ký", "amount": amount, "kind": "le_phi"}]}
    dossier = register_dossier(session, parse_dossier_input(body), actor="test")
    session.flush()
    return dossier


def make_request(session, *, amount: int = 8000, channel: str = "counter", agency: str = "P-HOANKIEM",
                 request_amount: int | None = None):
    dossier = make_dossier(session, amount=amount, channel=channel, agency=agency)
    request = create_payment_request(session, dossier, "test", amount=request_amount)
    session.commit()
    return request


def transfer_for(request, *, amount: int | None = None, content: str | None = None, ref: str | None = None,
                 when: datetime | None = None, direction: str = IN, account: str | None = None) -> BankTransfer:
    qr = decode(request.qr_payload)
    return BankTransfer(account=account or qr.account, bank_ref=ref or f"FT26{random.randint(10**11, 10**12 - 1)}",
                        amount=qr.amount if amount is None else amount, direction=direction,
                        booked_at=when or utcnow() - timedelta(seconds=5),
                        content=qr.purpose if content is None else content, bank_bin=qr.bin,
                        counter_account="0011001234567", counter_name="NGUYEN VAN A", counter_bank="970436",
                        balance_after=125_000_000)


def signed(via: str, transfer: BankTransfer, *, now: datetime | None = None, request_id: str | None = None,
           sepay_mode: str = "apikey"):
    """(headers, body) as the channel's sender would send ``transfer``."""
    now = now or utcnow()
    if via == "payos":
        return build.payos_request(transfer, DEMO_KEYS.payos_checksum_key, order_code=random.randint(1000, 10**9))
    if via == "sepay":
        return build.sepay_request(transfer, api_key=DEMO_KEYS.sepay_api_key if sepay_mode == "apikey" else None,
                                   hmac_secret=DEMO_KEYS.sepay_hmac_secret if sepay_mode == "hmac" else None,
                                   sepay_id=random.randint(1000, 10**9), timestamp=int(now.timestamp()))
    if via == "bankdirect":
        return build.bankdirect_request(transfer, DEMO_BANK_PRIVATE_KEY,
                                        request_id=request_id or build.new_request_id(now), request_time=now)
    raise ValueError(via)


@dataclass
class Posted:
    status: int
    json: dict | None
    body: bytes


def post(client, via: str, headers, body: bytes) -> Posted:
    response = client.post(f"/callbacks/{via}", data=body, headers=dict(headers))
    data = response.get_json(silent=True)
    return Posted(response.status_code, data, response.get_data())


def ok(via: str, posted: Posted) -> bool:
    if via == "bankdirect":
        return posted.status == 200 and posted.json["responseCode"] == "00"
    if via == "portal":
        return posted.status == 200 and posted.json["MaLoi"] == "00"
    return posted.status in (200, 201) and posted.json == {"success": True}


def ict(*args) -> datetime:
    return datetime(*args, tzinfo=timezone(timedelta(hours=7)))
