"""A small, complete demo world for page crawls, accessibility checks and screenshots: the demo
agencies, catalogue and dossiers, one staff account per role with a known password, and a
citizen payment page in each state (open, part paid, paid, overpaid), a finance exception
(a damaged reference) and a refund awaiting its second officer.

Development and testing only: it signs callbacks with the demo keys and posts them through the
app's own endpoint, as a bank would.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask

from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY
from bank_adapters.transfers import IN, BankTransfer
from core.clock import utcnow
from core.db import db
from core.demo_users import DEMO_USERS
from core.users import User, find_user
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.demo import seed_demo_dossiers
from payments.dossiers import parse_dossier_input, register_dossier
from payments.requests import create_payment_request
from qr.vietqr import decode
from simulator import callbacks as build

PASSWORD = "Mật-khẩu-demo-2026"


@dataclass
class DemoWorld:
    password: str = PASSWORD
    users: dict[str, str] = field(default_factory=dict)        # username -> role
    citizen: dict[str, str] = field(default_factory=dict)      # payment state -> /pay/<token>
    dossiers: dict[str, str] = field(default_factory=dict)     # payment state -> /counter/dossiers/<code>
    print_pages: list[str] = field(default_factory=list)
    finance: list[str] = field(default_factory=list)


def _pay(app: Flask, request, amount: int, *, content: str | None = None) -> None:
    qr = decode(request.qr_payload)
    transfer = BankTransfer(account=qr.account, bank_ref=f"FT26{random.randint(10**11, 10**12 - 1)}",
                            amount=amount, direction=IN, booked_at=utcnow() - timedelta(seconds=5),
                            content=content if content is not None else qr.purpose, bank_bin=qr.bin,
                            counter_account="0011001234567", counter_name="NGUYEN VAN AN", counter_bank="970436",
                            balance_after=125_000_000)
    headers, body = build.bankdirect_request(transfer, DEMO_BANK_PRIVATE_KEY, request_id=build.new_request_id(utcnow()),
                                             request_time=utcnow())
    response = app.test_client().post("/callbacks/bankdirect", data=body, headers=dict(headers))
    if response.status_code not in (200, 201):
        raise RuntimeError(f"demo callback refused: {response.status_code} {response.get_data(as_text=True)[:200]}")


def _dossier(session, number: int, applicant: str, amount: int):
    body = {"code": f"000.20.01.H26-261201-{number:04d}", "procedure_code": "1.001193", "agency_code": "P-HOANKIEM",
            "applicant_name": applicant, "channel": "counter", "submitted_at": "2026-12-01T09:00:00+07:00",
            "charges": [{"name": "Lệ phí đăng ký", "amount": amount, "kind": "le_phi"}]}
    dossier = register_dossier(session, parse_dossier_input(body), actor="seed")
    session.flush()
    return dossier


def build_demo_world(app: Flask) -> DemoWorld:
    """Fills ``app``'s (empty, migrated) database; returns where its pages are."""
    world = DemoWorld()
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session, lambda _: None)
        seed_demo_dossiers(session, lambda _: None)
        for username, full_name, role in DEMO_USERS:
            if find_user(session, username) is None:
                user = User(username=username, full_name=full_name, roles=[role.value])
                user.set_password(PASSWORD)
                session.add(user)
            world.users[username] = role.value
        session.commit()
        states = {"open": (1, "Đỗ Thị Mai", None), "partially_paid": (2, "Vũ Văn Bình", 3000),
                  "paid": (3, "Ngô Thị Cúc", 8000), "overpaid": (4, "Bùi Văn Đức", 12000)}
        requests = {}
        for state, (number, applicant, _) in states.items():
            dossier = _dossier(session, number, applicant, 8000)
            requests[state] = create_payment_request(session, dossier, "seed")
            session.commit()
            world.citizen[state] = f"/pay/{requests[state].token}"
            world.dossiers[state] = f"/counter/dossiers/{dossier.code}"
            world.print_pages.append(f"/counter/payment-requests/{requests[state].reference}/print")
        tokens = {state: (request.reference, request) for state, request in requests.items()}
        damaged_dossier = _dossier(session, 5, "Lý Thị Hằng", 28000)
        damaged = create_payment_request(session, damaged_dossier, "seed")
        session.commit()
    for state, (_, _, amount) in states.items():
        if amount:
            _pay(app, tokens[state][1], amount)
    ref = damaged.reference
    _pay(app, damaged, 28000, content=f"NOP LE PHI {ref[:-1] + ('2' if ref[-1] != '2' else '3')}")
    world.finance = ["/finance/exceptions", "/finance/transactions", "/finance/refunds", "/finance/days",
                     "/finance/statements", "/finance/exports"]
    return world
