"""SWIFT MT940, read line by line: one section per ``:20:`` block.

Why not the ``mt-940`` package at run time: measured on one block of 20,000 entries it takes
26 µs per entry just to parse and keeps every entry (with the whole text) until the block
ends, about 2 KB each; splitting the file at ``:20:`` does not help when one day's statement
is one block. A million-entry statement would take ~26 s and ~2 GB before the first entry
reached the database. This reader follows the same grammar (the ``:61:`` pattern below is
that of ``mt940.tags.Statement``), holds one entry at a time and takes about 13 µs per entry
all included (``bench/bench_statement_parse.py``); the tests check it against ``mt-940`` on
the fixture and on the simulator's output, so the package is a test dependency only.

Fields read:

- ``:20:`` statement reference (starts a section), ``:25:`` account (``BIC/account`` or
  ``BIN/account`` forms: the part after the last ``/`` is the account, a 6-digit part before
  it is the bank's BIN), ``:28C:`` statement/page number.
- ``:60F:``/``:60M:`` opening, ``:62F:``/``:62M:`` closing balance: ``C``/``D``, YYMMDD,
  currency (only VND is read), amount with a decimal comma (``125000000,``).
- ``:61:`` value date YYMMDD, optional entry (booking) date MMDD, mark ``C``/``D``/``RC``/
  ``RD``, optional funds code, amount, type code, customer reference ``//`` bank reference,
  and an optional second line of supplementary details. ``RC`` reverses a credit (money
  leaves: direction out), ``RD`` reverses a debit (money comes back: direction in).
- ``:86:`` the entry's content, possibly over several lines. A line of the full SWIFT width
  (65 characters) was cut by the bank and is joined to the next one as is; a shorter line
  ended where the text had a line break, which is kept as ``\\n``.

The period: the closing balance's date is the last day; the opening balance is dated the
day before the first day (the previous closing) by most banks and the first day by some:
the first day is the day after the opening date unless that passes the last day.
"""
from __future__ import annotations

import codecs
import io
import re
from datetime import date, timedelta
from functools import lru_cache
from typing import BinaryIO, Iterator

from ..transfers import IN, OUT, BankTransfer
from .model import (
    SectionEnd, SectionStart, SectionTally, StatementEntry, StatementError, SyntheticRefs,
    entry_amount, midnight_ict,
)

LINE_WIDTH = 65
_TAG = re.compile(r"^:(\d{2}[A-Z]?):")
_BALANCE = re.compile(r"^([CD])(\d{6})([A-Z]{3})([0-9][0-9,.]*)\s*$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,.]*)"
    r"(?P<type>[A-Z][A-Z0-9]{3})(?P<rest>.*)$")
_ENVELOPE = re.compile(r"^(?:-\}?|\{\d:.*|\}+)\s*$")
_YEAR_BOUNDARY_DAYS = 180  # an entry date this far from the value date is in the other year
_DAYS: dict[str, date] = {}
_IGNORED_TAGS = {"13D", "21", "34F", "64", "65", "90D", "90C", "NS"}


def read_mt940(stream: BinaryIO, head: bytes = b"") -> Iterator[SectionStart | StatementEntry | SectionEnd]:
    encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    text = io.TextIOWrapper(stream, encoding=encoding, newline=None)
    reader = _Reader()
    out = reader.out
    line_no = 0
    try:
        for line_no, raw in enumerate(text, 1):
            reader.line(raw.rstrip("\n"), line_no)
            if out:
                yield from out
                out.clear()
    except UnicodeDecodeError as exc:
        raise StatementError(f"MT940: the text is not {encoding.split('-sig')[0].upper()} ({exc.reason})",
                             where=f"after line {line_no}") from None
    finally:
        try:
            text.detach()  # the caller's stream stays open
        except ValueError:  # the caller closed it first
            pass
    reader.finish()
    yield from out
    if reader.sections == 0:
        raise StatementError("MT940: no :20: statement block in the file")


