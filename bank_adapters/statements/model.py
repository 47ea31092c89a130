"""What every statement reader yields, and the arithmetic every statement must satisfy.

A reader turns a file into a stream of events, one section (one account, one period) after
another::

    SectionStart, StatementEntry, StatementEntry, ..., SectionEnd, SectionStart, ...

so that a million-line file never has to be held in memory: the service stores entries as
they come and checks the balance proof when the section ends. ``SectionStart`` carries what
the file says before its entries (the account always; the opening balance when it is written
above the entries); ``SectionEnd`` carries the final word (balances written below the
entries too) and the sums of the booked entries.

Every refusal is a :class:`StatementError` whose message starts with where the fault is
(``line 57: ...``, ``sheet 'Sao ke' row 12: ...``), so that a finance officer can open the
file and see it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from core.clock import ICT
from core.money import MAX_AMOUNT, format_vnd

from ..transfers import IN, OUT, BankTransfer

FORMATS = ("camt053", "mt940", "xlsx", "xls", "csv")
SYNTHETIC_PREFIX = "NOREF-"


class StatementError(ValueError):
    """A statement file, or a part of it, that cannot be read. ``where`` locates the fault."""

    def __init__(self, reason: str, *, where: str | None = None):
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where

    def __reduce__(self):
        # Whole through pickle (a reader in a process of its own hands its refusal back), for
        # every kind, whatever its constructor asks.
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(kind: type, args: tuple, state: dict) -> StatementError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class AmountOutOfRange(StatementError):
    """An entry whose amount the contract refuses (CONTRACT.md "Amounts": at most
    9,999,999,999,999 đồng): the whole statement is refused, naming the line."""

    def __init__(self, amount: int, *, line: int, where: str, sheet: str | None = None):
        super().__init__(f"amount {amount} is over the limit of {MAX_AMOUNT} đồng (13 digits)", where=where)
        self.amount = amount
        self.line = line
        self.sheet = sheet


def entry_amount(amount: int, *, line: int, where: str, sheet: str | None = None) -> int:
    """``amount`` if the contract allows it for a statement line, else :class:`AmountOutOfRange`."""
    if amount > MAX_AMOUNT:
        raise AmountOutOfRange(amount, line=line, where=where, sheet=sheet)
    return amount


@dataclass(frozen=True, slots=True)
class SectionStart:
    """The start of one account's statement. Fields the file gives only after the entries
    (a closing balance, an opening balance written below them) are in :class:`SectionEnd`."""

    index: int                     # 0, 1, ... in file order
    account: str
    currency: str                  # always "VND": other currencies are refused
    statement_ref: str | None      # camt ``Stmt/Id``, MT940 ``:20:``; None for Excel/CSV
    bank_bin: str | None           # when the file names the account's bank by BIN
    period_start: date | None
    period_end: date | None
    opening_balance: int | None    # signed; None when not (yet) seen


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One line of a statement. ``line_no``: the file's line (text formats, camt: the line
    where the ``Ntry`` starts) or the sheet's row number (Excel)."""

    section_index: int
    line_no: int
    transfer: BankTransfer
    booking_date: date
    synthetic_ref: bool = False    # bank_ref made by the reader: the file had no reference


@dataclass(frozen=True, slots=True)
class SectionEnd:
    """The end of a section. ``credits``/``debits`` sum the booked entries (pending ones are
    recorded but not counted) by their effect on the balance; ``entries`` counts every entry
    yielded, ``pending`` how many of them were pending."""

    index: int
    account: str
    opening_balance: int | None
    closing_balance: int | None
    credits: int
    debits: int
    entries: int
    pending: int
    period_start: date | None
    period_end: date | None
    # which path read the section, when a format has two (MT940: "fast", "package", "fast+package")
    reader: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BalanceProof:
    ok: bool
    expected_closing: int | None
    difference: int | None         # closing as written − expected closing
    message: str


def balance_proof(end: SectionEnd) -> BalanceProof:
    """``opening + credits − debits = closing``, to the đồng (statements.md, "Balance proof").

    The continuity check (this opening = the previous statement's closing) needs the
    previous statement and is the service's job."""
    missing = [name for name, value in (("opening", end.opening_balance), ("closing", end.closing_balance))
               if value is None]
    if missing:
        return BalanceProof(False, None, None,
                            f"account {end.account}: the statement has no {' and no '.join(missing)} balance, "
                            "so it cannot be proved")
    assert end.opening_balance is not None and end.closing_balance is not None
    expected = end.opening_balance + end.credits - end.debits
    difference = end.closing_balance - expected
    sums = (f"opening {_vnd(end.opening_balance)} + credits {_vnd(end.credits)} − debits {_vnd(end.debits)} "
            f"= {_vnd(expected)}")
    if difference == 0:
        return BalanceProof(True, expected, 0, f"account {end.account}: {sums} = closing balance")
    return BalanceProof(False, expected, difference,
                        f"account {end.account}: {sums}, but the closing balance is {_vnd(end.closing_balance)} "
                        f"(difference {_vnd(difference)})")


def _vnd(amount: int) -> str:
    return format_vnd(amount, symbol=False) + " đ"


def midnight_ict(day: date) -> datetime:
    """00:00 Indochina Time of ``day``, as aware UTC: the moment of an entry known only by date."""
    return datetime.combine(day, time.min, tzinfo=ICT).astimezone(timezone.utc)


def ict_moment(local: datetime) -> datetime:
    """A bank's wall-clock time (naive = Indochina Time, statements.md) as aware UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=ICT)
    return local.astimezone(timezone.utc)


class SyntheticRefs:
    """References for lines that carry none: the key is (account, date, amount, direction,
    content) counted by occurrence in the file, so the same file read twice, or the same
    line in a later export of the same day, gets the same reference.

    It remembers one 12-byte digest per distinct key (about 100 bytes each): only files
    without a reference column pay it."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def make(self, account: str, day: date, amount: int, direction: str, content: str) -> str:
        key = hashlib.sha256("\x1f".join((account, day.isoformat(), str(amount), direction, content))
                             .encode("utf-8")).digest()[:12]
        occurrence = self._seen.get(key, 0) + 1
        self._seen[key] = occurrence
        return SYNTHETIC_PREFIX + hashlib.sha256(key + occurrence.to_bytes(4, "big")).hexdigest()[:24]


class SectionTally:
    """Running sums of one section while its entries stream past."""

    __slots__ = ("index", "account", "credits", "debits", "entries", "pending")

    def __init__(self, index: int, account: str) -> None:
        self.index = index
        self.account = account
        self.credits = 0
        self.debits = 0
        self.entries = 0
        self.pending = 0

    def add(self, transfer: BankTransfer) -> None:
        self.entries += 1
        if transfer.pending:
            self.pending += 1
        elif transfer.direction == IN:
            self.credits += transfer.amount
        else:
            self.debits += transfer.amount

    def end(self, opening: int | None, closing: int | None, period_start: date | None,
            period_end: date | None, reader: str | None = None) -> SectionEnd:
        return SectionEnd(self.index, self.account, opening, closing, self.credits, self.debits,
                          self.entries, self.pending, period_start, period_end, reader)


__all__ = [
    "FORMATS", "IN", "OUT", "AmountOutOfRange", "BalanceProof", "entry_amount", "SectionEnd", "SectionStart", "SectionTally",
    "StatementEntry", "StatementError", "SyntheticRefs", "balance_proof", "ict_moment", "midnight_ict",
]
