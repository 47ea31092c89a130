"""Vietnamese alphabetical order for lists people read (agencies, procedures, ranking ties).

Babel has no collation and PyICU needs ICU built from source, so this is the small rule itself:
letters in the Vietnamese alphabet's order (a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư
v x y; f j w z, used in foreign names, where the Latin alphabet puts them), case and tone marks
ignored at first; then the tones in dictionary order (ngang, huyền, hỏi, ngã, sắc, nặng); then
lower case before upper. Spaces and punctuation come before letters, digits before letters, so
"Hà Đông" < "Hàng Bạc" < "Hoàn Kiếm" and "Đống Đa" comes after every "D…", not last.
"""
from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: index for index, letter in enumerate(ALPHABET)}
_MODIFIERS = {"\u0306": "ă", "\u0302": {"a": "â", "e": "ê", "o": "ô"}, "\u031b": {"o": "ơ", "u": "ư"}}
TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # ngang, huyền, hỏi, ngã, sắc, nặng
_TONE_RANK = {mark: index for index, mark in enumerate(TONES)}
_LETTERS_FROM = 100  # letters rank after every space, punctuation mark and digit


def _letter(char: str) -> tuple[int, int, int]:
    """(primary, tone, case) of one character."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    lower = base.lower()
    case = 0 if base == lower else 1
    tone = 0
    for mark in marks:
        if mark in _TONE_RANK:
            tone = _TONE_RANK[mark]
        elif mark == "\u0306" and lower == "a":
            lower = "ă"
        elif isinstance(_MODIFIERS.get(mark), dict):
            lower = _MODIFIERS[mark].get(lower, lower)
    if lower in _RANK:
        return _LETTERS_FROM + _RANK[lower], tone, case
    if base.isspace():
        return 0, 0, 0
    if base.isdigit():
        return 50 + int(unicodedata.digit(base, 0)), 0, 0
    if base.isalpha():  # a letter outside the alphabet: after it, in code point order
        return _LETTERS_FROM + len(ALPHABET) + ord(lower), tone, case
    return 1 + min(ord(base), 48), 0, 0  # punctuation: before digits and letters


def sort_key(text: str | None) -> tuple:
    """A key for ``sorted``: Vietnamese order, then tones, then case, then the text itself."""
    original = text or ""
    text = unicodedata.normalize("NFC", " ".join(original.split()))
    letters = [_letter(c) for c in text]
    return (tuple(p for p, _, _ in letters), tuple(t for _, t, _ in letters), tuple(c for _, _, c in letters),
            original)


def sorted_vi(items, key=lambda item: item):
    """``items`` in Vietnamese order of ``key(item)``."""
    return sorted(items, key=lambda item: sort_key(key(item)))
