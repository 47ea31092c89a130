"""Data made through the service for the operations tests: paid, part-paid and overpaid
requests through three channels, an excess refunded with four eyes, a transfer nobody's
(an exception) and a statement import."""
from __future__ import annotations

import io

import pytest

from core.clock import ict_day
from payments.models import Dossier
from reconciliation.inbound.statement_import import import_statement
from reconciliation.workflow.refunds import decide, mark_paid, request_refund
from simulator.statement_files import write_statement
from tests.reconciliation.conftest import make_request, ok, post, seeded, signed, transfer_for  # noqa: F401
from tests.staff import add_staff

PAYEE = {"beneficiary_bank": "970436", "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyễn Văn A"}


def callback(client, request, via="bankdirect", **kwargs):
    transfer = transfer_for(request, **kwargs)
    posted = post(client, via, *signed(via, transfer))
    assert ok(via, posted), posted.body
    return transfer


def statement_of(session, transfers) -> None:
    day = ict_day(transfers[0].booked_at)
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=transfers[0].account, bank_bin=transfers[0].bank_bin, day_from=day,
                    day_to=day, opening_balance=1_000_000, transfers=transfers)
    buffer.seek(0)
    import_statement(session, buffer, filename="s.sta", actor="test")


def exercise(client, session) -> dict:
    """Money through the service as it flows in real life; returns what it made."""
    add_staff(session, {"ketoan": "finance", "truongphong": "finance"}, "not-used-here")
    session.commit()
    transfers = []
    paid = [make_request(session, amount=8000 + i * 1000) for i in range(3)]
    for request, via in zip(paid, ("bankdirect", "sepay", "payos")):
        transfers.append(callback(client, request, via))
    part = make_request(session, amount=20000)
    transfers.append(callback(client, part, "sepay", amount=5000))
    over = make_request(session, amount=8000)
    transfers.append(callback(client, over, "sepay", amount=10000))
    transfers.append(callback(client, paid[0], "sepay", content="KHONG RO NOI DUNG", amount=1234))  # nobody's
    session.rollback()
    dossier = session.get(Dossier, over.dossier_id)
    refund = request_refund(session, dossier_id=dossier.id, amount=2000, reason="nộp thừa", actor="user:ketoan",
                            **PAYEE)
    session.commit()
    decide(session, refund, "user:truongphong", approve=True)
    mark_paid(session, refund, "user:ketoan", "FT26330000999")
    session.commit()
    statement_of(session, transfers)
    session.commit()
    return {"requests": paid + [part, over], "transfers": transfers}


@pytest.fixture
def exercised(client, seeded):
    return exercise(client, seeded)
