"""The readable rendering of an e-receipt: its signed XML (``payments.receipt_providers``)
drawn on an A5 page as PDF, with fpdf2 and a subset of the DejaVu fonts shipped in
``qr/fonts`` (Vietnamese diacritics, the same on every machine; nothing outside the project
is read at run time).

What the page says, top to bottom: the collecting body and its tax code beside the form
symbol (mẫu số), the series (ký hiệu) and the number; the title by kind; the date and time of
issue in Indochina Time; the payer, the dossier code, the procedure and the payment channel in
words; a table of the fee lines with the total in figures; the total in words; a note when the
receipt replaces a cancelled one or is itself cancelled (then "ĐÃ HỦY" is stamped across the
page in red, under the text); and the signature block: the document is signed with the
collecting body's key (XML-DSig) by its e-receipt system, with the system's transmission code.
The PDF itself carries no signature: the signed document is the XML (``.xml`` beside it).

Everything shown comes from the XML (``receipt_text``): the signed document when there is one,
else the document as it will be signed, with the receipt's current state (cancelled, replaced)
from the database. Text is never cut: it wraps by measured width (``qr.text_layout``, the
cards' wrapping) and a receipt too long for one page continues on the next.

Receipts are in Vietnamese whatever the page's language: a receipt is a legal document.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from lxml import etree

from core.clock import to_ict
from core.money import format_vnd
from qr.text_layout import LABELS, clean, wrap

FORMATS = ("pdf",)
KINDS = ("phi", "le_phi")

TITLES = {"phi": "BIÊN LAI THU PHÍ", "le_phi": "BIÊN LAI THU LỆ PHÍ", None: "BIÊN LAI THU PHÍ, LỆ PHÍ"}
SUBTITLE = "(Bản thể hiện của biên lai điện tử)"
SIGNATURE_TITLE = "ĐẠI DIỆN ĐƠN VỊ THU"
SIGNATURE_LINE = "Đã ký số bởi đơn vị thu qua hệ thống biên lai điện tử (chữ ký số trong tệp XML của biên lai)."
UNSIGNED_LINE = "Biên lai đã được cấp số; chữ ký số của đơn vị thu đang được hệ thống biên lai điện tử áp dụng."
STAMP = "ĐÃ HỦY"
STAMP_RGB = (200, 30, 30)
CHANNEL_WORDS = {
    "portal": "Thanh toán trực tuyến trên Cổng Dịch vụ công quốc gia",
    "gateway": "Chuyển khoản trực tuyến qua mã VietQR (nộp hồ sơ trực tuyến)",
    "counter_transfer": "Chuyển khoản ngân hàng qua mã VietQR tại bộ phận một cửa",
    "card": "Thẻ ngân hàng",
    "cash": "Tiền mặt",
}
UNKNOWN_CHANNEL = "Chưa xác định"

PAGE_MM = (148, 210)  # A5
MARGIN = 12
_FONT_DIR = Path(__file__).resolve().parents[1] / "qr" / "fonts"
_FONTS = {"regular": ("DejaVu", "", "DejaVuSans.ttf"), "bold": ("DejaVu", "B", "DejaVuSans-Bold.ttf")}
SIZES = {"title": 15, "subtitle": 8, "date": 9, "head": 9, "body": 9.5, "table": 9, "note": 8.5, "sign": 8}


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    amount: int  # đồng


@dataclass(frozen=True)
class ReceiptText:
    """What a receipt page shows: the XML's fields and the receipt's state."""

    kind: str | None
    form: str
    series: str
    number: str
    agency_name: str
    agency_tax_code: str
    payer_name: str
    dossier_code: str
    procedure_name: str
    lines: tuple[ReceiptLine, ...]
    amount: int
    amount_in_words: str
    issued_at: datetime
    payment_channels: tuple[str, ...] = ()
    replaces: str | None = None          # "ký hiệu DD-26E, số 00000001" of the receipt this one replaces
    transmission_code: str | None = None  # None: not signed yet
    cancelled_at: datetime | None = None
    replaced_by: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES.get(self.kind, TITLES[None])

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


def channel_words(channels: Iterable[str]) -> str:
    words = [CHANNEL_WORDS.get(c, c) for c in dict.fromkeys(c for c in channels if c and c != "mixed")]
    return "; ".join(words) if words else UNKNOWN_CHANNEL


def receipt_filename(series: str, number: str, fmt: str = "pdf") -> str:
    """``bien-lai-DD-26E-00000001.pdf``: ASCII only, safe in a Content-Disposition header."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in series)
    safe = "-".join(part for part in safe.split("-") if part) or "x"
    return f"bien-lai-{safe}-{number}.{fmt}"


