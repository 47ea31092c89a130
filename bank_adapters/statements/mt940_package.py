"""The fallback of the MT940 reader: the ``mt-940`` package (pinned 5.1.1) reads the unit the
fast reader could not read (one entry, from its ``:61:`` to the next; or a statement's fields
before its first entry; or its closing fields), and its result is mapped to the same entries.

It reads what the package tolerates and the fast reader does not: a value date of 30 February
(read as the month's last day), an amount on the line after its ``:61:`` mark, an entry date
of four spaces, a ``:61:`` without a type code, a tag cut over two lines (``:`` then
``86:...``), text after a balance... It holds one unit's lines at a time, so a statement whose
every entry needs it still streams; it is several times slower than the fast path, which is
why it is the fallback, not the path.

The package's own reading of a structured ``:86:`` is switched off (its post-processor splits
the German ``?20`` sub-fields and drops the text): the content is the ``:86:`` text, joined as
the fast reader joins it, and the counterparty is read by the same function on both paths.
Every rule that refuses (VND only, whole đồng, amounts within the contract, a moving amount)
is applied again here, and a refusal names the line and the field.
"""
from __future__ import annotations

import bisect
import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import mt940

from .mt940_fields import FieldRefused, FieldUnreadable, account_of, join_details, year_across

if TYPE_CHECKING:
    from .mt940 import PackageBlock, _Reader

_OPTIONS = mt940.Options.all()
# The package's own tag pattern and its known tags: the same fields at the same lines.
_TAG = re.compile(r"^:\n?(?P<full_tag>(?P<tag>[0-9]{2}|NS)(?P<sub_tag>[A-Z])?):", re.MULTILINE)
# A balance's line as the package must have read it whole: mark, date, currency, digits, comma.
_PLAIN_BALANCE = re.compile(r"^:\d\d[A-Z]?:[CD]\d{6}[A-Z]{3}\d+(?:,\d*)?$")
_OPENING = ("final_opening_balance", "opening_balance", "intermediate_opening_balance")
_CLOSING = ("final_closing_balance", "closing_balance", "intermediate_closing_balance")


def read_unit(reader: _Reader, pending: PackageBlock) -> None:
    """Read ``pending``'s lines (one unit) with the package; its entries go to ``reader`` as the
    fast path's do. The closing fields are read apart: an ``:86:`` after the closing balance is
    information to the account owner, which the package would add to the last entry."""
    lines = pending.lines
    cut = next((i for i, (_, line) in enumerate(lines) if line.startswith(":62")), len(lines))
    for part in (lines[:cut], lines[cut:]):
        if part:
            _read_part(reader, pending, part)


def _read_part(reader: _Reader, pending: PackageBlock, lines: list[tuple[int, str]]) -> None:
    from .mt940 import entry_fields

    block = pending.block
    text = "\n".join(line for _, line in lines)
    tags = _tag_lines(lines, text)
    try:
        statement = mt940.models.Transactions(processors={"post_transaction_details": []}, options=_OPTIONS)
        statement.parse(text)
    except Exception as exc:  # noqa: BLE001 - any failure of the package: the fast reader's refusal stands
        raise pending.error from exc
    data = statement.data
    texts = dict(lines)

    if block.tally is None:  # the statement's fields before its first entry
        if data.get("account_identification"):
            block.account, block.bank_bin = account_of(data["account_identification"], _line(tags, "25", block.line))
        if data.get("statement_number"):
            block.number = data["statement_number"]
    for names, side in ((_OPENING, "opening"), (_CLOSING, "closing")):
        found = _balance(data, names, tags, texts)
        if found is not None:
            setattr(block, side, found[0])
            setattr(block, f"{side}_date", found[1])

    lines_61 = tags.get("61", [])
    if len(lines_61) != len(statement.transactions):
        # The package merges a :61: without a type code into the next one: an entry would be lost.
        raise FieldUnreadable(f"{len(lines_61)} entries, but the mt-940 package reads {len(statement.transactions)}",
                              line=(lines_61 or [lines[0][0]])[0], field="61")
    for transaction, line in zip(statement.transactions, lines_61):
        if not transaction.data.get("id"):
            # No type code after the amount: the package may have stopped inside it ("1.000," read as 1)
            if pending.error.line == line and pending.error.reason.startswith("amount"):
                raise pending.error  # the fast reader said what is wrong with the amount
            raise FieldUnreadable(f"{_value_61(lines, line)!r} does not read as YYMMDD[MMDD]C|D|RC|RD amount "
                                  "type refs", line=line, field="61")
        if block.tally is None:
            reader.start_section(block, line)
        reader.emit(block, _entry(transaction.data, line, entry_fields))


