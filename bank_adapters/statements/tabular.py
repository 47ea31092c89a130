"""Excel and CSV statement exports of Vietnamese banks: rows in, statement events out.

The same reader serves ``.xlsx``, ``.xls`` and ``.csv``: the sources (``sources.py``) turn
each into rows of cell values, and this module finds the structure by its labels
(``labels.py``), never by position:

- A section starts with a title block (bank, title, ``Số tài khoản / Account number: ...``,
  period, currency, sometimes balances) and its header row, which must come within the
  section's first 40 rows. A new sheet, a new title or a new account line after entries
  starts a new section; a header row repeated inside the entries (page breaks) does not.
- Entry rows: a date (``DD/MM/YYYY``, optionally with a time, or an Excel date cell; a blank
  date repeats the one above: banks fill a day's date in its first row only), a debit or a
  credit (from the bank's side: credit = money in), the content, the reference when the
  layout has one, the running balance when it has one.
- Total rows (``Tổng``, ``Cộng``, ``Total``, ``TỔNG CỘNG``, ``CỘNG PHÁT SINH``) are skipped;
  balance rows (``Số dư đầu kỳ / Opening balance``, ``DƯ ĐẦU``, ``DƯ CUỐI``...) are read
  wherever they are, above or below the entries. Rows without a date, an amount or a
  reference (notes, signatures) are skipped; a row that has one of them but cannot be read is
  an error, never dropped.
- A layout without a reference column (Vietcombank's ``Ngày GD/Date`` variant) gets a
  deterministic ``NOREF-...`` reference per line (``model.SyntheticRefs``).

When a row gives both an accounting date and a transaction date-time (VietinBank), the
accounting date is the booking date and the transaction's time is ``booked_at``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Iterable, Iterator, Sequence

from core.money import MoneyError, to_vnd

from ..transfers import IN, OUT, BankTransfer
from . import labels as L
from .model import (
    SectionEnd, SectionStart, SectionTally, StatementEntry, StatementError, SyntheticRefs, entry_amount,
    ict_moment, midnight_ict,
)

HEADER_WINDOW = 40
Row = tuple[str | None, int, Sequence[Any]]  # (sheet name or None for CSV, row/line number, cells)

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[\sT,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_DATE_IN_TEXT = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_ACCOUNT = re.compile(r"[0-9][0-9A-Z]{4,}")
_CURRENCY = re.compile(r"^\s*([A-Z]{3})\b")  # "VND", "USD (Đô la Mỹ)"; not "VIỆT NAM ĐỒNG"
_EMPTY_AMOUNTS = {"", "-", "0", "0.00", "0,00", "–"}


def where_of(sheet: str | None, row: int) -> str:
    return f"line {row}" if sheet is None else f"sheet {sheet!r} row {row}"


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text_of(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0`` (account numbers, references)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_when(value: Any) -> tuple[date, time | None] | None:
    """A date cell: ``(day, time or None)``; None when the cell is not a date."""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
        return moment.date(), (None if moment.time() == time.min else moment.time())
    if isinstance(value, date):
        return value, None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _DMY.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
    else:
        match = _YMD.match(text)
        if not match:
            return None
        year, month, day, hour, minute, second = match.groups()
    try:
        day_value = date(int(year), int(month), int(day))
        if hour is None:
            return day_value, None
        return day_value, time(int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


def parse_amount(value: Any, where: str, column: str) -> int:
    """A debit, credit or balance cell as signed whole đồng; blank (or ``-``) is 0."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raw = value
    if isinstance(value, str):
        text = value.strip()
        if text in _EMPTY_AMOUNTS:
            return 0
        if text.startswith("(") and text.endswith(")"):  # accounting negative
            value = "-" + text[1:-1]
    try:
        return to_vnd(value)
    except MoneyError as exc:
        reason = str(exc)
        if "whole number" in reason:
            raise StatementError(f"{column} amount {text_of(raw)!r} is not a whole number of đồng",
                                 where=where) from None
        if "separators" in reason:
            raise StatementError(f"{column} amount {text_of(raw)!r} has misplaced thousands separators",
                                 where=where) from None
        raise StatementError(f"{column} amount {text_of(raw)!r} is not an amount", where=where) from None


