"""Direct bank notification adapter: RSA signatures both ways with the test key pairs, every
field rule, expiry, the signed acknowledgement for every outcome, and a fuzz."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_adapters import bankdirect
from bank_adapters import keys as channel_keys
from bank_adapters.bankdirect import AcknowledgementError, verify_acknowledgement
from bank_adapters.callbacks import (KIND_TRANSFER, CallbackEvent, ChannelKeys, InboundRequest, Outcome, Refusal,
                                     get_adapter)
from bank_adapters.keys import (DEMO_BANK_PRIVATE_KEY, DEMO_BANK_PUBLIC_KEY, DEMO_KEYS, DEMO_SERVICE_PRIVATE_KEY,
                                DEMO_SERVICE_PUBLIC_KEY, KeyConfigError, load_channel_keys)
from core.clock import ICT

KEYS = ChannelKeys(bankdirect_bank_public_key=DEMO_BANK_PUBLIC_KEY,
                   bankdirect_service_private_key=DEMO_SERVICE_PRIVATE_KEY)
NOW = datetime(2026, 11, 25, 2, 30, 20, tzinfo=timezone.utc)  # 09:30:20 ICT
ADAPTER = get_adapter("bankdirect")

# bankdirect.md, verbatim but for the signature, which the test bank key makes.
SPEC_FIELDS = {
    "requestId": "BD20261125093015000123",
    "requestTime": "20261125093015",
    "bankCode": "970415",
    "transactionId": "FT26329000123456",
    "accountNo": "113000012345",
    "amount": "1500000",
    "currency": "VND",
    "creditDebit": "C",
    "transactionTime": "20261125093012",
    "description": "IBFT HP4KQ7T2MX LE PHI CAP GCN",
    "counterAccountNo": "0011001234567",
    "counterAccountName": "NGUYEN VAN A",
    "counterBankCode": "970436",
    "virtualAccountNo": "",
}


def signed(key=DEMO_BANK_PRIVATE_KEY, **changes: object) -> dict:
    fields = dict(SPEC_FIELDS, **changes)
    text = "|".join(str(fields[name]) for name in bankdirect.SIGNED_FIELDS).encode("utf-8")
    fields["signature"] = bankdirect.rsa_sign(key, text)
    return fields


def request(body: object = None, *, raw: bytes | None = None, at: datetime = NOW) -> InboundRequest:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return InboundRequest(body=data, headers={"content-type": "application/json; charset=utf-8"},
                          remote_addr="10.20.30.40", received_at=at)


def refusal(body: object = None, *, raw: bytes | None = None, keys: ChannelKeys = KEYS,
            at: datetime = NOW) -> Refusal:
    with pytest.raises(Refusal) as caught:
        ADAPTER.verify(request(body, raw=raw, at=at), keys)
    return caught.value


# --- the spec's example ----------------------------------------------------------------------

def test_spec_example_verifies_and_parses():
    event = ADAPTER.verify(request(signed()), KEYS)
    assert event.kind == KIND_TRANSFER and event.channel == "bankdirect"
    assert event.event_id == "FT26329000123456"
    assert event.replay_key == event.request_id == "BD20261125093015000123"
    transfer = event.transfer
    assert transfer.bank_ref == "FT26329000123456"
    assert transfer.bank_bin == "970415"
    assert transfer.account == "113000012345"
    assert transfer.amount == 1_500_000
    assert transfer.direction == "in"
    assert transfer.booked_at == datetime(2026, 11, 25, 2, 30, 12, tzinfo=timezone.utc)
    assert transfer.content == "IBFT HP4KQ7T2MX LE PHI CAP GCN"
    assert (transfer.counter_account, transfer.counter_name, transfer.counter_bank) == (
        "0011001234567", "NGUYEN VAN A", "970436")
    assert transfer.virtual_account is None


def test_signature_is_over_the_twelve_fields_in_spec_order():
    body = signed()
    text = ("BD20261125093015000123|20261125093015|970415|FT26329000123456|113000012345|1500000|VND|C|"
            "20261125093012|IBFT HP4KQ7T2MX LE PHI CAP GCN|0011001234567|").encode()
    assert bankdirect.signed_text(body) == text
    assert bankdirect.rsa_verifies(DEMO_BANK_PUBLIC_KEY, text, body["signature"])


def test_debit_is_money_out():
    assert ADAPTER.verify(request(signed(creditDebit="D")), KEYS).transfer.direction == "out"


def test_unsigned_fields_are_still_read():
    body = signed()
    body["counterAccountName"] = "TRAN THI B"
    assert ADAPTER.verify(request(body), KEYS).transfer.counter_name == "TRAN THI B"


# --- signature -------------------------------------------------------------------------------

@pytest.mark.parametrize("field", bankdirect.SIGNED_FIELDS)
def test_every_signed_field_is_covered(field):
    body = signed()
    body[field] = body[field] + "9" if field != "creditDebit" else "D"
    found = refusal(body)
    assert found.outcome is Outcome.SIGNATURE


def test_signature_by_another_key_is_refused():
    found = refusal(signed(key=DEMO_SERVICE_PRIVATE_KEY))
    assert found.outcome is Outcome.SIGNATURE
    assert found.request_id == "BD20261125093015000123"


@pytest.mark.parametrize("mangle", [
    lambda s: s.rstrip("="),                       # padding is required
    lambda s: s.replace("+", "-").replace("/", "_") if ("+" in s or "/" in s) else "!" + s,  # not URL-safe
    lambda s: "not base64 at all",
    lambda s: "",
    lambda s: base64.b64encode(b"\x00" * 256).decode(),
])
def test_malformed_signature_is_refused(mangle):
    body = signed()
    body["signature"] = mangle(body["signature"])
    assert refusal(body).outcome is Outcome.SIGNATURE


def test_no_bank_key_configured():
    found = refusal(signed(), keys=ChannelKeys())
    assert found.outcome is Outcome.SIGNATURE and "BANKDIRECT_BANK_PUBLIC_KEY" in found.reason


def test_a_private_key_configured_in_place_of_the_public_one_is_refused():
    keys = ChannelKeys(bankdirect_bank_public_key=DEMO_BANK_PRIVATE_KEY)
    assert refusal(signed(), keys=keys).outcome is Outcome.SIGNATURE


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("offset, expired", [(0, False), (300, False), (-300, False), (301, True), (-301, True),
                                             (7 * 3600, True)])
def test_request_time_window(offset, expired):
    at = NOW + timedelta(seconds=offset - 5)  # requestTime is 09:30:15 ICT = NOW - 5 s
    if expired:
        found = refusal(signed(), at=at)
        assert found.outcome is Outcome.EXPIRED and "requestTime" in found.reason
    else:
        assert ADAPTER.verify(request(signed(), at=at), KEYS).kind == KIND_TRANSFER


# --- fields ----------------------------------------------------------------------------------

@pytest.mark.parametrize("field", bankdirect.FIELDS)
def test_every_field_is_required(field):
    body = signed()
    del body[field]
    found = refusal(body)
    assert found.outcome is Outcome.INVALID
    assert found.reason == f"{field} is missing"


@pytest.mark.parametrize("value", [1500000, None, True, ["1500000"]])
def test_every_field_must_be_a_string(value):
    body = signed()
    body["amount"] = value
    found = refusal(body)
    assert found.outcome is Outcome.INVALID and found.reason.startswith("amount")


@pytest.mark.parametrize("changes, field", [
    ({"amount": "1.500.000"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "-1500000"}, "amount"),
    ({"amount": "１５００"}, "amount"), ({"amount": "1500000.00"}, "amount"), ({"amount": ""}, "amount"),
    ({"amount": "10000000000000"}, "amount"),
    ({"currency": "USD"}, "currency"), ({"creditDebit": "X"}, "creditDebit"), ({"bankCode": "97041"}, "bankCode"),
    ({"transactionTime": "2026-11-25 09:30"}, "transactionTime"), ({"requestId": ""}, "requestId"),
    ({"transactionId": ""}, "transactionId"), ({"accountNo": " "}, "accountNo"),
    ({"description": "HS7K2M9QXA4|LE PHI"}, "description"), ({"description": "HS7K2M9QXA4\x00"}, "description"),

    ({"description": "HS7K2M9QXA4 " + "X" * 199}, "description"),
])
def test_invalid_values_are_named(changes, field):
    found = refusal(signed(**changes))
    assert found.outcome is Outcome.INVALID
    assert found.reason.startswith(field)
    if field != "requestId":
        assert found.request_id == "BD20261125093015000123"


def test_a_description_of_210_characters_is_read_and_one_more_is_refused():
    at_limit = "HS7K2M9QXA4 " + "X" * 198
    assert len(at_limit) == bankdirect.MAX_DESCRIPTION == 210
    event = ADAPTER.verify(request(signed(description=at_limit)), KEYS)
    assert event.transfer.content == at_limit
    found = refusal(signed(description=at_limit + "X"))
    assert found.outcome is Outcome.INVALID
    assert found.reason == "description has 211 characters; the bank sends at most 210"
    answer = ADAPTER.respond(found.outcome, request(signed(description=at_limit + "X")), KEYS, refusal=found)
    assert (answer.status, json.loads(answer.body)["responseCode"]) == (200, "04")


def test_bad_request_time_is_invalid():
    found = refusal(signed(requestTime="20261325093015"))
    assert found.outcome is Outcome.INVALID and found.reason.startswith("requestTime")


def test_unreadable():
    assert refusal(raw=b"{broken").outcome is Outcome.UNREADABLE
    assert refusal(raw=b'"a string"').outcome is Outcome.UNREADABLE


# --- acknowledgement -------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, code", [
    (Outcome.ACCEPTED, "00"), (Outcome.DUPLICATE, "01"), (Outcome.SIGNATURE, "02"), (Outcome.EXPIRED, "03"),
    (Outcome.REPLAY, "03"), (Outcome.INVALID, "04"), (Outcome.UNKNOWN_ACCOUNT, "04"), (Outcome.FAILED, "99"),
    (Outcome.UNKNOWN_DOSSIER, "04"),
])
def test_signed_answer_for_every_outcome(outcome, code):
    req = request(signed())
    event = ADAPTER.verify(req, KEYS)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    response = ADAPTER.respond(outcome, req, KEYS, event=event, message="why")
    after = datetime.now(timezone.utc)
    assert response.status == 200
    answer = verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY, request_id="BD20261125093015000123")
    assert answer["responseCode"] == code
    assert list(json.loads(response.body)) == ["requestId", "responseCode", "responseMessage", "responseTime",
                                               "signature"]
    answered = datetime.strptime(answer["responseTime"], "%Y%m%d%H%M%S").replace(tzinfo=ICT)
    assert before <= answered <= after


def test_every_outcome_has_a_code():
    assert set(bankdirect.CODES) == set(Outcome)


def test_unreadable_answer_is_400_and_still_signed():
    req = request(raw=b"{broken")
    found = refusal(raw=b"{broken")
    response = ADAPTER.respond(Outcome.UNREADABLE, req, KEYS, refusal=found)
    assert response.status == 400
    answer = verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY, request_id="")
    assert answer["responseCode"] == "04"


def test_answer_echoes_request_id_read_from_the_body_when_nothing_else_has_it():
    response = ADAPTER.respond(Outcome.FAILED, request(signed()), KEYS)
    assert json.loads(response.body)["requestId"] == "BD20261125093015000123"


def test_refusal_reason_reaches_the_banks_operator():
    found = refusal(signed(currency="USD"))
    response = ADAPTER.respond(found.outcome, request(signed(currency="USD")), KEYS, refusal=found)
    assert "currency" in json.loads(response.body)["responseMessage"]


def test_answer_without_service_key_cannot_be_trusted():
    response = ADAPTER.respond(Outcome.ACCEPTED, request(signed()), ChannelKeys())
    assert response.status == 200
    with pytest.raises(AcknowledgementError):
        verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY)


@pytest.mark.parametrize("tamper, fragment", [
    (lambda a: {**a, "responseCode": "01"}, "signature"),
    (lambda a: {**a, "responseTime": "20261125093016"}, "signature"),
    (lambda a: {k: v for k, v in a.items() if k != "responseMessage"}, "responseMessage"),
    (lambda a: {**a, "responseTime": 20261125093016}, "responseTime"),
    (lambda a: [a], "object"),
])
def test_tampered_acknowledgement_fails(tamper, fragment):
    response = ADAPTER.respond(Outcome.ACCEPTED, request(signed()), KEYS)
    body = json.dumps(tamper(json.loads(response.body))).encode()
    with pytest.raises(AcknowledgementError, match=fragment):
        verify_acknowledgement(body, DEMO_SERVICE_PUBLIC_KEY)


def test_acknowledgement_for_another_request_fails():
    response = ADAPTER.respond(Outcome.ACCEPTED, request(signed()), KEYS)
    with pytest.raises(AcknowledgementError, match="requestId"):
        verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY, request_id="BD-other")
    with pytest.raises(AcknowledgementError, match="signature"):
        verify_acknowledgement(response.body, DEMO_BANK_PUBLIC_KEY)
    with pytest.raises(AcknowledgementError, match="not JSON"):
        verify_acknowledgement(b"<html>", DEMO_SERVICE_PUBLIC_KEY)


# --- fuzz ------------------------------------------------------------------------------------

TEXT = st.text(max_size=20)
FIELD_VALUES = TEXT | st.sampled_from(["", "0", "1", "C", "D", "VND", "970415", "20261125093015",
                                       "20261125093012"]) | st.none() | st.integers()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_refused(raw):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(raw=raw), KEYS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(list(SPEC_FIELDS)), FIELD_VALUES, max_size=4),
       drop=st.lists(st.sampled_from(list(SPEC_FIELDS)), max_size=2),
       extra=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))
def test_random_signed_requests_give_an_event_or_a_refusal(changes, drop, extra):
    fields = {**extra, **SPEC_FIELDS, **changes}
    for key in drop:
        fields.pop(key, None)
    try:
        text = "|".join(fields[name] for name in bankdirect.SIGNED_FIELDS).encode("utf-8")
        fields["signature"] = bankdirect.rsa_sign(DEMO_BANK_PRIVATE_KEY, text)
    except (KeyError, TypeError, UnicodeEncodeError):
        fields["signature"] = "AAAA"
    req = request(fields)
    try:
        event = ADAPTER.verify(req, KEYS)
    except Refusal as found:
        response = ADAPTER.respond(found.outcome, req, KEYS, refusal=found)
        code = verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY)["responseCode"]
        assert code == bankdirect.CODES[found.outcome] and code != "00"
        return
    assert isinstance(event, CallbackEvent) and event.transfer.amount > 0


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.none() | st.integers() | st.text(max_size=10), max_size=8))
def test_random_objects_only_ever_refused(obj):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(obj), KEYS)


# --- keys.py: the channels' keys from configuration ------------------------------------------

TESTKEYS = Path(channel_keys.__file__).with_name("testkeys")


def test_keys_from_configured_paths_and_secrets():
    config = {"APP_ENV": "production", "PAYOS_CHECKSUM_KEY": "p", "SEPAY_API_KEY": "a", "SEPAY_HMAC_SECRET": "h",
              "PORTAL_SECRET": "s", "BANKDIRECT_BANK_PUBLIC_KEY": str(TESTKEYS / "bankdirect-test-public.pem"),
              "BANKDIRECT_SERVICE_PRIVATE_KEY": TESTKEYS / "service-test-private.pem"}
    keys = load_channel_keys(config)
    assert (keys.payos_checksum_key, keys.sepay_api_key, keys.sepay_hmac_secret, keys.portal_secret) == (
        "p", "a", "h", "s")
    assert ADAPTER.verify(request(signed()), keys).kind == KIND_TRANSFER
    response = ADAPTER.respond(Outcome.ACCEPTED, request(signed()), keys)
    assert verify_acknowledgement(response.body, DEMO_SERVICE_PUBLIC_KEY)["responseCode"] == "00"


def test_outside_development_nothing_is_filled_in():
    assert load_channel_keys({"APP_ENV": "production"}) == ChannelKeys()
    assert load_channel_keys({}) == ChannelKeys()


@pytest.mark.parametrize("config", [{"APP_ENV": "development"}, {"APP_ENV": "testing"}, {"TESTING": True}])
def test_demo_keys_in_development_and_testing(config):
    keys = load_channel_keys(config)
    assert keys.payos_checksum_key == DEMO_KEYS.payos_checksum_key
    assert keys.portal_secret == DEMO_KEYS.portal_secret and "demo" in keys.portal_secret
    assert ADAPTER.verify(request(signed()), keys).kind == KIND_TRANSFER


def test_configuration_wins_and_a_channel_is_filled_as_a_whole():
    keys = load_channel_keys({"APP_ENV": "development", "PAYOS_CHECKSUM_KEY": "mine", "SEPAY_API_KEY": "only-this",
                              "PORTAL_SECRET": ""})
    assert keys.payos_checksum_key == "mine"
    assert keys.sepay_api_key == "only-this" and keys.sepay_hmac_secret is None
    assert keys.portal_secret == DEMO_KEYS.portal_secret  # empty counts as unset


def test_unusable_key_configuration_is_named(tmp_path):
    with pytest.raises(KeyConfigError, match="BANKDIRECT_BANK_PUBLIC_KEY.*cannot read"):
        load_channel_keys({"BANKDIRECT_BANK_PUBLIC_KEY": str(tmp_path / "missing.pem")})
    with pytest.raises(KeyConfigError, match="BANKDIRECT_SERVICE_PRIVATE_KEY"):
        load_channel_keys({"BANKDIRECT_SERVICE_PRIVATE_KEY": str(TESTKEYS / "service-test-public.pem")})
    with pytest.raises(KeyConfigError, match="BANKDIRECT_BANK_PUBLIC_KEY"):
        load_channel_keys({"BANKDIRECT_BANK_PUBLIC_KEY": str(TESTKEYS / "bankdirect-test-private.pem")})
    with pytest.raises(KeyConfigError, match="PORTAL_SECRET"):
        load_channel_keys({"PORTAL_SECRET": 1234})


def test_demo_pairs_match_and_are_the_shared_test_keys():
    text = b"requestId|00|20261125093015"
    assert bankdirect.rsa_verifies(DEMO_BANK_PUBLIC_KEY, text, bankdirect.rsa_sign(DEMO_BANK_PRIVATE_KEY, text))
    assert bankdirect.rsa_verifies(DEMO_SERVICE_PUBLIC_KEY, text, bankdirect.rsa_sign(DEMO_SERVICE_PRIVATE_KEY, text))
    shared = Path(__file__).resolve().parents[3] / "shared" / "bank-specs" / "keys"
    if shared.is_dir():  # the project's copies must be the published test keys, byte for byte
        for pem in shared.glob("*.pem"):
            assert (TESTKEYS / pem.name).read_bytes() == pem.read_bytes()


def test_keys_module_reads_nothing_outside_the_project():
    source = Path(channel_keys.__file__).read_text(encoding="utf-8")
    assert "shared" not in source.split('"""', 2)[2]  # the code, not the docstring
