"""What both MT940 readers share (the fast line reader, ``mt940``, and the ``mt-940`` package's
fallback, ``mt940_package``): the refusals that name a line and a field, amounts and dates,
the account of ``:25:``, the content of ``:86:`` and the counterparty it names. One set of
rules, so that a statement reads the same whichever path read it."""
from __future__ import annotations

import re
from datetime import date

from .model import StatementError

LINE_WIDTH = 65
_YEAR_BOUNDARY_DAYS = 180  # an entry date this far from the value date is in the other year
_DAYS: dict[str, date] = {}
_ENTRY_DAYS: dict[tuple[date, str], date] = {}
_ACCOUNT_CURRENCY = re.compile(r"(?<=\d)VND$")
_GVC_SUBFIELD = re.compile(r"\?(\d{2})([^?]*)")


class FieldRefused(StatementError):
    """A field that cannot be imported, by line and field: ``line 57, field :61:: ...``."""

    def __init__(self, reason: str, *, line: int, field: str):
        super().__init__(reason, where=f"line {line}, field :{field}:")
        self.line = line
        self.field = field


class FieldUnreadable(FieldRefused):
    """A field the fast reader cannot read; the ``mt-940`` package may (30 February, an amount
    on the line after its ``:61:``...). Raised to the caller only when the package cannot either."""


def where(line: int, field: str) -> str:
    return f"line {line}, field :{field}:"


def swift_amount(text: str, line: int, field: str) -> int:
    """SWIFT ``15d``: digits, a decimal comma, up to two decimals that must be zeros for VND."""
    whole, _, fraction = text.partition(",")
    if "." in text or "," in fraction or not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise FieldUnreadable(f"amount {text!r} is not a number (digits and a decimal comma)", line=line, field=field)
    if fraction.strip("0"):
        raise FieldRefused(f"amount '{text}' is not a whole number of đồng", line=line, field=field)
    return int(whole)


def yymmdd(text: str, line: int, field: str) -> date:
    day = _DAYS.get(text)
    if day is not None:
        return day
    try:
        day = date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise FieldUnreadable(f"{text!r} is not a YYMMDD date", line=line, field=field) from None
    if len(_DAYS) > 4096:
        _DAYS.clear()
    _DAYS[text] = day
    return day


def entry_date(value: date, mmdd: str, line: int) -> date:
    key = (value, mmdd)
    entry = _ENTRY_DAYS.get(key)
    if entry is None:
        entry = _ENTRY_DAYS[key] = _entry_date(value, mmdd, line)
        if len(_ENTRY_DAYS) > 4096:
            _ENTRY_DAYS.clear()
    return entry


def _entry_date(value: date, mmdd: str, line: int) -> date:
    try:
        entry = date(value.year, int(mmdd[:2]), int(mmdd[2:]))
    except ValueError:
        raise FieldUnreadable(f"entry date {mmdd!r} is not MMDD", line=line, field="61") from None
    return year_across(value, entry)


def year_across(value: date, entry: date) -> date:
    """The entry date (given without a year) in the year that puts it nearest the value date."""
    if (value - entry).days >= _YEAR_BOUNDARY_DAYS:
        return entry.replace(year=entry.year + 1)
    if (entry - value).days >= _YEAR_BOUNDARY_DAYS:
        return entry.replace(year=entry.year - 1)
    return entry


def account_of(value: str, line: int) -> tuple[str, str | None]:
    """``:25:`` as (account, BIN): ``BIC/account``, ``BIN/account`` or the account alone; the
    part after the last ``/`` is the account, a 6-digit part before it the bank's BIN. A
    currency written after the number (``113000012345VND``, as Dutch banks do) is dropped."""
    bank, _, account = value.strip().rpartition("/")
    account = _ACCOUNT_CURRENCY.sub("", account.strip())
    if not account:
        raise FieldRefused(f"account {value.strip()!r} is empty", line=line, field="25")
    bank = bank.strip()
    return account, (bank if len(bank) == 6 and bank.isdigit() else None)


def join_details(lines: list[str]) -> str:
    """The ``:86:`` text: a line of the full SWIFT width (65 characters) was cut by the bank and
    is joined to the next as is; a shorter line ended where the text had a line break (kept)."""
    if len(lines) == 1:
        return lines[0]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return ""
    parts = [lines[0]]
    for previous, line in zip(lines, lines[1:]):
        parts.append(line if len(previous) >= LINE_WIDTH else "\n" + line)
    return "".join(parts)


def counterparty(content: str) -> tuple[str | None, str | None]:
    """(account, name) of the other party when the ``:86:`` is structured: the German GVC
    sub-fields (``?31`` account, ``?32``/``?33`` name) or SWIFT's ``/CNTP/account/BIC/name/``."""
    if "/CNTP/" in content:
        parts = content.replace("\n", "").split("/CNTP/", 1)[1].split("/")
        account = parts[0].strip() or None if parts else None
        name = parts[2].strip() or None if len(parts) > 2 else None
        return account, name
    if "?3" in content and re.match(r"\d{3}\?", content):
        fields: dict[str, str] = {}
        for key, value in _GVC_SUBFIELD.findall(content.replace("\n", "")):
            fields.setdefault(key, value)
        name = (fields.get("32", "") + fields.get("33", "")).strip() or None
        return (fields.get("31", "").strip() or None), name
    return None, None
