"""VietQR encoder and decoder on published examples, real payloads and every refusal."""
from __future__ import annotations

import warnings

import pytest

from qr.crc import crc16_ccitt_false, crc_hex
from qr.vietqr import UnknownBankWarning, VietQR, VietQRError, decode, encode, encode_transfer

# The example of NAPAS's VietQR specification (bill number NPS6869, 180.000 đ to BIN 970403).
NAPAS_EXAMPLE = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E"
)
# Payloads published in public libraries' documentation and code (real banks' and payOS's codes).
REAL = {
    "subiz-vietinbank": "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C",
    "mbbank-static-lowercase-crc": "00020101021138540010A00000072701240006970422011009119673630208QRIBFTTA"
    "53037045802VN63046ad9",
    "agribank-static": "00020101021138570010A00000072701270006970405011322082054793800208QRIBFTTA"
    "53037045802VN630497A6",
    "acb-static": "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F",
    "payos-virtual-account": "00020101021238570010A000000727012700069704220113VQRQABRLS04480208QRIBFTTA"
    "5303704540420005802VN6224082018f8746b181045f0a2ce63040FC0",
}


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def account_info(account: str = "12", service: str | None = "QRIBFTTA", guid: str = "A000000727",
                 bin_: str | None = "970403") -> str:
    beneficiary = (tlv("00", bin_) if bin_ else "") + tlv("01", account)
    return tlv("38", tlv("00", guid) + tlv("01", beneficiary) + (tlv("02", service) if service else ""))


def with_crc(body: str) -> str:
    """Append a correct CRC to a payload body that ends just before ``6304``."""
    return body + "6304" + crc_hex(body + "6304")


def test_crc_is_ccitt_false():
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the standard check value
    assert crc_hex("") == "FFFF"


def test_napas_example_decodes_to_its_fields():
    fields = decode(NAPAS_EXAMPLE).to_dict()
    assert fields == {
        "payload_format": "01", "point_of_initiation": "dynamic", "guid": "A000000727", "bin": "970403",
        "bank_code": "STB", "account": "0011012345678", "service_code": "QRIBFTTA", "amount": 180000,
        "currency": "704", "country": "VN", "merchant_name": None, "merchant_city": None,
        "bill_number": "NPS6869", "reference_label": None, "terminal_label": None,
        "purpose": "thanh toan don hang", "crc": "2E2E",
    }


def test_napas_example_is_what_the_encoder_writes():
    qr = VietQR(bin="970403", account="0011012345678", amount=180000, bill_number="NPS6869",
                purpose="thanh toan don hang")
    assert encode(qr) == NAPAS_EXAMPLE


def test_public_library_example_is_reproduced():
    assert encode_transfer("970415", "0011001932418", 120000, "ủng hộ lũ lụt") == REAL["subiz-vietinbank"]


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_payloads_decode(name):
    decoded = decode(REAL[name])
    assert decoded.guid == "A000000727" and decoded.currency == "704" and decoded.country == "VN"
    assert decoded.to_dict()["bank_code"] is not None


def test_real_payload_fields():
    payos = decode(REAL["payos-virtual-account"])
    assert (payos.bin, payos.account, payos.amount, payos.purpose) == (
        "970422", "VQRQABRLS0448", 2000, "18f8746b181045f0a2ce")
    static = decode(REAL["mbbank-static-lowercase-crc"])
    assert static.point_of_initiation == "static" and static.amount is None and static.crc == "6ad9"


def test_fields_in_any_order_between_00_and_63():
    body = ("000201" "010212" "5802VN" "5406180000" "5303704"
            "38570010A00000072701270006970403011300110123456780208QRIBFTTA")
    decoded = decode(with_crc(body))
    assert (decoded.amount, decoded.bin, decoded.account) == (180000, "970403", "0011012345678")
    # Sub-objects inside template 38 in reverse order too.
    beneficiary = "0113001101234567800" + "06970403"
    mai = "0208QRIBFTTA" + f"01{len(beneficiary):02d}{beneficiary}" + "0010A000000727"
    decoded = decode(with_crc("000201010212" + f"38{len(mai):02d}{mai}" + "53037045802VN"))
    assert (decoded.bin, decoded.account, decoded.service_code) == ("970403", "0011012345678", "QRIBFTTA")


