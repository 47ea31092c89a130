"""Money collected as CSV and XLSX (the finance office's remittance working file): amounts are
whole đồng written as numbers, headers in Vietnamese."""
from __future__ import annotations

import csv
import io
from typing import IO

from .operations import Collections

BY_HEADER = {"agency": ("Mã đơn vị", "Đơn vị"), "fee": ("Mã khoản thu", "Khoản thu"),
             "subitem": ("Tiểu mục", "Tên tiểu mục"), "kind": ("Loại", "Phí / lệ phí")}
KIND = {"phi": "Phí", "le_phi": "Lệ phí"}


def _header(c: Collections) -> list[str]:
    key, name = BY_HEADER[c.by]
    first = {"day": ["Ngày"], "month": ["Tháng"], "period": []}[c.per]
    return [*first, key, name, "Loại", "Số dòng biên lai", "Số tiền (đồng)"]


def _rows(c: Collections):
    for r in c.rows:
        first = [r.period] if c.per != "period" else []
        yield [*first, r.key, r.name, KIND.get(r.kind or "", ""), r.lines, r.amount]


def _text(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def collections_csv(c: Collections, out: IO[bytes]) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(_header(c))
    for row in _rows(c):
        writer.writerow([v if isinstance(v, int) else _text(v) for v in row])
    writer.writerow(["Tổng cộng"] + [""] * (len(_header(c)) - 3) + [c.total_lines, c.total_amount])
    text.flush()
    text.detach()


def collections_xlsx(c: Collections, out: IO[bytes]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    header = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#EEF2F6", "border": 1})
    money = book.add_format({"num_format": "#,##0"})
    bold_money = book.add_format({"num_format": "#,##0", "bold": True})
    sheet = book.add_worksheet("Thu phí, lệ phí")
    heads = _header(c)
    for i, h in enumerate(heads):
        sheet.write_string(0, i, h, header)
        sheet.set_column(i, i, 50 if h in ("Đơn vị", "Khoản thu", "Tên tiểu mục") else 14)
    row_index = 1
    for row in _rows(c):
        for i, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(row_index, i, value, money)
            else:
                sheet.write_string(row_index, i, str(value))
        row_index += 1
    sheet.write_string(row_index, 0, "Tổng cộng", header)
    sheet.write_number(row_index, len(heads) - 2, c.total_lines, bold_money)
    sheet.write_number(row_index, len(heads) - 1, c.total_amount, bold_money)
    sheet.freeze_panes(1, 0)
    book.close()
