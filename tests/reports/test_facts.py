"""The maintained table (``report_dossier_facts``) and the receipt lines equal the direct
computation: after the crafted month, after every kind of change made through the service,
after a rollback, with two transactions at once; a bulk load made behind the ORM's back is
found by ``check`` and mended by ``rebuild``; the migration fills both tables."""
from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import func, insert, select, text

from core.cli import alembic_config
from payments.models import Dossier, PaymentRequest, Receipt
from reconciliation.matching.allocation import reverse
from reconciliation.models import Allocation
from reports.facts import check, dossier_rows, rebuild
from reports.indicators import online_payment_rate
from reports.models import DocumentLine, DossierFact, ReceiptLine

from .conftest import NOVEMBER, at, dossier, request_at, transfer


def table_rows(session) -> dict:
    t = DossierFact.__table__
    return {r.dossier_id: tuple(r) for r in session.execute(select(t))}


def direct_rows(session) -> dict:
    return {r.dossier_id: tuple(r) for r in session.execute(dossier_rows(id_from=0, id_to=10**9))}


def test_the_table_equals_the_direct_computation(november, session):
    assert table_rows(session) == direct_rows(session)
    assert len(table_rows(session)) == session.scalar(select(func.count()).select_from(Dossier)) == 21
    result = check(session)
    assert result.ok and result.dossiers == 21