def header_columns(cells: Sequence[Any]) -> dict[str, int] | None:
    """The columns of a header row by role, or None when the row is not a header."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip():
            role = L.role_of(cell.strip())
            if role is not None and role not in columns:
                columns[role] = index
    if L.BOOKING_DATE not in columns and L.TXN_DATE in columns:
        columns[L.BOOKING_DATE] = columns.pop(L.TXN_DATE)
    if (L.BOOKING_DATE in columns and L.DEBIT in columns and L.CREDIT in columns
            and (L.DESCRIPTION in columns or L.REF in columns)):
        return columns
    return None


@dataclass(slots=True)
class _TitleBlock:
    """What the rows above a header row said."""

    first_row: str
    rows: int = 0
    account: str | None = None
    opening: int | None = None
    closing: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    meaningful: bool = False  # saw a title, an account or a balance: a header must follow


@dataclass(slots=True)
class _Section:
    index: int
    account: str
    columns: dict[str, int]
    tally: SectionTally
    opening: int | None
    closing: int | None
    period_start: date | None
    period_end: date | None
    last_day: date | None = None
    free_text: frozenset[int] = field(default_factory=frozenset)  # columns of free text: no labels there
    at_date: int | None = None
    at_txn: int | None = None
    at_value: int | None = None
    at_debit: int | None = None
    at_credit: int | None = None
    at_ref: int | None = None
    at_description: int | None = None
    at_balance: int | None = None
    at_counter_account: int | None = None
    at_counter_name: int | None = None
    at_counter_bank: int | None = None
    has_counter: bool = False

    def __post_init__(self) -> None:
        c = self.columns
        self.at_date, self.at_txn, self.at_value = c.get(L.BOOKING_DATE), c.get(L.TXN_DATE), c.get(L.VALUE_DATE)
        self.at_debit, self.at_credit, self.at_ref = c.get(L.DEBIT), c.get(L.CREDIT), c.get(L.REF)
        self.at_description, self.at_balance = c.get(L.DESCRIPTION), c.get(L.BALANCE)
        self.at_counter_account, self.at_counter_name = c.get(L.COUNTER_ACCOUNT), c.get(L.COUNTER_NAME)
        self.at_counter_bank = c.get(L.COUNTER_BANK)
        self.has_counter = any(i is not None for i in (self.at_counter_account, self.at_counter_name,
                                                       self.at_counter_bank))

    @staticmethod
    def cell(cells: Sequence[Any], index: int | None) -> Any:
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        return None if value == "" else value


def read_tabular(rows: Iterable[Row], *, account: str | None = None
                 ) -> Iterator[SectionStart | StatementEntry | SectionEnd]:
    """Statement events from the rows of a sheet (or several sheets, or a CSV file)."""
    reader = _Reader(account)
    out = reader.out
    for sheet, row_no, cells in rows:
        if sheet != reader.sheet:
            reader.new_sheet(sheet, row_no)
        if reader.section is None:
            reader.title_row(cells, where_of(sheet, row_no))
        else:
            reader.entry_row(cells, sheet, row_no)
        if out:
            yield from out
            out.clear()
    reader.finish()
    yield from out


class _Reader:
    """Reads row by row; the events a row completes are appended to ``out``."""

    def __init__(self, account_hint: str | None) -> None:
        self.out: list[SectionStart | StatementEntry | SectionEnd] = []
        self.account_hint = account_hint
        self.sheet: str | None | bool = False  # False: no row yet
        self.title: _TitleBlock | None = None
        self.section: _Section | None = None
        self.sections = 0
        self.refs = SyntheticRefs()

    # -- flow -----------------------------------------------------------------------------------

    def new_sheet(self, sheet: str | None, row_no: int) -> None:
        self.close_sheet()
        self.sheet = sheet
        self.title = _TitleBlock(where_of(sheet, row_no))

    def close_sheet(self) -> None:
        self.close_section()
        title = self.title
        if title is not None and title.meaningful:
            raise StatementError("no header row (with date, debit, credit and description columns) in the "
                                 f"{min(title.rows, HEADER_WINDOW)} rows of this title block", where=title.first_row)
        self.title = None

    def close_section(self) -> None:
        section = self.section
        if section is not None:
            self.out.append(section.tally.end(section.opening, section.closing, section.period_start,
                                              section.period_end))
            self.section = None

    def finish(self) -> None:
        if self.sheet is False:
            raise StatementError("the file holds no rows")
        self.close_sheet()
        if self.sections == 0:
            raise StatementError("no header row (with date, debit, credit and description columns) anywhere "
                                 "in the file: not a bank statement export, or a layout not recognised")

    # -- title block ----------------------------------------------------------------------------

    def title_row(self, cells: Sequence[Any], where: str) -> None:
        title = self.title
        assert title is not None
        title.rows += 1
        columns = header_columns(cells)
        if columns is not None:
            self.out.append(self.open_section(columns, where))
            return
        self.read_title_cells(cells, where, title)
        if title.rows >= HEADER_WINDOW and (title.meaningful or self.sections == 0):
            raise StatementError("no header row (with date, debit, credit and description columns) in the "
                                 f"first {HEADER_WINDOW} rows of this section", where=title.first_row)

    def read_title_cells(self, cells: Sequence[Any], where: str, title: _TitleBlock) -> None:
        texts = [(i, c.strip()) for i, c in enumerate(cells) if isinstance(c, str) and c.strip()]
        for index, text in texts:
            folded = L.fold(text)
            if L.is_title(folded):
                title.meaningful = True
            kind = L.balance_kind(folded)
            if kind is not None:
                balance = self.balance_value(cells, index, text, where)
                setattr(title, kind, balance)
                title.meaningful = True
                continue
            if L.is_account_label(folded):
                found = _account_after(cells, index, text)
                if found is not None:
                    if title.account is not None and title.account != found:
                        raise StatementError(f"a second account {found} in the title block of account "
                                             f"{title.account}, before any header row", where=where)
                    title.account = found
                    title.meaningful = True
                    continue
            if L.starts_with(folded, L.CURRENCY_LABELS):
                _check_currency(cells, index, text, where)
            if any(label in folded for label in L.PERIOD_LABELS):
                days = _days_in(cells[index:])
                if len(days) >= 2:
                    title.period_start, title.period_end = days[0], days[1]
                    break
                if len(days) == 1:
                    if "den ngay" in folded or folded.startswith("to"):
                        title.period_end = days[0]
                    else:
                        title.period_start = days[0]

    def open_section(self, columns: dict[str, int], where: str) -> SectionStart:
        title = self.title
        assert title is not None
        account = title.account or self.account_hint
        if account is None:
            raise StatementError("header row found, but no account number (\"Số tài khoản / Account number: "
                                 "...\") in the title block above it", where=where)
        index = self.sections
        self.sections += 1
        free = frozenset(columns[role] for role in (L.DESCRIPTION, L.COUNTER_NAME) if role in columns)
        self.section = _Section(index, account, columns, SectionTally(index, account), title.opening,
                                title.closing, title.period_start, title.period_end, free_text=free)
        self.title = None
        return SectionStart(index, account, "VND", None, None, title.period_start, title.period_end, title.opening)

    # -- entries --------------------------------------------------------------------------------

    def entry_row(self, cells: Sequence[Any], sheet: str | None, row_no: int) -> None:
        section = self.section
        assert section is not None
        get = section.cell
        date_cell = get(cells, section.at_date)
        when = parse_when(date_cell) if date_cell is not None else None
        if when is None:
            where = where_of(sheet, row_no)
            if all(blank(c) for c in cells):
                return
            # A line without a date but with a reference is an entry (fill-down): no label to look for.
            fill_down = date_cell is None and not blank(get(cells, section.at_ref))
            outcome = None if fill_down else self.label_row(cells, where)
            if outcome == "new-section":
                self.close_section()
                self.title = _TitleBlock(where)
                self.title_row(cells, where)
                return
            if outcome == "done":
                return
            if not _looks_like_entry(get(cells, section.at_debit), get(cells, section.at_credit),
                                     get(cells, section.at_ref)):
                return  # a note or a signature line
            if not blank(date_cell):
                raise StatementError(f"date {text_of(date_cell)!r} is not a DD/MM/YYYY date", where=where)
            if section.last_day is None:
                raise StatementError("an entry without a date, and no date above it to fill down", where=where)
            day, moment = section.last_day, None
        else:
            day, moment = when
            section.last_day = day
        debit_cell, credit_cell = get(cells, section.at_debit), get(cells, section.at_credit)
        debit = _quick_amount(debit_cell)
        if debit is None:
            debit = parse_amount(debit_cell, where_of(sheet, row_no), "debit")
        credit = _quick_amount(credit_cell)
        if credit is None:
            credit = parse_amount(credit_cell, where_of(sheet, row_no), "credit")
        if not debit and not credit:
            where = where_of(sheet, row_no)
            if self.label_row(cells, where) == "done":  # a dated balance or total row
                return
            raise StatementError("an entry without an amount (debit and credit both empty or zero)", where=where)
        if debit and credit:
            raise StatementError(f"both a debit ({debit}) and a credit ({credit}) on one line",
                                 where=where_of(sheet, row_no))
        if credit < 0:
            raise StatementError(f"a negative credit ({credit})", where=where_of(sheet, row_no))
        direction, amount = (IN, credit) if credit else (OUT, abs(debit))
        amount = entry_amount(amount, line=row_no, where=where_of(sheet, row_no), sheet=sheet)
        booked_at = None
        if section.at_txn is not None:
            txn = get(cells, section.at_txn)
            if not blank(txn):
                txn_when = parse_when(txn)
                if txn_when is None:
                    raise StatementError(f"transaction date {text_of(txn)!r} is not a DD/MM/YYYY date",
                                         where=where_of(sheet, row_no))
                if txn_when[1] is not None:
                    booked_at = ict_moment(datetime.combine(*txn_when))  # type: ignore[arg-type]
        if booked_at is None:
            booked_at = ict_moment(datetime.combine(day, moment)) if moment is not None else midnight_ict(day)
        value_day = None
        if section.at_value is not None:
            value_cell = get(cells, section.at_value)
            if not blank(value_cell):
                value_when = parse_when(value_cell)
                if value_when is None:
                    raise StatementError(f"value date {text_of(value_cell)!r} is not a DD/MM/YYYY date",
                                         where=where_of(sheet, row_no))
                value_day = value_when[0]
        content = text_of(get(cells, section.at_description))
        if "\r" in content:  # a line break inside a quoted CSV field or a cell, Windows style
            content = content.replace("\r\n", "\n").replace("\r", "\n")
        content = content.strip()
        ref = text_of(get(cells, section.at_ref)).strip()
        synthetic = not ref
        if synthetic:
            ref = self.refs.make(section.account, day, amount, direction, content)
        balance_after = None
        if section.at_balance is not None:
            balance_cell = get(cells, section.at_balance)
            if not blank(balance_cell):
                balance_after = _quick_amount(balance_cell)
                if balance_after is None:
                    balance_after = parse_amount(balance_cell, where_of(sheet, row_no), "balance")
        counter_account = counter_name = counter_bank = None
        if section.has_counter:
            counter_account = text_of(get(cells, section.at_counter_account)).strip() or None
            counter_name = text_of(get(cells, section.at_counter_name)).strip() or None
            counter_bank = text_of(get(cells, section.at_counter_bank)).strip() or None
        transfer = BankTransfer(
            account=section.account, bank_ref=ref, amount=amount, direction=direction, booked_at=booked_at,
            content=content, counter_account=counter_account, counter_name=counter_name, counter_bank=counter_bank,
            value_date=value_day, balance_after=balance_after)
        section.tally.add(transfer)
        self.out.append(StatementEntry(section.index, row_no, transfer, day, synthetic))

    def label_row(self, cells: Sequence[Any], where: str) -> str | None:
        """A row among the entries that is not an entry: ``'done'`` when it was read (a balance,
        a total, a repeated header), ``'new-section'`` for a new title or account line."""
        section = self.section
        assert section is not None
        if header_columns(cells) is not None:
            return "done"  # the header again, as page breaks repeat it
        for index, value in enumerate(cells):
            if not isinstance(value, str) or not value.strip():
                continue
            text = value.strip()
            folded = L.fold(text)
            kind = L.balance_kind(folded)
            if kind is not None:
                balance = self.balance_value(cells, index, text, where)
                if getattr(section, kind) is not None and getattr(section, kind) != balance:
                    raise StatementError(f"a second {kind} balance ({balance}) for account {section.account}, "
                                         f"which already has {getattr(section, kind)}; a new account's section "
                                         "must start with its title block", where=where)
                setattr(section, kind, balance)
                return "done"
            if L.is_total(folded):
                return "done"
            if index in section.free_text:
                continue
            if L.is_title(folded) or (L.is_account_label(folded) and _account_after(cells, index, text)):
                return "new-section"
        return None

    def balance_value(self, cells: Sequence[Any], index: int, text: str, where: str) -> int:
        """The amount of a balance row: after a ``:`` in the label cell, or in a cell to its right."""
        _, colon, rest = text.partition(":")
        if colon and rest.strip():
            return parse_amount(rest.strip(), where, "balance")
        for value in cells[index + 1:]:
            if blank(value):
                continue
            try:
                return parse_amount(value, where, "balance")
            except StatementError:
                continue
        raise StatementError(f"balance row {text!r} without an amount", where=where)


_GROUPED_DOTS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_GROUPED_COMMAS = re.compile(r"^\d{1,3}(?:,\d{3})+$")


def _quick_amount(value: Any) -> int | None:
    """The common amount cells, fast; None sends the cell to :func:`parse_amount`."""
    if value is None:
        return 0
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)
    if kind is str:
        if value.isdigit() and value.isascii():
            return int(value)
        if not value:
            return 0
        if _GROUPED_DOTS.match(value):
            return int(value.replace(".", ""))
        if _GROUPED_COMMAS.match(value):
            return int(value.replace(",", ""))
    return None


def _looks_like_entry(debit: Any, credit: Any, ref: Any) -> bool:
    """A reference, or an amount (a number, or text with a digit that is not zero)."""
    def amount(value: Any) -> bool:
        if isinstance(value, str):
            text = value.strip()
            return text not in _EMPTY_AMOUNTS and any(ch.isdigit() for ch in text)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0
    return amount(debit) or amount(credit) or not blank(ref)


def _account_after(cells: Sequence[Any], index: int, text: str) -> str | None:
    """The account number after an account label: in the same cell, or the next cells."""
    candidates: list[Any] = []
    _, colon, rest = text.partition(":")
    if colon:
        candidates.append(rest)
    else:
        # "Tài khoản 113000012345": the label's own words are letters, the account digits
        candidates.append(text)
    candidates.extend(cells[index + 1:index + 4])
    for value in candidates:
        if blank(value):
            continue
        match = _ACCOUNT.search(text_of(value).upper())
        if match:
            return match.group(0)
        if not colon:
            continue
        return None
    return None


def _check_currency(cells: Sequence[Any], index: int, text: str, where: str) -> None:
    for value in [text.partition(":")[2], *cells[index + 1:index + 3]]:
        if blank(value):
            continue
        match = _CURRENCY.search(text_of(value).upper().replace("VNĐ", "VND"))
        if match and match.group(1) != "VND":
            raise StatementError(f"currency {match.group(1)}: only VND statements are read", where=where)
        if match:
            return


def _days_in(cells: Sequence[Any]) -> list[date]:
    days: list[date] = []
    for value in cells:
        if isinstance(value, (datetime, date)):
            days.append(value.date() if isinstance(value, datetime) else value)
        elif isinstance(value, str):
            for day, month, year in _DATE_IN_TEXT.findall(value):
                try:
                    days.append(date(int(year), int(month), int(day)))
                except ValueError:
                    pass
    return days
