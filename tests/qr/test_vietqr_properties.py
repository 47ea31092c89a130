"""Property-based checks: every valid code round-trips; corrupted codes are refused."""
from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qr.banks import all_banks
from qr.vietqr import SERVICE_ACCOUNT, SERVICE_CARD, VietQR, VietQRError, decode, encode

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ALNUM = st.sampled_from(string.ascii_letters + string.digits)


def text(max_size: int, alphabet=PRINTABLE):
    return st.none() | st.text(alphabet=alphabet, min_size=1, max_size=max_size)


@st.composite
def vietqrs(draw) -> VietQR:
    card = draw(st.booleans())
    account = (
        draw(st.text(alphabet=string.digits, min_size=8, max_size=19))
        if card
        else draw(st.text(alphabet=ALNUM, min_size=1, max_size=19))
    )
    amount = draw(st.none() | st.integers(min_value=1, max_value=10**13 - 1))
    qr = VietQR(
        bin=draw(st.sampled_from([bank.bin for bank in all_banks()])),
        account=account,
        amount=amount,
        purpose=draw(text(25)),
        service_code=SERVICE_CARD if card else SERVICE_ACCOUNT,
        merchant_name=draw(text(25)),
        merchant_city=draw(text(15)),
        bill_number=draw(text(25)),
        reference_label=draw(text(25)),
        terminal_label=draw(text(25)),
        point_of_initiation="dynamic" if amount is not None else "static",
    )
    extra = [qr.bill_number, qr.reference_label, qr.terminal_label, qr.purpose]
    assume(sum(len(value) + 4 for value in extra if value) <= 99)
    return qr


@settings(max_examples=400)
@given(vietqrs())
def test_decode_of_encode_is_identity(qr):
    payload = encode(qr)
    assert decode(payload) == qr
    assert payload.isascii()


@st.composite
def corruptions(draw):
    qr = draw(vietqrs())
    payload = encode(qr)
    kind = draw(st.sampled_from(["replace", "delete", "insert", "swap", "truncate"]))
    index = draw(st.integers(min_value=0, max_value=len(payload) - 1))
    char = draw(PRINTABLE | st.sampled_from("ăđươ€\n"))
    if kind == "replace":
        assume(payload[index] != char)
        bad = payload[:index] + char + payload[index + 1:]
    elif kind == "delete":
        bad = payload[:index] + payload[index + 1:]
    elif kind == "insert":
        bad = payload[:index] + char + payload[index:]
    elif kind == "swap":
        assume(index + 1 < len(payload) and payload[index] != payload[index + 1])
        bad = payload[:index] + payload[index + 1] + payload[index] + payload[index + 2:]
    else:
        bad = payload[:index]
    return qr, payload, bad


@settings(max_examples=1500)
@given(corruptions())
def test_corruption_is_refused_or_decodes_to_what_it_says(case):
    qr, payload, bad = case
    try:
        decoded = decode(bad)
    except VietQRError as error:
        assert error.reason
        return
    # Still valid: only possible where the change left the meaning intact (the case of a CRC hex
    # digit); then it must say exactly what the original said.
    assert bad.upper() == payload.upper()
    assert decoded == qr


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_raises_vietqr_error(junk):
    try:
        result = decode(junk)
    except VietQRError as error:
        assert error.reason
    else:
        assert decode(encode(result)) == result
