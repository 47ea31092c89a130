"""The callback endpoints end to end, on SQLite and PostgreSQL: journal first, one bank
transaction per real transfer, each format's own answers, every refusal path."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bank_adapters import bankdirect
from bank_adapters.keys import DEMO_KEYS, DEMO_SERVICE_PUBLIC_KEY
from core.clock import utcnow
from reconciliation.models import BankTransaction, CallbackNonce, JournalEntry, TransactionSighting

from .conftest import make_request, ok, post, signed, transfer_for

VIAS = ("payos", "sepay", "bankdirect")
PAYOS_VECTOR = {
    "code": "00", "desc": "success", "success": True,
    "data": {"orderCode": 123, "amount": 3000, "description": "VQRIO123", "accountNumber": "12345678",
             "reference": "TF230204212323", "transactionDateTime": "2023-02-04 18:25:00", "currency": "VND",
             "paymentLinkId": "124c33293c43417ab7879e14c8d9eb18", "code": "00", "desc": "Thành công",
             "counterAccountBankId": "", "counterAccountBankName": "", "counterAccountName": "",
             "counterAccountNumber": "", "virtualAccountName": "", "virtualAccountNumber": ""},
    "signature": "412e915d2871504ed31be63c8f62a149a4410d34c4c42affc9006ef9917eaa03",
}


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def journal(session) -> list[JournalEntry]:
    session.rollback()
    return list(session.scalars(select(JournalEntry).order_by(JournalEntry.id)))


@pytest.mark.parametrize("via", VIAS)
def test_a_payment_is_journalled_stored_once_and_matched(client, seeded, via):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request)
    posted = post(client, via, *signed(via, transfer))
    assert ok(via, posted), posted.body
    entries = journal(seeded)
    assert [(e.channel, e.outcome) for e in entries] == [(via, "accepted")]
    assert entries[0].body  # the exact bytes are kept
    stored = seeded.scalars(select(BankTransaction)).all()
    assert len(stored) == 1
    assert (stored[0].bank_ref, stored[0].amount, stored[0].status, stored[0].channels) == \
        (transfer.bank_ref, 8000, "matched", via)
    seeded.refresh(request)
    assert (request.status, request.amount_paid) == ("paid", 8000)


@pytest.mark.parametrize("via", VIAS)
def test_the_same_transfer_again_is_a_duplicate(client, seeded, via):
    request = make_request(seeded)
    transfer = transfer_for(request)
    assert ok(via, post(client, via, *signed(via, transfer)))
    again = post(client, via, *signed(via, transfer))
    if via == "bankdirect":
        assert again.json["responseCode"] == "01"
        assert bankdirect.verify_acknowledgement(again.body, DEMO_SERVICE_PUBLIC_KEY)["responseCode"] == "01"
    else:
        assert again.status == 200 and again.json == {"success": True}
    assert count(seeded, BankTransaction) == 1
    assert [e.outcome for e in journal(seeded)] == ["accepted", "duplicate"]
    assert count(seeded, TransactionSighting) == 2
    seeded.refresh(request)
    assert request.amount_paid == 8000  # paid once, whatever the retries


def test_one_transfer_through_three_channels_is_one_transaction(client, seeded):
    request = make_request(seeded, amount=15000)
    transfer = transfer_for(request)
    for via in VIAS:
        assert post(client, via, *signed(via, transfer)).status == 200
    stored = seeded.scalars(select(BankTransaction)).all()
    assert len(stored) == 1
    assert stored[0].channel_list == ["payos", "sepay", "bankdirect"]
    assert stored[0].allocated == 15000
    seeded.refresh(request)
    assert request.amount_paid == 15000


def test_payos_test_vector_is_the_confirmation_call_and_moves_no_money(client, seeded):
    posted = post(client, "payos", {"Content-Type": "application/json"}, json.dumps(PAYOS_VECTOR).encode())
    assert posted.status == 200 and posted.json == {"success": True}
    assert [(e.outcome, e.reason) for e in journal(seeded)] == [("test", "confirmation call: no money")]
    assert count(seeded, BankTransaction) == 0


def test_payos_wrong_twin_signature_is_refused(client, seeded):
    body = dict(PAYOS_VECTOR, signature="8d8640d8" + "0" * 56)
    posted = post(client, "payos", {"Content-Type": "application/json"}, json.dumps(body).encode())
    assert posted.status == 401
    assert [e.outcome for e in journal(seeded)] == ["refused"]
    assert journal(seeded)[0].reason.startswith("signature")
    assert count(seeded, BankTransaction) == 0


@pytest.mark.parametrize("via", VIAS)
def test_a_forged_signature_is_refused_and_only_journalled(client, seeded, via):
    request = make_request(seeded)
    headers, body = signed(via, transfer_for(request))
    data = json.loads(body)
    if via == "payos":
        data["data"]["amount"] += 1000
    elif via == "sepay":
        headers = {**headers, "Authorization": "Apikey wrong-key"}
    else:
        data["amount"] = str(int(data["amount"]) + 1000)
    posted = post(client, via, headers, json.dumps(data).encode())
    expected = {"payos": 401, "sepay": 401, "bankdirect": 200}[via]
    assert posted.status == expected
    if via == "bankdirect":
        assert posted.json["responseCode"] == "02"
    assert [e.outcome for e in journal(seeded)] == ["refused"]
    assert count(seeded, BankTransaction) == 0
    seeded.refresh(request)
    assert request.amount_paid == 0


def test_bankdirect_replayed_request_id_and_expired_time(client, seeded):
    request = make_request(seeded)
    transfer = transfer_for(request)
    headers, body = signed("bankdirect", transfer, request_id="BD-REPLAY-1")
    assert post(client, "bankdirect", headers, body).json["responseCode"] == "00"
    replay = post(client, "bankdirect", headers, body)
    assert replay.json["responseCode"] == "03"
    old = signed("bankdirect", transfer_for(request), now=utcnow() - timedelta(seconds=400))
    assert post(client, "bankdirect", *old).json["responseCode"] == "03"
    assert [e.outcome for e in journal(seeded)] == ["accepted", "refused", "refused"]
    assert count(seeded, BankTransaction) == 1
    assert count(seeded, CallbackNonce) == 1


def test_sepay_hmac_replay_is_refused(client, seeded):
    request = make_request(seeded)
    headers, body = signed("sepay", transfer_for(request), sepay_mode="hmac")
    assert ok("sepay", post(client, "sepay", headers, body))
    assert post(client, "sepay", headers, body).status == 401
    entries = journal(seeded)
    assert [e.outcome for e in entries] == ["accepted", "refused"]
    assert entries[1].reason.startswith("replay")


def test_an_unknown_account_is_recorded_and_flagged(client, seeded):
    from reconciliation.models import ReconException

    request = make_request(seeded)
    transfer = transfer_for(request, account="999888777666")
    posted = post(client, "bankdirect", *signed("bankdirect", transfer))
    assert posted.json["responseCode"] == "04"  # the bank's operator hears of it
    stored = seeded.scalars(select(BankTransaction)).one()
    assert stored.account_id is None and stored.amount == transfer.amount  # but the money is recorded
    assert [e.reason for e in seeded.scalars(select(ReconException))] == ["unknown_account"]
    seeded.refresh(request)
    assert request.amount_paid == 0


def test_money_out_is_recorded_and_never_matched(client, seeded):
    request = make_request(seeded)
    transfer = transfer_for(request, direction="out")
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    stored = seeded.scalars(select(BankTransaction)).one()
    assert (stored.direction, stored.status, stored.allocated) == ("out", "ignored", 0)
    seeded.refresh(request)
    assert request.amount_paid == 0


@pytest.mark.parametrize("via", VIAS)
def test_a_body_over_the_limit_is_refused_before_parsing(client, seeded, via):
    posted = post(client, via, {"Content-Type": "application/json"}, b"{" + b" " * (70 * 1024) + b"}")
    assert posted.status == 413
    entries = journal(seeded)
    assert [(e.outcome, e.body) for e in entries] == [("refused", b"")]


@pytest.mark.parametrize("via", VIAS + ("portal",))
def test_a_body_that_is_not_json_is_refused(client, seeded, via):
    headers = {"Content-Type": "application/json"}
    if via == "sepay":  # SePay's key is checked before the body is read
        headers["Authorization"] = f"Apikey {DEMO_KEYS.sepay_api_key}"
    posted = post(client, via, headers, b"not json at all")
    assert posted.status == 400
    entries = journal(seeded)
    assert [(e.outcome, e.body) for e in entries] == [("refused", b"not json at all")]


def test_an_unknown_channel_is_404(client, seeded):
    assert client.post("/callbacks/momo", data=b"{}").status_code == 404
    assert count(seeded, JournalEntry) == 0


def test_a_failure_after_the_journal_keeps_the_entry_and_asks_for_a_retry(app, client, seeded, runner):
    from reconciliation.inbound import ingest

    request = make_request(seeded)
    transfer = transfer_for(request)

    def broken(session, seen):
        raise RuntimeError("disk on fire")

    ingest.on_transfers(broken)
    try:
        posted = post(client, "bankdirect", *signed("bankdirect", transfer))
    finally:
        ingest._transfer_hooks.remove(broken)
    assert posted.json["responseCode"] == "99"  # the bank retries
    entries = journal(seeded)
    assert [(e.outcome, e.reason) for e in entries] == [("failed", "RuntimeError: disk on fire")]
    assert count(seeded, BankTransaction) == 0  # rolled back with the failure
    seeded.rollback()  # SQLite: the test's own session must not hold the write lock
    result = runner.invoke(args=["journal", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output
    assert [e.outcome for e in journal(seeded)] == ["accepted"]
    assert count(seeded, BankTransaction) == 1
    seeded.refresh(request)
    assert request.status == "paid"


def test_journal_replay_refuses_an_entry_that_is_done(runner, client, seeded):
    request = make_request(seeded)
    assert ok("payos", post(client, "payos", *signed("payos", transfer_for(request))))
    entry_id = journal(seeded)[0].id
    seeded.rollback()
    result = runner.invoke(args=["journal", "replay", str(entry_id)])
    assert result.exit_code == 1
    assert "only received or failed entries" in result.output
    assert runner.invoke(args=["journal", "replay"]).exit_code == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(via=st.sampled_from(VIAS + ("portal",)),
       body=st.one_of(st.binary(max_size=300),
                      st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.integers(), st.text(max_size=30),
                                                                       st.booleans()), max_size=8)
                      .map(lambda d: json.dumps(d).encode())))
def test_random_bodies_never_cause_a_5xx_and_change_only_the_journal(client, seeded, via, body):
    before = count(seeded, JournalEntry)
    posted = post(client, via, {"Content-Type": "application/json"}, body)
    assert posted.status < 500
    if via == "bankdirect" and posted.status == 200:
        assert posted.json["responseCode"] in ("02", "03", "04")
    assert count(seeded, JournalEntry) == before + 1
    assert count(seeded, BankTransaction) == 0


def test_the_journal_keeps_no_api_key(client, seeded):
    request = make_request(seeded)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request))))
    entry = journal(seeded)[0]
    assert DEMO_KEYS.sepay_api_key not in json.dumps(entry.headers)
    assert entry.headers["authorization"].startswith("Apikey *** sha256=")


def test_a_bankdirect_description_over_210_characters_is_refused_and_changes_nothing(client, seeded):
    from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY
    from simulator.callbacks import bankdirect_fields, new_request_id

    request = make_request(seeded)
    transfer = transfer_for(request)
    now = utcnow()
    fields = bankdirect_fields(transfer, request_id=new_request_id(now), request_time=now)
    fields["description"] = (fields["description"] + " ").ljust(211, "X")
    fields["signature"] = bankdirect.sign_request(fields, DEMO_BANK_PRIVATE_KEY)
    posted = post(client, "bankdirect", {"Content-Type": "application/json"}, json.dumps(fields).encode())
    assert (posted.status, posted.json["responseCode"]) == (200, "04")
    assert bankdirect.verify_acknowledgement(posted.body, DEMO_SERVICE_PUBLIC_KEY)["responseCode"] == "04"
    assert count(seeded, BankTransaction) == 0
    assert [e.outcome for e in journal(seeded)] == ["refused"]
    seeded.refresh(request)
    assert request.amount_paid == 0
