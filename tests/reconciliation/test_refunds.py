"""Refunds on SQLite and PostgreSQL: four eyes, never more than is available (also under
concurrent requests), the dossier's excess and unowned money, and what a paid refund changes."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import Conflict, Forbidden, ServiceError, ValidationError
from payments.models import Dossier, PaymentRequest
from reconciliation.matching.manual import mark_not_ours
from reconciliation.models import BankTransaction, OutboxEvent, ReconException, Refund
from reconciliation.workflow.refunds import decide, mark_paid, refundable_from_dossier, request_refund

from .conftest import make_request, ok, post, signed, transfer_for

PAYEE = {"beneficiary_bank": "970436", "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyễn Văn A"}


@pytest.fixture(autouse=True)
def officers(request):
    """The finance officers who decide here (``decide`` looks the deciding person up)."""
    if "seeded" in request.fixturenames:
        from tests.staff import add_staff

        session = request.getfixturevalue("seeded")
        add_staff(session, {"ketoan": "finance", "truongphong": "finance", "b": "finance", "quantri": "admin",
                            "chef": ("finance", "admin"), "cu": "finance"}, "not-used-here")
        session.commit()


def on_statement(session, transfer):
    """The bank's statement shows the transfer (money is returned only once it does)."""
    import io

    from simulator.statement_files import write_statement
    from core.clock import ict_day
    from reconciliation.inbound.statement_import import import_statement

    day = ict_day(transfer.booked_at)
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=transfer.account, bank_bin=transfer.bank_bin, day_from=day, day_to=day,
                    opening_balance=1_000_000, transfers=[transfer])
    buffer.seek(0)
    import_statement(session, buffer, filename="s.sta", actor="test")


def overpay(client, session, due=8000, paid=10000):
    request = make_request(session, amount=due)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request, amount=paid))))
    session.rollback()
    return session.get(Dossier, request.dossier_id), request


def test_four_eyes_are_two_different_finance_officers(client, seeded):
    from core.users import find_user

    dossier, _ = overpay(client, seeded)
    refund = request_refund(seeded, dossier_id=dossier.id, amount=2000, reason="nộp thừa", actor="user:ketoan",
                            **PAYEE)
    seeded.commit()
    find_user(seeded, "cu").active = False  # a finance officer who has left
    seeded.commit()
    for actor in ("user:quantri", "user:cu", "user:không-có", "token:one-stop", "cli", "user:"):
        with pytest.raises(Forbidden, match="only a finance officer") as refused:
            decide(seeded, refund, actor, approve=True)
        assert refused.value.code == "not_finance_officer"
        seeded.rollback()
        with pytest.raises(Forbidden, match="only a finance officer"):
            decide(seeded, refund, actor, approve=False, note="không đồng ý")
        seeded.rollback()
    assert seeded.get(Refund, refund.id).status == "requested"
    decide(seeded, refund, "user:chef", approve=True)  # admin and finance officer: an officer like any other
    seeded.commit()
    assert (refund.status, refund.decided_by) == ("approved", "user:chef")


def test_the_excess_is_refunded_with_four_eyes(client, seeded):
    dossier, request = overpay(client, seeded)
    assert refundable_from_dossier(seeded, dossier) == 2000
    refund = request_refund(seeded, dossier_id=dossier.id, amount=2000, reason="nộp thừa", actor="user:ketoan",
                            **PAYEE)
    seeded.commit()
    with pytest.raises(Forbidden, match="four eyes"):
        decide(seeded, refund, "user:ketoan", approve=True)
    seeded.rollback()
    with pytest.raises(Conflict, match="only an approved"):
        mark_paid(seeded, refund, "user:ketoan", "FT999")
    seeded.rollback()
    decide(seeded, refund, "user:truongphong", approve=True)
    mark_paid(seeded, refund, "user:ketoan", "FT26330000999")
    seeded.commit()
    dossier = seeded.get(Dossier, dossier.id)
    assert (dossier.amount_paid, seeded.get(PaymentRequest, request.id).status) == (8000, "paid")
    assert [(e.reason, e.status) for e in seeded.scalars(select(ReconException))] == [("overpaid", "resolved")]
    assert seeded.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.id.desc())).first() == \
        "payment_request.refunded"


