"""The monthly public disclosure ("công khai"): the online payment and cashless rates by unit
and by field, the ranking of units, the 766 items and points, and the units with delays; as a
page (``/reports/public/<YYYY-MM>``), CSV, XLSX and a PNG chart (``flask report monthly``).

The files are in Vietnamese, the language of the publication; rates are shares between 0 and
1 in CSV and percentages in XLSX (the cell's format); amounts are whole đồng.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from sqlalchemy.orm import Session

from core.clock import ict_day, to_ict, utcnow


from .charts import Series, monthly_png
from .definitions import BASIS_766, BASIS_CASHLESS, Period
from .indicators import Breakdown, Counts, Ranked, Summary, TrendPoint, breakdown, ranking, summary, trend
from .operations import UnitBacklog, backlog

TIER_NAMES = {"city": "Cơ quan, đơn vị cấp thành phố", "commune": "UBND phường, xã",
              "district": "UBND quận, huyện, thị xã (trước 1/7/2025)"}



@dataclass
class Disclosure:
    period: Period
    generated_at: datetime
    provisional: bool
    summary: Summary
    units: Breakdown
    ranking: dict[str, list[Ranked]]
    delays: list[UnitBacklog]
    trend: list[TrendPoint]

    @property
    def fields(self):
        return self.summary.by_field


def build(session: Session, period: Period, today: date | None = None) -> Disclosure:
    today = today or ict_day(utcnow())
    s = summary(session, period)
    units = breakdown(session, period, "agency", settings=s.settings)
    return Disclosure(period=period, generated_at=utcnow(), provisional=period.end >= today, summary=s, units=units,
                      ranking=ranking(units, active_only_period=period),
                      delays=[u for u in backlog(session, period, today) if u.delayed],
                      trend=trend(session, period.end))


def flag_setting_text(vietqr_as_gateway: bool) -> str:
    """How the city set ONLINE_FLAG_VIETQR_AS_GATEWAY, as every report page says it."""
    if vietqr_as_gateway:
        return ("Chuyển khoản VietQR cho hồ sơ nộp trực tuyến được tính là thanh toán qua cổng thanh toán của thành "
                "phố (cờ 2) — cấu hình ONLINE_FLAG_VIETQR_AS_GATEWAY đang bật.")
    return ("Chuyển khoản VietQR cho hồ sơ nộp trực tuyến không được tính là thanh toán trực tuyến — cấu hình "
            "ONLINE_FLAG_VIETQR_AS_GATEWAY đang tắt (mặc định); chỉ thanh toán trên Cổng DVC quốc gia (cờ 1) được tính.")


def definitions_text(d: Disclosure) -> list[tuple[str, str]]:
    spec = d.summary.settings.scoring["3.6"]
    return [
        ("Tỷ lệ thanh toán trực tuyến (mục 3.6)",
         "Số hồ sơ có cờ thanh toán trực tuyến (DuocThanhToanTrucTuyen) bằng 1 hoặc 2 ÷ (số hồ sơ của thủ tục có phí, "
         "lệ phí trong CSDL thủ tục − số hồ sơ có mọi khoản phí, lệ phí bằng 0), tính trên hồ sơ bắt đầu xử lý (ngày "
         "tiếp nhận, giờ Việt Nam) trong kỳ, mọi trạng thái (kể cả hồ sơ bị từ chối, rút, dừng xử lý), như Cổng DVC "
         "quốc gia tính. Cờ 1: đã nộp đủ, mọi khoản trên nền tảng thanh toán của Cổng; cờ 2: qua cổng thanh toán của "
         f"thành phố. {flag_setting_text(d.summary.settings.vietqr_as_gateway)} Căn cứ: {BASIS_766}."),
        ("Tỷ lệ thanh toán không dùng tiền mặt (chỉ tiêu riêng của thành phố)",
         "Số hồ sơ có phí đã nộp đủ mà không có khoản nào bằng tiền mặt (kể cả chuyển khoản VietQR tại quầy, thẻ) "
         "÷ số hồ sơ phải nộp (tổng phí trên 0 đồng, không tính hồ sơ bị từ chối, rút, dừng xử lý hay chưa tiếp nhận). "
         f"Căn cứ: {BASIS_CASHLESS}."),
        ("Mục 3.5", "Số thủ tục có phí có ít nhất một hồ sơ trong kỳ có thông tin phí, lệ phí khác 0 "
                    "÷ số thủ tục có phí trong CSDL thủ tục hiện tại."),
        ("Mục 3.5b", "Số thủ tục có phí có ít nhất một hồ sơ trong kỳ có cờ thanh toán trực tuyến 1 hoặc 2 "
                     "÷ số thủ tục có phí trong CSDL thủ tục hiện tại."),
        ("Khoản nộp", "Khoản nộp bị hủy hạch toán không tính; khoản đã hoàn trả được trừ; khoản nộp sau kỳ được tính "
                      "vào kỳ hồ sơ bắt đầu xử lý."),
        ("Điểm", f"Điểm = điểm tối đa × min(1, tỷ lệ ÷ ngưỡng đạt điểm tối đa). Ngưỡng mục 3.6: "
                 f"{spec['full_marks_at'] * 100:g} %" + ("" if spec["verified"] else " (chưa được xác nhận, có thể "
                                                                                   "thay đổi)") + "."),
    ]


# --- CSV ---------------------------------------------------------------------------------------------

CSV_HEADER = ("Nhóm", "Mã", "Tên", "Hạng", "Số hồ sơ", "Hồ sơ có phí, lệ phí", "Thanh toán trực tuyến",
              "Tỷ lệ thanh toán trực tuyến (0–1)", "Không dùng tiền mặt", "Tỷ lệ không dùng tiền mặt (0–1)")


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _counts_row(group: str, key: str, name: str, rank: int | None, c: Counts) -> list[str]:
    return [group, _csv_text(key), _csv_text(name), "" if rank is None else str(rank), str(c.dossiers),
            str(c.with_fees), str(c.paid_online), _ratio(c.rate), str(c.cashless), _ratio(c.cashless_rate)]


def write_csv(d: Disclosure, out: IO[bytes]) -> None:
    """UTF-8 with a byte-order mark (spreadsheets read the Vietnamese right), comma-separated."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(CSV_HEADER)
    writer.writerow(_counts_row("Toàn thành phố", "", f"Tháng {d.period.label}", None, d.summary.total))
    for tier, rows in d.ranking.items():
        for r in rows:
            writer.writerow(_counts_row(TIER_NAMES[tier], r.group.key, r.group.name, r.rank, r.group.counts))
    for g in d.fields:
        writer.writerow(_counts_row("Lĩnh vực", g.key, g.name, None, g.counts))
    text.flush()
    text.detach()


