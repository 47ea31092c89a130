"""Reading the national portal's monthly export of the 766 online payment index (item 3.6), as a
supervisor downloads it: CSV or XLSX, one line per unit (unit code and name, numerator,
denominator, rate), and optionally the per-dossier export (dossier code, unit, the online-payment
flag ``DuocThanhToanTrucTuyen``, the fee total) — a second file, or a second sheet of the XLSX.

The format, with the header names accepted (Vietnamese as the portal writes them, with or without
diacritics, any case and spacing), is in docs/REPORTS.md. A file that cannot be read is refused
whole (``Refusal.PORTAL_EXPORT_INVALID``) naming the row and column at fault; nothing is stored.
Pure: bytes in, plain rows out.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

from core.errors import FieldError, ValidationError
from core.refusals import Refusal
from qr.text import strip_diacritics

MAX_ROWS = 200_000

# column → the header names accepted for it (compared folded: no diacritics, lower case, only letters and digits)
UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit_code": ("Mã đơn vị", "Mã cơ quan", "Mã ĐV", "Mã đơn vị tiếp nhận", "MaDonVi", "MaCoQuan", "unit_code"),
    "unit_name": ("Tên đơn vị", "Đơn vị", "Tên cơ quan", "Cơ quan", "TenDonVi", "unit_name"),
    "numerator": ("Tử số", "Số hồ sơ thanh toán trực tuyến", "Số hồ sơ đã thanh toán trực tuyến",
                  "Hồ sơ thanh toán trực tuyến", "TuSo", "numerator"),
    "denominator": ("Mẫu số", "Số hồ sơ có phí, lệ phí", "Số hồ sơ có phí", "Tổng số hồ sơ có nghĩa vụ tài chính",
                    "Hồ sơ có nghĩa vụ tài chính", "MauSo", "denominator"),
    "rate": ("Tỷ lệ", "Tỷ lệ (%)", "Tỷ lệ %", "Tỷ lệ thanh toán trực tuyến", "Tỷ lệ thanh toán trực tuyến (%)",
             "TyLe", "rate"),
}
UNIT_REQUIRED = ("unit_code", "numerator", "denominator")
DOSSIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "dossier_code": ("Mã hồ sơ", "Số hồ sơ", "MaHoSo", "dossier_code"),
    "unit_code": UNIT_COLUMNS["unit_code"],
    "flag": ("DuocThanhToanTrucTuyen", "Được thanh toán trực tuyến", "Thanh toán trực tuyến",
             "Cờ thanh toán trực tuyến", "flag"),
    "fee_total": ("Tổng phí, lệ phí", "Tổng phí", "Tổng tiền phí, lệ phí", "Phí, lệ phí", "TongGia", "Gia",
                  "fee_total"),
}
DOSSIER_REQUIRED = ("dossier_code",)
COLUMN_NAMES = {"unit_code": "Mã đơn vị", "unit_name": "Tên đơn vị", "numerator": "Tử số", "denominator": "Mẫu số",
                "rate": "Tỷ lệ", "dossier_code": "Mã hồ sơ", "flag": "DuocThanhToanTrucTuyen",
                "fee_total": "Tổng phí, lệ phí"}


@dataclass(frozen=True)
class UnitLine:
    line: int  # the row number in the file (the header is row 1)
    unit_code: str
    unit_name: str
    numerator: int
    denominator: int
    rate: float | None


@dataclass(frozen=True)
class DossierLine:
    line: int
    dossier_code: str
    unit_code: str | None
    flag: int | None
    fee_total: int | None


@dataclass(frozen=True)
class PortalExport:
    units: list[UnitLine]
    dossiers: list[DossierLine]


def refuse(problem: str, where: str = "file", field: str = "file") -> ValidationError:
    """``where``: ``file``, ``column:<name>``, ``row:<n>`` or ``row:<n>:<column>``."""
    return ValidationError(f"the portal's export cannot be read ({where}): {problem}",
                           errors=[FieldError(field, f"{where}: {problem}")], code=Refusal.PORTAL_EXPORT_INVALID,
                           params={"where": where, "problem": problem})


def fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", strip_diacritics(str(text)).replace("đ", "d").replace("Đ", "D").lower())


# --- reading tables --------------------------------------------------------------------------------


def _sheets(data: bytes, filename: str, field: str) -> list[list[list[str]]]:
    """The file's tables (one for a CSV, one per sheet of an XLSX) as rows of text cells."""
    if not data.strip():
        raise refuse("empty", field=field)
    if data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx(data, field)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("unreadable", field=field) from None
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if first.count("\t") > first.count(",") else ",")
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    return [rows]


