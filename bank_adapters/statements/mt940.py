"""SWIFT MT940, read line by line: one section per ``:20:`` block; what this fast reader
cannot read, the ``mt-940`` package reads (``mt940_package``).

Two paths, one result. The fast path streams: it holds one field and one entry at a time and
takes about 11 µs per entry. The ``mt-940`` package (5.1.1) reads more variants but takes
several times that, and given a whole statement it holds every entry with its text until the
statement ends (``bench/bench_statement_parse.py``, docs/BENCHMARKS.md). So the fast reader
reads what banks write (and what it can read cheaply), and hands the package only the unit
it cannot read:

- a unit is one entry (its ``:61:`` and the fields up to the next ``:61:``), or the statement's
  fields before its first entry, or its closing fields; entries are yielded when the next
  starts, so every entry before the unit is already yielded, whole and correct;
- the package reads that unit, its entries are mapped by the same rules (``_Reader.emit``),
  and the fast path takes over again at the next ``:61:``: a statement whose every entry needs
  the package still streams, in flat memory;
- if the package cannot read the unit either, the refusal is the fast reader's: the line and
  the field (``line 57, field :61:: amount '12,3,4' is not a number ...``); nor is the package
  trusted where it would misread an amount (no type code after it: ``1.000,`` read as 1);
- :class:`SectionEnd` ``.reader`` says which path read the section: ``"fast"``, ``"package"``
  (every entry, or only fields without entries) or ``"fast+package"``.

Read cheaply on the fast path: the SWIFT envelope (``{1:…}{2:…}{3:…}{4:`` before, ``-}`` and
``{5:…}`` after), header lines before a message's first field (``ABNANL2A``, ``940``,
``0000 01INGBNL2AXXXX00001``, ``:940:``), blank lines, CRLF/LF/CR, a trailing ``-``, several
statements in one file, ``:28:`` or ``:28C:``, ``:60F:``/``:60M:``/``:60:`` and
``:62F:``/``:62M:``/``:62:``, ``:64:``/``:65:``/``:13D:``/``:21:``/``:34F:``/``:90D:``/``:90C:``/
``:NS:`` (skipped, with their continuation lines), several ``:86:`` for one entry (joined by a
line break, as the package does), and an unknown tag at the start of a line (``:26:`` in a
wrapped timestamp): text of the field before it, as the package reads it.

Fields read:

- ``:20:`` statement reference (starts a section), ``:25:`` account (``mt940_fields.account_of``),
  ``:28C:``/``:28:`` statement/page number.
- ``:60F:``/``:60M:`` opening, ``:62F:``/``:62M:`` closing balance: ``C``/``D``, YYMMDD,
  currency (only VND is read), amount with a decimal comma (``125000000,``).
- ``:61:`` value date YYMMDD, optional entry (booking) date MMDD, mark ``C``/``D``/``RC``/
  ``RD``, optional funds code, amount, type code, customer reference (16 characters at most)
  ``//`` bank reference, and supplementary details (the rest of the line and the next line).
  ``RC`` reverses a credit (money leaves: direction out), ``RD`` reverses a debit (money comes
  back: direction in). A bank reference ``NONREF`` is no reference.
- ``:86:`` the entry's content (``mt940_fields.join_details``); without one, the supplementary
  details. A structured ``:86:`` names the counterparty (``mt940_fields.counterparty``).

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
from .mt940_fields import (
    FieldRefused, FieldUnreadable, account_of, counterparty, entry_date, join_details, swift_amount, where, yymmdd,
)
from .model import (
    SectionEnd, SectionStart, SectionTally, StatementEntry, StatementError, SyntheticRefs, entry_amount,
    midnight_ict,
)

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_BALANCE = re.compile(r"^([CD])(\d{6})([A-Z]{3})([0-9][0-9,.]*)$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,.]*)"
    r"(?P<type>[A-Z][A-Z0-9 ]{3})(?P<rest>.*)$")
# What follows the type code, as mt-940 splits it: customer reference (16x), // bank reference, the rest.
_REFERENCES = re.compile(r"^(?P<customer>(?:(?!//).){0,16})(?://(?P<bank>.{0,23}))?(?P<extra>.*)$")
_ENVELOPE_BLOCK = re.compile(r"\{\d:")
_TRAILER = re.compile(r"^(?:-\}?(?:\{5:.*)?|\}+)$")  # "-", "-}", "-}{5:{CHK:...}}": the message ends
_ENVELOPE_HEAD = re.compile(r"(?:\{[1-3]:(?:[^{}]|\{[^{}]*\})*\}\s*)*(?:\{4:)?")
# Tags mt-940 knows, by number; any other tag at the start of a line is text of the field before it.
_KNOWN = frozenset({"13", "20", "21", "25", "28", "34", "60", "61", "62", "64", "65", "86", "90", "NS"})
_SKIPPED = frozenset({"13", "21", "34", "64", "65", "90", "NS"})
_FREE_TEXT = _SKIPPED | {"61", "86"}  # fields whose value may go on over several lines


def read_mt940(stream: BinaryIO, head: bytes = b"") -> Iterator[SectionStart | StatementEntry | SectionEnd]:
    encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    text = io.TextIOWrapper(stream, encoding=encoding, newline=None)  # CRLF, LF and CR alike
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
        where = f"after line {line_no}"
        if encoding == "utf-8-sig" and isinstance(exc.object, bytes):
            # The text is decoded a chunk ahead of the lines: count the line breaks before the fault.
            before = exc.object[:exc.start]
            breaks = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
            where = f"line {line_no + 1 + breaks}"
        raise StatementError(f"MT940: the text is not {encoding.split('-sig')[0].upper()} ({exc.reason})",
                             where=where) from None
    finally:
        try:
            text.detach()  # the caller's stream stays open
        except ValueError:  # the caller closed it first
            pass
    reader.end()
    yield from out
    if reader.sections == 0:
        raise StatementError("MT940: no :20: statement block in the file")


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
        self.package = False   # the package read a part of it
        self.fast_entries = 0  # entries the fast path read

    @property
    def reader(self) -> str:
        if not self.package:
            return "fast"
        return "fast+package" if self.fast_entries else "package"

    def period(self) -> tuple[date | None, date | None]:
        end = self.closing_date
        start = self.opening_date
        if start is not None and (end is None or start < end):
            start = start + timedelta(days=1)
        return start, end


class PackageBlock:
    """The lines of the unit the fast reader could not read, for the package, and why it could not."""

    def __init__(self, block: _Block, error: FieldUnreadable, lines: list[tuple[int, str]]) -> None:
        self.block = block
        self.error = error
        self.lines = lines


class _Reader:
    """Reads line by line; the events a line completes are appended to ``out``.

    ``unit`` holds the lines since the point the package would resume from: the ``:20:`` line
    until the statement's first entry, then the ``:61:`` line of the entry being read (an
    entry is yielded when the next one starts, so everything before the unit is yielded)."""

    def __init__(self) -> None:
        self.out: list[SectionStart | StatementEntry | SectionEnd] = []
        self.sections = 0
        self.refs = SyntheticRefs()
        self.block: _Block | None = None
        self.tag: str | None = None        # the field being read, and its lines
        self.lines: list[str] = []
        self.tag_line = 0
        self.unit: list[tuple[int, str]] = []
        self.fallback: PackageBlock | None = None
        self.between = True                # outside a message: header lines until its first field

    # -- lines ------------------------------------------------------------------------------------

    def line(self, raw: str, line_no: int) -> None:
        text = raw.rstrip()
        if not text:
            return
        if text[0] in "{-}":
            text = self.envelope(text)
            if text is None:
                return
            raw = text
        match = _TAG.match(text)
        if match is None:
            if not self.between:
                self.text_line(raw, text, line_no)
            return
        self.between = False
        tag = match.group(1)
        if tag not in _KNOWN and tag[:2] not in _KNOWN:  # ":26:37 Fo..." in a wrapped :86:: text, as mt-940 reads it
            self.text_line(raw, text, line_no)
            return
        if tag == "20":
            self.start_block(text, line_no)
            return
        if self.fallback is not None:
            if tag != "61":
                self.fallback.lines.append((line_no, raw))
                return
            self.run_package()  # the next entry: back to the fast path
        if self.block is None:
            if tag[:2] in _SKIPPED:
                return
            raise StatementError(f"field :{tag}: before the first :20:", where=f"line {line_no}")
        self.unit.append((line_no, raw))
        try:
            self.flush()
            if tag == "61":
                block = self.block
                if block.pending_entry is not None:
                    self.flush_entry(block)
                elif block.tally is None:
                    self.start_section(block, line_no)
                self.unit = [(line_no, raw)]
        except FieldUnreadable as exc:
            self.to_package(exc)
            return
        self.tag = tag
        self.lines = [raw[match.end():]]
        self.tag_line = line_no

    def envelope(self, text: str) -> str | None:
        """The SWIFT envelope and the message trailer: what is left of the line, or None."""
        if text[0] == "{":
            if not _ENVELOPE_BLOCK.match(text):
                return text  # a line of text that starts with "{"
            match = _ENVELOPE_HEAD.match(text)
            self.between = True  # a new message: header lines may follow until its first field
            rest = text[match.end():].strip() if match.end() else ""
            return rest or None
        if _TRAILER.match(text):
            self.between = True
            return None
        return text  # a line of text that starts with "-" or "}"

    def text_line(self, raw: str, text: str, line_no: int) -> None:
        """A line that is no field of its own: the value of the field above goes on."""
        if self.fallback is not None:
            self.fallback.lines.append((line_no, raw))
            return
        if self.block is None:
            return  # header lines before the first :20:
        self.unit.append((line_no, raw))
        if text == ":":  # ":" then "86:..." on the next line: a tag cut in two
            self.to_package(FieldUnreadable("a tag cut over two lines", line=line_no, field=self.tag or "20"))
        elif self.tag in _FREE_TEXT:
            self.lines.append(raw)
        else:
            self.to_package(FieldUnreadable(f"text after the field's value: {text[:40]!r}", line=line_no,
                                            field=self.tag or "20"))

    def start_block(self, text: str, line_no: int) -> None:
        self.end()
        self.block = _Block(text[4:].strip(), line_no)
        self.unit = [(line_no, text)]
        self.tag, self.lines = None, []

    def end(self) -> None:
        """The end of a statement: a new ``:20:`` or the end of the file."""
        if self.fallback is not None:
            self.run_package()  # its refusal, if the package cannot read the unit either, stands
        try:
            self.flush()
        except FieldUnreadable as exc:
            self.to_package(exc)
            self.run_package()
        self.finish()

    # -- the package's path -----------------------------------------------------------------------

    def to_package(self, error: FieldUnreadable) -> None:
        """The ``mt-940`` package reads the unit: the entry being read (to the next ``:61:``), or
        the statement's fields before its first entry, or its closing fields."""
        assert self.block is not None
        self.block.pending_entry = None  # the package reads it again, from the unit's first line
        self.fallback = PackageBlock(self.block, error, self.unit)
        self.unit = []
        self.tag, self.lines = None, []

    def run_package(self) -> None:
        from .mt940_package import read_unit

        pending, self.fallback = self.fallback, None
        assert pending is not None
        pending.block.package = True
        read_unit(self, pending)

    # -- fields -----------------------------------------------------------------------------------

    def flush(self) -> None:
        """The field just read is complete: act on it."""
        tag, lines, line = self.tag, self.lines, self.tag_line
        self.tag, self.lines = None, []
        if tag is None:
            return
        block = self.block
        assert block is not None
        number = tag[:2]
        if number == "61":
            block.pending_entry = parse_statement_line(lines, line)
        elif number == "86":
            entry = block.pending_entry
            if entry is not None:
                details = join_details(lines)
                entry["content"] = details if entry["content"] is None else f"{entry['content']}\n{details.strip()}"
            # an :86: after the closing balance is information to the account owner: not an entry
        elif number in _SKIPPED:
            pass
        elif len(lines) > 1:
            raise FieldUnreadable(f"text after the field's value: {lines[1].strip()[:40]!r}", line=line, field=tag)
        elif number == "25":
            block.account, block.bank_bin = account_of(lines[0], line)
        elif number == "28":
            block.number = lines[0].strip()
        elif number == "60":
            block.opening, block.opening_date = balance(lines[0], line, tag)
        elif number == "62":
            closing = balance(lines[0], line, tag)
            self.flush_entry(block)
            block.closing, block.closing_date = closing
            # the last entry is yielded: the package would resume from this line
            self.unit = [item for item in self.unit if item[0] >= line]

    def finish(self) -> None:
        """End of the current block (a new ``:20:`` or the end of the file)."""
        self.flush()
        block = self.block
        if block is None:
            return
        self.flush_entry(block)
        self.start_section(block, block.line)
        assert block.tally is not None
        self.out.append(block.tally.end(block.opening, block.closing, *block.period(), reader=block.reader))
        self.block = None

    def start_section(self, block: _Block, line: int) -> None:
        if block.tally is not None:
            return
        if block.account is None:
            raise StatementError(f"statement {block.reference!r} has no :25: account before its entries",
                                 where=f"line {line}")
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
        block.fast_entries += 1
        self.emit(block, fields)

    def emit(self, block: _Block, fields: dict) -> None:
        """One entry, whichever path read it."""
        tally, account = block.tally, block.account
        assert tally is not None and account is not None
        content = (fields["content"] if fields["content"] is not None else fields["supplementary"]).strip()
        ref = fields["bank_ref"]
        if len(ref) == 6 and ref.upper() == "NONREF":
            ref = ""
        synthetic = not ref
        if not ref:
            ref = self.refs.make(account, fields["booking"], fields["amount"], fields["direction"], content)
        extra = {}
        if fields["customer_ref"] and fields["customer_ref"].upper() != "NONREF":
            extra["customer_ref"] = fields["customer_ref"]
        if fields["supplementary"]:
            extra["supplementary"] = fields["supplementary"]
        counter_account, counter_name = counterparty(content) if ("?3" in content or "/CNTP/" in content) else (
            None, None)
        transfer = BankTransfer(
            account=account, bank_ref=ref, amount=fields["amount"], direction=fields["direction"],
            booked_at=_midnight(fields["booking"]), content=content, bank_bin=block.bank_bin,
            counter_account=counter_account, counter_name=counter_name,
            value_date=fields["value"], reversal=fields["reversal"], extra=extra)
        tally.add(transfer)
        self.out.append(StatementEntry(tally.index, fields["line"], transfer, fields["booking"], synthetic))


