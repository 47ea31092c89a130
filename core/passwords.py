"""Staff passwords: what a new one must be, and generated ones.

A password chosen by a person is refused when it is shorter than ``MIN_LENGTH`` characters
(longer than ``MAX_LENGTH``: the hash of a very long password is wasted work), when it is in
the list of common passwords (``core/data/common-passwords.txt``), also followed only by digits
and punctuation ("matkhau@2026"), when it holds the username, or when it repeats a few characters.
Length counts characters, so a Vietnamese passphrase with diacritics counts as it reads.

A generated password is random (``secrets``), from letters and digits that are not confused
when read aloud or copied by hand, in groups of four; it is shown once and must be changed at
the first sign-in (``User.must_change_password``).
"""
from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path

from .errors import FieldError, ValidationError
from .refusals import Refusal

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
_TAIL = re.compile(r"[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def generate_password() -> str:
    """Sixteen random characters (about 92 bits), e.g. ``Hq7k-Zt3m-9wXe-Rb4p``."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def is_common(password: str, username: str = "") -> bool:
    lowered = password.lower()
    base = _TAIL.sub("", lowered)
    listed = common_passwords()
    if lowered in listed or base in listed:
        return True
    name = username.lower()
    if name and (name in (lowered, base) or (len(name) >= 4 and name in lowered)):
        return True
    return len(set(lowered)) < 4


def check_new_password(password: str, *, username: str = "", field: str = "new_password") -> None:
    """Refuses a password a person chose that is too short, too long or too easily guessed."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValidationError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters",
                              errors=[FieldError(field, f"{MIN_LENGTH} to {MAX_LENGTH} characters")],
                              code=Refusal.PASSWORD_LENGTH, params={"min": MIN_LENGTH, "max": MAX_LENGTH})
    if is_common(password, username):
        raise ValidationError("this password is among the most common ones (or is the username): choose another",
                              errors=[FieldError(field, "too common")], code=Refusal.PASSWORD_COMMON)