class _Reader:
    """Reads line by line; the events a line completes are appended to ``out``."""

    def __init__(self) -> None:
        self.out: list[SectionStart | StatementEntry | SectionEnd] = []
        self.sections = 0
        self.refs = SyntheticRefs()
        self.block: _Block | None = None
        self.tag: str | None = None        # the field being read, and its lines
        self.lines: list[str] = []
        self.tag_line = 0

    def line(self, line: str, line_no: int) -> None:
        match = _TAG.match(line)
        if match is None:
            if self.tag is not None and (self.tag == "86" or self.tag == "61" or self.tag in _IGNORED_TAGS):
                if _ENVELOPE.match(line):   # end of the SWIFT message: the field is over
                    self.flush()
                else:
                    self.lines.append(line)
            elif line.strip() and not _ENVELOPE.match(line) and self.block is not None:
                raise StatementError(f"text outside a field: {line[:40]!r}", where=f"line {line_no}")
            return
        self.flush()
        self.tag = match.group(1)
        self.lines = [line[match.end():]]
        self.tag_line = line_no

    def flush(self) -> None:
        """The field just read is complete: act on it."""
        tag, lines, where = self.tag, self.lines, f"line {self.tag_line}"
        self.tag, self.lines = None, []
        if tag is None:
            return
        if tag == "20":
            self.finish()
            self.block = _Block(lines[0].strip(), self.tag_line)
            return
        block = self.block
        if block is None:
            raise StatementError(f"field :{tag}: before the first :20:", where=where)
        if tag == "61":
            self.flush_entry(block)
            self.start_section(block, where)
            block.pending_entry = _parse_statement_line(lines, self.tag_line)
        elif tag == "86":
            if block.pending_entry is not None and block.pending_entry["content"] is None:
                block.pending_entry["content"] = _join_details(lines)
            # an :86: after the closing balance is information to the account owner: not an entry
        elif tag in ("25", "25P"):
            block.set_account(lines[0].strip(), where)
        elif tag == "28C":
            block.number = lines[0].strip()
        elif tag in ("60F", "60M", "60"):
            block.opening, block.opening_date = _balance(lines[0], where)
        elif tag in ("62F", "62M", "62"):
            self.flush_entry(block)
            block.closing, block.closing_date = _balance(lines[0], where)

    def finish(self) -> None:
        """End of the current block (a new ``:20:`` or the end of the file)."""
        self.flush()
        block = self.block
        if block is None:
            return
        self.flush_entry(block)
        self.start_section(block, f"line {block.line}")
        assert block.tally is not None
        self.out.append(block.tally.end(block.opening, block.closing, *block.period()))
        self.block = None

    def start_section(self, block: _Block, where: str) -> None:
        if block.tally is not None:
            return
        if block.account is None:
            raise StatementError(f"statement {block.reference!r} has no :25: account before its entries",
                                 where=where)
        block.tally = SectionTally(self.sections, block.account)
        self.sections += 1
        start, _ = block.period()
        self.out.append(SectionStart(block.tally.index, block.account, "VND", block.reference, block.bank_bin,
                                     start, None, block.opening))

    def flush_entry(self, block: _Block) -> None:
        fields = block.pending_entry
        if fields is None:
            return
        block.pending_entry = None
        tally, account = block.tally, block.account
        assert tally is not None and account is not None
        content = (fields["content"] or "").strip()
        ref = fields["bank_ref"]
        synthetic = not ref
        if not ref:
            ref = self.refs.make(account, fields["booking"], fields["amount"], fields["direction"], content)
        extra = {}
        if fields["customer_ref"] and fields["customer_ref"].upper() != "NONREF":
            extra["customer_ref"] = fields["customer_ref"]
        if fields["supplementary"]:
            extra["supplementary"] = fields["supplementary"]
        transfer = BankTransfer(
            account=account, bank_ref=ref, amount=fields["amount"], direction=fields["direction"],
            booked_at=_midnight(fields["booking"]), content=content, bank_bin=block.bank_bin,
            value_date=fields["value"], reversal=fields["reversal"], extra=extra)
        tally.add(transfer)
        self.out.append(StatementEntry(tally.index, fields["line"], transfer, fields["booking"], synthetic))