def _xlsx(data: bytes, field: str) -> list[list[list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        raise refuse("unreadable", field=field) from None
    tables = []
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(["" if v is None else (format(v, "g") if isinstance(v, float) else str(v)).strip()
                         for v in row])
            if len(rows) > MAX_ROWS + 1:
                raise refuse("too_many_rows", field=field)
        tables.append(rows)
    book.close()
    return tables


def _header(rows: list[list[str]], columns: dict[str, tuple[str, ...]]) -> tuple[int, dict[str, int]]:
    """(index of the header row, column → cell index): the header is the first row that names a
    required column (a title line above it is allowed)."""
    folded = {name: {fold(alias) for alias in aliases} for name, aliases in columns.items()}
    for index, row in enumerate(rows[:10]):
        found: dict[str, int] = {}
        for position, cell in enumerate(row):
            key = fold(cell)
            for name, aliases in folded.items():
                if key in aliases:
                    if name in found:
                        raise _Duplicate(index, name)
                    found[name] = position
        if found:
            return index, found
    return -1, {}


class _Duplicate(Exception):
    def __init__(self, row: int, name: str):
        self.row, self.name = row, name


def _is_kind(rows: list[list[str]], columns, required) -> bool:
    try:
        _, found = _header(rows, columns)
    except _Duplicate:
        return True
    return all(name in found for name in required)


# --- values ----------------------------------------------------------------------------------------


def _count(raw: str, where: str, field: str) -> int:
    text = raw.replace(".", "").replace(",", "").replace(" ", "").replace("\u00a0", "") \
        if re.fullmatch(r"\d{1,3}([.,  ]\d{3})+", raw) else raw
    if text.endswith(".0"):
        text = text[:-2]
    if not re.fullmatch(r"\d{1,12}", text):
        raise refuse("not_a_count", where, field)
    return int(text)


def _rate(raw: str, percent_header: bool, where: str, field: str) -> float | None:
    if raw == "":
        return None
    text = raw.replace(" ", "").replace("\u00a0", "")
    percent = percent_header or text.endswith("%")
    text = text.rstrip("%").replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise refuse("not_a_rate", where, field) from None
    if percent or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise refuse("not_a_rate", where, field)
    return value


# --- the two kinds of file -------------------------------------------------------------------------


def _lines(rows: list[list[str]], columns, required, key: str, duplicate: str, field: str, skip=()):
    """The data rows of a table under its header: (line number, a reader of its cells by column
    name, its ``key`` value), blank rows and rows whose key folds to one of ``skip`` left out;
    the key is present, at most 60 characters and never repeated; at most ``MAX_ROWS``."""
    try:
        head, found = _header(rows, columns)
    except _Duplicate as dup:
        raise refuse("duplicate_column", f"row:{dup.row + 1}:{COLUMN_NAMES[dup.name]}", field) from None
    for name in required:
        if name not in found:
            raise refuse("missing_column", f"column:{COLUMN_NAMES[name]}", field)
    seen: set[str] = set()
    for index in range(head + 1, len(rows)):
        row = rows[index]
        if not any(cell.strip() for cell in row):
            continue
        line = index + 1

        def cell(name: str, row=row) -> str:
            position = found.get(name)
            return row[position].strip() if position is not None and position < len(row) else ""

        code = cell(key)
        if skip and fold(code) in skip:
            continue
        where = f"row:{line}:{COLUMN_NAMES[key]}"
        if not code:
            raise refuse("missing_value", where, field)
        if len(code) > 60:
            raise refuse("too_long", where, field)
        if code in seen:
            raise refuse(duplicate, where, field)
        seen.add(code)
        if len(seen) > MAX_ROWS:
            raise refuse("too_many_rows", field=field)
        yield line, cell, code, found, head


def _read_units(rows: list[list[str]], field: str) -> list[UnitLine]:
    units: list[UnitLine] = []
    percent_header = None
    for line, cell, code, found, head in _lines(rows, UNIT_COLUMNS, UNIT_REQUIRED, "unit_code", "duplicate_unit",
                                                field, skip=("tong", "tongcong", "total", "toanthanhpho")):
        if percent_header is None:
            percent_header = "rate" in found and "%" in rows[head][found["rate"]]
        numerator = _count(cell("numerator"), f"row:{line}:{COLUMN_NAMES['numerator']}", field)
        denominator = _count(cell("denominator"), f"row:{line}:{COLUMN_NAMES['denominator']}", field)
        if numerator > denominator:
            raise refuse("numerator_over_denominator", f"row:{line}:{COLUMN_NAMES['numerator']}", field)
        rate = _rate(cell("rate"), percent_header, f"row:{line}:{COLUMN_NAMES['rate']}", field)
        units.append(UnitLine(line, code, cell("unit_name")[:300], numerator, denominator, rate))
    if not units:
        raise refuse("empty", field=field)
    return units


def _read_dossiers(rows: list[list[str]], field: str) -> list[DossierLine]:
    out: list[DossierLine] = []
    for line, cell, code, found, _ in _lines(rows, DOSSIER_COLUMNS, ("dossier_code",), "dossier_code",
                                             "duplicate_dossier", field):
        flag = None
        if "flag" in found and cell("flag") != "":
            if cell("flag") not in ("0", "1", "2"):
                raise refuse("not_a_flag", f"row:{line}:{COLUMN_NAMES['flag']}", field)
            flag = int(cell("flag"))
        fee_total = None
        if "fee_total" in found and cell("fee_total") != "":
            fee_total = _count(cell("fee_total"), f"row:{line}:{COLUMN_NAMES['fee_total']}", field)
        out.append(DossierLine(line, code, cell("unit_code") or None, flag, fee_total))
    return out


def read_export(data: bytes, filename: str = "", dossier_data: bytes | None = None,
                dossier_filename: str = "") -> PortalExport:
    """The export's unit lines (the first table that has the unit columns) and per-dossier lines
    (a second sheet of the XLSX that has a dossier-code column, or the second file)."""
    tables = _sheets(data, filename, "file")
    unit_table = next((t for t in tables if _is_kind(t, UNIT_COLUMNS, UNIT_REQUIRED)), tables[0])
    units = _read_units(unit_table, "file")
    dossiers: list[DossierLine] = []
    if dossier_data is not None and dossier_data.strip():
        other = _sheets(dossier_data, dossier_filename, "dossiers")
        table = next((t for t in other if _is_kind(t, DOSSIER_COLUMNS, DOSSIER_REQUIRED)), other[0])
        dossiers = _read_dossiers(table, "dossiers")
    else:
        extra = [t for t in tables if t is not unit_table and _is_kind(t, DOSSIER_COLUMNS, DOSSIER_REQUIRED)]
        if extra:
            dossiers = _read_dossiers(extra[0], "file")
    return PortalExport(units, dossiers)
