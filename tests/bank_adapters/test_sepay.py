"""SePay webhook adapter: both authentication modes, expiry and replay keys, the spec's
example, the gateway names, refusals, answers and a fuzz."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_adapters import sepay
from bank_adapters.callbacks import (KIND_TRANSFER, CallbackEvent, ChannelKeys, InboundRequest, Outcome, Refusal,
                                     get_adapter)
from qr.banks import all_banks

API_KEY = "sepay-test-api-key-7f3a"
SECRET = "sepay-test-hmac-secret-19c2"
BOTH = ChannelKeys(sepay_api_key=API_KEY, sepay_hmac_secret=SECRET)
KEY_ONLY = ChannelKeys(sepay_api_key=API_KEY)
HMAC_ONLY = ChannelKeys(sepay_hmac_secret=SECRET)
NOW = datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc)
STAMP = int(NOW.timestamp())
ADAPTER = get_adapter("sepay")

# sepay.md, verbatim.
SPEC_BODY = {
    "id": 92704,
    "gateway": "Vietcombank",
    "transactionDate": "2023-03-25 14:02:37",
    "accountNumber": "0123499999",
    "code": None,
    "content": "MBVCB.3278907687.HP4KQ7T2MX.CT tu 0011001234567 NGUYEN VAN A toi 0123499999",
    "transferType": "in",
    "transferAmount": 2277000,
    "accumulated": 19077000,
    "subAccount": None,
    "referenceCode": "MBVCB.3278907687",
    "description": "",
}


def encode(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def signed_headers(raw: bytes, *, secret: str = SECRET, stamp: int | str = STAMP) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return {"x-sepay-timestamp": str(stamp), "x-sepay-signature": f"sha256={digest}"}


def request(raw: bytes, headers: dict[str, str], *, at: datetime = NOW) -> InboundRequest:
    return InboundRequest(body=raw, headers={"content-type": "application/json", **headers},
                          remote_addr="203.0.113.7", received_at=at)


def with_key(body: object = SPEC_BODY, key: str = API_KEY) -> InboundRequest:
    return request(encode(body), {"authorization": f"Apikey {key}"})


def with_hmac(body: object = SPEC_BODY, **kwargs) -> InboundRequest:
    raw = encode(body)
    return request(raw, signed_headers(raw, **kwargs))


def refusal(req: InboundRequest, keys: ChannelKeys = BOTH) -> Refusal:
    with pytest.raises(Refusal) as caught:
        ADAPTER.verify(req, keys)
    return caught.value


# --- the spec's example ----------------------------------------------------------------------

def test_spec_example_parses():
    event = ADAPTER.verify(with_key(), KEY_ONLY)
    assert event.kind == KIND_TRANSFER and event.channel == "sepay"
    assert event.event_id == "92704"
    assert event.replay_key is None
    transfer = event.transfer
    assert transfer.bank_ref == "MBVCB.3278907687"  # the statement's reference, not SePay's id
    assert transfer.account == "0123499999"
    assert transfer.bank_bin == "970436"
    assert transfer.amount == 2277000
    assert transfer.direction == "in"
    assert transfer.booked_at == datetime(2023, 3, 25, 7, 2, 37, tzinfo=timezone.utc)
    assert transfer.content == SPEC_BODY["content"]
    assert transfer.balance_after == 19077000
    assert transfer.virtual_account is None
    assert event.hints["code"] is None and event.hints["accumulated"] == 19077000


def test_money_out_and_hints():
    event = ADAPTER.verify(with_key(dict(SPEC_BODY, transferType="out", code="HS7K2M9QXA4", subAccount="VA01")),
                           KEY_ONLY)
    assert event.transfer.direction == "out"
    assert event.hints["code"] == "HS7K2M9QXA4"
    assert event.transfer.virtual_account == "VA01"


# --- API key ---------------------------------------------------------------------------------

def test_api_key_accepted_and_wrong_key_refused():
    assert ADAPTER.verify(with_key(), KEY_ONLY).hints["auth"] == "apikey"
    found = refusal(with_key(key="sepay-test-api-key-7f3b"), KEY_ONLY)
    assert found.outcome is Outcome.SIGNATURE and "wrong API key" in found.reason


@pytest.mark.parametrize("header", ["Bearer " + API_KEY, API_KEY, "Apikey", "Apikey  "])
def test_api_key_malformed_header_refused(header):
    req = request(encode(SPEC_BODY), {"authorization": header})
    assert refusal(req, KEY_ONLY).outcome is Outcome.SIGNATURE


def test_api_key_with_non_ascii_header_is_refused_not_crashing():
    req = request(encode(SPEC_BODY), {"authorization": "Apikey khóa-sai"})
    assert refusal(req, KEY_ONLY).outcome is Outcome.SIGNATURE


def test_no_credential_refused():
    found = refusal(request(encode(SPEC_BODY), {}), KEY_ONLY)
    assert found.outcome is Outcome.SIGNATURE and "Apikey" in found.reason


def test_nothing_configured_refuses():
    found = refusal(with_key(), ChannelKeys())
    assert found.outcome is Outcome.SIGNATURE and "SEPAY_API_KEY" in found.reason


# --- HMAC ------------------------------------------------------------------------------------

def test_hmac_accepted_with_replay_key():
    req = with_hmac()
    event = ADAPTER.verify(req, HMAC_ONLY)
    signature = req.header("x-sepay-signature").removeprefix("sha256=")
    assert event.replay_key == f"{STAMP}:{signature}"
    assert event.hints["auth"] == "hmac"


def test_hmac_is_over_the_exact_bytes():
    raw = encode(SPEC_BODY)
    headers = signed_headers(raw)
    reformatted = json.dumps(SPEC_BODY, indent=2).encode()  # the same JSON, other bytes
    assert refusal(request(reformatted, headers), HMAC_ONLY).outcome is Outcome.SIGNATURE


@pytest.mark.parametrize("mutate", [
    lambda h: {**h, "x-sepay-signature": h["x-sepay-signature"].upper().replace("SHA256=", "sha256=")},
    lambda h: {**h, "x-sepay-signature": h["x-sepay-signature"].removeprefix("sha256=")},
    lambda h: {**h, "x-sepay-timestamp": str(STAMP + 1)},
    lambda h: {**h, "x-sepay-timestamp": "17e8"},
    lambda h: {k: v for k, v in h.items() if k != "x-sepay-timestamp"},
    lambda h: {k: v for k, v in h.items() if k != "x-sepay-signature"},
])
def test_hmac_faults_are_signature(mutate):
    raw = encode(SPEC_BODY)
    assert refusal(request(raw, mutate(signed_headers(raw))), HMAC_ONLY).outcome is Outcome.SIGNATURE


def test_hmac_wrong_secret_refused():
    assert refusal(with_hmac(secret="other"), HMAC_ONLY).outcome is Outcome.SIGNATURE


@pytest.mark.parametrize("offset, expired", [(-301, True), (-300, False), (299, False), (301, True), (-86400, True)])
def test_timestamp_window(offset, expired):
    req = with_hmac(stamp=STAMP + offset)
    if expired:
        found = refusal(req, HMAC_ONLY)
        assert found.outcome is Outcome.EXPIRED and "300 s" in found.reason
    else:
        assert ADAPTER.verify(req, HMAC_ONLY).kind == KIND_TRANSFER


def test_replay_keys_differ_between_timestamps():
    first = ADAPTER.verify(with_hmac(stamp=STAMP), HMAC_ONLY)
    second = ADAPTER.verify(with_hmac(stamp=STAMP + 1), HMAC_ONLY)
    assert first.replay_key != second.replay_key
    assert first.event_id == second.event_id  # the same SePay transaction, resent


# --- both configured -------------------------------------------------------------------------

def test_both_configured_each_accepted():
    assert ADAPTER.verify(with_key(), BOTH).hints["auth"] == "apikey"
    assert ADAPTER.verify(with_hmac(), BOTH).hints["auth"] == "hmac"


def test_a_wrong_credential_is_refused_even_beside_a_right_one():
    raw = encode(SPEC_BODY)
    headers = {**signed_headers(raw), "authorization": "Apikey wrong"}
    assert refusal(request(raw, headers), BOTH).outcome is Outcome.SIGNATURE


def test_credential_for_an_unconfigured_mode_is_not_enough():
    found = refusal(with_key(), HMAC_ONLY)
    assert found.outcome is Outcome.SIGNATURE and "X-SePay-Signature" in found.reason


# --- gateways --------------------------------------------------------------------------------

@pytest.mark.parametrize("gateway, bin_", [
    ("Vietcombank", "970436"), ("VietinBank", "970415"), ("BIDV", "970418"), ("MBBank", "970422"),
    ("ACB", "970416"), ("Techcombank", "970407"), ("TPBank", "970423"), ("VPBank", "970432"),
    ("Agribank", "970405"), ("Sacombank", "970403"), ("BVBank", "970454"), ("LienVietPostBank", "970449"),
    ("Maritime Bank", "970426"), ("Shinhan", "970424"), ("KienlongBank", "970452"),
])
def test_gateway_names_map_to_bins(gateway, bin_):
    assert sepay.gateway_bin(gateway) == bin_
    event = ADAPTER.verify(with_key(dict(SPEC_BODY, gateway=gateway)), KEY_ONLY)
    assert event.transfer.bank_bin == bin_


def test_unknown_gateway_keeps_the_money():
    event = ADAPTER.verify(with_key(dict(SPEC_BODY, gateway="Ngan hang Mat Trang")), KEY_ONLY)
    assert event.transfer.bank_bin is None
    assert event.hints["unknown_gateway"] == "Ngan hang Mat Trang"


def test_every_bank_round_trips_through_its_gateway_name():
    for bank in all_banks():
        assert sepay.gateway_bin(sepay.gateway_name(bank.bin)) == bank.bin, bank


# --- invalid ---------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"id": "92704"}, "id"), ({"id": 0}, "id"), ({"id": None}, "id"),
    ({"transferAmount": "2277000"}, "transferAmount"), ({"transferAmount": 2277000.5}, "transferAmount"),
    ({"transferAmount": 0}, "transferAmount"), ({"transferAmount": False}, "transferAmount"),
    ({"referenceCode": ""}, "referenceCode"), ({"referenceCode": None}, "referenceCode"),
    ({"transactionDate": "25/03/2023 14:02:37"}, "transactionDate"), ({"transferType": "IN"}, "transferType"),
    ({"accumulated": "19077000"}, "accumulated"), ({"content": ["a"]}, "content"),
    ({"content": "HS7K2M9QXA4\x00"}, "content"), ({"gateway": ""}, "gateway"),
    ({"accountNumber": 123}, "accountNumber"),
])
def test_invalid_fields_are_named(changes, field):
    found = refusal(with_key(dict(SPEC_BODY, **changes)), KEY_ONLY)
    assert found.outcome is Outcome.INVALID
    assert found.reason.startswith(field)


def test_invalid_keeps_the_event_id():
    found = refusal(with_key(dict(SPEC_BODY, transferAmount=-1)), KEY_ONLY)
    assert found.event_id == "92704"


def test_unreadable_after_authentication():
    raw = b"\xc3\x28 not utf-8"
    found = refusal(request(raw, signed_headers(raw)), HMAC_ONLY)
    assert found.outcome is Outcome.UNREADABLE


def test_authentication_comes_before_parsing():
    assert refusal(request(b"garbage", {}), HMAC_ONLY).outcome is Outcome.SIGNATURE


# --- answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, status", [
    (Outcome.ACCEPTED, 200), (Outcome.DUPLICATE, 200), (Outcome.UNKNOWN_ACCOUNT, 200),
    (Outcome.SIGNATURE, 401), (Outcome.EXPIRED, 401), (Outcome.REPLAY, 401),
    (Outcome.UNREADABLE, 400), (Outcome.INVALID, 400), (Outcome.FAILED, 503),
])
def test_answers(outcome, status):
    response = ADAPTER.respond(outcome, with_key(), KEY_ONLY, message="detail")
    assert response.status == status
    body = json.loads(response.body)
    assert body["success"] is (status == 200)
    if status == 200:
        assert body == {"success": True}


def test_every_outcome_has_an_answer():
    assert set(sepay.STATUS) == set(Outcome)
    for outcome in Outcome:
        assert ADAPTER.respond(outcome, with_key(), KEY_ONLY).status in (200, 400, 401, 503)


# --- fuzz ------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_signed_bytes_only_ever_refused(raw):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(raw, signed_headers(raw)), HMAC_ONLY)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(list(SPEC_BODY)) | st.text(max_size=6), JSON_VALUES, max_size=5),
       drop=st.lists(st.sampled_from(list(SPEC_BODY)), max_size=3),
       skew=st.integers(min_value=-400, max_value=400))
def test_random_signed_objects_give_an_event_or_a_refusal(changes, drop, skew):
    body = dict(SPEC_BODY, **changes)
    for key in drop:
        body.pop(key, None)
    raw = encode(body)
    req = request(raw, signed_headers(raw), at=NOW + timedelta(seconds=skew))
    try:
        event = ADAPTER.verify(req, HMAC_ONLY)
    except Refusal as found:
        assert found.reason
        assert ADAPTER.respond(found.outcome, req, HMAC_ONLY, refusal=found).status in (400, 401)
        return
    assert isinstance(event, CallbackEvent) and event.event_id.isdigit()
    assert abs(skew) <= 300


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6))
def test_random_objects_with_the_key_are_refused_or_parsed(obj):
    try:
        event = ADAPTER.verify(with_key(obj), KEY_ONLY)
    except Refusal as found:
        assert found.outcome in (Outcome.INVALID, Outcome.UNREADABLE)
        return
    assert event.kind == KIND_TRANSFER