def text_from_xml(xml: bytes | etree._Element, **state) -> ReceiptText:
    """The page's text from a receipt's XML (``receipt_providers.build_xml``, signed or not)
    and its state (``transmission_code``, ``cancelled_at``, ``replaced_by``, ``payment_channels``)."""
    root = etree.fromstring(xml) if isinstance(xml, bytes) else xml
    data = root.find("DLBLai")
    if data is None:
        raise ValueError("not a receipt document: no DLBLai")

    def get(path: str) -> str:
        return data.findtext(path) or ""

    replaces = None
    if data.find("TTChung/TTBLLQuan") is not None:
        replaces = f"ký hiệu {get('TTChung/TTBLLQuan/KHBLLQuan')}, số {get('TTChung/TTBLLQuan/SBLLQuan')}"
    lines = tuple(ReceiptLine(item.findtext("TKPhi") or "", int(item.findtext("STien") or 0))
                  for item in data.findall("NDBLai/DSKPhi/KPhi"))
    kind = get("TTChung/LPhi")
    channel = get("TTChung/HTTToan")
    state.setdefault("payment_channels", (channel,) if channel else ())
    return ReceiptText(
        kind=kind if kind in KINDS else None, form=get("TTChung/KHMSBLai"), series=get("TTChung/KHBLai"),
        number=get("TTChung/SBLai"), agency_name=get("NDBLai/NBan/Ten"), agency_tax_code=get("NDBLai/NBan/MST"),
        payer_name=get("NDBLai/NNop/Ten"), dossier_code=get("TTChung/MHSo"), procedure_name=get("TTChung/TTTuc"),
        lines=lines, amount=int(get("NDBLai/TToan/TgTTTBSo") or 0), amount_in_words=get("NDBLai/TToan/TgTTTBChu"),
        issued_at=datetime.fromisoformat(get("TTChung/NLap")), replaces=replaces, **state)


def receipt_text(session, receipt) -> ReceiptText:
    """What ``receipt`` shows: its XML (the signed one, else the one to be signed) and its
    state. A ``mixed`` receipt names the channels of the payments it covers."""
    from sqlalchemy import select

    from .models import Receipt
    from .receipt_documents import dossier_documents
    from .receipt_providers import build_xml, receipt_fields

    xml = receipt.signed_xml.encode("utf-8") if receipt.signed_xml else build_xml(receipt_fields(session, receipt))
    replacement = session.scalar(select(Receipt).where(Receipt.replaces_id == receipt.id).limit(1))
    channels: tuple[str, ...] = (receipt.payment_channel,) if receipt.payment_channel else ()
    if receipt.payment_channel == "mixed":
        covered = dossier_documents(session, receipt.dossier_id)[0].get(receipt.id, [])
        channels = tuple(p["payment_channel"] for p in covered)
    text = text_from_xml(
        xml, transmission_code=receipt.transmission_code, payment_channels=channels,
        cancelled_at=receipt.cancelled_at if receipt.status == "cancelled" else None,
        replaced_by=(f"ký hiệu {replacement.series}, số {replacement.number:08d}" if replacement else None))
    if sum(line.amount for line in text.lines) != text.amount:
        raise ValueError(f"receipt {text.series}/{text.number}: its lines add up to "
                         f"{sum(line.amount for line in text.lines)} đ, not to its amount of {text.amount} đ")
    return text


# ---------------------------------------------------------------------------------------------
# Drawing


def _date_words(moment: datetime) -> str:
    local = to_ict(moment)
    return (f"Ngày {local.day:02d} tháng {local.month:02d} năm {local.year}, "
            f"lúc {local.hour:02d}:{local.minute:02d} (giờ Việt Nam, UTC+7)")