def test_never_more_than_is_available(client, seeded):
    dossier, _ = overpay(client, seeded)
    request_refund(seeded, dossier_id=dossier.id, amount=1500, reason="x", actor="user:a", **PAYEE)
    seeded.commit()
    with pytest.raises(Conflict, match="500 đ"):
        request_refund(seeded, dossier_id=dossier.id, amount=1000, reason="y", actor="user:b", **PAYEE)
    seeded.rollback()
    with pytest.raises(ValidationError) as bad:
        request_refund(seeded, dossier_id=dossier.id, amount=0, reason="", actor="user:b",
                       beneficiary_bank="999999", beneficiary_account="x", beneficiary_name="")
    assert {e.field for e in bad.value.errors} == {"amount", "reason", "beneficiary_bank", "beneficiary_account",
                                                   "beneficiary_name"}


def test_a_rejection_needs_a_reason_and_frees_the_money(client, seeded):
    dossier, _ = overpay(client, seeded)
    refund = request_refund(seeded, dossier_id=dossier.id, amount=2000, reason="x", actor="user:a", **PAYEE)
    seeded.commit()
    with pytest.raises(ValidationError):
        decide(seeded, refund, "user:b", approve=False)
    seeded.rollback()
    decide(seeded, refund, "user:b", approve=False, note="tài khoản sai")
    seeded.commit()
    assert refundable_from_dossier(seeded, seeded.get(Dossier, dossier.id)) == 2000


def test_unowned_money_is_returned(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, content="CHUYEN NHAM TIEN")
    assert ok("payos", post(client, "payos", *signed("payos", transfer)))
    seeded.rollback()
    transaction = seeded.scalars(select(BankTransaction)).one()
    with pytest.raises(Conflict, match="statement does not show"):
        request_refund(seeded, transaction_id=transaction.id, amount=8000, reason="x", actor="user:ketoan", **PAYEE)
    seeded.rollback()
    on_statement(seeded, transfer)
    mark_not_ours(seeded, transaction.id, "user:ketoan", "người dân chuyển nhầm")
    with pytest.raises(Conflict, match="already marked"):
        mark_not_ours(seeded, transaction.id, "user:ketoan", "again")
    seeded.rollback()
    mark_not_ours(seeded, transaction.id, "user:ketoan", "người dân chuyển nhầm")
    refund = request_refund(seeded, transaction_id=transaction.id, amount=8000, reason="chuyển nhầm",
                            actor="user:ketoan", **PAYEE)
    decide(seeded, refund, "user:truongphong", approve=True)
    mark_paid(seeded, refund, "user:ketoan", "FT26330000777")
    seeded.commit()
    assert [(e.reason, e.status) for e in seeded.scalars(select(ReconException))] == [("unknown_reference", "resolved")]
    with pytest.raises(Conflict):
        request_refund(seeded, transaction_id=transaction.id, amount=1, reason="again", actor="user:x", **PAYEE)


def test_concurrent_requests_cannot_refund_the_same_money_twice(app, client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, content="KHONG RO")
    assert ok("payos", post(client, "payos", *signed("payos", transfer)))
    seeded.rollback()
    on_statement(seeded, transfer)
    transaction_id = seeded.scalars(select(BankTransaction.id)).one()
    seeded.rollback()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def officer(name: str) -> None:
        with app.app_context():
            session = db.Session()
            try:
                barrier.wait()
                request_refund(session, transaction_id=transaction_id, amount=5000, reason="trả lại",
                               actor=f"user:{name}", **PAYEE)
                session.commit()
                outcomes.append("ok")
            except ServiceError as exc:
                session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                session.close()

    threads = [threading.Thread(target=officer, args=(f"o{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["Conflict", "Conflict", "Conflict", "ok"]
    seeded.rollback()
    assert seeded.scalar(select(func.sum(Refund.amount))) == 5000


def test_a_refund_is_withdrawn_or_fails_and_the_money_is_held_again(client, seeded):
    from reconciliation.workflow.refunds import cancel, mark_failed

    dossier, _ = overpay(client, seeded)
    first = request_refund(seeded, dossier_id=dossier.id, amount=2000, reason="x", actor="user:a", **PAYEE)
    with pytest.raises(ValidationError):
        cancel(seeded, first, "user:a", "")
    cancel(seeded, first, "user:a", "khách đổi tài khoản")
    seeded.commit()
    assert refundable_from_dossier(seeded, seeded.get(Dossier, dossier.id)) == 2000
    second = request_refund(seeded, dossier_id=dossier.id, amount=2000, reason="x", actor="user:a", **PAYEE)
    decide(seeded, second, "user:b", approve=True)
    mark_failed(seeded, second, "user:a", "tài khoản đã đóng")
    seeded.commit()
    assert second.status == "failed"
    assert refundable_from_dossier(seeded, seeded.get(Dossier, dossier.id)) == 2000
    with pytest.raises(Conflict):
        mark_paid(seeded, second, "user:a", "FT1")
