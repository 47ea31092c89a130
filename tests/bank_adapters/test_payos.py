"""payOS webhook adapter: the published test vector, its wrong twin, parsing, refusals,
answers, and a fuzz that only ever gets a Refusal or an event back."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_adapters import payos
from bank_adapters.callbacks import (KIND_IGNORED, KIND_TEST, KIND_TRANSFER, CallbackEvent, ChannelKeys,
                                     InboundRequest, Outcome, Refusal, get_adapter)

KEY = "1a54716c8f0efb2744fb28b6e38b25da7f67a925d98bc1c18bd8faaecadd7675"
KEYS = ChannelKeys(payos_checksum_key=KEY)
NOW = datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc)
ADAPTER = get_adapter("payos")

# payos.md, verbatim.
SPEC_BODY = {
    "code": "00",
    "desc": "success",
    "success": True,
    "data": {
        "orderCode": 123,
        "amount": 3000,
        "description": "VQRIO123",
        "accountNumber": "12345678",
        "reference": "TF230204212323",
        "transactionDateTime": "2023-02-04 18:25:00",
        "currency": "VND",
        "paymentLinkId": "124c33293c43417ab7879e14c8d9eb18",
        "code": "00",
        "desc": "Thành công",
        "counterAccountBankId": "",
        "counterAccountBankName": "",
        "counterAccountName": "",
        "counterAccountNumber": "",
        "virtualAccountName": "",
        "virtualAccountNumber": "",
    },
    "signature": "412e915d2871504ed31be63c8f62a149a4410d34c4c42affc9006ef9917eaa03",
}


def request(body: object, *, raw: bytes | None = None) -> InboundRequest:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return InboundRequest(body=data, headers={"content-type": "application/json"}, remote_addr="203.0.113.5",
                          received_at=NOW)


def payment(**changes: object) -> dict:
    """A signed success webhook for a real transfer, with ``changes`` applied to data."""
    data = {
        "orderCode": 20261125001,
        "amount": 1_500_000,
        "description": "MBVCB.3278907687.HS7K2M9QXA4 LE PHI.CT tu 0011001234567 NGUYEN VAN A",
        "accountNumber": "113000012345",
        "reference": "FT26329000123456",
        "transactionDateTime": "2026-11-25 09:30:12",
        "currency": "VND",
        "paymentLinkId": "0f3c1b2a9d8e4f5a6b7c8d9e0f1a2b3c",
        "code": "00",
        "desc": "Thành công",
        "counterAccountBankId": "970436",
        "counterAccountBankName": "Vietcombank",
        "counterAccountName": "NGUYEN VAN A",
        "counterAccountNumber": "0011001234567",
        "virtualAccountName": "",
        "virtualAccountNumber": "",
    }
    data.update(changes)
    return {"code": "00", "desc": "success", "success": True, "data": data, "signature": payos.sign(data, KEY)}


def refusal(body: object = None, *, raw: bytes | None = None, keys: ChannelKeys = KEYS) -> Refusal:
    with pytest.raises(Refusal) as caught:
        ADAPTER.verify(request(body, raw=raw), keys)
    return caught.value


# --- the published vector ----------------------------------------------------------------------

def test_published_vector_signature_is_reproduced():
    assert payos.sign(SPEC_BODY["data"], KEY) == SPEC_BODY["signature"]


def test_signature_string_is_sorted_key_value_pairs():
    text = payos.signature_string(SPEC_BODY["data"])
    assert text.startswith("accountNumber=12345678&amount=3000&code=00&counterAccountBankId=&")
    assert "&desc=Thành công&" in text  # UTF-8 as it is, not escaped
    assert text.endswith("&virtualAccountName=&virtualAccountNumber=")


def test_published_vector_verifies_and_is_the_confirmation_call():
    event = ADAPTER.verify(request(SPEC_BODY), KEYS)
    assert event.kind == KIND_TEST
    assert event.event_id == "TF230204212323"
    assert event.transfer is None


def test_wrong_twin_from_the_webhook_page_is_refused():
    twin = dict(SPEC_BODY, signature="8d8640d8" + "0" * 56)
    assert refusal(twin).outcome is Outcome.SIGNATURE


def test_any_other_signature_is_refused():
    other = dict(SPEC_BODY, signature=payos.sign(SPEC_BODY["data"], "another-key"))
    found = refusal(other)
    assert found.outcome is Outcome.SIGNATURE
    assert "does not match" in found.reason


@pytest.mark.parametrize("signature, fragment", [
    (None, "missing"),
    ("412E915D2871504ED31BE63C8F62A149A4410D34C4C42AFFC9006EF9917EAA03", "lowercase hex"),
    ("412e915d", "64 lowercase hex"),
    (12345, "64 lowercase hex"),
])
def test_malformed_signature_is_refused(signature, fragment):
    body = dict(SPEC_BODY)
    if signature is None:
        del body["signature"]
    else:
        body["signature"] = signature
    found = refusal(body)
    assert found.outcome is Outcome.SIGNATURE
    assert fragment in found.reason


def test_tampered_data_is_refused():
    body = json.loads(json.dumps(SPEC_BODY))
    body["data"]["amount"] = 3001
    assert refusal(body).outcome is Outcome.SIGNATURE


def test_no_checksum_key_configured_refuses_everything():
    found = refusal(SPEC_BODY, keys=ChannelKeys())
    assert found.outcome is Outcome.SIGNATURE
    assert "PAYOS_CHECKSUM_KEY" in found.reason


# --- how values are written ------------------------------------------------------------------

def test_values_written_as_documented():
    data = {"b": None, "a": 3000.0, "c": True, "d": False, "e": "x y"}
    assert payos.signature_string(data) == "a=3000&b=&c=true&d=false&e=x y"


@pytest.mark.parametrize("value, fragment", [({"x": 1}, "nested object"), ([1], "nested array"),
                                             (1.5, "whole integers"), ("a\x00b", "NUL")])
def test_unwritable_values_are_invalid(value, fragment):
    body = payment()
    body["data"]["extra"] = value
    found = refusal(body)
    assert found.outcome is Outcome.INVALID
    assert fragment in found.reason and "data.extra" in found.reason


# --- a real payment ------------------------------------------------------------------------------

def test_payment_becomes_a_transfer():
    event = ADAPTER.verify(request(payment()), KEYS)
    assert event.kind == KIND_TRANSFER and event.channel == "payos"
    assert event.event_id == "FT26329000123456"
    assert event.replay_key is None
    transfer = event.transfer
    assert transfer.account == "113000012345"
    assert transfer.bank_ref == "FT26329000123456"
    assert transfer.amount == 1_500_000 and isinstance(transfer.amount, int)
    assert transfer.direction == "in"
    assert transfer.booked_at == datetime(2026, 11, 25, 2, 30, 12, tzinfo=timezone.utc)  # 09:30:12 ICT
    assert transfer.content.startswith("MBVCB.3278907687.HS7K2M9QXA4")
    assert transfer.counter_bank == "970436"
    assert transfer.counter_name == "NGUYEN VAN A"
    assert transfer.counter_account == "0011001234567"
    assert transfer.virtual_account is None
    assert event.hints["order_code"] == 20261125001


def test_virtual_account_and_bank_name_only():
    event = ADAPTER.verify(request(payment(virtualAccountNumber="VQRQABRLS0448", virtualAccountName="HS PAY",
                                           counterAccountBankId="", counterAccountBankName="ACB")), KEYS)
    assert event.transfer.virtual_account == "VQRQABRLS0448"
    assert event.transfer.counter_bank == "ACB"


def test_null_fields_and_whole_float_amount_are_accepted():
    event = ADAPTER.verify(request(payment(amount=2500.0, description=None, counterAccountName=None)), KEYS)
    assert event.transfer.amount == 2500 and isinstance(event.transfer.amount, int)
    assert event.transfer.content == ""
    assert event.transfer.counter_name is None


@pytest.mark.parametrize("amount", ["1500000", 0, -5, True, 10**13, None])
def test_bad_amounts_are_invalid(amount):
    found = refusal(payment(amount=amount))
    assert found.outcome is Outcome.INVALID
    assert "data.amount" in found.reason
    assert found.event_id == "FT26329000123456"


@pytest.mark.parametrize("changes, field", [
    ({"transactionDateTime": "2026-11-25T09:30:12"}, "transactionDateTime"),
    ({"transactionDateTime": "2026-02-30 09:30:12"}, "transactionDateTime"),
    ({"currency": "USD"}, "currency"),
    ({"accountNumber": ""}, "accountNumber"),
    ({"accountNumber": 113000012345}, "accountNumber"),
    ({"reference": None}, "reference"),
    ({"orderCode": "abc"}, "orderCode"),
])
def test_invalid_fields_are_named(changes, field):
    found = refusal(payment(**changes))
    assert found.outcome is Outcome.INVALID
    assert f"data.{field}" in found.reason


def test_data_missing_is_invalid():
    body = payment()
    del body["data"]
    assert refusal(body).outcome is Outcome.INVALID


# --- not a payment -------------------------------------------------------------------------------

def test_unsuccessful_payment_is_ignored():
    event = ADAPTER.verify(request(payment(code="01", desc="Giao dịch thất bại")), KEYS)
    assert event.kind == KIND_IGNORED
    assert "data.code is '01'" in event.hints["reason"]
    assert event.transfer is None


@pytest.mark.parametrize("top", [{"success": False}, {"code": "99"}])
def test_unsigned_top_level_can_only_turn_a_payment_into_ignored(top):
    body = payment()
    body.update(top)
    assert ADAPTER.verify(request(body), KEYS).kind == KIND_IGNORED


def test_confirmation_call_by_order_code_and_description():
    event = ADAPTER.verify(request(payment(orderCode=123, description="VQRIO123")), KEYS)
    assert event.kind == KIND_TEST


# --- unreadable ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, fragment", [
    (b"not json", "not JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "array"),
    (b'{"data": {}, "data": {}}', "appears twice"),
    (b'{"x": NaN}', "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    (b'{"x": ' + b"1" * 5000 + b"}", "not JSON"),
])
def test_unreadable_bodies(raw, fragment):
    found = refusal(raw=raw)
    assert found.outcome is Outcome.UNREADABLE
    assert fragment in found.reason


# --- answers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, status", [
    (Outcome.ACCEPTED, 200), (Outcome.DUPLICATE, 200), (Outcome.UNKNOWN_ACCOUNT, 200),
    (Outcome.UNKNOWN_DOSSIER, 200), (Outcome.SIGNATURE, 401), (Outcome.EXPIRED, 401), (Outcome.REPLAY, 401),
    (Outcome.UNREADABLE, 400), (Outcome.INVALID, 400), (Outcome.FAILED, 503),
])
def test_answers(outcome, status):
    response = ADAPTER.respond(outcome, request(SPEC_BODY), KEYS, refusal=Refusal(outcome, "why"))
    assert response.status == status
    body = json.loads(response.body)
    assert body["success"] is (status == 200)
    if status == 200:
        assert body == {"success": True}
    else:
        assert body["message"] == "why"


def test_every_outcome_has_an_answer():
    assert set(payos.STATUS) == set(Outcome)


# --- fuzz ----------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
DATA_KEYS = list(payment()["data"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_refused(raw):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(None, raw=raw), KEYS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(DATA_KEYS) | st.text(max_size=6), JSON_VALUES, max_size=5),
       top=st.dictionaries(st.sampled_from(["code", "desc", "success", "x"]), JSON_VALUES, max_size=2),
       drop=st.lists(st.sampled_from(DATA_KEYS), max_size=3))
def test_random_signed_objects_give_an_event_or_a_refusal(changes, top, drop):
    data = payment()["data"]
    data.update(changes)
    for key in drop:
        data.pop(key, None)
    try:
        signature = payos.sign(data, KEY)
    except ValueError:
        signature = "0" * 64
    body = {**top, "data": data, "signature": signature}
    try:
        event = ADAPTER.verify(request(body), KEYS)
    except Refusal as found:
        assert isinstance(found.outcome, Outcome) and found.reason
        response = ADAPTER.respond(found.outcome, request(body), KEYS, refusal=found)
        assert 400 <= response.status < 600
        return
    assert isinstance(event, CallbackEvent)
    assert isinstance(event.event_id, str) and event.event_id
    if event.kind == KIND_TRANSFER:
        assert isinstance(event.transfer.amount, int) and event.transfer.amount > 0
    for outcome in Outcome:
        assert ADAPTER.respond(outcome, request(body), KEYS, event=event).status in (200, 400, 401, 503)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6))
def test_random_json_objects_only_ever_refused(obj):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(obj), KEYS)
