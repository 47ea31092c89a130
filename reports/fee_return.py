"""The fee returns: the monthly declaration 01/PHLP and the yearly settlement 02/PHLP (the forms
of Thông tư 80/2021/TT-BTC, declared as Thông tư 74/2022/TT-BTC sets for phí and lệ phí),
from ``payments.treasury``'s monthly figures. docs/TREASURY.md says which columns are
reproduced and what is approximated.

The yearly figures are the sums of the twelve monthly ones (retention rounded per month, as
each month was declared), so the settlement ties to the monthly returns to the đồng.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from payments.city_support import SupportLine, city_support
from payments.city_support import merged as merged_support
from payments.models import Agency
from payments.treasury import FeeLine, month_fees, remittances, remitted, treasury_data

FORM_MONTH = "01/PHLP"
FORM_YEAR = "02/PHLP"
KIND_NAMES = {"phi": "Phí", "le_phi": "Lệ phí"}
OBLIGATION_NAMES = {"registration_fee": "Lệ phí trước bạ nhà, đất", "land_use_levy": "Tiền sử dụng đất",
                    "personal_income_tax": "Thuế thu nhập cá nhân"}


@dataclass
class FeeReturn:
    form: str
    agency: Agency
    period: str  # YYYY-MM or YYYY
    lines: list[FeeLine]
    remitted: int
    months: list[str] = field(default_factory=list)
    obligations: dict[str, int] = field(default_factory=dict)
    # paid by the city budget in the payers' place (Nghị quyết 77/2025): beside the return, never collected
    support: list[SupportLine] = field(default_factory=list)

    @property
    def city_support(self) -> int:
        return sum(s.amount for s in self.support)

    def support_of(self, line: FeeLine) -> int:
        key = (line.fee_code or line.name, line.kind)
        return sum(s.amount for s in self.support if s.key == key)

    @property
    def collected(self) -> int:
        return sum(l.collected for l in self.lines)

    @property
    def other_collected(self) -> int:
        return sum(l.other_collected for l in self.lines)

    @property
    def retained(self) -> int:
        return sum(l.retained for l in self.lines)

    @property
    def payable(self) -> int:
        return sum(l.payable for l in self.lines)

    @property
    def owed(self) -> int:
        return self.payable - self.remitted


def _agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"no agency {code!r}", params={"code": code})
    return agency


def monthly_return(session: Session, agency_code: str, month: date) -> FeeReturn:
    agency = _agency(session, agency_code)
    fees = month_fees(session, agency, month)
    result = FeeReturn(FORM_MONTH, agency, f"{month:%Y-%m}", fees.lines, remitted(session, agency.id, month),
                       [f"{month:%Y-%m}"], fees.obligations)
    result.support = city_support(session, [month], [agency.id]).get((agency.id, month), [])
    return result


def yearly_return(session: Session, agency_code: str, year: int) -> FeeReturn:
    agency = _agency(session, agency_code)
    data = treasury_data(session)
    merged: dict[tuple[str, str], FeeLine] = {}
    obligations: dict[str, int] = {}
    months = []
    for m in range(1, 13):
        fees = month_fees(session, agency, date(year, m, 1), data=data)
        if fees.lines:
            months.append(f"{year}-{m:02d}")
        for kind, amount in fees.obligations.items():
            obligations[kind] = obligations.get(kind, 0) + amount
        for line in fees.lines:
            key = (line.fee_code or line.name, line.kind)
            total = merged.get(key)
            if total is None:
                total = merged[key] = FeeLine(line.fee_code, line.name, line.kind, line.chapter, line.subitem,
                                              line.retention_bp, line.verified)
            total.collected += line.collected
            total.receipts += line.receipts
            total.retained += line.retained
            total.other_collected += line.other_collected
            total.other_dossiers += line.other_dossiers
    paid = sum(r.amount for r in remittances(session, agency_id=agency.id, year=year))
    lines = sorted(merged.values(), key=lambda l: (l.kind != "le_phi", l.subitem is None, l.subitem or "",
                                                   l.fee_code, l.name))
    result = FeeReturn(FORM_YEAR, agency, str(year), lines, paid, months, obligations)
    result.support = merged_support(city_support(session, [date(year, m, 1) for m in range(1, 13)], [agency.id],
                                                 data=data).values())
    return result


def percent(bp: int | None) -> int | float | None:
    if bp is None:
        return None
    whole, rest = divmod(bp, 100)
    return whole if rest == 0 else bp / 100


def return_json(r: FeeReturn) -> dict[str, Any]:
    """The return as the API answers it (``reports.treasury_schemas.FeeReturn``)."""
    from core.clock import utcnow

    from .treasury_schemas import FeeReturn as Shape

    return Shape.of(r, utcnow()).model_dump(mode="json")


# --- XLSX -------------------------------------------------------------------------------------

MONTH_HEADS = ["STT", "Mã chương", "Tiểu mục", "Tên loại phí, lệ phí", "Số tiền phí, lệ phí thu được",
               "Tỷ lệ trích để lại theo quy định (%)", "Số tiền phí được để lại", "Số tiền phí, lệ phí phải nộp NSNN"]
MONTH_CODES = ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7) = (5) × (6)", "(8) = (5) − (7)"]
YEAR_EXTRA = ["Số đã nộp NSNN trong năm", "Số còn phải nộp NSNN"]


SUPPORT_TITLE = "Ngân sách thành phố hỗ trợ (Nghị quyết 77/2025)"
SUPPORT_NOTE = ("không phải số thu được: người nộp không trả, không có biên lai, không vào tài khoản chuyên thu; "
                "ngân sách thành phố trả thay theo hồ sơ nộp trong kỳ")
SUPPORT_HEADS = ["Mã chương", "Tiểu mục", "Tên loại phí, lệ phí (quy định áp dụng)", "Số tiền ngân sách thành phố hỗ trợ",
                 "Số khoản phí"]


def _write_support(sheet, row: int, r: FeeReturn, bold, head, cell, money, bold_money) -> int:
    """The section of the city's support, below the return: its own heads, so that no figure
    of it reads as collected (column 5 of the return). Answers the next free row."""
    sheet.write_string(row, 0, f"{SUPPORT_TITLE}: {SUPPORT_NOTE}.", bold)
    row += 1
    for col, text in enumerate(SUPPORT_HEADS, start=1):
        sheet.write_string(row, col, text, head)
    row += 1
    for number, s in enumerate(r.support, start=1):
        sheet.write_number(row, 0, number, cell)
        sheet.write_string(row, 1, s.chapter or "", cell)
        sheet.write_string(row, 2, s.subitem or "", cell)
        rules = "; ".join(f"{code}, {basis}" if basis else code for code, basis in sorted(s.rules.items()))
        sheet.write_string(row, 3, f"{s.name} ({rules})" if rules else s.name, cell)
        sheet.write_number(row, 4, s.amount, money)
        sheet.write_number(row, 5, s.charges, cell)
        row += 1
    sheet.write_string(row, 3, "Tổng ngân sách thành phố hỗ trợ", bold)
    sheet.write_number(row, 4, r.city_support, bold_money)
    return row + 2


def write_xlsx(r: FeeReturn, out: IO[bytes]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 13, "align": "center"})
    head = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#EEF2F6", "border": 1, "align": "center",
                            "valign": "vcenter"})
    money = book.add_format({"num_format": "#,##0", "border": 1})
    bold_money = book.add_format({"num_format": "#,##0", "bold": True, "border": 1})
    cell = book.add_format({"border": 1, "text_wrap": True})
    pct = book.add_format({"num_format": "0.##", "border": 1})
    sheet = book.add_worksheet(r.form.replace("/", "-"))
    yearly = r.form == FORM_YEAR
    heads = MONTH_HEADS + (YEAR_EXTRA if yearly else [])
    width = len(heads)
    sheet.merge_range(0, 0, 0, width - 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", title)
    sheet.merge_range(1, 0, 1, width - 1, "Độc lập - Tự do - Hạnh phúc", title)
    name = "TỜ KHAI QUYẾT TOÁN PHÍ, LỆ PHÍ" if yearly else "TỜ KHAI PHÍ, LỆ PHÍ"
    sheet.merge_range(3, 0, 3, width - 1, f"{name} (Mẫu số {r.form})", title)
    period = f"[01] Kỳ tính thuế: năm {r.period}" if yearly else \
        f"[01] Kỳ tính thuế: tháng {r.period[5:7]} năm {r.period[:4]}"
    rows = [period, "[02] Lần đầu: [X]    [03] Bổ sung lần thứ: [  ]",
            f"[04] Tên người nộp thuế: {r.agency.name}", f"[05] Mã số thuế: {r.agency.tax_code or ''}",
            "Đơn vị tiền: đồng Việt Nam"]
    for i, text in enumerate(rows, start=5):
        sheet.write_string(i, 0, text, bold if i < 9 else None)
    top = 11
    for col, text in enumerate(heads):
        sheet.write_string(top, col, text, head)
    for col, text in enumerate(MONTH_CODES + ([f"({9})", "(10) = (8) − (9)"] if yearly else [])):
        sheet.write_string(top + 1, col, text, head)
    row = top + 2
    for number, line in enumerate(r.lines, start=1):
        sheet.write_number(row, 0, number, cell)
        sheet.write_string(row, 1, line.chapter or "", cell)
        sheet.write_string(row, 2, line.subitem or "", cell)
        label = f"{KIND_NAMES[line.kind]}: {line.name}" if not line.name.lower().startswith(("phí", "lệ phí")) \
            else line.name
        if line.retention_bp is None:
            label += " (chưa có tỷ lệ để lại: tính 0 %)"
        sheet.write_string(row, 3, label, cell)
        sheet.write_number(row, 4, line.collected, money)
        sheet.write_number(row, 5, line.applied_bp / 100, pct)
        sheet.write_number(row, 6, line.retained, money)
        sheet.write_number(row, 7, line.payable, money)
        if yearly:
            sheet.write_blank(row, 8, None, cell)
            sheet.write_blank(row, 9, None, cell)
        row += 1
    sheet.write_string(row, 3, "Tổng cộng", bold)
    for col, value in ((4, r.collected), (6, r.retained), (7, r.payable)):
        sheet.write_number(row, col, value, bold_money)
    if yearly:
        sheet.write_number(row, 8, r.remitted, bold_money)
        sheet.write_number(row, 9, r.owed, bold_money)
    row += 2
    if not yearly:
        sheet.write_string(row, 0, f"Đã nộp Kho bạc Nhà nước cho kỳ này: {r.remitted:,}".replace(",", "."))
        sheet.write_string(row + 1, 0, f"Còn phải nộp: {r.owed:,}".replace(",", "."))
        row += 2
    if r.support:
        row = _write_support(sheet, row, r, bold, head, cell, money, bold_money)
    if r.obligations:
        sheet.write_string(row, 0, "Không tính vào tờ khai (nghĩa vụ tài chính đã thu như phí trước khi tách, "
                                   "nộp theo thông báo của cơ quan thuế):", bold)
        for kind, amount in sorted(r.obligations.items()):
            row += 1
            sheet.write_string(row, 0, OBLIGATION_NAMES.get(kind, kind))
            sheet.write_number(row, 4, amount, money)
        row += 1
    if r.other_collected:
        sheet.write_string(row, 0, f"Trong đó tiền đã có chứng từ của nơi khác (nền tảng thanh toán của Cổng Dịch vụ "
                                   f"công quốc gia, biên lai giấy), không có biên lai điện tử: "
                                   f"{r.other_collected:,}".replace(",", "."))
        row += 1
    sheet.write_string(row + 1, 0, "Bản do hệ thống lập từ biên lai điện tử đã phát hành và chứng từ của nơi khác; "
                                   "mã chương, tiểu mục và tỷ lệ để lại là dữ liệu danh mục (xem docs/TREASURY.md).")
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 2, 10)
    sheet.set_column(3, 3, 48)
    sheet.set_column(4, width - 1, 18)
    book.close()