# --- XLSX --------------------------------------------------------------------------------------------


def write_xlsx(d: Disclosure, out: IO[bytes]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#EEF2F6", "border": 1})
    pct = book.add_format({"num_format": "0.0%"})
    num = book.add_format({"num_format": "#,##0"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    s = d.summary

    sheet = book.add_worksheet("Tổng hợp")
    sheet.set_column(0, 0, 46)
    sheet.set_column(1, 5, 16)
    sheet.write_string(0, 0, f"Công khai kết quả thanh toán trực tuyến phí, lệ phí TTHC — tháng {d.period.label}",
                       title)
    sheet.write_string(1, 0, f"Lập lúc {to_ict(d.generated_at):%H:%M %d/%m/%Y} (giờ Việt Nam)"
                       + (" — số liệu tạm tính, kỳ chưa kết thúc" if d.provisional else ""))
    heads = ("Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Điểm", "Điểm tối đa")
    for i, h in enumerate(heads):
        sheet.write_string(3, i, h, header)
    scoring = s.settings.scoring
    items = [("Mục 3.5 — thủ tục có phí có thông tin phí trên hồ sơ", s.item_3_5.numerator, s.item_3_5.denominator,
              s.item_3_5.rate, s.scores["3.5"], scoring["3.5"]["points"]),
             ("Mục 3.5b — thủ tục có phí có thanh toán trực tuyến", s.item_3_5b.numerator, s.item_3_5b.denominator,
              s.item_3_5b.rate, s.scores["3.5b"], scoring["3.5b"]["points"]),
             ("Mục 3.6 — tỷ lệ thanh toán trực tuyến", s.total.paid_online, s.total.with_fees, s.total.rate,
              s.scores["3.6"], scoring["3.6"]["points"]),
             ("Tỷ lệ thanh toán không dùng tiền mặt", s.total.cashless, s.total.to_pay, s.total.cashless_rate,
              None, None)]
    for row, (name, top, bottom, rate, points, most) in enumerate(items, start=4):
        sheet.write_string(row, 0, name)
        sheet.write_number(row, 1, top, num)
        sheet.write_number(row, 2, bottom, num)
        if rate is not None:
            sheet.write_number(row, 3, rate, pct)
        if points is not None:
            sheet.write_number(row, 4, points)
        if most is not None:
            sheet.write_number(row, 5, most)
    sheet.write_string(9, 0, "Tổng điểm (mục 3.5, 3.5b, 3.6)", bold)
    sheet.write_number(9, 4, s.points)
    sheet.write_number(9, 5, s.max_points)
    c = s.total
    facts = [("Hồ sơ bắt đầu xử lý trong kỳ (mọi trạng thái)", c.dossiers),
             ("Hồ sơ của thủ tục có phí, lệ phí", c.fee_procedure_dossiers),
             ("— trong đó phí, lệ phí bằng 0 (miễn, nộp trực tuyến được miễn)", c.zero_fee),
             ("Hồ sơ có phí, lệ phí (mẫu số mục 3.6)", c.with_fees),
             ("Hồ sơ có cờ thanh toán trực tuyến 1 hoặc 2 (tử số mục 3.6)", c.paid_online),
             ("— trong đó bị từ chối, rút, dừng xử lý (vẫn tính)", c.cancelled),
             ("Hồ sơ phải nộp (mẫu số tỷ lệ không dùng tiền mặt)", c.to_pay), ("Đã nộp đủ", c.paid)]
    for row, (name, value) in enumerate(facts, start=11):
        sheet.write_string(row, 0, name)
        sheet.write_number(row, 1, value, num)

    sheet = book.add_worksheet("Theo đơn vị")
    cols = ("Nhóm", "Hạng", "Mã", "Đơn vị", "Số hồ sơ", "Hồ sơ có phí", "Thanh toán trực tuyến", "Tỷ lệ TTTT",
            "Không dùng tiền mặt", "Tỷ lệ KDTM")
    widths = (30, 7, 18, 60, 10, 12, 12, 11, 12, 11)
    for i, (h, w) in enumerate(zip(cols, widths)):
        sheet.set_column(i, i, w)
        sheet.write_string(0, i, h, header)
    row = 1
    for tier, ranked in d.ranking.items():
        for r in ranked:
            g = r.group
            sheet.write_string(row, 0, TIER_NAMES[tier])
            if r.rank is not None:
                sheet.write_number(row, 1, r.rank)
            sheet.write_string(row, 2, g.key)
            sheet.write_string(row, 3, g.name)
            for col, value in ((4, g.counts.dossiers), (5, g.counts.with_fees), (6, g.counts.paid_online),
                               (8, g.counts.cashless)):
                sheet.write_number(row, col, value, num)
            if g.counts.rate is not None:
                sheet.write_number(row, 7, g.counts.rate, pct)
            if g.counts.cashless_rate is not None:
                sheet.write_number(row, 9, g.counts.cashless_rate, pct)
            row += 1
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row - 1, 1), len(cols) - 1)

    sheet = book.add_worksheet("Theo lĩnh vực")
    cols = ("Lĩnh vực", "Số hồ sơ", "Hồ sơ có phí", "Thanh toán trực tuyến", "Tỷ lệ TTTT", "Không dùng tiền mặt",
            "Tỷ lệ KDTM")
    for i, h in enumerate(cols):
        sheet.set_column(i, i, 22 if i == 0 else 13)
        sheet.write_string(0, i, h, header)
    for row, g in enumerate(d.fields, start=1):
        sheet.write_string(row, 0, g.name)
        for col, value in ((1, g.counts.dossiers), (2, g.counts.with_fees), (3, g.counts.paid_online),
                           (5, g.counts.cashless)):
            sheet.write_number(row, col, value, num)
        if g.counts.rate is not None:
            sheet.write_number(row, 4, g.counts.rate, pct)
        if g.counts.cashless_rate is not None:
            sheet.write_number(row, 6, g.counts.cashless_rate, pct)

    sheet = book.add_worksheet("Đơn vị chậm xử lý")
    cols = ("Mã", "Đơn vị", "Mục đối soát quá hạn (đang mở)", "Mục của kỳ xử lý trễ hạn", "Ngày chưa chốt đối soát",
            "Ngày chốt trễ")
    for i, h in enumerate(cols):
        sheet.set_column(i, i, 60 if i == 1 else 16)
        sheet.write_string(0, i, h, header)
    for row, u in enumerate(d.delays, start=1):
        sheet.write_string(row, 0, u.key)
        sheet.write_string(row, 1, u.name)
        sheet.write_number(row, 2, u.overdue_exceptions)
        sheet.write_number(row, 3, u.late_exceptions)
        sheet.write_number(row, 4, len(u.unclosed_days))
        sheet.write_number(row, 5, len(u.late_closed_days))

    sheet = book.add_worksheet("Định nghĩa")
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 110)
    for row, (name, text) in enumerate(definitions_text(d)):
        sheet.write_string(row, 0, name, bold)
        sheet.write_string(row, 1, text, wrap)
    book.close()


