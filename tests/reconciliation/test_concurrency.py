"""The same transfer delivered at once by two callback channels and a statement import, from
separate threads and connections: one bank transaction, matched once (SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import threading

from sqlalchemy import func, select

from simulator.statement_files import write_statement
from core.clock import ict_day
from core.db import db
from payments.models import CollectionAccount, PaymentRequest
from reconciliation.workflow.close import run_day
from reconciliation.models import Allocation, BankTransaction
from reconciliation.inbound.statement_import import import_statement

from .conftest import make_request, signed, transfer_for

ROUNDS = 6


def test_two_channels_and_a_statement_at_once_make_one_transaction(app, seeded):
    requests = [make_request(seeded, amount=8000 + 1000 * i) for i in range(ROUNDS)]
    transfers = [transfer_for(r) for r in requests]
    seeded.rollback()
    errors: list[BaseException] = []
    answers: list[int] = []

    def callback(via, transfer, barrier):
        try:
            headers, body = signed(via, transfer)
            barrier.wait()
            response = app.test_client().post(f"/callbacks/{via}", data=body, headers=headers)
            answers.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def statement(transfer, barrier):
        try:
            day = ict_day(transfer.booked_at)
            buffer = io.BytesIO()
            write_statement("camt053", buffer, account=transfer.account, bank_bin=transfer.bank_bin, day_from=day,
                            day_to=day, opening_balance=10_000_000, transfers=[transfer])
            buffer.seek(0)
            barrier.wait()
            with app.app_context():
                session = db.Session()
                try:
                    import_statement(session, buffer, filename="race.xml", actor="test")
                finally:
                    session.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    for transfer in transfers:
        barrier = threading.Barrier(3)
        threads = [threading.Thread(target=callback, args=("payos", transfer, barrier)),
                   threading.Thread(target=callback, args=("bankdirect", transfer, barrier)),
                   threading.Thread(target=statement, args=(transfer, barrier))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert answers == [200] * (2 * ROUNDS)
    seeded.rollback()
    counts = dict(seeded.execute(select(BankTransaction.bank_ref, func.count())
                                 .group_by(BankTransaction.bank_ref)).all())
    assert counts == {t.bank_ref: 1 for t in transfers}
    for row in seeded.scalars(select(BankTransaction)):
        assert set(row.channel_list) == {"payos", "bankdirect", "statement"}
    # Whichever came first, the statement run finishes what a statement-first arrival left.
    account = seeded.scalar(select(CollectionAccount).where(CollectionAccount.number == transfers[0].account))
    run_day(seeded, account, ict_day(transfers[0].booked_at), "test")
    seeded.rollback()
    for request, transfer in zip(requests, transfers):
        paid = seeded.scalar(select(PaymentRequest.amount_paid).where(PaymentRequest.id == request.id))
        assert paid == transfer.amount  # matched once, never twice
    assert seeded.scalar(select(func.count()).select_from(Allocation)) == ROUNDS
