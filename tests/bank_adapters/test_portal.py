"""National portal payment confirmation: MaXacThuc, paid and failed payments, refusals, the
answers, the status query helpers, and a fuzz."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_adapters import portal
from bank_adapters.callbacks import (KIND_PORTAL_FAILED, KIND_PORTAL_PAID, CallbackEvent, ChannelKeys, InboundRequest,
                                     Outcome, Refusal, get_adapter)

SECRET = "portal-test-secret-4d1e"
KEYS = ChannelKeys(portal_secret=SECRET)
NOW = datetime(2026, 11, 25, 2, 31, tzinfo=timezone.utc)
ADAPTER = get_adapter("portal")

# portal.md, verbatim but for MaXacThuc.
SPEC = {
    "MaThamChieu": "dvc0000012H262611250001x20261125093000",
    "MaHoSo": "000.00.12.H26-261125-0001",
    "MaTTHC": "1.013831",
    "SoTien": "28000",
    "MaLoi": "00",
    "MoTaLoi": "Giao dich thanh cong",
    "MaGiaoDich": "PG2611250000123",
    "MaNganHang": "970436",
    "ThoiGianGD": "20261125093012",
    "TaiKhoanThuHuong": "113000012345",
}


def mac(values: dict, secret: str = SECRET) -> str:
    text = "|".join(values[name] for name in ("MaThamChieu", "MaHoSo", "SoTien", "MaLoi", "MaGiaoDich",
                                              "MaNganHang", "ThoiGianGD", "TaiKhoanThuHuong"))
    return hashlib.sha256(f"{text}|{secret}".encode()).hexdigest()


def confirmation(secret: str = SECRET, **changes: object) -> dict:
    body = dict(SPEC, **changes)
    try:
        body["MaXacThuc"] = mac(body, secret)
    except TypeError:
        body["MaXacThuc"] = "0" * 64
    return body


def request(body: object = None, *, raw: bytes | None = None) -> InboundRequest:
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return InboundRequest(body=data, headers={"content-type": "application/json; charset=utf-8"},
                          remote_addr="10.1.2.3", received_at=NOW)


def refusal(body: object = None, *, raw: bytes | None = None, keys: ChannelKeys = KEYS) -> Refusal:
    with pytest.raises(Refusal) as caught:
        ADAPTER.verify(request(body, raw=raw), keys)
    return caught.value


# --- confirmations ---------------------------------------------------------------------------

def test_mac_formula_is_the_specs():
    text = ("dvc0000012H262611250001x20261125093000|000.00.12.H26-261125-0001|28000|00|PG2611250000123|970436|"
            "20261125093012|113000012345|" + SECRET)
    assert portal.confirmation_signature(SPEC, SECRET) == hashlib.sha256(text.encode()).hexdigest()


def test_paid_confirmation():
    event = ADAPTER.verify(request(confirmation()), KEYS)
    assert event.kind == KIND_PORTAL_PAID and event.channel == "portal"
    assert event.event_id == "dvc0000012H262611250001x20261125093000"
    assert event.hints == {"dossier_code": "000.00.12.H26-261125-0001", "procedure_code": "1.013831",
                           "portal_ref": "dvc0000012H262611250001x20261125093000"}
    transfer = event.transfer
    assert transfer.account == "113000012345"
    assert transfer.bank_ref == "PG2611250000123"
    assert transfer.amount == 28000
    assert transfer.direction == "in"
    assert transfer.booked_at == datetime(2026, 11, 25, 2, 30, 12, tzinfo=timezone.utc)
    assert transfer.content == "THANH TOAN HO SO 000.00.12.H26-261125-0001"
    assert transfer.counter_bank == "970436"


def test_failed_payment_moves_no_money():
    body = confirmation(MaLoi="11", MoTaLoi="Khach hang huy giao dich", MaGiaoDich="", ThoiGianGD="", MaNganHang="")
    event = ADAPTER.verify(request(body), KEYS)
    assert event.kind == KIND_PORTAL_FAILED
    assert event.transfer is None
    assert event.hints["code"] == "11"
    assert event.hints["message"] == "Khach hang huy giao dich"
    assert event.hints["dossier_code"] == "000.00.12.H26-261125-0001"
    assert event.hints["amount"] == 28000


def test_procedure_code_and_message_are_optional():
    body = confirmation()
    del body["MaTTHC"], body["MoTaLoi"]
    event = ADAPTER.verify(request(body), KEYS)
    assert event.hints["procedure_code"] is None


# --- MaXacThuc ------------------------------------------------------------------------------

@pytest.mark.parametrize("field", portal.SIGNED_FIELDS)
def test_every_hashed_field_is_covered(field):
    body = confirmation()
    body[field] = body[field] + "1"
    found = refusal(body)
    assert found.outcome is Outcome.SIGNATURE
    assert found.reason.startswith("MaXacThuc")


def test_wrong_secret_uppercase_and_missing():
    assert refusal(confirmation(secret="other")).outcome is Outcome.SIGNATURE
    body = confirmation()
    body["MaXacThuc"] = body["MaXacThuc"].upper()
    assert refusal(body).outcome is Outcome.SIGNATURE
    del body["MaXacThuc"]
    assert refusal(body).outcome is Outcome.INVALID  # a required field is missing: it cannot even be checked


def test_no_secret_configured():
    found = refusal(confirmation(), keys=ChannelKeys())
    assert found.outcome is Outcome.SIGNATURE and "PORTAL_SECRET" in found.reason


def test_unhashed_procedure_code_may_change():
    body = confirmation()
    body["MaTTHC"] = "1.001193"
    assert ADAPTER.verify(request(body), KEYS).hints["procedure_code"] == "1.001193"


# --- invalid ---------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"SoTien": "28.000"}, "SoTien"), ({"SoTien": "0"}, "SoTien"), ({"SoTien": ""}, "SoTien"),
    ({"ThoiGianGD": "25/11/2026 09:30"}, "ThoiGianGD"), ({"MaGiaoDich": ""}, "MaGiaoDich"),
    ({"TaiKhoanThuHuong": ""}, "TaiKhoanThuHuong"), ({"MaHoSo": ""}, "MaHoSo"), ({"MaThamChieu": ""}, "MaThamChieu"),
    ({"MaHoSo": "000.00.12.H26|261125-0001"}, "MaHoSo"), ({"MoTaLoi": 5}, "MoTaLoi"),
    ({"MaGiaoDich": "PG\x00"}, "MaGiaoDich"),
])
def test_invalid_fields_are_named(changes, field):
    found = refusal(confirmation(**changes))
    assert found.outcome is Outcome.INVALID
    assert found.reason.startswith(field)


@pytest.mark.parametrize("field", portal.SIGNED_FIELDS)
def test_hashed_fields_are_required_strings(field):
    body = confirmation()
    body[field] = 28000
    found = refusal(body)
    assert found.outcome is Outcome.INVALID and found.reason.startswith(field)
    del body[field]
    assert refusal(body).reason == f"{field} is missing"


def test_unreadable():
    assert refusal(raw=b"MaLoi=00").outcome is Outcome.UNREADABLE
    assert refusal(raw=b"null").outcome is Outcome.UNREADABLE


# --- answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, code", [
    (Outcome.ACCEPTED, "00"), (Outcome.DUPLICATE, "01"), (Outcome.SIGNATURE, "02"), (Outcome.INVALID, "04"),
    (Outcome.UNKNOWN_DOSSIER, "04"), (Outcome.UNKNOWN_ACCOUNT, "04"), (Outcome.FAILED, "99"),
    (Outcome.EXPIRED, "04"), (Outcome.REPLAY, "04"),
])
def test_answers(outcome, code):
    response = ADAPTER.respond(outcome, request(confirmation()), KEYS)
    assert response.status == 200
    answer = json.loads(response.body)
    assert set(answer) == {"MaLoi", "MoTaLoi"}
    assert answer["MaLoi"] == code
    if code == "00":
        assert answer == {"MaLoi": "00", "MoTaLoi": "Thanh cong"}


def test_unreadable_answer():
    response = ADAPTER.respond(Outcome.UNREADABLE, request(raw=b"x"), KEYS, refusal=Refusal(Outcome.UNREADABLE, "bad"))
    assert response.status == 400
    assert json.loads(response.body)["MaLoi"] == "04"


def test_refusal_reason_in_the_answer():
    found = refusal(confirmation(SoTien="28.000"))
    answer = json.loads(ADAPTER.respond(found.outcome, request(confirmation()), KEYS, refusal=found).body)
    assert answer["MaLoi"] == "04" and "SoTien" in answer["MoTaLoi"]


def test_every_outcome_has_a_code():
    assert set(portal.ANSWER_CODES) == set(Outcome)


# --- status query ----------------------------------------------------------------------------

def test_query_body():
    ref = SPEC["MaThamChieu"]
    body = portal.query_body(ref, SECRET)
    assert body == {"MaThamChieu": ref, "MaXacThuc": hashlib.sha256(f"{ref}|{SECRET}".encode()).hexdigest()}
    assert portal.verify_query(json.dumps(body).encode(), SECRET) == ref
    assert portal.verify_query(body, SECRET) == ref


def test_query_with_wrong_secret_or_tampered_ref_is_refused():
    body = portal.query_body("dvc1", SECRET)
    with pytest.raises(Refusal) as caught:
        portal.verify_query(body, "other")
    assert caught.value.outcome is Outcome.SIGNATURE
    with pytest.raises(Refusal):
        portal.verify_query(dict(body, MaThamChieu="dvc2"), SECRET)
    with pytest.raises(Refusal) as caught:
        portal.verify_query(b"[]", SECRET)
    assert caught.value.outcome is Outcome.UNREADABLE


@pytest.mark.parametrize("code, kind", [("00", KIND_PORTAL_PAID), ("02", KIND_PORTAL_FAILED)])
def test_query_answers(code, kind):
    event = portal.parse_query_answer(json.dumps(confirmation(MaLoi=code)).encode(), SECRET)
    assert event.kind == kind
    assert event.event_id == SPEC["MaThamChieu"]
    assert (event.transfer is not None) == (code == "00")


def test_query_answer_pending_is_none():
    assert portal.parse_query_answer(json.dumps(confirmation(MaLoi="01")).encode(), SECRET) is None
    with pytest.raises(Refusal):  # but only when it is authentic
        portal.parse_query_answer(confirmation(secret="other", MaLoi="01"), SECRET)


def test_query_answer_with_unknown_code_or_bad_mac_is_refused():
    with pytest.raises(Refusal) as caught:
        portal.parse_query_answer(confirmation(MaLoi="07"), SECRET)
    assert caught.value.outcome is Outcome.INVALID and "MaLoi" in caught.value.reason
    with pytest.raises(Refusal) as caught:
        portal.parse_query_answer(confirmation(MaLoi="00"), "other")
    assert caught.value.outcome is Outcome.SIGNATURE


# --- fuzz ------------------------------------------------------------------------------------

VALUES = st.text(max_size=16) | st.sampled_from(["", "00", "01", "28000", "20261125093012"]) | st.none() \
    | st.integers() | st.lists(st.integers(), max_size=2)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_refused(raw):
    with pytest.raises(Refusal):
        ADAPTER.verify(request(raw=raw), KEYS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(list(SPEC)) | st.text(max_size=5), VALUES, max_size=4),
       drop=st.lists(st.sampled_from(list(SPEC)), max_size=2))
def test_random_hashed_objects_give_an_event_or_a_refusal(changes, drop):
    body = dict(SPEC, **changes)
    for key in drop:
        body.pop(key, None)
    try:
        body["MaXacThuc"] = mac(body)
    except (KeyError, TypeError, UnicodeEncodeError):
        body["MaXacThuc"] = "0" * 64
    req = request(body)
    try:
        event = ADAPTER.verify(req, KEYS)
    except Refusal as found:
        assert found.reason
        assert json.loads(ADAPTER.respond(found.outcome, req, KEYS, refusal=found).body)["MaLoi"] in ("02", "04")
        return
    assert isinstance(event, CallbackEvent)
    assert (event.kind == KIND_PORTAL_PAID) == (body["MaLoi"] == "00")
    with pytest.raises(Refusal):  # no secret: nothing can be trusted
        portal.parse_query_answer(body, None)
    if body["MaLoi"] in ("00", "02"):
        assert portal.parse_query_answer(body, SECRET).event_id == event.event_id
    elif body["MaLoi"] == "01":
        assert portal.parse_query_answer(body, SECRET) is None
    else:
        with pytest.raises(Refusal):
            portal.parse_query_answer(body, SECRET)