class _Block:
    """One ``:20:`` statement while it is read."""

    def __init__(self, reference: str, line: int) -> None:
        self.reference = reference or None
        self.line = line
        self.account: str | None = None
        self.bank_bin: str | None = None
        self.number: str | None = None
        self.opening: int | None = None
        self.opening_date: date | None = None
        self.closing: int | None = None
        self.closing_date: date | None = None
        self.tally: SectionTally | None = None
        self.pending_entry: dict | None = None

    def set_account(self, value: str, where: str) -> None:
        bank, _, account = value.rpartition("/")
        if not account:
            raise StatementError(f":25: account {value!r} is empty", where=where)
        self.account = account.strip()
        if re.fullmatch(r"\d{6}", bank.strip()):
            self.bank_bin = bank.strip()

    def period(self) -> tuple[date | None, date | None]:
        end = self.closing_date
        start = self.opening_date
        if start is not None and (end is None or start < end):
            start = start + timedelta(days=1)
        return start, end


@lru_cache(maxsize=256)
def _midnight(day: date):
    return midnight_ict(day)


def _parse_statement_line(lines: list[str], line_no: int) -> dict:
    where = f"line {line_no}"
    text = lines[0].rstrip()
    match = _STATEMENT_LINE.match(text)
    if match is None:
        raise StatementError(f":61: {text!r} does not read as YYMMDD[MMDD]C|D|RC|RD amount type refs", where=where)
    value = _yymmdd(match.group("value"), where)
    booking = value
    if match.group("entry"):
        booking = _entry_date(value, match.group("entry"), where)
    amount = entry_amount(_amount(match.group("amount"), where), line=line_no, where=where)
    if amount == 0:
        raise StatementError(":61: amount 0: an entry moves money", where=where)
    mark = match.group("mark")
    customer, _, bank = match.group("rest").partition("//")
    supplementary = "\n".join(line.strip() for line in lines[1:] if line.strip())
    return {
        "line": line_no, "value": value, "booking": booking, "amount": amount,
        "direction": IN if mark in ("C", "RD") else OUT, "reversal": mark.startswith("R"),
        "customer_ref": customer.strip(), "bank_ref": bank.strip(), "supplementary": supplementary,
        "content": None,
    }


def _join_details(lines: list[str]) -> str:
    parts = [lines[0]]
    for previous, line in zip(lines, lines[1:]):
        parts.append(line if len(previous) >= LINE_WIDTH else "\n" + line)
    return "".join(parts)


def _balance(value: str, where: str) -> tuple[int, date]:
    match = _BALANCE.match(value.strip())
    if match is None:
        raise StatementError(f"balance {value.strip()!r} does not read as C|D YYMMDD currency amount", where=where)
    mark, day, currency, amount = match.groups()
    if currency != "VND":
        raise StatementError(f"balance in currency {currency}: only VND statements are read", where=where)
    balance = _amount(amount, where)
    return (-balance if mark == "D" else balance), _yymmdd(day, where)


def _amount(text: str, where: str) -> int:
    """SWIFT ``15d``: digits, a decimal comma, up to two decimals that must be zeros for VND."""
    whole, comma, fraction = text.partition(",")
    if "." in text or "," in fraction or not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise StatementError(f"amount {text!r} is not a SWIFT amount (digits and a decimal comma)", where=where)
    if fraction.strip("0"):
        raise StatementError(f"amount '{text}' is not a whole number of đồng", where=where)
    return int(whole)


def _yymmdd(text: str, where: str) -> date:
    day = _DAYS.get(text)
    if day is not None:
        return day
    try:
        day = date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise StatementError(f"{text!r} is not a YYMMDD date", where=where) from None
    if len(_DAYS) > 4096:
        _DAYS.clear()
    _DAYS[text] = day
    return day


def _entry_date(value: date, mmdd: str, where: str) -> date:
    try:
        entry = date(value.year, int(mmdd[:2]), int(mmdd[2:]))
    except ValueError:
        raise StatementError(f"entry date {mmdd!r} is not MMDD", where=where) from None
    if (value - entry).days >= _YEAR_BOUNDARY_DAYS:
        entry = entry.replace(year=entry.year + 1)
    elif (entry - value).days >= _YEAR_BOUNDARY_DAYS:
        entry = entry.replace(year=entry.year - 1)
    return entry