def test_it_stays_equal_through_every_change(november, session, client):
    from core.tokens import create_token

    token = create_token(session, "dossier-system", "system")
    session.commit()
    d = november
    # a status from the dossier system, through the API
    response = client.post(f"/api/v1/dossiers/{d['A2'].code}/status", json={"status": 7},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    session.expire_all()
    assert check(session).ok
    total = online_payment_rate(session, NOVEMBER).total
    assert (total.dossiers, total.counts.cancelled) == (19, 3)  # still in 3.6, now cancelled
    # an allocation reversed: the dossier is unpaid, its receipt cancelled
    allocation = session.scalar(select(Allocation).where(Allocation.dossier_id == d["C6"].id))
    reverse(session, allocation, "user:ketoan1", "sai hồ sơ")
    session.commit()
    assert check(session).ok
    assert online_payment_rate(session, NOVEMBER, "agency").total.numerator == 1  # C1 only
    lines = session.scalar(select(func.count()).select_from(ReceiptLine).join(
        Receipt, Receipt.id == ReceiptLine.receipt_id).where(Receipt.dossier_id == d["C6"].id))
    assert lines == 0
    # a new payment request, a new dossier, a payment
    request_at(session, d["C3"], at(20, 10))
    new = dossier(session, "CN2-C7", "HN-VPDKDD-CN02", "T.BD", "online", at(24, 9), [(28_000, "le_phi")])
    transfer(session, new, 28_000, at(24, 9, 10), portal=True)
    session.commit()
    assert check(session).ok
    assert online_payment_rate(session, NOVEMBER).total.numerator == 2


def test_a_rollback_leaves_the_table_as_it_was(november, session):
    before = table_rows(session)
    transfer(session, november["C3"], 28_000, at(20, 10), portal=True)
    november["A1"].status = "rejected"
    session.flush()
    # within the transaction the reports see its own changes...
    assert online_payment_rate(session, NOVEMBER).total.numerator == 3
    assert online_payment_rate(session, NOVEMBER).total.counts.cancelled == 3
    session.rollback()
    # ...and after a rollback nothing of them
    assert table_rows(session) == before
    assert online_payment_rate(session, NOVEMBER).total.numerator == 2


def test_two_transactions_at_once_leave_no_stale_row(app, november, session):
    """One transaction pays a dossier; another, at the same time, asks a payment for it. Whatever
    the order, the row written last includes both."""
    from core.db import db

    target = november["C3"].id
    ready, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other():
        try:
            with app.app_context():
                with db.Session() as second:
                    ready.wait(10)
                    from payments.requests import create_payment_request

                    create_payment_request(second, second.get(Dossier, target), "test")
                    second.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    transfer(session, session.get(Dossier, target), 10_000, at(20, 10))  # holds the dossier until commit
    ready.set()
    done.wait(1.0)  # the other one waits for us (PostgreSQL: the row; SQLite: the write lock)
    session.commit()
    thread.join(30)
    assert not errors, errors
    session.expire_all()
    assert check(session).ok
    row = session.get(DossierFact, target)
    assert row.paid_net == 10_000
    assert session.scalar(select(func.count()).select_from(PaymentRequest)
                          .where(PaymentRequest.dossier_id == target)) == 1


def test_a_bulk_load_is_found_by_check_and_mended_by_rebuild(november, session):
    t = Dossier.__table__
    template = session.execute(select(t).where(t.c.id == november["C3"].id)).mappings().one()
    values = {k: v for k, v in template.items() if k != "id"}
    session.execute(insert(t), [{**values, "code": f"BULK-{i}", "code_key": f"BULK{i}"} for i in range(3)])
    session.commit()
    result = check(session)
    assert not result.ok and len(result.differing) == 3
    assert online_payment_rate(session, NOVEMBER, direct=True).total.dossiers == 22
    assert online_payment_rate(session, NOVEMBER).total.dossiers == 19  # the table does not know them yet
    outcome = rebuild(session)
    session.commit()
    # e-receipt lines: 16 of the crafted month less C1's two and C6's one (receipted on the portal's platform,
    # they have no e-receipt: one receipt per payment); those 3 are lines receipted elsewhere
    assert outcome.dossiers == 24 and outcome.receipt_lines == 13 and outcome.document_lines == 3
    assert check(session).ok
    assert online_payment_rate(session, NOVEMBER).total.dossiers == 22


def test_receipt_lines_follow_the_receipts(november, session):
    lines = session.execute(select(ReceiptLine.kind, func.count(), func.sum(ReceiptLine.amount))
                            .group_by(ReceiptLine.kind).order_by(ReceiptLine.kind)).all()
    # lệ phí: 8 × 1,000,000 (A1 A2 A6 A7 A8 A9 B3 B4); phí: A3 2 × 8,000, B1 3 × 8,000. B2's receipt was
    # cancelled with its reversal; B5 (card) and B6 (a part) have none; C1 and C6, paid on the portal's platform,
    # have none either (the platform receipts them): e-receipts exist only for money nobody else receipted.
    assert [(k, n, int(s)) for k, n, s in lines] == [("le_phi", 8, 8_000_000), ("phi", 5, 40_000)]
    assert session.scalars(select(Receipt.dossier_id).where(
        Receipt.dossier_id.in_([november["C1"].id, november["C6"].id]))).all() == []
    # ... and their money is counted from the platform's documents: C1 28,000 lệ phí + 3,000,000 phí, C6 20,000
    others = session.execute(select(DocumentLine.dossier_id, DocumentLine.kind, DocumentLine.amount,
                                    DocumentLine.issuer).order_by(DocumentLine.dossier_id, DocumentLine.line_no)).all()
    assert others == [(november["C1"].id, "le_phi", 28_000, "portal"), (november["C1"].id, "phi", 3_000_000, "portal"),
                      (november["C6"].id, "le_phi", 20_000, "portal")]


def test_the_migration_fills_the_tables_from_what_is_there(app, november, session):
    expected_facts = table_rows(session)
    expected_lines = session.scalar(select(func.count()).select_from(ReceiptLine))
    session.close()
    url = app.config["DATABASE_URL"]
    command.downgrade(alembic_config(url), "0004")
    command.upgrade(alembic_config(url), "head")
    assert table_rows(session) == expected_facts
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == expected_lines
    assert check(session).ok


def test_the_request_to_payment_time(november, session):
    seconds = {code: session.get(DossierFact, november[code].id).request_to_paid_s for code in ("A1", "A2", "C1", "A3")}
    assert seconds == {"A1": 1500, "A2": 7200, "C1": 86400, "A3": None}


def test_every_dossier_has_its_row(november, session):
    assert session.execute(text("SELECT count(*) FROM report_dossier_facts")).scalar() == 21
    shapes = {code: session.get(DossierFact, november[code].id).shape for code in ("A1", "A4", "A6", "B2", "B4", "C4")}
    # A1 fees, paid; A4 fees 0 with a line; A6 cancelled (and paid); B2 fees, unpaid; B4 not started (paid); C4 no line
    assert shapes == {"A1": 6, "A4": 0, "A6": 14, "B2": 4, "B4": 22, "C4": 1}
