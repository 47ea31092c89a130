"""Money collected as CSV and XLSX (the finance office's remittance working file): amounts are
whole đồng written as numbers, headers in the page's language (Vietnamese first). The daily list
and the usage report of receipts (BC26) keep the Vietnamese of their prescribed forms."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import IO

from core.clock import to_ict
from core.vocabulary import N_

from .operations import Collections
from .receipt_reports import DailyList, ReceiptRef, UsageReport, number_text

BY_HEADER = {"agency": (N_("Mã đơn vị"), N_("Đơn vị")), "fee": (N_("Mã khoản thu"), N_("Khoản thu")),
             "subitem": (N_("Tiểu mục"), N_("Tên tiểu mục")), "kind": (N_("Loại"), N_("Phí / lệ phí"))}
KIND = {"phi": N_("Phí"), "le_phi": N_("Lệ phí")}
WIDE = (N_("Đơn vị"), N_("Khoản thu"), N_("Tên tiểu mục"))


def _say(text: str) -> str:
    from flask import has_request_context
    from flask_babel import gettext

    return gettext(text) if text and has_request_context() else text


def _english() -> bool:
    from flask import has_request_context
    from flask_babel import get_locale

    return has_request_context() and str(get_locale()) == "en"


def _header(c: Collections) -> list[str]:
    key, name = BY_HEADER[c.by]
    first = {"day": [N_("Ngày")], "month": [N_("Tháng")], "period": []}[c.per]
    return [_say(h) for h in (*first, key, name, N_("Loại"), N_("Số dòng biên lai"), N_("Số tiền (đồng)"), *PART_HEADER)]


# Added after the existing columns (never moved): the part on the service's e-receipts and the
# part receipted by other issuers' documents (the portal's platform, paper receipts for cash).
PART_HEADER = [N_("Trên biên lai điện tử (đồng)"), N_("Theo chứng từ của nơi khác (đồng)")]


def _rows(c: Collections):
    english = _english()
    for r in c.rows:
        first = [r.period] if c.per != "period" else []
        name = r.name_en if english and r.name_en else (_say(r.name) if c.by == "kind" or not r.verified else r.name)
        yield [*first, r.key, name, _say(KIND.get(r.kind or "", "")), r.lines, r.amount, r.e_receipt_amount,
               r.other_amount]


def _total(c: Collections) -> list:
    return [c.total_lines, c.total_amount, c.e_receipt_amount, c.other_amount]


def _text(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def collections_csv(c: Collections, out: IO[bytes]) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(_header(c))
    for row in _rows(c):
        writer.writerow([v if isinstance(v, int) else _text(v) for v in row])
    writer.writerow([_say(N_("Tổng cộng"))] + [""] * (len(_header(c)) - 5) + _total(c))
    text.flush()
    text.detach()


def collections_xlsx(c: Collections, out: IO[bytes]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    header = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#EEF2F6", "border": 1})
    money = book.add_format({"num_format": "#,##0"})
    bold_money = book.add_format({"num_format": "#,##0", "bold": True})
    sheet = book.add_worksheet(_say(N_("Thu phí, lệ phí")))
    heads = _header(c)
    for i, h in enumerate(heads):
        sheet.write_string(0, i, h, header)
        sheet.set_column(i, i, 50 if h in {_say(w) for w in WIDE} else 14)
    row_index = 1
    for row in _rows(c):
        for i, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(row_index, i, value, money)
            else:
                sheet.write_string(row_index, i, str(value))
        row_index += 1
    sheet.write_string(row_index, 0, _say(N_("Tổng cộng")), header)
    for i, value in enumerate(_total(c)):
        sheet.write_number(row_index, len(heads) - 4 + i, value, bold_money)
    sheet.freeze_panes(1, 0)
    book.close()


# --- e-receipts: the daily list (bảng kê biên lai) and BC26/BLĐT ----------------------------------------

RECEIPT_STATUS = {"issued": "Đã phát hành", "cancelled": "Đã hủy"}
DAILY_HEADER = ["STT", "Mẫu số", "Ký hiệu", "Số", "Thời điểm lập (giờ Việt Nam)", "Người nộp", "Mã hồ sơ", "Loại",
                "Số tiền (đồng)", "Tình trạng", "Thời điểm hủy (giờ Việt Nam)", "Lý do hủy", "Ghi chú"]
DAILY_TOTALS_HEADER = ["Mẫu số", "Ký hiệu", "Loại", "Số biên lai còn hiệu lực", "Số tiền (đồng)", "Số biên lai đã hủy",
                       "Số tiền đã hủy (đồng)"]
USAGE_HEADER = ["STT", "Mẫu số", "Ký hiệu", "Từ số", "Đến số", "Các khoảng số đã dùng", "Số lượng đã dùng",
                "Còn hiệu lực", "Đã hủy: số lượng", "Đã hủy: các số", "Số bị thiếu: số lượng", "Số bị thiếu",
                "Số trên biên lai của quý hoặc đơn vị khác", "Số cuối cùng trước quý"]
DAILY_MONEY, TOTALS_MONEY = frozenset({8}), frozenset({4, 6})  # the columns that are amounts
CANCELLED_HEADER = ["Mẫu số", "Ký hiệu", "Số", "Mã hồ sơ", "Thời điểm lập (giờ Việt Nam)",
                    "Thời điểm hủy (giờ Việt Nam)", "Lý do hủy", "Hủy sau khi quý kết thúc"]
BC26_NOTE = ("Bố cục mẫu BC26/BLĐT ở đây chưa được đối chiếu với mẫu chính thức (Nghị định 123/2020/NĐ-CP, "
             "Thông tư 78/2021/TT-BTC): cần xác nhận với thành phố trước khi nộp.")


def _ict_naive(value: datetime | None) -> datetime | None:
    """A UTC moment as the Indochina wall-clock time a spreadsheet shows (no zone)."""
    return to_ict(value).replace(tzinfo=None) if value is not None else None


def _book(out: IO[bytes]):
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    formats = {"title": book.add_format({"bold": True, "font_size": 13}),
               "header": book.add_format({"bold": True, "text_wrap": True, "bg_color": "#EEF2F6", "border": 1}),
               "money": book.add_format({"num_format": "#,##0"}),
               "bold_money": book.add_format({"num_format": "#,##0", "bold": True}),
               "bold": book.add_format({"bold": True}),
               "time": book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
               "note": book.add_format({"italic": True})}
    return book, formats


def _cells(sheet, row: int, values: list, formats: dict, money_columns: frozenset[int] = frozenset(),
           bold: bool = False) -> None:
    for column, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, datetime):
            sheet.write_datetime(row, column, value, formats["time"])
        elif isinstance(value, int):
            style = ("bold_money" if bold else "money") if column in money_columns else ("bold" if bold else None)
            sheet.write_number(row, column, value, formats[style] if style else None)
        else:
            sheet.write_string(row, column, str(value), formats["bold"] if bold else None)


def _ref(ref: ReceiptRef) -> str:
    return f"ký hiệu {ref.series}, số {ref.number_text}"


def daily_receipts_xlsx(d: DailyList, out: IO[bytes]) -> None:
    """The daily list (``receipt_reports.DailyList``): the receipts on the first sheet, the
    totals per series and kind on the second. Numbers are text (8 digits), amounts whole đồng,
    times Indochina wall-clock times."""
    book, f = _book(out)
    sheet = book.add_worksheet("Bảng kê biên lai")
    sheet.write_string(0, 0, "BẢNG KÊ BIÊN LAI ĐIỆN TỬ ĐÃ LẬP", f["title"])
    sheet.write_string(1, 0, f"Đơn vị: {d.agency.name} ({d.agency.code})")
    sheet.write_string(2, 0, f"Mã số thuế: {d.agency.tax_code or ''}")
    sheet.write_string(3, 0, f"Ngày: {d.day.strftime('%d/%m/%Y')} (giờ Việt Nam, UTC+7)")
    head = 5
    for column, title in enumerate(DAILY_HEADER):
        sheet.write_string(head, column, title, f["header"])
    widths = [5, 12, 10, 10, 20, 30, 28, 8, 14, 13, 20, 36, 40]
    for column, width in enumerate(widths):
        sheet.set_column(column, column, width)
    row = head + 1
    for index, x in enumerate(d.receipts, start=1):
        notes = []
        if x.replaces:
            notes.append(f"Thay thế biên lai {_ref(x.replaces)} đã hủy")
        if x.replaced_by:
            notes.append(f"Được thay bằng biên lai {_ref(x.replaced_by)}")
        _cells(sheet, row, [index, x.form, x.series, x.number_text, _ict_naive(x.issued_at), x.payer_name,
                            x.dossier_code, KIND.get(x.kind, x.kind), x.amount, RECEIPT_STATUS.get(x.status, x.status),
                            _ict_naive(x.cancelled_at), x.cancel_reason or "", "; ".join(notes)], f, DAILY_MONEY)
        row += 1
    summary = f"{d.total.issued} biên lai còn hiệu lực, {d.total.cancelled} biên lai đã hủy (không tính tiền)"
    _cells(sheet, row, ["Tổng cộng", "", "", "", "", summary, "", "", d.total.amount], f, DAILY_MONEY, bold=True)
    sheet.freeze_panes(head + 1, 0)

    totals = book.add_worksheet("Tổng hợp")
    for column, title in enumerate(DAILY_TOTALS_HEADER):
        totals.write_string(0, column, title, f["header"])
        totals.set_column(column, column, 16)
    row = 1
    for s in d.series:
        for t in [*s.totals, s.total]:
            _cells(totals, row, [s.form, s.series, KIND[t.kind] if t.kind else "Cộng", t.issued, t.amount, t.cancelled,
                                 t.cancelled_amount], f, TOTALS_MONEY, bold=t.kind is None)
            row += 1
    for t in [*d.totals, d.total]:
        _cells(totals, row, ["Tổng cộng", "", KIND[t.kind] if t.kind else "Cộng", t.issued, t.amount, t.cancelled,
                             t.cancelled_amount], f, TOTALS_MONEY, bold=True)
        row += 1
    book.close()


def receipt_usage_xlsx(u: UsageReport, out: IO[bytes]) -> None:
    """BC26/BLĐT (``receipt_reports.UsageReport``): one row per form and series, then the
    cancelled receipts on a sheet of their own."""
    book, f = _book(out)
    sheet = book.add_worksheet("BC26-BLĐT")
    number = u.quarter.label[-1]
    sheet.write_string(0, 0, "BÁO CÁO TÌNH HÌNH SỬ DỤNG BIÊN LAI (mẫu BC26/BLĐT)", f["title"])
    sheet.write_string(1, 0, f"Quý {number} năm {u.quarter.start.year} (từ {u.quarter.start.strftime('%d/%m/%Y')} "
                             f"đến {u.quarter.end.strftime('%d/%m/%Y')}, giờ Việt Nam)")
    sheet.write_string(2, 0, f"Đơn vị: {u.agency.name} ({u.agency.code})")
    sheet.write_string(3, 0, f"Mã số thuế: {u.agency.tax_code or ''}")
    sheet.write_string(4, 0, BC26_NOTE, f["note"])
    head = 6
    for column, title in enumerate(USAGE_HEADER):
        sheet.write_string(head, column, title, f["header"])
    for column, width in enumerate([5, 12, 10, 10, 10, 24, 10, 10, 10, 30, 10, 24, 24, 12]):
        sheet.set_column(column, column, width)
    row = head + 1
    for index, s in enumerate(u.series, start=1):
        _cells(sheet, row, [index, s.form, s.series, number_text(s.first), number_text(s.last),
                            ", ".join(r.text for r in s.ranges), s.count, s.used, len(s.cancelled),
                            ", ".join(c.number_text for c in s.cancelled), s.missing_count,
                            ", ".join(r.text for r in s.missing), ", ".join(r.text for r in s.outside),
                            number_text(s.previous_last) if s.previous_last else ""], f)
        row += 1
    _cells(sheet, row, ["Tổng cộng", "", "", "", "", "", u.count, u.used, u.cancelled, "", u.missing_count], f,
           bold=True)
    sheet.freeze_panes(head + 1, 0)

    cancelled = book.add_worksheet("Biên lai đã hủy")
    for column, title in enumerate(CANCELLED_HEADER):
        cancelled.write_string(0, column, title, f["header"])
        cancelled.set_column(column, column, 18 if column != 6 else 40)
    row = 1
    for s in u.series:
        for c in s.cancelled:
            _cells(cancelled, row, [s.form, s.series, c.number_text, c.dossier_code, _ict_naive(c.issued_at),
                                    _ict_naive(c.cancelled_at), c.reason or "", "Có" if c.after_quarter else "Không"],
                   f)
            row += 1
    book.close()