def _time_words(moment: datetime) -> str:
    local = to_ict(moment)
    return f"{local.hour:02d}:{local.minute:02d} ngày {local.day:02d}/{local.month:02d}/{local.year}"


class _Page:
    """An fpdf2 document with a pen that flows down the page, wrapping with ``text_layout``."""

    def __init__(self):
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format=PAGE_MM)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(False)
        for family, style, name in _FONTS.values():
            pdf.add_font(family, style, str(_FONT_DIR / name))
        pdf.set_creator("Hanoi fee payments")
        pdf.set_creation_date(datetime(2026, 1, 1))  # the same receipt renders to the same bytes
        pdf.add_page()
        self.pdf = pdf
        self.y = MARGIN
        self.x0, self.x1 = MARGIN, PAGE_MM[0] - MARGIN
        self.bottom = PAGE_MM[1] - MARGIN

    def font(self, name: str, size: float) -> None:
        family, style, _ = _FONTS[name]
        self.pdf.set_font(family, style, size)

    def width(self, name: str, size: float, text: str) -> float:
        self.font(name, size)
        return self.pdf.get_string_width(text)

    def lines(self, runs: list[tuple[str, str]], size: float, maxw: float) -> list[list[tuple]]:
        tokens = [(name, word, True) for name, text in runs for word in clean(text).split(" ") if word]
        return wrap(tokens, lambda name, text: self.width(name, size, text), maxw) if tokens else []

    def pitch(self, size: float) -> float:
        return size * 0.3528 * 1.3  # pt to mm, with leading

    def room(self, height: float) -> None:
        if self.y + height > self.bottom:
            self.pdf.add_page()
            self.y = MARGIN

    def para(self, runs: list[tuple[str, str]], size: float, x0: float | None = None, x1: float | None = None,
             align: str = "left", y: float | None = None) -> float:
        """Draw wrapped runs from y (the pen's by default); returns the y below them."""
        x0 = self.x0 if x0 is None else x0
        x1 = self.x1 if x1 is None else x1
        if y is not None:
            self.y = y
        pitch = self.pitch(size)
        for line in self.lines(runs, size, x1 - x0):
            self.room(pitch)
            width = sum(self.width(n, size, w) for n, w, _ in line) + \
                sum(self.width(line[i - 1][0], size, " ") for i in range(1, len(line)) if line[i][2])
            pen = {"center": x0 + (x1 - x0 - width) / 2, "right": x1 - width}.get(align, x0)
            baseline = self.y + size * 0.3528
            for i, (name, word, spaced) in enumerate(line):
                if i and spaced:
                    pen += self.width(line[i - 1][0], size, " ")
                self.font(name, size)
                self.pdf.text(pen, baseline, word)
                pen += self.pdf.get_string_width(word)
            self.y += pitch
        return self.y

    def rule(self, y: float) -> None:
        self.pdf.set_line_width(0.25)
        self.pdf.line(self.x0, y, self.x1, y)


def _stamp(page: _Page) -> None:
    """"ĐÃ HỦY" in red across the page, drawn first so the text stays readable over it."""
    pdf = page.pdf
    page.font("bold", 64)
    width = pdf.get_string_width(STAMP)
    cx, cy = PAGE_MM[0] / 2, PAGE_MM[1] / 2
    with pdf.local_context(fill_opacity=0.55, text_color=STAMP_RGB), pdf.rotation(28, x=cx, y=cy):
        pdf.text(cx - width / 2, cy + 8, STAMP)


