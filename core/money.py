"""Money is an ``int`` of đồng: formatting and the amount in Vietnamese words.

No floats anywhere: VND has no minor unit, and every amount the service handles is a whole
number of đồng.
"""
from __future__ import annotations

MAX_AMOUNT = 10**13 - 1  # the 13 digits of the VietQR amount field


class MoneyError(ValueError):
    """An amount that is not a whole, non-negative number of đồng."""


def to_vnd(value: object) -> int:
    """Turn an exact representation of a whole-đồng amount into an ``int``.

    Accepts ints and strings such as ``"150000"``, ``"150.000"``, ``"150,000"`` or
    ``"150000.00"``; refuses anything that is not a whole number of đồng (no rounding).
    """
    if isinstance(value, bool):
        raise MoneyError("an amount cannot be a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise MoneyError(f"{value!r} is not a whole number of đồng")
        return int(value)
    if not isinstance(value, str):
        raise MoneyError(f"{value!r} is not an amount")
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    for suffix in ("₫", "đ", "VND", "vnd", "VNĐ", "vnđ"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if not text:
        raise MoneyError(f"{value!r} is not an amount")
    whole = _whole_part(text, value)
    return -whole if negative else whole


def _whole_part(text: str, original: object) -> int:
    """Read digits with optional grouping and an optional all-zero fraction."""
    fraction = ""
    # A single separator followed by exactly 1-2 digits is a decimal point ("150000.00");
    # otherwise '.' and ',' group thousands ("1.500.000", "1,500,000").
    for sep in (".", ","):
        head, found, tail = text.rpartition(sep)
        if found and 1 <= len(tail) <= 2 and tail.isdigit() and sep not in head:
            other = "," if sep == "." else "."
            if other not in head or _grouped(head, other):
                text, fraction = head, tail
                break
    if fraction and set(fraction) != {"0"}:
        raise MoneyError(f"{original!r} is not a whole number of đồng")
    for sep in (".", ","):
        if sep in text:
            if not _grouped(text, sep):
                raise MoneyError(f"{original!r} has misplaced thousands separators")
            text = text.replace(sep, "")
    if not text.isdigit() or not text.isascii():
        raise MoneyError(f"{original!r} is not an amount")
    return int(text)


def _grouped(text: str, sep: str) -> bool:
    groups = text.split(sep)
    return (
        1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and all(g.isdigit() and g.isascii() for g in groups)
    )


def format_vnd(amount: int, symbol: bool = True) -> str:
    """``1500000`` → ``"1.500.000 ₫"`` (Vietnamese grouping with dots)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MoneyError(f"{amount!r} is not an integer amount of đồng")
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,}".replace(",", ".")
    return f"{sign}{digits} ₫" if symbol else f"{sign}{digits}"


_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
_SCALES = ["", "nghìn", "triệu", "tỷ"]


def _three_digits(n: int, full: bool) -> list[str]:
    """Words for 0 < n < 1000; ``full`` when a higher group precedes (so 5 → "không trăm linh năm")."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and (hundreds or full):
            words.append("linh")
    elif tens == 1:
        words.append("mười")
    else:
        words += [_DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens >= 2:
            words.append("mốt")
        elif units == 5 and tens >= 1:
            words.append("lăm")
        elif units == 4 and tens >= 2:
            words.append("tư")
        else:
            words.append(_DIGITS[units])
    return words


def _words(n: int) -> list[str]:
    """Words for n > 0, in groups of three digits; ``tỷ`` repeats past a billion."""
    billions, below = divmod(n, 1_000_000_000)
    words: list[str] = []
    if billions:
        words += _words(billions) + ["tỷ"]
    groups = [(below // 1_000_000) % 1000, (below // 1000) % 1000, below % 1000]
    for index, group in enumerate(groups):
        if group == 0:
            continue
        scale = _SCALES[2 - index]
        words += _three_digits(group, full=bool(words))
        if scale:
            words.append(scale)
    return words


def amount_in_words(amount: int) -> str:
    """The amount as written on a receipt: ``1500000`` → ``"Một triệu năm trăm nghìn đồng"``."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MoneyError(f"{amount!r} is not an integer amount of đồng")
    if amount < 0:
        positive = amount_in_words(-amount)
        return "Âm " + positive[0].lower() + positive[1:]
    text = "không" if amount == 0 else " ".join(_words(amount))
    return text[0].upper() + text[1:] + " đồng"


_EN_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
             "sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def _en_below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words += [_EN_UNITS[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10] + (f"-{_EN_UNITS[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_EN_UNITS[n])
    return words


def amount_in_words_en(amount: int) -> str:
    """The amount in English words for the English pages: ``1500000`` → "One million five hundred
    thousand dong" (a receipt keeps the Vietnamese words: ``amount_in_words``)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MoneyError(f"{amount!r} is not an integer amount of đồng")
    if amount < 0:
        return "Minus " + amount_in_words_en(-amount).lower()
    words, rest = [], amount
    for scale, name in _EN_SCALES:
        if rest >= scale:
            words += [*(_en_below_thousand(rest // scale) if rest // scale < 1000 else
                        amount_in_words_en(rest // scale).lower().removesuffix(" dong").split()), name]
            rest %= scale
    if rest or not words:
        words += _en_below_thousand(rest)
    text = " ".join(words)
    return text[0].upper() + text[1:] + " dong"


def amount_in_words_for(amount: int, locale: str) -> str:
    """The page's words for an amount: English on English pages, else the receipt's Vietnamese."""
    return amount_in_words_en(amount) if locale == "en" else amount_in_words(amount)
