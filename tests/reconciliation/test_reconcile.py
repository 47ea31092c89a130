"""Every outcome of matching, through the real callback path, on SQLite and PostgreSQL: what
the dossier, the request, the transaction, the exceptions queue, the receipts, the outbound
events and the audit trail show afterwards."""
from __future__ import annotations

import pytest

from datetime import timedelta

from sqlalchemy import select

from core.audit import AuditRecord, verify
from core.clock import utcnow
from payments.models import Dossier, PaymentRequest, Receipt
from payments.requests import cancel_request, create_payment_request
from reconciliation.models import Allocation, BankTransaction, MatchDecision, OutboxEvent, ReconException

from .conftest import make_dossier, make_request, ok, post, signed, transfer_for


def pay(client, request, via="bankdirect", **kwargs):
    transfer = transfer_for(request, **kwargs)
    posted = post(client, via, *signed(via, transfer))
    assert ok(via, posted) or posted.status == 200, posted.body
    return transfer


def state(session, request):
    session.rollback()
    request = session.get(PaymentRequest, request.id)
    dossier = session.get(Dossier, request.dossier_id)
    return request, dossier


def exceptions(session):
    session.rollback()
    return [(e.reason, e.status, e.amount) for e in session.scalars(select(ReconException).order_by(ReconException.id))]


def events(session):
    session.rollback()
    return [e.event_type for e in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]


def test_exact_payment_pays_issues_the_receipt_and_tells_the_dossier_system(client, seeded):
    request = make_request(seeded, amount=8000)
    pay(client, request)
    request, dossier = state(seeded, request)
    assert (request.status, request.amount_paid, dossier.amount_paid) == ("paid", 8000, 8000)
    assert exceptions(seeded) == []
    assert events(seeded) == ["payment_request.paid"]
    event = seeded.scalars(select(OutboxEvent)).one()
    assert event.payload["dossier"]["payment_status"] == "paid"
    assert event.payload["dossier"]["fees"][0]["amount"] == 8000
    assert event.payload["dossier"]["payment_channels"] == ["counter_transfer"]
    assert event.payload["dossier"]["online_payment"] == 0
    receipts = seeded.scalars(select(Receipt)).all()
    assert [(r.kind, r.amount, r.number, r.status) for r in receipts] == [("le_phi", 8000, 1, "issued")]
    decision = seeded.scalars(select(MatchDecision)).one()
    assert (decision.rule, decision.confidence) == ("reference_exact", 1.0)
    assert verify(seeded).ok
    from reports.facts import check

    assert check(seeded).ok  # the reports' rows were kept in step by the fast path's plain SQL


@pytest.mark.parametrize("as_gateway, flag", [(False, 0), (True, 2)])
def test_an_online_dossier_paid_by_vietqr_is_a_gateway_payment(app, client, seeded, as_gateway, flag):
    app.config["ONLINE_FLAG_VIETQR_AS_GATEWAY"] = as_gateway  # the city's decision (off by default)
    request = make_request(seeded, channel="online")
    pay(client, request, via="sepay")
    allocation = seeded.scalars(select(Allocation)).one()
    assert allocation.payment_channel == "gateway"
    event = seeded.scalars(select(OutboxEvent)).one()
    assert event.payload["dossier"]["online_payment"] == flag


def test_partial_then_the_rest(client, seeded):
    request = make_request(seeded, amount=10000)
    pay(client, request, amount=6000)
    request_now, dossier = state(seeded, request)
    assert (request_now.status, request_now.amount_paid, dossier.amount_paid) == ("partially_paid", 6000, 6000)
    assert exceptions(seeded) == [("amount_mismatch", "open", 0)]
    # The counter can ask for the balance with a new request...
    dossier = seeded.get(Dossier, dossier.id)
    balance = create_payment_request(seeded, dossier, "test")
    seeded.commit()
    assert balance.amount == 4000
    # ...and paying the first request's rest settles it too.
    pay(client, request, amount=4000)
    request_now, dossier = state(seeded, request)
    assert (request_now.status, dossier.amount_paid) == ("paid", 10000)
    assert exceptions(seeded) == [("amount_mismatch", "resolved", 0)]
    balance = seeded.get(PaymentRequest, balance.id)
    assert balance.status == "cancelled"  # the dossier is paid: its other open request would invite a double payment
    assert events(seeded) == ["payment_request.partially_paid", "payment_request.paid", "payment_request.cancelled"]