def render_receipt(text: ReceiptText, fmt: str = "pdf") -> bytes:
    """The receipt as an A5 PDF."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown receipt format {fmt!r}: expected one of {', '.join(FORMATS)}")
    page = _Page()
    if text.cancelled:
        _stamp(page)
    regular, bold = "regular", "bold"
    width = page.x1 - page.x0
    split = page.x0 + width * 0.6
    # Header: the collecting body on the left; form, series and number on the right.
    left = page.para([(bold, text.agency_name or "—")], SIZES["head"], page.x0, split - 4, y=MARGIN)
    left = page.para([(regular, LABELS["tax_code"]), (bold, text.agency_tax_code or "(chưa có)")], SIZES["head"],
                     page.x0, split - 4, y=left)
    right = page.para([(regular, LABELS["form"]), (bold, text.form)], SIZES["head"], split, page.x1, y=MARGIN)
    right = page.para([(regular, LABELS["series"]), (bold, text.series)], SIZES["head"], split, page.x1, y=right)
    right = page.para([(regular, LABELS["number"]), (bold, text.number)], SIZES["head"] + 1, split, page.x1, y=right)
    page.y = max(left, right) + 4
    page.para([(bold, text.title)], SIZES["title"], align="center")
    page.para([(regular, SUBTITLE)], SIZES["subtitle"], align="center")
    page.para([(regular, _date_words(text.issued_at))], SIZES["date"], align="center")
    page.y += 3
    for label, font, value in (("Họ tên người nộp:", bold, text.payer_name),
                               (LABELS["dossier"], bold, text.dossier_code),
                               (LABELS["procedure"], regular, text.procedure_name),
                               (LABELS["channel"], regular, channel_words(text.payment_channels))):
        page.para([(regular, label), (font, value or "—")], SIZES["body"])
    page.y += 2
    _table(page, text)
    page.y += 2
    page.para([(regular, "Số tiền bằng chữ:"), (bold, text.amount_in_words)], SIZES["body"])
    if text.replaces:
        page.para([(regular, f"Biên lai này thay thế biên lai {text.replaces} đã hủy.")], SIZES["note"])
    if text.cancelled_at is not None:
        page.para([(bold, f"Biên lai đã bị hủy lúc {_time_words(text.cancelled_at)}.")], SIZES["note"])
        if text.replaced_by:
            page.para([(bold, f"Biên lai thay thế: {text.replaced_by}.")], SIZES["note"])
    page.y += 5
    sign_x = page.x0 + width * 0.4
    page.room(page.pitch(SIZES["sign"]) * 5)
    page.para([(bold, SIGNATURE_TITLE)], SIZES["sign"] + 1, sign_x, page.x1, align="center")
    if text.transmission_code:
        page.para([(regular, SIGNATURE_LINE)], SIZES["sign"], sign_x, page.x1, align="center")
        page.para([(regular, LABELS["transmission_code"]), (bold, text.transmission_code)], SIZES["sign"], sign_x,
                  page.x1, align="center")
    else:
        page.para([(regular, UNSIGNED_LINE)], SIZES["sign"], sign_x, page.x1, align="center")
    return bytes(page.pdf.output())


def _table(page: _Page, text: ReceiptText) -> None:
    """STT | fee | amount (đồng), with a header and a total row between rules."""
    size = SIZES["table"]
    amounts = [format_vnd(line.amount, symbol=False) for line in text.lines] + [format_vnd(text.amount, symbol=False)]
    amount_w = max(page.width("bold", size, a) for a in amounts + ["Số tiền (đồng)"]) + 3
    index_w = page.width("bold", size, "STT") + 3
    xs = (page.x0, page.x0 + index_w, page.x1 - amount_w, page.x1)
    page.room(page.pitch(size) * 2)
    page.rule(page.y)
    page.y += 1

    def row(cells: list[tuple[str, str, str] | None]) -> None:
        top = page.y
        page.room(page.pitch(size))
        top = page.y
        bottom = top
        for column, cell in enumerate(cells):
            if cell is None:
                continue
            font, value, align = cell
            bottom = max(bottom, page.para([(font, value)], size, xs[column] + 1, xs[column + 1] - 1, align=align,
                                           y=top))
        page.y = bottom + 1
        page.rule(page.y)
        page.y += 1

    row([("bold", "STT", "center"), ("bold", "Nội dung khoản thu", "center"), ("bold", "Số tiền (đồng)", "center")])
    for number, (line, amount) in enumerate(zip(text.lines, amounts), 1):
        row([("regular", str(number), "center"), ("regular", line.name or "—", "left"), ("regular", amount, "right")])
    row([None, ("bold", LABELS["total"][:-1], "right"), ("bold", amounts[-1], "right")])
