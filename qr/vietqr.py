"""VietQR payloads: the NAPAS profile of EMVCo merchant-presented QR codes.

Layout of a payload (``ID LL value`` data objects, LL = the value's length in characters)::

    00 "01"                       payload format indicator, always first
    01 "11" | "12"                point of initiation: static (no amount) or dynamic (one amount)
    38 template                   NAPAS consumer account information
       00 "A000000727"            NAPAS GUID
       01 template                beneficiary organisation
          00 BIN (6 digits)       acquirer (the bank)
          01 account or card no.  up to 19 characters
       02 "QRIBFTTA" | "QRIBFTTC" service: transfer to an account | to a card
    53 "704"                      currency (VND)
    54 amount                     whole đồng, up to 13 digits (dynamic codes)
    58 "VN"                       country
    59, 60                        merchant name and city (optional)
    62 template                   additional data: 01 bill number, 05 reference label,
                                  07 terminal label, 08 purpose of transaction (≤ 25)
    63 CRC                        CRC-16/CCITT-FALSE over everything before it, including "6304"

The encoder writes fields in ascending tag order and refuses rather than truncates. The
decoder accepts data objects in any order between ``00`` (first) and ``63`` (last) and
refuses anything malformed with the tag and the character offset of the fault, with one
tolerance: the unreserved tags 80–99, which EMVCo defines as templates, are read as opaque
values (with a warning) when they do not parse as one, because real wallet codes (MoMo's
``8003046``) carry a primitive value there and banking apps read them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from .banks import by_bin
from .crc import crc_hex
from .text import first_non_printable, strip_diacritics

NAPAS_GUID = "A000000727"
SERVICE_ACCOUNT = "QRIBFTTA"
SERVICE_CARD = "QRIBFTTC"
SERVICE_MERCHANT = "QRPUSH"  # merchant payments; decoded, never encoded here
SERVICE_CODES = (SERVICE_ACCOUNT, SERVICE_CARD, SERVICE_MERCHANT)
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
STATIC = "11"
DYNAMIC = "12"

MAX_ACCOUNT = 19
MAX_AMOUNT_DIGITS = 13
MAX_PURPOSE = 25
MAX_MERCHANT_NAME = 25
MAX_MERCHANT_CITY = 15
MAX_ADDITIONAL = 25  # bill number, reference label, terminal label

# EMVCo root tags that hold templates (nested data objects).
_UNRESERVED = {f"{n:02d}" for n in range(80, 100)}  # "unreserved templates": a template, or (in practice) not
_ROOT_TEMPLATES = {"62", "64"} | {f"{n:02d}" for n in range(26, 52)} | _UNRESERVED
_ADDITIONAL_KEYS = {"01": "bill_number", "05": "reference_label", "07": "terminal_label", "08": "purpose"}


class VietQRError(ValueError):
    """A payload or an encoding request that the VietQR format does not allow."""

    def __init__(self, message: str, *, tag: str | None = None, offset: int | None = None):
        where = []
        if tag is not None:
            where.append(f"tag {tag}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.reason = message
        self.tag = tag
        self.offset = offset


class UnknownBankWarning(UserWarning):
    """A BIN that the NAPAS directory does not list: the code is valid, but no app may know the bank."""


@dataclass(frozen=True)
class VietQR:
    """What a VietQR code says. ``crc`` is filled by the decoder and ignored by equality."""

    bin: str
    account: str
    amount: int | None = None
    purpose: str | None = None
    service_code: str = SERVICE_ACCOUNT
    merchant_name: str | None = None
    merchant_city: str | None = None
    bill_number: str | None = None
    reference_label: str | None = None
    terminal_label: str | None = None
    point_of_initiation: str | None = None  # "static" | "dynamic"; derived from the amount when None
    payload_format: str = "01"
    guid: str = NAPAS_GUID
    currency: str = CURRENCY_VND
    country: str = COUNTRY_VN
    crc: str | None = field(default=None, compare=False)
    # What the decoder tolerated but a strict reading would refuse (an unreserved tag that is
    # not a template); the CLI prints them on stderr, ``to_dict`` (the contract's keys) leaves them out.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def initiation(self) -> str:
        if self.point_of_initiation:
            return self.point_of_initiation
        return "dynamic" if self.amount is not None else "static"

    def to_dict(self) -> dict[str, Any]:
        """The keys of ``qr decode`` in the integration contract (absent optional fields: None)."""
        bank = by_bin(self.bin)
        return {
            "payload_format": self.payload_format,
            "point_of_initiation": self.point_of_initiation,
            "guid": self.guid,
            "bin": self.bin,
            "bank_code": bank.code if bank else None,
            "account": self.account,
            "service_code": self.service_code,
            "amount": self.amount,
            "currency": self.currency,
            "country": self.country,
            "merchant_name": self.merchant_name,
            "merchant_city": self.merchant_city,
            "bill_number": self.bill_number,
            "reference_label": self.reference_label,
            "terminal_label": self.terminal_label,
            "purpose": self.purpose,
            "crc": self.crc,
        }


# ---------------------------------------------------------------------------------------------
# Encoding


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise VietQRError(f"value of {len(value)} characters does not fit a data object (at most 99)", tag=tag)
    return f"{tag}{len(value):02d}{value}"


def clean_text(value: str, what: str, limit: int, tag: str) -> str:
    """Fold Vietnamese to ASCII (``Đ`` → ``D``) and check it fits; never truncates."""
    folded = strip_diacritics(value)
    bad = first_non_printable(folded)
    if bad is not None:
        index, char = bad
        raise VietQRError(
            f"{what} may hold only printable ASCII after removing diacritics; "
            f"character {char!r} at position {index} is not",
            tag=tag,
        )
    if not folded:
        raise VietQRError(f"{what} is empty; leave it out instead", tag=tag)
    if len(folded) > limit:
        raise VietQRError(f"{what} is {len(folded)} characters; at most {limit} fit (nothing is cut)", tag=tag)
    return folded


def _check_bin(bin_: str) -> None:
    if not (isinstance(bin_, str) and len(bin_) == 6 and bin_.isascii() and bin_.isdigit()):
        raise VietQRError(f"bank BIN must be 6 digits, got {bin_!r}", tag="38-01-00")
    if by_bin(bin_) is None:
        warnings.warn(
            f"BIN {bin_} is not in the NAPAS bank directory; banking apps may not recognise it",
            UnknownBankWarning,
            stacklevel=3,
        )


def _check_account(account: str, service_code: str) -> None:
    if not isinstance(account, str) or not account:
        raise VietQRError("account number is missing", tag="38-01-01")
    if len(account) > MAX_ACCOUNT:
        raise VietQRError(
            f"account number is {len(account)} characters; at most {MAX_ACCOUNT} fit", tag="38-01-01"
        )
    if not (account.isascii() and account.isalnum()):
        raise VietQRError(f"account number {account!r} may hold only letters and digits", tag="38-01-01")
    if service_code == SERVICE_CARD and not (account.isdigit() and 8 <= len(account) <= 19):
        raise VietQRError(f"card number {account!r} must be 8 to 19 digits", tag="38-01-01")


def _check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise VietQRError(f"amount must be a whole number of đồng, got {amount!r}", tag="54")
    if amount <= 0:
        raise VietQRError(f"amount must be positive, got {amount}", tag="54")
    if len(str(amount)) > MAX_AMOUNT_DIGITS:
        raise VietQRError(f"amount {amount} has more than {MAX_AMOUNT_DIGITS} digits", tag="54")
    return amount


def encode(qr: VietQR) -> str:
    """The payload for ``qr``; raises :class:`VietQRError` for anything the format forbids."""
    if qr.service_code not in (SERVICE_ACCOUNT, SERVICE_CARD):
        raise VietQRError(
            f"service code must be {SERVICE_ACCOUNT} (account) or {SERVICE_CARD} (card), got {qr.service_code!r}",
            tag="38-02",
        )
    _check_bin(qr.bin)
    _check_account(qr.account, qr.service_code)
    if qr.amount is not None:
        _check_amount(qr.amount)
    initiation = qr.initiation
    if initiation == "static" and qr.amount is not None:
        raise VietQRError("a static code carries no amount; drop the amount or make it dynamic", tag="01")
    if initiation == "dynamic" and qr.amount is None:
        raise VietQRError("a dynamic code needs an amount", tag="01")
    if initiation not in ("static", "dynamic"):
        raise VietQRError(f"point of initiation must be static or dynamic, got {initiation!r}", tag="01")

    beneficiary = _tlv("00", qr.bin) + _tlv("01", qr.account)
    account_info = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", qr.service_code)
    parts = [
        _tlv("00", "01"),
        _tlv("01", STATIC if initiation == "static" else DYNAMIC),
        _tlv("38", account_info),
        _tlv("53", CURRENCY_VND),
    ]
    if qr.amount is not None:
        parts.append(_tlv("54", str(qr.amount)))
    parts.append(_tlv("58", COUNTRY_VN))
    if qr.merchant_name is not None:
        parts.append(_tlv("59", clean_text(qr.merchant_name, "merchant name", MAX_MERCHANT_NAME, "59")))
    if qr.merchant_city is not None:
        parts.append(_tlv("60", clean_text(qr.merchant_city, "merchant city", MAX_MERCHANT_CITY, "60")))
    additional = ""
    for sub, key in _ADDITIONAL_KEYS.items():
        value = getattr(qr, key)
        if value is not None:
            limit = MAX_PURPOSE if key == "purpose" else MAX_ADDITIONAL
            additional += _tlv(sub, clean_text(value, key.replace("_", " "), limit, f"62-{sub}"))
    if additional:
        if len(additional) > 99:
            raise VietQRError(
                f"additional data is {len(additional)} characters; the template holds at most 99", tag="62"
            )
        parts.append(_tlv("62", additional))
    body = "".join(parts) + "6304"
    return body + crc_hex(body)


def encode_transfer(
    bin: str,
    account: str,
    amount: int | None = None,
    purpose: str | None = None,
    *,
    card: bool = False,
    merchant_name: str | None = None,
) -> str:
    """The usual case: a transfer to an account (or a card), dynamic when there is an amount."""
    return encode(
        VietQR(
            bin=bin,
            account=account,
            amount=amount,
            purpose=purpose,
            service_code=SERVICE_CARD if card else SERVICE_ACCOUNT,
            merchant_name=merchant_name,
        )
    )


# ---------------------------------------------------------------------------------------------
# Decoding


class _Object:
    """One parsed data object; ``offset`` is where its tag starts in the whole payload."""

    __slots__ = ("tag", "value", "offset", "value_offset")

    def __init__(self, tag: str, value: str, offset: int, value_offset: int) -> None:
        self.tag = tag
        self.value = value
        self.offset = offset
        self.value_offset = value_offset


def _parse(text: str, base: int, path: str) -> list[_Object]:
    """Split ``text`` (which starts at ``base`` in the payload) into data objects."""
    objects: list[_Object] = []
    seen: dict[str, int] = {}
    pos = 0
    end = len(text)
    while pos < end:
        where = base + pos
        head = text[pos : pos + 4]
        if len(head) < 4:
            raise VietQRError(
                f"broken data object: {end - pos} stray character(s) {head!r} where a tag and a length should be",
                tag=path or None,
                offset=where,
            )
        tag, length_text = head[:2], head[2:]
        label = f"{path}-{tag}" if path else tag
        if not (tag.isascii() and tag.isdigit()):
            raise VietQRError(f"broken data object: tag {tag!r} is not two digits", tag=path or None, offset=where)
        if not (length_text.isascii() and length_text.isdigit()):
            raise VietQRError(f"broken data object: length {length_text!r} is not two digits", tag=label, offset=where)
        length = int(length_text)
        if pos + 4 + length > end:
            raise VietQRError(
                f"length {length} runs past the end of its {'template' if path else 'payload'} "
                f"({end - pos - 4} character(s) left)",
                tag=label,
                offset=where,
            )
        if length == 0:
            raise VietQRError("data object with an empty value", tag=label, offset=where)
        if tag in seen:
            raise VietQRError(f"tag appears twice (first at offset {seen[tag]})", tag=label, offset=where)
        seen[tag] = where
        objects.append(_Object(tag, text[pos + 4 : pos + 4 + length], where, where + 4))
        pos += 4 + length
    return objects


def _lengths_fit_in_bytes(payload: str) -> bool:
    """True when the TLV lengths add up if counted in UTF-8 bytes (a common encoder bug)."""
    data = payload.encode("utf-8")
    pos = 0
    while pos < len(data):
        head = data[pos : pos + 4]
        if len(head) < 4 or not head.isdigit():
            return False
        pos += 4 + int(head[2:])
    return pos == len(data)


def _check_ascii(obj: _Object, label: str) -> None:
    bad = first_non_printable(obj.value)
    if bad is not None:
        index, char = bad
        raise VietQRError(
            f"character {char!r} is not printable ASCII (VietQR values are ASCII; diacritics must be removed)",
            tag=label,
            offset=obj.value_offset + index,
        )


def _template(obj: _Object, label: str) -> dict[str, _Object]:
    return {child.tag: child for child in _parse(obj.value, obj.value_offset, label)}


def _unreserved(obj: _Object) -> list[str]:
    """Tags 80–99: a template when the value parses as one (its structure then checked like any
    other's); otherwise an opaque value, as banking apps read MoMo's ``80 03 046``, with a warning."""
    try:
        _template(obj, obj.tag)
    except VietQRError as exc:
        return [f"tag {obj.tag} at offset {obj.offset} holds {obj.value!r}, which is not a template "
                f"({exc.reason}); read as an opaque value, as banking apps do"]
    return []


def _require(objects: dict[str, _Object], tag: str, label: str, what: str, parent: _Object | None) -> _Object:
    if tag not in objects:
        raise VietQRError(f"missing {what}", tag=label, offset=parent.offset if parent else None)
    return objects[tag]


def _bounded(obj: _Object | None, label: str, limit: int, what: str) -> str | None:
    if obj is None:
        return None
    if len(obj.value) > limit:
        raise VietQRError(f"{what} is {len(obj.value)} characters; at most {limit} allowed", tag=label, offset=obj.offset)
    return obj.value


def decode(payload: str) -> VietQR:
    """Parse and validate a VietQR payload; raises :class:`VietQRError` saying what and where."""
    if not isinstance(payload, str) or not payload:
        raise VietQRError("empty payload")
    try:
        root_list = _parse(payload, 0, "")
    except VietQRError:
        if not payload.isascii() and _lengths_fit_in_bytes(payload):
            index, char = first_non_printable(payload) or (0, "")
            raise VietQRError(
                f"lengths add up only when counted in UTF-8 bytes: character {char!r} is not ASCII; "
                "lengths count characters and VietQR values are ASCII",
                offset=index,
            ) from None
        raise
    first = root_list[0]
    if first.tag != "00":
        raise VietQRError(f"payload must start with tag 00 (payload format indicator), not tag {first.tag}", offset=0)
    if first.value != "01":
        raise VietQRError(f"payload format indicator must be '01', got {first.value!r}", tag="00", offset=0)
    last = root_list[-1]
    if last.tag != "63":
        crc_obj = next((o for o in root_list if o.tag == "63"), None)
        if crc_obj is None:
            raise VietQRError("missing CRC: the payload must end with tag 63", offset=len(payload))
        raise VietQRError(f"CRC (tag 63) must be the last data object; tag {last.tag} follows it", tag="63", offset=crc_obj.offset)
    if len(last.value) != 4 or any(c not in "0123456789ABCDEFabcdef" for c in last.value):
        raise VietQRError(f"CRC must be 4 hexadecimal digits, got {last.value!r}", tag="63", offset=last.offset)
    for obj in root_list:
        if obj.tag != "64":  # the alternate-language template may carry other scripts
            _check_ascii(obj, obj.tag)
    expected = crc_hex(payload[: last.value_offset])
    if last.value.upper() != expected:
        raise VietQRError(
            f"CRC mismatch: payload says {last.value}, content gives {expected}", tag="63", offset=last.offset
        )

    root = {obj.tag: obj for obj in root_list}

    initiation = None
    if "01" in root:
        value = root["01"].value
        if value not in (STATIC, DYNAMIC):
            raise VietQRError(f"point of initiation must be '11' (static) or '12' (dynamic), got {value!r}", tag="01", offset=root["01"].offset)
        initiation = "static" if value == STATIC else "dynamic"

    notes: list[str] = []
    for tag in sorted(root):
        if tag in _UNRESERVED:
            notes.extend(_unreserved(root[tag]))
        elif tag in _ROOT_TEMPLATES and tag not in ("38", "62"):
            _template(root[tag], tag)  # structure of every template is checked, used or not

    if "38" not in root:
        others = sorted(t for t in root if "02" <= t <= "51")
        hint = f" (found merchant account tag(s) {', '.join(others)}, which are not NAPAS VietQR)" if others else ""
        raise VietQRError(f"missing NAPAS account information: no tag 38{hint}", tag="38")
    mai_obj = root["38"]
    mai = _template(mai_obj, "38")
    guid = _require(mai, "00", "38-00", "NAPAS GUID", mai_obj)
    if guid.value != NAPAS_GUID:
        raise VietQRError(f"GUID {guid.value!r} is not the NAPAS GUID {NAPAS_GUID}", tag="38-00", offset=guid.offset)
    beneficiary_obj = _require(mai, "01", "38-01", "beneficiary (bank and account)", mai_obj)
    beneficiary = _template(beneficiary_obj, "38-01")
    bin_obj = _require(beneficiary, "00", "38-01-00", "bank BIN", beneficiary_obj)
    if not (len(bin_obj.value) == 6 and bin_obj.value.isdigit()):
        raise VietQRError(f"bank BIN must be 6 digits, got {bin_obj.value!r}", tag="38-01-00", offset=bin_obj.offset)
    account_obj = _require(beneficiary, "01", "38-01-01", "account or card number", beneficiary_obj)
    service_obj = _require(mai, "02", "38-02", "service code", mai_obj)
    if service_obj.value not in SERVICE_CODES:
        raise VietQRError(
            f"unknown service code {service_obj.value!r} (expected {', '.join(SERVICE_CODES)})",
            tag="38-02",
            offset=service_obj.offset,
        )
    account = account_obj.value
    if len(account) > MAX_ACCOUNT:
        raise VietQRError(f"account number is {len(account)} characters; at most {MAX_ACCOUNT} allowed", tag="38-01-01", offset=account_obj.offset)
    if not account.isalnum():
        raise VietQRError(f"account number {account!r} may hold only letters and digits", tag="38-01-01", offset=account_obj.offset)
    if service_obj.value == SERVICE_CARD and not account.isdigit():
        raise VietQRError(f"card number {account!r} must be digits", tag="38-01-01", offset=account_obj.offset)

    currency = _require(root, "53", "53", "transaction currency", None)
    if currency.value != CURRENCY_VND:
        raise VietQRError(f"currency must be {CURRENCY_VND} (VND), got {currency.value!r}", tag="53", offset=currency.offset)
    country = _require(root, "58", "58", "country code", None)
    if country.value != COUNTRY_VN:
        raise VietQRError(f"country must be {COUNTRY_VN}, got {country.value!r}", tag="58", offset=country.offset)

    amount = None
    if "54" in root:
        obj = root["54"]
        if len(obj.value) > MAX_AMOUNT_DIGITS:
            raise VietQRError(f"amount has {len(obj.value)} characters; at most {MAX_AMOUNT_DIGITS} allowed", tag="54", offset=obj.offset)
        if not obj.value.isdigit():
            raise VietQRError(f"amount {obj.value!r} is not a whole number of đồng in digits", tag="54", offset=obj.offset)
        amount = int(obj.value)
        if amount <= 0:
            raise VietQRError("amount must be positive", tag="54", offset=obj.offset)

    additional: dict[str, _Object] = _template(root["62"], "62") if "62" in root else {}
    extra = {
        key: _bounded(additional.get(sub), f"62-{sub}", MAX_PURPOSE if key == "purpose" else MAX_ADDITIONAL, key.replace("_", " "))
        for sub, key in _ADDITIONAL_KEYS.items()
    }

    return VietQR(
        bin=bin_obj.value,
        account=account,
        amount=amount,
        service_code=service_obj.value,
        merchant_name=_bounded(root.get("59"), "59", MAX_MERCHANT_NAME, "merchant name"),
        merchant_city=_bounded(root.get("60"), "60", MAX_MERCHANT_CITY, "merchant city"),
        point_of_initiation=initiation,
        payload_format=first.value,
        guid=guid.value,
        currency=currency.value,
        country=country.value,
        crc=last.value,
        warnings=tuple(notes),
        **extra,
    )