def test_overpayment_and_duplicate_payment_are_held_for_refund(client, seeded):
    request = make_request(seeded, amount=8000)
    pay(client, request, amount=10000)
    request_now, dossier = state(seeded, request)
    assert (request_now.status, dossier.amount_paid) == ("overpaid", 10000)
    assert exceptions(seeded) == [("overpaid", "open", 2000)]
    pay(client, request, amount=8000)  # the citizen pays again
    request_now, dossier = state(seeded, request)
    assert dossier.amount_paid == 18000
    assert exceptions(seeded) == [("overpaid", "open", 2000), ("duplicate_payment", "open", 8000)]
    assert seeded.scalar(select(Receipt.amount)) == 8000  # the receipt is for what was due


def test_payment_to_an_expired_or_cancelled_request_is_accepted_and_flagged(client, seeded):
    expired = make_request(seeded)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    expired.status = "expired"
    seeded.commit()
    pay(client, expired)
    request_now, dossier = state(seeded, expired)
    assert (request_now.status, dossier.amount_paid) == ("paid", 8000)
    cancelled = make_request(seeded)
    cancel_request(seeded, cancelled, "sai số tiền", "test")
    seeded.commit()
    pay(client, cancelled)
    request_now, dossier = state(seeded, cancelled)
    assert (request_now.status, dossier.amount_paid) == ("cancelled", 8000)
    assert [r for r, _, _ in exceptions(seeded)] == ["request_closed", "request_closed"]


def test_one_transfer_for_two_dossiers(client, seeded):
    first, second = make_request(seeded, amount=8000), make_request(seeded, amount=28000)
    pay(client, first, amount=36000, content=f"{first.reference} {second.reference}")
    assert [state(seeded, r)[0].status for r in (first, second)] == ["paid", "paid"]
    assert seeded.scalars(select(BankTransaction.status)).one() == "matched"
    assert exceptions(seeded) == []


def test_several_transfers_for_one_request(client, seeded):
    request = make_request(seeded, amount=30000)
    for amount in (10000, 10000, 10000):
        pay(client, request, amount=amount)
    request_now, _ = state(seeded, request)
    assert (request_now.status, request_now.amount_paid) == ("paid", 30000)
    assert seeded.scalar(select(Allocation.id).where(Allocation.amount != 10000)) is None


def test_unknown_damaged_or_missing_references_go_to_the_queue(client, seeded):
    request = make_request(seeded)
    ref = request.reference
    damaged = ref[:-1] + ("2" if ref[-1] != "2" else "3")
    pay(client, request, content=f"IBFT {damaged}")
    pay(client, request, content="CHUYEN TIEN")
    _, dossier = state(seeded, request)
    assert dossier.amount_paid == 0
    items = seeded.scalars(select(ReconException).order_by(ReconException.id)).all()
    assert [i.reason for i in items] == ["unknown_reference", "unknown_reference"]
    assert items[0].suggestions[0]["reference"] == ref  # the look-alike is offered, not matched
    assert items[0].dossier_id == request.dossier_id


def test_the_audit_trail_records_every_money_change_and_detects_tampering(client, seeded):
    request = make_request(seeded)
    pay(client, request)
    actions = [r.action for r in seeded.scalars(select(AuditRecord).order_by(AuditRecord.id))]
    assert actions == ["reconciliation.batch"]
    batch = seeded.scalars(select(AuditRecord)).one().data
    assert [a[3] for a in batch["allocations"]] == [8000] and len(batch["receipts"]) == 1
    assert verify(seeded).ok
    record = seeded.scalars(select(AuditRecord).where(AuditRecord.action == "reconciliation.batch")).one()
    record.data = {**record.data, "allocations": [[1, "x", None, 1, "forged", 1]]}
    seeded.commit()
    result = verify(seeded)
    assert not result.ok and result.record_id == record.id
    assert "changed" in result.problem


def test_deleting_the_last_audit_record_is_detected(client, seeded, runner):
    request = make_request(seeded)
    pay(client, request)
    last = seeded.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
    seeded.delete(last)
    seeded.commit()
    assert not verify(seeded).ok
    seeded.rollback()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "deleted" in result.output


def test_a_dossier_code_in_the_content_pays_the_dossier(client, seeded):
    dossier = make_dossier(seeded, amount=28000, code="000.00.12.H26-261125-0042")
    request = create_payment_request(seeded, dossier, "test")
    seeded.commit()
    pay(client, request, content="THANH TOAN HO SO 000.00.12.H26-261125-0042")
    request_now, dossier = state(seeded, request)
    assert (request_now.status, dossier.amount_paid) == ("paid", 28000)
    decision = seeded.scalars(select(MatchDecision)).one()
    assert decision.rule == "dossier_code_exact"
