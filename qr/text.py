"""Vietnamese text to what a VietQR field may hold (printable ASCII)."""
from __future__ import annotations

import unicodedata

_SPECIAL = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"})


def strip_diacritics(text: str) -> str:
    """``"Lệ phí Đăng ký"`` → ``"Le phi Dang ky"``; other characters are left as they are."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def is_printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def first_non_printable(text: str) -> tuple[int, str] | None:
    if text.isascii() and text.isprintable():  # the usual case, checked in C
        return None
    for index, ch in enumerate(text):
        if not " " <= ch <= "~":
            return index, ch
    return None


def search_key(text: str | None) -> str:
    """What a person's name or a typed search is compared by: no diacritics, lower case, one
    space between words (``"  Nguyễn  Văn AN"`` → ``"nguyen van an"``)."""
    return " ".join(strip_diacritics(unicodedata.normalize("NFC", text or "")).lower().split())