def test_encoder_orders_fields_and_uses_static_without_amount():
    static = encode_transfer("970436", "0123456789")
    assert static.startswith("000201010211")
    assert decode(static).amount is None and decode(static).point_of_initiation == "static"
    dynamic = encode_transfer("970436", "0123456789", 150000, "HS 123")
    assert dynamic.startswith("000201010212")
    tags = []
    pos = 0
    while pos < len(dynamic):
        tags.append(dynamic[pos:pos + 2])
        pos += 4 + int(dynamic[pos + 2:pos + 4])
    assert tags == sorted(tags) == ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_card_service_code():
    payload = encode_transfer("970436", "9704360012345678", 50000, card=True)
    assert decode(payload).service_code == "QRIBFTTC"
    with pytest.raises(VietQRError, match="card number"):
        encode_transfer("970436", "ABC123", 50000, card=True)


def test_purpose_diacritics_are_stripped_never_cut():
    assert decode(encode_transfer("970415", "1", 1000, "Lệ phí ĐĂNG KÝ đất")).purpose == "Le phi DANG KY dat"
    with pytest.raises(VietQRError, match="26 characters; at most 25"):
        encode_transfer("970415", "1", 1000, "A" * 26)
    assert decode(encode_transfer("970415", "1", 1000, "Đ" * 25)).purpose == "D" * 25


@pytest.mark.parametrize("purpose", ["phí 5€", "tab\there", "emoji 🙂", "line\nbreak"])
def test_purpose_not_ascii_printable_is_refused(purpose):
    with pytest.raises(VietQRError, match="printable ASCII"):
        encode_transfer("970415", "123", 1000, purpose)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"amount": 0}, "positive"),
        ({"amount": -5}, "positive"),
        ({"amount": 10**13}, "more than 13 digits"),
        ({"amount": 1.5}, "whole number"),
        ({"amount": True}, "whole number"),
        ({"amount": "1000"}, "whole number"),
        ({"account": "1" * 20}, "20 characters; at most 19"),
        ({"account": ""}, "missing"),
        ({"account": "12-34"}, "letters and digits"),
        ({"bin": "97041"}, "6 digits"),
        ({"bin": "abcdef"}, "6 digits"),
        ({"service_code": "QRPUSH"}, "service code"),
        ({"point_of_initiation": "static"}, "static code carries no amount"),
        ({"merchant_name": "X" * 26}, "merchant name"),
    ],
)
def test_encoder_refusals(kwargs, message):
    fields = {"bin": "970415", "account": "113366668888", "amount": 79000} | kwargs
    with pytest.raises(VietQRError, match=message):
        encode(VietQR(**fields))


def test_dynamic_without_amount_is_refused():
    with pytest.raises(VietQRError, match="dynamic code needs an amount"):
        encode(VietQR(bin="970415", account="1", point_of_initiation="dynamic"))


def test_largest_amount_fits():
    assert decode(encode_transfer("970415", "1", 10**13 - 1)).amount == 9_999_999_999_999


def test_additional_data_over_99_is_refused():
    qr = VietQR(bin="970415", account="1", amount=1, bill_number="B" * 25, reference_label="R" * 25,
                terminal_label="T" * 25, purpose="P" * 25)
    with pytest.raises(VietQRError, match="at most 99"):
        encode(qr)


def test_unknown_bin_warns_but_encodes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        payload = encode_transfer("999999", "123", 1000)
    assert any(issubclass(w.category, UnknownBankWarning) for w in caught)
    assert decode(payload).bin == "999999" and decode(payload).to_dict()["bank_code"] is None


def _refusal(payload: str) -> VietQRError:
    with pytest.raises(VietQRError) as info:
        decode(payload)
    return info.value


def test_crc_mismatch_names_tag_and_offset():
    error = _refusal(NAPAS_EXAMPLE[:-4] + "2E2F")
    assert "CRC mismatch" in str(error) and error.tag == "63" and error.offset == len(NAPAS_EXAMPLE) - 8


def test_altered_content_fails_crc():
    error = _refusal(NAPAS_EXAMPLE.replace("180000", "190000"))
    assert "CRC mismatch" in error.reason


