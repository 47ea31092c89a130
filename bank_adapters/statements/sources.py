"""Rows of cell values out of ``.xlsx``, ``.xls`` and ``.csv`` files, for ``tabular.py``.

Each source yields ``(sheet name or None, row number, cells)``, cells being ``None``, ``str``,
``int``/``float``, ``bool``, ``date`` or ``datetime``, with row 1 and column A first whatever
the library, so that every engine gives the same rows.

``.xlsx``, two engines, measured on 100,000 rows of 6 columns (one core):

==================  ===============  =======================================================
engine              time             memory
==================  ===============  =======================================================
python-calamine     0.44 s (4 µs)    holds the sheet: ~50 MB per 100k rows, 619 MB at 1M
openpyxl read-only  5.5 s (55 µs)    streams: flat (~40 MB whatever the size)
==================  ===============  =======================================================

So calamine reads a workbook whose worksheets unpack to at most ``CALAMINE_MAX_XML`` bytes
(about 100,000 rows: every real day's or month's statement of an office), and openpyxl
streams anything larger, to stay under the memory budget. openpyxl leaves the ``_xHHHH_``
escapes of inline strings in place; they are undone here so both engines agree.

``.xls`` (BIFF8, at most 65,536 rows a sheet) is read whole by xlrd 2.0.

``.csv``: UTF-8 (with or without BOM) or UTF-16 (with BOM); the delimiter (``,``, ``;`` or
tab) is the one under which a header row appears in the first rows. Line numbers are the
physical line where each record starts (a quoted content may span lines).
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from datetime import datetime
from typing import Any, BinaryIO, Iterator

from .detect import text_encoding
from .model import StatementError
from .streams import peek, seekable
from .tabular import HEADER_WINDOW, Row, header_columns

CALAMINE_MAX_XML = 64 * 1024 * 1024
_XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DELIMITERS = (",", ";", "\t")
csv.field_size_limit(1024 * 1024)


# -- xlsx ----------------------------------------------------------------------------------------

def xlsx_engine(stream: BinaryIO) -> str:
    """``'calamine'`` when the worksheets are small enough to hold, else ``'openpyxl'``."""
    start = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            size = sum(info.file_size for info in archive.infolist()
                       if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml")
    except zipfile.BadZipFile:
        raise StatementError("the file starts like an xlsx workbook (zip) but is not a readable zip archive") \
            from None
    finally:
        stream.seek(start)
    return "calamine" if size <= CALAMINE_MAX_XML else "openpyxl"


def xlsx_rows(stream: BinaryIO, engine: str | None = None) -> Iterator[Row]:
    stream = seekable(stream)
    engine = engine or xlsx_engine(stream)
    if engine == "calamine":
        return _calamine_rows(stream)
    if engine == "openpyxl":
        return _openpyxl_rows(stream)
    raise ValueError(f"unknown xlsx engine {engine!r}")


def _calamine_rows(stream: BinaryIO) -> Iterator[Row]:
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

    try:
        workbook = CalamineWorkbook.from_filelike(stream)
    except (CalamineError, ValueError, OSError) as exc:
        raise StatementError(f"not a readable xlsx workbook ({exc})") from None
    with workbook:
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            try:
                sheet = workbook.get_sheet_by_name(meta.name)
            except (CalamineError, ValueError) as exc:
                raise StatementError(f"sheet {meta.name!r} cannot be read ({exc})") from None
            if sheet.start is None:
                continue
            pad = [None] * sheet.start[1]
            # Rows come from row 1; columns from the first used one (padded back to column A).
            for number, cells in enumerate(sheet.iter_rows(), 1):
                yield meta.name, number, pad + [None if cell == "" else cell for cell in cells]
            del sheet


def _openpyxl_rows(stream: BinaryIO) -> Iterator[Row]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise StatementError(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        for sheet in workbook.worksheets:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
                yield sheet.title, number, [_unescape(cell) for cell in cells]
    finally:
        workbook.close()


def _unescape(value: Any) -> Any:
    if isinstance(value, str) and "_x" in value:
        return _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


# -- xls -----------------------------------------------------------------------------------------

def xls_rows(stream: BinaryIO) -> Iterator[Row]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=stream.read(), on_demand=True)
    except xlrd.XLRDError as exc:
        raise StatementError(f"not a readable xls workbook ({exc})") from None
    except Exception as exc:  # xlrd raises assertion and struct errors on damaged files
        raise StatementError(f"not a readable xls workbook ({type(exc).__name__}: {exc})") from None
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            for row in range(sheet.nrows):
                yield sheet.name, row + 1, [_xls_value(book, ctype, value)
                                            for ctype, value in zip(sheet.row_types(row), sheet.row_values(row))]
            book.unload_sheet(index)
    finally:
        book.release_resources()


def _xls_value(book: Any, ctype: int, value: Any) -> Any:
    import xlrd

    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if ctype == xlrd.XL_CELL_DATE:
        moment = xlrd.xldate.xldate_as_datetime(value, book.datemode)
        return moment.date() if moment.time() == datetime.min.time() else moment
    if ctype == xlrd.XL_CELL_NUMBER:
        return int(value) if value.is_integer() else value
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if ctype == xlrd.XL_CELL_ERROR:
        return "#" + xlrd.error_text_from_code.get(value, "ERROR").lstrip("#")
    return value


# -- csv -----------------------------------------------------------------------------------------

def csv_rows(stream: BinaryIO) -> Iterator[Row]:
    head, stream = peek(stream)
    encoding = text_encoding(head)
    if encoding is None:
        raise StatementError("the CSV file is neither UTF-8 nor UTF-16 with a byte-order mark")
    delimiter = sniff_delimiter(head.decode(encoding, errors="ignore"))
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    previous = 0
    try:
        for cells in reader:
            yield None, previous + 1, cells
            previous = reader.line_num
    except UnicodeDecodeError as exc:
        raise StatementError(f"the CSV text is not {encoding} ({exc.reason})", where=f"after line {previous}") \
            from None
    except csv.Error as exc:
        raise StatementError(f"the CSV file is malformed ({exc})", where=f"line {previous + 1}") from None
    finally:
        try:
            text.detach()  # the caller's stream stays open
        except ValueError:  # the caller closed it first
            pass


def sniff_delimiter(text: str) -> str:
    """The delimiter under which a header row shows up in the first rows; else the commonest."""
    for delimiter in _DELIMITERS:
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), HEADER_WINDOW * 3))
        except csv.Error:
            continue
        if any(header_columns(row) is not None for row in rows):
            return delimiter
    lines = text.splitlines()[:HEADER_WINDOW]
    return max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in lines))