def _entry(data: dict[str, Any], line: int, entry_fields) -> dict:
    mark = str(data.get("status") or "").upper()
    amount = _whole(data["amount"].amount, line, "61")
    value = _date(data["date"])
    booking = value
    if data.get("entry_date") is not None:
        booking = _date(data["entry_date"])
        try:  # the year as the fast reader chooses it (the package's boundary is wider)
            booking = year_across(value, booking.replace(year=value.year))
        except ValueError:  # 29 February of another year
            pass
    details = data.get("transaction_details")
    content = join_details(details.split("\n")) if details else None
    supplementary = (data.get("extra_details") or "").strip()
    return entry_fields(line, value, booking, amount, mark, data.get("customer_reference") or "",
                        data.get("bank_reference") or "", supplementary, content)


def _balance(data: dict[str, Any], names: tuple[str, ...], tags: dict[str, list[int]],
             texts: dict[int, str]) -> tuple[int, date] | None:
    for name in names:
        balance = data.get(name)
        if balance is None:
            continue
        tag = {"final": "{}F", "intermediate": "{}M"}.get(name.split("_")[0], "{}")
        tag = tag.format("60" if "opening" in name else "62")
        line = _line(tags, tag, 0)
        written = texts.get(line, "").rstrip()
        if not _PLAIN_BALANCE.match(written):  # the package reads "1500000.50" as 1500000: not trusted
            raise FieldUnreadable(f"balance {written.partition(':')[2].partition(':')[2]!r} does not read as "
                                  "C|D YYMMDD currency amount", line=line, field=tag)
        currency = balance.amount.currency
        if currency != "VND":
            raise FieldRefused(f"balance in currency {currency}: only VND statements are read", line=line, field=tag)
        return _whole(balance.amount.amount, line, tag, signed=True), _date(balance.date)
    return None


def _whole(amount: Decimal, line: int, field: str, *, signed: bool = False) -> int:
    value = amount if signed else abs(amount)
    if value != value.to_integral_value():
        raise FieldRefused(f"amount '{abs(amount)}' is not a whole number of đồng", line=line, field=field)
    return int(value)


def _date(day: date) -> date:
    return date(day.year, day.month, day.day)  # the package's Date subclass, as a plain date


def _tag_lines(lines: list[tuple[int, str]], text: str) -> dict[str, list[int]]:
    """The file's line of every field the package reads, by tag (``61``, ``60F``...)."""
    starts, offset = [], 0
    for _, line in lines:
        starts.append(offset)
        offset += len(line) + 1
    found: dict[str, list[int]] = {}
    known = mt940.tags.TAG_BY_ID
    for match in _TAG.finditer(text):
        tag = match.group("tag")
        if (int(tag) if tag.isdigit() else tag) not in known:
            continue
        line = lines[bisect.bisect_right(starts, match.start()) - 1][0]
        found.setdefault(match.group("full_tag"), []).append(line)
        if match.group("sub_tag"):
            found.setdefault(tag, []).append(line)
    return found


def _value_61(lines: list[tuple[int, str]], line: int) -> str:
    """The first line of the :61: at ``line`` without its tag (which may be cut as ":" / "61:")."""
    for i, (number, text) in enumerate(lines):
        if number == line:
            if text.strip() == ":" and i + 1 < len(lines):
                return lines[i + 1][1].rstrip()[3:]
            return text.rstrip()[4:]
    return ""


def _line(tags: dict[str, list[int]], tag: str, default: int) -> int:
    lines = tags.get(tag) or tags.get(tag[:2])
    return lines[0] if lines else default