@pytest.mark.parametrize(
    "payload, tag, fragment",
    [
        ("", None, "empty payload"),
        ("0002", "00", "runs past the end"),
        ("0002010", None, "stray character"),
        ("00020", "00", "runs past the end"),
        ("0102120002016304ABCD", None, "must start with tag 00"),
        ("x0020101", None, "not two digits"),
        ("00AB01", "00", "length 'AB' is not two digits"),
        ("00000201", "00", "empty value"),
    ],
)
def test_broken_structure(payload, tag, fragment):
    error = _refusal(payload)
    assert fragment in error.reason
    assert error.tag == tag


def test_semantic_refusals():
    mai = "38570010A00000072701270006970403011300110123456780208QRIBFTTA"
    cases = {
        "000202" + "010212" + mai + "53037045802VN": ("00", "format indicator must be '01'"),
        "000201" + "010213" + mai + "53037045802VN": ("01", "point of initiation"),
        "000201" + "010212" + mai + "53038405802VN": ("53", "currency must be 704"),
        "000201" + "010212" + mai + "53037045802US": ("58", "country must be VN"),
        "000201" + "010212" + mai + "5802VN": ("53", "missing transaction currency"),
        "000201" + "010212" + mai + "5303704": ("58", "missing country"),
        "000201" + "010212" + "53037045802VN": ("38", "missing NAPAS account information"),
        "000201" + "010212" + mai.replace("A000000727", "A000000775") + "53037045802VN": ("38-00", "not the NAPAS GUID"),
        "000201" + "010212" + account_info(service="QRIBFTTXX") + "53037045802VN": ("38-02", "unknown service code"),
        "000201" + "010212" + tlv("38", tlv("00", "A000000727") + tlv("02", "QRIBFTTA")) + "53037045802VN":
            ("38-01", "missing beneficiary"),
        "000201" + "010212" + account_info(bin_=None) + "53037045802VN": ("38-01-00", "missing bank BIN"),
        "000201" + "010212" + account_info(bin_="97040") + "53037045802VN": ("38-01-00", "6 digits"),
        "000201" + "010212" + account_info(account="12-3") + "53037045802VN": ("38-01-01", "letters and digits"),
        "000201" + "010212" + account_info(account="12AB", service="QRIBFTTC") + "53037045802VN":
            ("38-01-01", "card number"),
        "000201" + "010212" + account_info() + "53037045802VN": ("38-01-01", None),
        "000201" + "010212" + account_info(service=None) + "53037045802VN": ("38-02", "missing service code"),
        "000201" + "010212" + account_info() + "5303704" + "5403-105802VN": ("54", "not a whole number"),
        "000201" + "010212" + mai + "5303704" + "54071000.505802VN": ("54", "not a whole number"),
        "000201" + "010212" + mai + "5303704" + "54010" + "5802VN": ("54", "amount must be positive"),
        "000201" + "010212" + mai + "5303704" + "5802VN" + "6230" + "0826" + "P" * 26: ("62-08", "at most 25"),
        "000201" + "010212" + mai + "5303704" + "5802VN" + "6207" + "0808abc": ("62-08", "runs past the end of its template"),
        "000201" + "010212" + mai + "5303704" + "5802VN" + "5802VN": ("58", "appears twice"),
    }
    for body, (tag, fragment) in cases.items():
        if fragment is None:  # a valid payload among the refusals, to show the rule is not too wide
            assert decode(with_crc(body)).account == "12"
            continue
        error = _refusal(with_crc(body))
        assert fragment in error.reason, (body, str(error))
        assert error.tag == tag, (body, str(error))
        assert error.offset is not None or tag in ("53", "58", "38"), str(error)


def test_account_over_19_characters_is_refused():
    account = "1" * 20
    beneficiary = "0006970403" + f"01{len(account):02d}{account}"
    mai = "0010A000000727" + f"01{len(beneficiary):02d}{beneficiary}" + "0208QRIBFTTA"
    error = _refusal(with_crc("000201010212" + f"38{len(mai):02d}{mai}" + "53037045802VN"))
    assert error.tag == "38-01-01" and "at most 19" in error.reason


def test_crc_not_last_is_refused():
    body = NAPAS_EXAMPLE[:-8]
    error = _refusal(body[:6] + "63042E2E" + body[6:])
    assert "must be the last" in error.reason and error.offset == 6