# --- PNG ----------------------------------------------------------------------------------------------


def chart_png(d: Disclosure) -> bytes:
    months = [p.month for p in d.trend]
    bars = [(f"{r.rank}. {r.group.name}", r.group.counts.rate)
            for tier in ("city", "commune", "district") for r in d.ranking.get(tier, []) if r.rank is not None][:40]
    spec = d.summary.settings.scoring["3.6"]
    rate = d.summary.total.rate
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}".replace(".", ",") + " %"

    subtitle = (f"Tháng {d.period.label}: tỷ lệ thanh toán trực tuyến (mục 3.6) {pct(rate)} "
                f"({d.summary.total.paid_online}/{d.summary.total.with_fees} hồ sơ có phí), không dùng tiền mặt "
                f"{pct(d.summary.total.cashless_rate)}")
    return monthly_png(
        f"Thanh toán trực tuyến phí, lệ phí TTHC — Hà Nội, tháng {d.period.label}", subtitle, months,
        [Series("Tỷ lệ thanh toán trực tuyến (766, mục 3.6)", [p.counts.rate for p in d.trend]),
         Series("Tỷ lệ không dùng tiền mặt", [p.counts.cashless_rate for p in d.trend])],
        bars, threshold=spec["full_marks_at"], threshold_label="Ngưỡng điểm tối đa mục 3.6",
        trend_title="12 tháng gần nhất (theo tháng bắt đầu xử lý hồ sơ)",
        bars_title="Tỷ lệ thanh toán trực tuyến theo đơn vị (xếp hạng trong nhóm)",
        footnote=f"Lập lúc {to_ict(d.generated_at):%H:%M %d/%m/%Y}. Căn cứ: Quyết định 766/QĐ-TTg. Đơn vị không có "
                 "hồ sơ có phí trong tháng không hiện trên biểu đồ." + (" Số liệu tạm tính." if d.provisional else ""))


def file_stem(period: Period) -> str:
    return f"cong-khai-thanh-toan-truc-tuyen-{period.label}"
