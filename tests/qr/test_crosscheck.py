"""Cross-checks against two PyPI VietQR libraries on the inputs they handle correctly (plain
ASCII purposes, account numbers of digits): the same payload, read back the same way."""
from __future__ import annotations

import string

import qr_pay  # napas-qr-python
from hypothesis import given, settings
from hypothesis import strategies as st
from vietnam_qr_pay import QRPay

from qr.banks import all_banks
from qr.crc import crc_hex
from qr.vietqr import decode, encode_transfer

SIMPLE = st.fixed_dictionaries({
    "bin": st.sampled_from([b.bin for b in all_banks()]),
    "account": st.text(alphabet=string.digits, min_size=6, max_size=19),
    "amount": st.integers(min_value=1, max_value=10**12),
    "purpose": st.text(alphabet=string.ascii_uppercase + string.digits + " ", min_size=1, max_size=25)
    .map(str.strip).filter(bool),
})


@settings(max_examples=200)
@given(SIMPLE)
def test_same_payload_as_vietnam_qr_pay(case):
    theirs = QRPay.init_viet_qr(bank_bin=case["bin"], bank_number=case["account"],
                                amount=str(case["amount"]), purpose=case["purpose"]).build()
    assert encode_transfer(**case) == theirs


@settings(max_examples=200)
@given(SIMPLE)
def test_same_payload_as_napas_qr_python(case):
    theirs = qr_pay.QRPay(bin_id=case["bin"], consumer_id=case["account"],
                          transaction_amount=case["amount"], purpose_of_transaction=case["purpose"]).code
    assert encode_transfer(**case) == theirs


@settings(max_examples=200)
@given(SIMPLE)
def test_they_read_our_payloads_as_we_do(case):
    payload = encode_transfer(**case)
    ours = decode(payload)
    theirs = qr_pay.decode(payload)
    assert (theirs["bin_id"], theirs["consumer_id"], int(theirs["transaction_amount"]),
            theirs["purpose_of_transaction"]) == (ours.bin, ours.account, ours.amount, ours.purpose)
    other = QRPay(payload)
    assert other.is_valid and other.consumer.bank_number == ours.account and int(other.amount) == ours.amount


@given(st.text(alphabet=string.printable, max_size=120))
def test_crc_agrees(text):
    assert crc_hex(text) == qr_pay.calculate_checksum(text)
