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

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
assert len(ALPHABET) == 31
PREFIX = "HS"
BODY_LENGTH = 8
LENGTH = len(PREFIX) + BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_MOD = len(ALPHABET)


def _weighted_sum(text: str) -> int:
    return sum((i + 1) * _VALUE[ch] for i, ch in enumerate(text))


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
