"""End-of-day statements: camt.053, MT940 and the Excel/CSV exports of Vietnamese banks
(``shared/bank-specs/statements.md``), read as a stream of events.

    with open(path, "rb") as f:
        for event in read_statement(f):
            if isinstance(event, SectionStart): ...      # a new account's statement
            elif isinstance(event, StatementEntry): ...  # one line: event.transfer
            else: proof = balance_proof(event)           # SectionEnd

The format is told from the content (:func:`detect_format`), never from the file name.
Readers are pure: bytes in, events out, nothing stored; every refusal is a
:class:`StatementError` that says where (line, row, entry) and what.

One module per shape: ``camt053`` (lxml, streamed), ``mt940`` (own line reader, streamed; what it
cannot read, one entry at a time, by the ``mt-940`` package: ``mt940_package``),
``tabular`` + ``sources`` (xlsx via python-calamine or openpyxl, xls via xlrd, csv).
"""
from __future__ import annotations

from typing import BinaryIO, Iterator

from .detect import detect_format
from .model import (
    FORMATS, SYNTHETIC_PREFIX, AmountOutOfRange, BalanceProof, SectionEnd, SectionStart, StatementEntry, StatementError,
    balance_proof,
)
from .streams import peek

Event = SectionStart | StatementEntry | SectionEnd


def read_statement(stream: BinaryIO, *, fmt: str | None = None, account: str | None = None) -> Iterator[Event]:
    """Events of the statement in ``stream`` (a binary file object), section by section.

    ``fmt`` skips detection (one of :data:`FORMATS`). ``account`` is used for an Excel/CSV
    export whose title block names no account (the officer says which account it is).
    Nothing is read until the iterator is first advanced."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return _events(stream, fmt, account)


def _events(stream: BinaryIO, fmt: str | None, account: str | None) -> Iterator[Event]:
    head, stream = peek(stream)
    if fmt is None:
        fmt = detect_format(head)
    if fmt == "camt053":
        from .camt053 import read_camt053
        yield from read_camt053(stream, head)
    elif fmt == "mt940":
        from .mt940 import read_mt940
        yield from read_mt940(stream, head)
    else:
        from . import sources
        from .tabular import read_tabular
        rows = {"xlsx": sources.xlsx_rows, "xls": sources.xls_rows, "csv": sources.csv_rows}[fmt](stream)
        yield from read_tabular(rows, account=account)


__all__ = [
    "FORMATS", "SYNTHETIC_PREFIX", "AmountOutOfRange", "BalanceProof", "Event", "SectionEnd", "SectionStart", "StatementEntry",
    "StatementError", "balance_proof", "detect_format", "read_statement",
]