@lru_cache(maxsize=256)
def _midnight(day: date):
    return midnight_ict(day)


def entry_fields(line: int, value: date, booking: date, amount: int, mark: str, customer_ref: str, bank_ref: str,
                 supplementary: str, content: str | None) -> dict:
    """An entry as both paths hand it to :meth:`_Reader.emit`; refuses what no path imports."""
    amount = entry_amount(amount, line=line, where=where(line, "61"))
    if amount == 0:
        raise FieldRefused("amount 0: an entry moves money", line=line, field="61")
    return {
        "line": line, "value": value, "booking": booking, "amount": amount,
        "direction": IN if mark in ("C", "RD") else OUT, "reversal": mark.startswith("R"),
        "customer_ref": customer_ref.strip(), "bank_ref": bank_ref.strip(), "supplementary": supplementary,
        "content": content,
    }


def parse_statement_line(lines: list[str], line: int) -> dict:
    text = lines[0].rstrip()
    match = _STATEMENT_LINE.match(text)
    if match is None:
        raise FieldUnreadable(f"{text!r} does not read as YYMMDD[MMDD]C|D|RC|RD amount type refs",
                              line=line, field="61")
    value = yymmdd(match.group("value"), line, "61")
    booking = value
    if match.group("entry"):
        booking = entry_date(value, match.group("entry"), line)
    amount = swift_amount(match.group("amount"), line, "61")
    rest = match.group("rest")
    customer, _, bank = rest.partition("//")
    extra = ""
    if len(customer) > 16 or len(bank) > 23:  # longer than SWIFT allows: split as mt-940 does
        refs = _REFERENCES.match(rest)
        assert refs is not None  # every part of the pattern may be empty
        customer, bank, extra = refs.group("customer"), refs.group("bank") or "", refs.group("extra")
    supplementary = ""
    if extra or len(lines) > 1:
        supplementary = "\n".join(part.strip() for part in [extra, *lines[1:]] if part.strip())
    return entry_fields(line, value, booking, amount, match.group("mark"), customer, bank, supplementary, None)


def balance(value: str, line: int, tag: str) -> tuple[int, date]:
    match = _BALANCE.match(value.strip())
    if match is None:
        raise FieldUnreadable(f"balance {value.strip()!r} does not read as C|D YYMMDD currency amount",
                              line=line, field=tag)
    mark, day, currency, amount = match.groups()
    if currency != "VND":
        raise FieldRefused(f"balance in currency {currency}: only VND statements are read", line=line, field=tag)
    signed = swift_amount(amount, line, tag)
    return (-signed if mark == "D" else signed), yymmdd(day, line, tag)