def test_missing_crc():
    error = _refusal(NAPAS_EXAMPLE[:-8])
    assert "missing CRC" in error.reason


def test_crc_not_hex():
    error = _refusal(NAPAS_EXAMPLE[:-4] + "2E2G")
    assert "4 hexadecimal digits" in error.reason and error.tag == "63"


def test_lengths_that_only_add_up_in_bytes():
    # A generator that counts UTF-8 bytes writes "ủng hộ" (6 characters, 10 bytes) with length 10.
    body = "000201010212" + "38570010A00000072701270006970415011300110019324180208QRIBFTTA" + \
        "53037045802VN" + "6214" + "0810" + "ủng hộ"
    payload = body + "6304" + crc_hex(body + "6304")
    error = _refusal(payload)
    assert "UTF-8 bytes" in error.reason and "ủ" in error.reason


def test_non_ascii_value_with_character_lengths():
    body = "000201010212" + "38570010A00000072701270006970415011300110019324180208QRIBFTTA" + \
        "53037045802VN" + "6210" + "0806" + "ủng hộ"
    error = _refusal(with_crc(body))
    assert "not printable ASCII" in error.reason and error.offset == body.index("ủ")


def test_error_message_says_where():
    error = _refusal(NAPAS_EXAMPLE[:-4] + "0000")
    assert str(error) == "CRC mismatch: payload says 0000, content gives 2E2E (tag 63, offset 134)"


# --- the unreserved tags 80–99 as wallets write them --------------------------------------

# A MoMo wallet code as MoMo prints it (account and reference made up, layout as real codes):
# reference label MOMOW2W…, then tag 80 holding the primitive value "046", then the CRC.
MOMO_BODY = ("000201" "010211" + account_info("99MM24012M34875080", bin_="970454") + "5303704" "5802VN"
             "62190515MOMOW2W34875080" "8003046")
MOMO = with_crc(MOMO_BODY)


def test_momo_code_with_a_primitive_tag_80_decodes_with_a_warning():
    decoded = decode(MOMO)
    assert (decoded.bin, decoded.account, decoded.reference_label) == ("970454", "99MM24012M34875080",
                                                                        "MOMOW2W34875080")
    assert decoded.initiation == "static" and decoded.amount is None
    assert len(decoded.warnings) == 1
    note = decoded.warnings[0]
    assert note.startswith("tag 80 at offset 114 holds '046'") and "stray" in note and "opaque" in note
    assert "warnings" not in decoded.to_dict()  # the contract's keys are unchanged


def test_template_shaped_tag_80_is_read_as_a_template_without_warning():
    decoded = decode(with_crc(MOMO_BODY.replace("8003046", tlv("80", tlv("00", "046") + tlv("01", "MOMO")))))
    assert decoded.warnings == () and decoded.reference_label == "MOMOW2W34875080"


@pytest.mark.parametrize("tag", ["81", "99"])
def test_every_unreserved_tag_is_tolerated(tag):
    assert len(decode(with_crc(MOMO_BODY.replace("8003046", tlv(tag, "X")))).warnings) == 1


@pytest.mark.parametrize(
    "body, tag, fragment",
    [
        # A template elsewhere (26–51, 62) that does not parse is still refused.
        (MOMO_BODY.replace("8003046", "2603046"), "26", "stray character"),
        (MOMO_BODY.replace("62190515MOMOW2W34875080", "6203046"), "62", "stray character"),
        # The root around tag 80 stays strict: a length running past the end, a tag twice, non-ASCII.
        (MOMO_BODY.replace("8003046", "8099046"), "80", "runs past the end"),
        (MOMO_BODY + "8003047", "80", "appears twice"),
        (MOMO_BODY.replace("8003046", "80030é6"), "80", "not printable ASCII"),
        # An empty tag 80 is a broken data object, not an opaque value.
        (MOMO_BODY.replace("8003046", "8000"), "80", "empty value"),
    ],
)
def test_other_malformed_payloads_are_still_refused(body, tag, fragment):
    error = _refusal(with_crc(body))
    assert fragment in error.reason and error.tag == tag


def test_momo_code_with_a_wrong_crc_is_refused():
    assert "CRC mismatch" in _refusal(MOMO_BODY + "6304FFFF").reason
