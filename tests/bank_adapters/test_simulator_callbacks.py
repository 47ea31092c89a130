"""The simulator's request builders: every built request passes the matching adapter and
yields the same transfer; the JSON has the spec's field names and types."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_adapters import bankdirect, payos
from bank_adapters.callbacks import (KIND_PORTAL_FAILED, KIND_PORTAL_PAID, KIND_TEST, KIND_TRANSFER, InboundRequest,
                                     get_adapter)
from bank_adapters.keys import (DEMO_BANK_PRIVATE_KEY, DEMO_KEYS, DEMO_PAYOS_CHECKSUM_KEY, DEMO_PORTAL_SECRET,
                                DEMO_SEPAY_API_KEY, DEMO_SEPAY_HMAC_SECRET)
from simulator import callbacks as build
from bank_adapters.transfers import BankTransfer
from qr.banks import all_banks

NOW = datetime(2026, 11, 25, 2, 30, 15, tzinfo=timezone.utc)
TRANSFER = BankTransfer(
    account="113000012345", bank_ref="FT26329000123456", amount=1_500_000, direction="in",
    booked_at=NOW - timedelta(seconds=3), content="IBFT HS7K2M9QXAS LE PHI CAP GCN", bank_bin="970415",
    counter_account="0011001234567", counter_name="NGUYEN VAN A", counter_bank="970436", balance_after=126_500_000,
)


def inbound(request: tuple[dict, bytes], at: datetime = NOW) -> InboundRequest:
    headers, body = request
    return InboundRequest(body=body, headers={k.lower(): v for k, v in headers.items()}, remote_addr="127.0.0.1",
                          received_at=at)


# --- JSON shapes -----------------------------------------------------------------------------

def test_payos_request_shape():
    headers, body = build.payos_request(TRANSFER, DEMO_PAYOS_CHECKSUM_KEY, order_code=42)
    assert headers["Content-Type"] == "application/json"
    obj = json.loads(body)
    assert list(obj) == ["code", "desc", "success", "data", "signature"]
    data = obj["data"]
    assert list(data) == ["orderCode", "amount", "description", "accountNumber", "reference", "transactionDateTime",
                          "currency", "paymentLinkId", "code", "desc", "counterAccountBankId",
                          "counterAccountBankName", "counterAccountName", "counterAccountNumber",
                          "virtualAccountName", "virtualAccountNumber"]
    assert type(data["amount"]) is int and type(data["orderCode"]) is int
    assert data["transactionDateTime"] == "2026-11-25 09:30:12"
    assert data["counterAccountBankName"] == "Vietcombank"
    assert obj["signature"] == payos.sign(data, DEMO_PAYOS_CHECKSUM_KEY)


def test_sepay_request_shape():
    headers, body = build.sepay_request(TRANSFER, hmac_secret=DEMO_SEPAY_HMAC_SECRET, sepay_id=92704,
                                        timestamp=int(NOW.timestamp()))
    obj = json.loads(body)
    assert list(obj) == ["id", "gateway", "transactionDate", "accountNumber", "code", "content", "transferType",
                         "transferAmount", "accumulated", "subAccount", "referenceCode", "description"]
    assert obj["id"] == 92704 and obj["gateway"] == "VietinBank"
    assert type(obj["transferAmount"]) is int and type(obj["accumulated"]) is int
    assert obj["code"] is None and obj["subAccount"] is None
    assert headers["X-SePay-Timestamp"] == str(int(NOW.timestamp()))
    assert headers["X-SePay-Signature"].startswith("sha256=") and "Authorization" not in headers


def test_bankdirect_request_shape():
    headers, body = build.bankdirect_request(TRANSFER, DEMO_BANK_PRIVATE_KEY, request_id="BD1", request_time=NOW)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    obj = json.loads(body)
    assert set(obj) == set(bankdirect.FIELDS)
    assert all(isinstance(value, str) for value in obj.values())
    assert obj["amount"] == "1500000" and obj["requestTime"] == "20261125093015"
    assert obj["creditDebit"] == "C" and obj["virtualAccountNo"] == ""


def test_portal_confirmation_shape():
    ref = build.new_portal_ref("000.00.12.H26-261125-0001", datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc))
    assert ref == "dvc0000012H262611250001x20261125093000"  # the spec's example
    headers, body = build.portal_confirmation(TRANSFER, DEMO_PORTAL_SECRET, portal_ref=ref,
                                              dossier_code="000.00.12.H26-261125-0001", procedure_code="1.013831")
    obj = json.loads(body)
    assert list(obj) == ["MaThamChieu", "MaHoSo", "MaTTHC", "SoTien", "MaLoi", "MoTaLoi", "MaGiaoDich", "MaNganHang",
                         "ThoiGianGD", "TaiKhoanThuHuong", "MaXacThuc"]
    assert all(isinstance(value, str) for value in obj.values())
    assert obj["SoTien"] == "1500000" and obj["MaLoi"] == "00"


# --- refusals of the builders ----------------------------------------------------------------

def test_builders_refuse_what_the_sender_cannot_send():
    with pytest.raises(ValueError, match="payments received"):
        build.payos_request(replace(TRANSFER, direction="out"), DEMO_PAYOS_CHECKSUM_KEY, order_code=1)
    with pytest.raises(ValueError, match="API key or an HMAC"):
        build.sepay_request(TRANSFER, sepay_id=1)
    with pytest.raises(ValueError, match="timestamp"):
        build.sepay_request(TRANSFER, hmac_secret="s", sepay_id=1)
    with pytest.raises(ValueError, match="balance_after"):
        build.sepay_request(replace(TRANSFER, balance_after=None), api_key="k", sepay_id=1)
    with pytest.raises(ValueError, match="bank_bin"):
        build.bankdirect_request(replace(TRANSFER, bank_bin=None), DEMO_BANK_PRIVATE_KEY, request_id="x",
                                 request_time=NOW)


def test_bank_description():
    assert build.bank_description("HS7K2M9QXAS lệ phí | Đăng ký") == "HS7K2M9QXAS LE PHI   DANG KY"
    assert len(build.bank_description("x" * 300)) == 210


def test_request_ids_are_fresh():
    ids = {build.new_request_id(NOW) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and i.startswith("BD20261125093015") for i in ids)


# --- round trips -----------------------------------------------------------------------------

ACCOUNTS = st.text(alphabet="0123456789", min_size=6, max_size=19)
CONTENT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x1EF9, blacklist_categories=("Cs",)),
                  max_size=120)
UPPER_CONTENT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-/_", max_size=210)
OPTIONAL = st.none() | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", min_size=1, max_size=30)


@st.composite
def transfers(draw, *, direction=None, content=CONTENT):
    booked = NOW - timedelta(seconds=draw(st.integers(min_value=0, max_value=86400 * 30)))
    return BankTransfer(
        account=draw(ACCOUNTS),
        bank_ref=draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", min_size=1, max_size=30)),
        amount=draw(st.integers(min_value=1, max_value=10**13 - 1)),
        direction=direction or draw(st.sampled_from(["in", "out"])),
        booked_at=booked,
        content=draw(content),
        bank_bin=draw(st.sampled_from([bank.bin for bank in all_banks()])),
        counter_account=draw(st.none() | ACCOUNTS),
        counter_name=draw(OPTIONAL),
        counter_bank=draw(st.none() | st.sampled_from(["970436", "970418", "VCB"])),
        virtual_account=draw(OPTIONAL),
        balance_after=draw(st.integers(min_value=0, max_value=10**14)),
    )


@settings(max_examples=150, deadline=None)
@given(transfers(direction="in"), st.integers(min_value=1, max_value=2**53))
def test_payos_round_trip(transfer, order_code):
    event = get_adapter("payos").verify(inbound(build.payos_request(transfer, DEMO_PAYOS_CHECKSUM_KEY,
                                                                     order_code=order_code)), DEMO_KEYS)
    assert event.kind == KIND_TRANSFER and event.hints["order_code"] == order_code
    assert event.transfer == replace(transfer, bank_bin=None, balance_after=None)


@settings(max_examples=150, deadline=None)
@given(transfers(), st.integers(min_value=1, max_value=10**12), st.sampled_from(["key", "hmac", "both"]))
def test_sepay_round_trip(transfer, sepay_id, mode):
    request = build.sepay_request(transfer, sepay_id=sepay_id, timestamp=int(NOW.timestamp()),
                                  api_key=DEMO_SEPAY_API_KEY if mode != "hmac" else None,
                                  hmac_secret=DEMO_SEPAY_HMAC_SECRET if mode != "key" else None)
    event = get_adapter("sepay").verify(inbound(request), DEMO_KEYS)
    assert event.event_id == str(sepay_id)
    assert (event.replay_key is not None) == (mode != "key")
    assert event.transfer == replace(transfer, counter_account=None, counter_name=None, counter_bank=None)


@settings(max_examples=100, deadline=None)
@given(transfers(content=UPPER_CONTENT))
def test_bankdirect_round_trip(transfer):
    request_id = build.new_request_id(NOW)
    request = build.bankdirect_request(transfer, DEMO_BANK_PRIVATE_KEY, request_id=request_id, request_time=NOW)
    event = get_adapter("bankdirect").verify(inbound(request, NOW + timedelta(seconds=2)), DEMO_KEYS)
    assert event.replay_key == event.request_id == request_id
    assert event.transfer == replace(transfer, balance_after=None)


@settings(max_examples=100, deadline=None)
@given(transfers(direction="in"))
def test_bankdirect_round_trip_changes_only_the_content_as_banks_do(transfer):
    request = build.bankdirect_request(transfer, DEMO_BANK_PRIVATE_KEY, request_id="BDX", request_time=NOW)
    event = get_adapter("bankdirect").verify(inbound(request), DEMO_KEYS)
    assert event.transfer == replace(transfer, balance_after=None, content=build.bank_description(transfer.content))


@settings(max_examples=100, deadline=None)
@given(transfers(direction="in"), st.sampled_from(["00", "00", "05", "11"]))
def test_portal_round_trip(transfer, code):
    dossier = "000.00.12.H26-261125-0001"
    ref = build.new_portal_ref(dossier, transfer.booked_at)
    request = build.portal_confirmation(transfer, DEMO_PORTAL_SECRET, portal_ref=ref, dossier_code=dossier,
                                        procedure_code="1.013831", code=code)
    event = get_adapter("portal").verify(inbound(request), DEMO_KEYS)
    assert event.event_id == ref
    if code == "00":
        assert event.kind == KIND_PORTAL_PAID
        assert event.transfer == replace(transfer, content=f"THANH TOAN HO SO {dossier}", bank_bin=None,
                                         counter_account=None, counter_name=None, virtual_account=None,
                                         balance_after=None)
        assert event.hints == {"dossier_code": dossier, "procedure_code": "1.013831", "portal_ref": ref}
    else:
        assert event.kind == KIND_PORTAL_FAILED and event.hints["code"] == code


def test_payos_test_request_is_the_confirmation_call():
    event = get_adapter("payos").verify(inbound(build.payos_test_request(DEMO_PAYOS_CHECKSUM_KEY)), DEMO_KEYS)
    assert event.kind == KIND_TEST


def test_payos_test_request_with_the_published_key_is_the_published_vector():
    _, body = build.payos_test_request(DEMO_PAYOS_CHECKSUM_KEY)
    assert json.loads(body)["signature"] == "412e915d2871504ed31be63c8f62a149a4410d34c4c42affc9006ef9917eaa03"
