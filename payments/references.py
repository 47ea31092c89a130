"""Payment references: short codes that survive the trip through a bank's transfer content.

Format: ``HS`` + 8 random symbols + 1 check symbol = 11 characters, e.g. ``HS7K2M9QXA4``.

- Symbols come from a 31-character alphabet: the digits 2–9 and the letters A–Z without
  ``I``, ``L`` and ``O`` (nothing that reads as ``0``/``1``/another letter). 31 is prime,
  which is what makes the check below exact.
- The check symbol makes the weighted sum ``Σ (i+1)·value(c_i)`` over all 11 characters
  divisible by 31. A single wrong character changes the sum by ``w·d`` with ``0 < w, |d| < 31``,
  and a swap of two neighbours by ``±d``: neither is ever a multiple of 31, so every single
  substitution and every adjacent transposition is caught.
- 8 random symbols give 31⁸ ≈ 8.5 × 10¹¹ references; they are drawn from ``secrets`` and
  uniqueness is enforced by the database.
- The reference goes first in the QR purpose (``HS7K2M9QXA4 LE PHI``) so that banks that cut
  the content keep it, and it is found again after case changes, diacritics, punctuation and
  spaces inserted or removed (see ``find_references``).
"""
from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from operator import mul

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
assert len(ALPHABET) == 31
PREFIX = "HS"
BODY_LENGTH = 8
LENGTH = len(PREFIX) + BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_MOD = len(ALPHABET)


_WEIGHTS = range(1, 64)


def _weighted_sum(text: str) -> int:
    return sum(map(mul, _WEIGHTS, map(_VALUE.__getitem__, text)))


def check_symbol(stem: str) -> str:
    """The symbol that completes ``stem`` (prefix + body) into a valid reference."""
    weight = len(stem) + 1
    # weight * x ≡ -sum (mod 31); the inverse exists because 31 is prime.
    x = (-_weighted_sum(stem) * pow(weight, -1, _MOD)) % _MOD
    return ALPHABET[x]


def is_valid(reference: str) -> bool:
    return (
        len(reference) == LENGTH
        and reference.startswith(PREFIX)
        and all(ch in _VALUE for ch in reference)
        and _weighted_sum(reference) % _MOD == 0
    )


_INVERSE = {weight: pow(weight, -1, _MOD) for weight in range(1, LENGTH + 1)}


def one_edit_away(damaged: str) -> list[str]:
    return list(_one_edit_away(damaged))


@functools.lru_cache(maxsize=65536)  # a chunk asks for each look-alike twice (prefetch, then the matcher)
def _one_edit_away(damaged: str) -> tuple[str, ...]:
    """Valid references one wrong symbol or one swap of neighbours away from ``damaged``.

    Computed from the check equation rather than by trying all 31 symbols at every position
    (that took 2.5 ms a line on a statement full of unknown look-alikes): the weighted sum
    must be 0 mod 31, so changing the symbol at weight ``w`` from ``v`` to ``u`` is valid for
    exactly one ``u = v - S / w``; swapping neighbours of values ``x, y`` changes the sum by
    ``x - y``. The order is the one trying would give: by position, then the swaps."""
    if len(damaged) != LENGTH:
        return ()
    original, damaged = damaged, PREFIX + damaged[len(PREFIX):]  # candidates carry the right prefix
    values = [_VALUE.get(ch) for ch in damaged]
    foreign = [i for i, v in enumerate(values) if v is None]
    if len(foreign) > 1:
        return ()
    total = sum((i + 1) * v for i, v in enumerate(values) if v is not None) % _MOD
    found: list[str] = []
    for i in range(len(PREFIX), LENGTH):  # one wrong symbol: exactly one symbol fixes each position
        if foreign and i != foreign[0]:
            continue
        inverse = _INVERSE[i + 1]
        if values[i] is None:
            u = (-total * inverse) % _MOD
        else:
            u = (values[i] - total * inverse) % _MOD
            if u == values[i]:
                continue
        candidate = damaged[:i] + ALPHABET[u] + damaged[i + 1:]
        if candidate not in found:
            found.append(candidate)
    if not foreign:
        for i in range(len(PREFIX), LENGTH - 1):
            x, y = values[i], values[i + 1]
            if (x != y or damaged != original) and (total + x - y) % _MOD == 0:
                swapped = damaged[:i] + damaged[i + 1] + damaged[i] + damaged[i + 2:]
                if swapped not in found:
                    found.append(swapped)
    return tuple(found)


def new_reference() -> str:
    stem = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return stem + check_symbol(stem)


def normalise(text: str) -> str:
    """Upper-case, diacritics removed (``Đ`` → ``D``), everything but A–Z and 0–9 dropped."""
    if text.isascii():  # most bank contents: nothing to decompose (checked in C)
        return _NOT_ALNUM.sub("", text.upper())
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    return _NOT_ALNUM.sub("", "".join(ch for ch in text if not unicodedata.combining(ch)).upper())


_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


_CANDIDATE = re.compile(f"(?={PREFIX}([{ALPHABET}]{{{BODY_LENGTH + 1}}}))")


def find_references(content: str) -> tuple[list[str], list[str]]:
    """References in a transfer content: (valid ones, look-alikes with a wrong check symbol).

    The content is normalised first, so spaces, dots, dashes, line breaks and case added by
    banks or payers do not matter. Look-alikes are only ever offered to a person.
    """
    flat = normalise(content)
    valid: list[str] = []
    damaged: list[str] = []
    for match in _CANDIDATE.finditer(flat):
        candidate = PREFIX + match.group(1)
        target = valid if is_valid(candidate) else damaged
        if candidate not in target:
            target.append(candidate)
    return valid, damaged


def purpose_for(reference: str, label: str = "PHI LE PHI") -> str:
    """The QR purpose: the reference first, then a short label, within 25 characters."""
    purpose = f"{reference} {label}".strip()
    return purpose if len(purpose) <= 25 else reference
