"""Receipt documents: an e-receipt ("biên lai điện tử", DOMAIN.md) drawn on an A5 page, as PDF
or PNG, with Pillow and the DejaVu fonts shipped in ``qr/fonts``.

What the page says, top to bottom: the collecting agency and its tax code beside the form
symbol (mẫu số), the series (ký hiệu) and the number (8 digits); the title by kind ("BIÊN LAI
THU PHÍ", "BIÊN LAI THU LỆ PHÍ", or "BIÊN LAI THU PHÍ, LỆ PHÍ" for a receipt of both); the date
and time of issue in Indochina Time; the payer, the dossier code, the procedure and the payment
channel in words; a table of the fee lines with the total in figures; the total in words; a
note when the receipt replaces a cancelled one or is itself cancelled (then the words "ĐÃ HỦY"
are stamped across the page, in red, under the text); and the signature line.

The signature. This service holds no signing certificate and signs nothing: the PDF carries
no digital signature (no ``/Sig`` field) and no picture of a seal or a handwritten signature,
and none must be added to make it look signed. The line at the bottom says that the
collecting body's electronic signature is applied by the issuing system, i.e. the e-receipt
system the body is registered with (Nghị định 123/2020/NĐ-CP); the subtitle calls the page what
it is, a human-readable rendering ("bản thể hiện") of the receipt as this service recorded it.

Text is never cut: every text wraps by measured width inside its column (an over-long word is
broken), amounts stay on one line (their size steps down if a column is too narrow), and when
the page is too short the whole text steps down in size to 66 %; past that, rendering raises
``ValueError`` rather than cut anything. :func:`layout_receipt` returns every box drawn, so
tests can check that nothing overlaps or leaves the page.

The PDF is written here (no PDF library is a runtime dependency): the page is a 1-bit image
at 300 dpi painted as a stencil (black text, and the red stamp under it), with the same text
as an invisible text layer on top, so that the receipt can be searched, copied and read by
machines (``pypdfium2`` extracts it in the tests). The text layer uses the DejaVu names with
a ToUnicode map and is not embedded: it is never painted (text render mode 3).

The documents are in Vietnamese whatever the page's language: a receipt is a legal document.
This module is pure except :func:`receipt_document`, which reads one receipt from the database.
"""
from __future__ import annotations

import io
import math
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from PIL import Image, ImageChops, ImageDraw, ImageFont

from core.clock import to_ict
from core.money import amount_in_words, format_vnd

if TYPE_CHECKING:  # the database side is only needed by receipt_document
    from sqlalchemy.orm import Session

    from .models import Receipt

FORMATS = ("pdf", "png")
KINDS = ("phi", "le_phi")
NUMBER_DIGITS = 8

TITLES = {"phi": "BIÊN LAI THU PHÍ", "le_phi": "BIÊN LAI THU LỆ PHÍ", None: "BIÊN LAI THU PHÍ, LỆ PHÍ"}
SUBTITLE = "(Bản thể hiện của biên lai điện tử)"
SIGNATURE_TITLE = "ĐẠI DIỆN ĐƠN VỊ THU"
SIGNATURE_LINE = "Chữ ký điện tử của đơn vị thu do hệ thống phát hành biên lai điện tử áp dụng."
STAMP = "ĐÃ HỦY"
# How the citizen paid (reconciliation's ``payment_channel``), in words.
CHANNEL_WORDS = {
    "portal": "Thanh toán trực tuyến trên Cổng Dịch vụ công quốc gia",
    "gateway": "Chuyển khoản trực tuyến qua mã VietQR (nộp hồ sơ trực tuyến)",
    "counter_transfer": "Chuyển khoản ngân hàng qua mã VietQR tại bộ phận một cửa",
    "card": "Thẻ ngân hàng",
    "cash": "Tiền mặt",
}
UNKNOWN_CHANNEL = "Chưa xác định"

DPI = 300
PAGE_PX = (1748, 2480)           # A5, 148 × 210 mm at 300 dpi
PAGE_PT = (419.53, 595.28)       # A5 in PDF points
MARGIN = 142                     # 12 mm
RULE = 3                         # table rules, px (0.25 mm)
STAMP_RGB = (200, 30, 30)
SIZES = {"title": 66, "subtitle": 32, "date": 36, "head": 36, "head_strong": 38, "body": 40, "table": 38,
         "words": 38, "note": 34, "sign_title": 36, "sign": 32}
FLOOR = 22                       # px: 5.3 pt, as the A6 card's floor
SCALES = (1.0, 0.92, 0.85, 0.78, 0.72, 0.66)

_FONT_DIR = Path(__file__).resolve().parents[1] / "qr" / "fonts"
_FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
_PDF_FONTS = {"regular": ("F1", "DejaVuSans"), "bold": ("F2", "DejaVuSans-Bold")}

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), x1 and y1 exclusive, in pixels


# ---------------------------------------------------------------------------------------------
# What a receipt says


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    amount: int  # đồng


@dataclass(frozen=True)
class ReceiptDocument:
    """Everything a receipt page shows; built from a ``Receipt`` by :func:`receipt_document`."""

    kind: str | None            # "phi" | "le_phi" | None (a receipt of both)
    form: str                   # mẫu số
    series: str                 # ký hiệu
    number: int
    agency_name: str
    agency_tax_code: str | None
    payer_name: str
    dossier_code: str
    procedure_name: str
    lines: tuple[ReceiptLine, ...]
    issued_at: datetime         # aware; shown in Indochina Time
    payment_channels: tuple[str, ...] = ()
    cancelled_at: datetime | None = None
    replaces: str | None = None  # "ký hiệu DD-26E, số 00000001" of the cancelled receipt this one replaces

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def number_text(self) -> str:
        return f"{self.number:0{NUMBER_DIGITS}d}"

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


def channel_words(channels: Iterable[str]) -> str:
    words = [CHANNEL_WORDS.get(c, c) for c in dict.fromkeys(c for c in channels if c)]
    return "; ".join(words) if words else UNKNOWN_CHANNEL


def receipt_filename(document: ReceiptDocument, fmt: str = "pdf") -> str:
    """``bien-lai-DD-26E-00000001.pdf``: ASCII only, safe in a Content-Disposition header."""
    series = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in document.series)
    series = "-".join(part for part in series.split("-") if part) or "x"
    return f"bien-lai-{series}-{document.number_text}.{fmt}"


def receipt_document(session: Session, receipt: Receipt) -> ReceiptDocument:
    """What ``receipt`` shows: its own snapshot (payer, lines, number) with the agency, the
    dossier and the payment channel(s). The channel is the receipt's own when recorded, else
    that of the payments now allocated to the dossier (``payments.serializers.payments_for``)."""
    from sqlalchemy import select

    from .models import Agency, Dossier
    from .models import Receipt as ReceiptModel
    from .serializers import payments_for

    agency = session.get(Agency, receipt.agency_id)
    dossier = session.get(Dossier, receipt.dossier_id)
    if receipt.payment_channel and receipt.payment_channel != "mixed":  # mixed: read the payments
        channels: tuple[str, ...] = (receipt.payment_channel,)
    else:
        channels = tuple(p["payment_channel"] for p in payments_for(dossier))
    replaces = None
    if receipt.replaces_id is not None:
        old = session.scalar(select(ReceiptModel).where(ReceiptModel.id == receipt.replaces_id))
        if old is not None:
            replaces = f"ký hiệu {old.series}, số {old.number:0{NUMBER_DIGITS}d}"
    lines = tuple(ReceiptLine(str(line.get("name") or ""), int(line.get("amount") or 0)) for line in receipt.lines)
    document = ReceiptDocument(
        kind=receipt.kind if receipt.kind in KINDS else None, form=receipt.form, series=receipt.series,
        number=receipt.number, agency_name=agency.name, agency_tax_code=agency.tax_code,
        payer_name=receipt.payer_name, dossier_code=dossier.code, procedure_name=dossier.procedure.name,
        lines=lines, issued_at=receipt.issued_at, payment_channels=channels,
        cancelled_at=receipt.cancelled_at if receipt.status == "cancelled" else None, replaces=replaces)
    if document.total != receipt.amount:
        raise ValueError(f"receipt {receipt.series}/{document.number_text}: its lines add up to {document.total} đ, "
                         f"not to its amount of {receipt.amount} đ")
    return document


def _date_words(moment: datetime) -> str:
    local = to_ict(moment)
    return (f"Ngày {local.day:02d} tháng {local.month:02d} năm {local.year}, "
            f"lúc {local.hour:02d}:{local.minute:02d} (giờ Việt Nam, UTC+7)")


def _time_words(moment: datetime) -> str:
    local = to_ict(moment)
    return f"{local.hour:02d}:{local.minute:02d} ngày {local.day:02d}/{local.month:02d}/{local.year}"


def _check(document: ReceiptDocument) -> None:
    if document.kind not in (*KINDS, None):
        raise ValueError(f"unknown receipt kind {document.kind!r}: expected one of {', '.join(KINDS)}")
    if not isinstance(document.number, int) or not 0 < document.number < 10 ** NUMBER_DIGITS:
        raise ValueError(f"a receipt number has 1 to {NUMBER_DIGITS} digits, not {document.number!r}")
    if not document.lines:
        raise ValueError("a receipt has at least one fee line")
    for line in document.lines:
        if isinstance(line.amount, bool) or not isinstance(line.amount, int) or line.amount < 0:
            raise ValueError(f"a fee line's amount is a non-negative whole number of đồng, not {line.amount!r}")
    for moment in (document.issued_at, document.cancelled_at):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("naive datetime on a receipt: give an aware one (UTC or +07:00)")


# ---------------------------------------------------------------------------------------------
# Fonts and measuring


@lru_cache(maxsize=None)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: no shaping needed once text is NFC (precomposed Vietnamese letters).
    return ImageFont.truetype(str(_FONT_DIR / _FONT_FILES[name]), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=16384)
def _width(name: str, size: int, text: str) -> float:
    return _font(name, size).getlength(text)


@lru_cache(maxsize=None)
def _extents(name: str, size: int) -> tuple[int, int]:
    """Nominal (top, bottom) of a line around its baseline: the tallest stacked Vietnamese
    capitals and the deepest descenders, so that lines are evenly spaced."""
    font = _font(name, size)
    top = font.getbbox("ẤẦẨẪẬỄỖỮỠÁĐ|", anchor="ls")[1]
    bottom = font.getbbox("gjpqyỵỹẬỘ|", anchor="ls")[3]
    return min(top, -font.getmetrics()[0]), max(bottom, font.getmetrics()[1])


def _clean(text: str | None) -> str:
    """NFC (precomposed diacritics), no control characters, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Paragraphs: runs of text in two fonts, wrapped together inside a column


@dataclass(frozen=True)
class _Para:
    kind: str
    runs: tuple[tuple[str, str], ...]  # (font, text)
    role: str
    align: str = "left"                 # left | center | right
    one_line: bool = False              # amounts: smaller type rather than a broken number

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.runs if t)


@dataclass(frozen=True)
class TextBlock:
    """One drawn block: ``text`` as given, ``lines`` as wrapped, ``box`` bounding all its ink."""

    kind: str
    text: str
    lines: tuple[str, ...]
    box: Box
    size: int


# (x, baseline, font, size px, text)
_Draw = tuple[int, int, str, int, str]


@dataclass
class _Placed:
    kind: str
    text: str
    lines: tuple[str, ...]
    box: list[int]
    size: int
    draws: list[_Draw]


def _tokens(runs: Iterable[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    return [(name, word, True) for name, text in runs for word in text.split(" ") if word]


def _wrap(tokens: list[tuple[str, str, bool]], size: int, maxw: float) -> list[list[tuple[str, str, bool]]]:
    """Greedy wrapping by measured width; a word wider than the line is broken."""
    lines: list[list[tuple[str, str, bool]]] = []
    line: list[tuple[str, str, bool]] = []
    used = 0.0
    queue = list(reversed(tokens))
    while queue:
        name, word, spaced = queue.pop()
        w = _width(name, size, word)
        sp = _width(line[-1][0], size, " ") if line and spaced else 0.0
        if used + sp + w <= maxw:
            line.append((name, word, spaced))
            used += sp + w
            continue
        if line and w <= maxw:
            lines.append(line)
            line, used = [], 0.0
            queue.append((name, word, spaced))
            continue
        avail = maxw - used - sp if line else maxw
        n = _fit_prefix(name, size, word, avail)
        if line and n < min(4, len(word)):
            lines.append(line)
            line, used = [], 0.0
            queue.append((name, word, spaced))
            continue
        if n == 0:
            raise ValueError(f"a character of {word!r} is wider than a {maxw:.0f} px column at {size} px")
        line.append((name, word[:n], spaced))
        lines.append(line)
        line, used = [], 0.0
        queue.append((name, word[n:], False))
    if line:
        lines.append(line)
    return lines


def _fit_prefix(name: str, size: int, word: str, avail: float) -> int:
    lo, hi = 0, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(name, size, word[:mid]) <= avail:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _place(para: _Para, size: int, x0: int, x1: int, y: int) -> _Placed:
    """Wrap ``para`` into [x0, x1) from top ``y``; the box bounds the ink of every glyph."""
    if para.one_line:
        floor = min(size, FLOOR)
        while size > floor and sum(_width(n, size, t) for n, t in para.runs) + \
                _width(para.runs[0][0], size, " ") * (len(para.runs) - 1) > x1 - x0 - 2 * (2 + round(size * 0.06)):
            size -= max(1, round(size * 0.05))
    # Glyphs may reach a little past their advance (and a box is one pixel wider than the ink):
    # text keeps a small inset so that its ink stays inside [x0, x1).
    pad = 2 + round(size * 0.06)
    x0, x1 = x0 + pad, x1 - pad
    lines = _wrap(_tokens(para.runs), size, x1 - x0)
    if para.one_line and len(lines) > 1:
        raise ValueError(f"{para.text!r} does not fit a {x1 - x0} px column on one line even at {size} px")
    names = {n for n, _ in para.runs}
    top = min(_extents(n, size)[0] for n in names)
    bottom = max(_extents(n, size)[1] for n in names)
    pitch = bottom - top + max(2, round(size * 0.22))
    baseline = y - top + 1
    draws: list[_Draw] = []
    box = [x1, y, x0, y]
    texts = []
    for line in lines:
        runs: list[list] = []  # [font, text]
        for name, word, spaced in line:
            if runs and spaced:
                runs[-1][1] += " "
            if runs and runs[-1][0] == name:
                runs[-1][1] += word
            else:
                runs.append([name, word])
        width = sum(_width(n, size, t) for n, t in runs)
        if para.align == "center":
            left = x0 + (x1 - x0 - width) / 2
        elif para.align == "right":
            left = x1 - width
        else:
            left = x0
        pen = left
        for name, text in runs:
            shown = text.rstrip(" ")
            x = round(pen)
            ink = _font(name, size).getbbox(shown, anchor="ls")
            box[0] = min(box[0], x + ink[0] - 1)
            box[2] = max(box[2], x + ink[2] + 1)
            box[1] = min(box[1], baseline + min(ink[1], top) - 1)
            box[3] = max(box[3], baseline + max(ink[3], bottom) + 1)
            draws.append((x, baseline, name, size, shown))
            pen += _width(name, size, text)
        texts.append("".join(t for _, t in runs).rstrip(" "))
        baseline += pitch
    return _Placed(para.kind, para.text, tuple(texts), box, size, draws)


# ---------------------------------------------------------------------------------------------
# The page


@dataclass(frozen=True)
class ReceiptLayout:
    size: tuple[int, int]
    dpi: int
    content_box: Box
    text_scale: float
    blocks: tuple[TextBlock, ...]
    rules: tuple[Box, ...]           # the table's lines
    stamp_box: Box | None            # the rotated "ĐÃ HỦY" stamp, when cancelled
    title: str
    _draws: tuple[_Draw, ...] = field(repr=False, compare=False, default=())
    _stamp_top: int | None = field(repr=False, compare=False, default=None)

    def block(self, kind: str) -> TextBlock | None:
        return next((b for b in self.blocks if b.kind == kind), None)

    def blocks_of(self, kind: str) -> list[TextBlock]:
        return [b for b in self.blocks if b.kind == kind]

    @property
    def text(self) -> str:
        """Everything the page says, block by block (the stamp last)."""
        return "\n".join([b.text for b in self.blocks] + ([STAMP] if self.stamp_box else []))


class _Page:
    """Top-down placement at one text scale."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.x0, self.x1 = MARGIN, PAGE_PX[0] - MARGIN
        self.y = MARGIN
        self.placed: list[_Placed] = []
        self.rules: list[Box] = []

    def size(self, role: str) -> int:
        return max(FLOOR, round(SIZES[role] * self.scale))

    def gap(self, times: float = 1.0) -> None:
        self.y += round(SIZES["body"] * self.scale * times)

    def para(self, para: _Para, x0: int | None = None, x1: int | None = None, y: int | None = None) -> _Placed:
        block = _place(para, self.size(para.role), self.x0 if x0 is None else x0, self.x1 if x1 is None else x1,
                       self.y if y is None else y)
        self.placed.append(block)
        return block

    def flow(self, para: _Para) -> None:
        self.y = self.para(para).box[3] + round(self.size(para.role) * 0.15)

    def columns(self, cells: list[tuple[list[_Para], int, int]]) -> None:
        """Cells side by side from the same top; the row ends below its longest cell."""
        top = bottom = self.y
        for paras, x0, x1 in cells:
            y = top
            for para in paras:
                block = self.para(para, x0, x1, y)
                y = block.box[3] + round(self.size(para.role) * 0.15)
            bottom = max(bottom, y)
        self.y = bottom

    def rule(self, x0: int, y0: int, x1: int, y1: int) -> None:
        self.rules.append((x0, y0, x1, y1))


def _build(document: ReceiptDocument, scale: float) -> _Page:
    page = _Page(scale)
    width = page.x1 - page.x0
    regular, bold = "regular", "bold"

    # Header: the agency on the left, form, series and number on the right.
    split = page.x0 + round(width * 0.60)
    tax = _clean(document.agency_tax_code) or "(chưa có)"
    page.columns([
        ([_Para("agency", ((bold, _clean(document.agency_name) or "—"),), "head_strong"),
          _Para("tax_code", ((regular, "Mã số thuế:"), (bold, tax)), "head")], page.x0, split - 30),
        ([_Para("form", ((regular, "Mẫu số:"), (bold, _clean(document.form) or "—")), "head"),
          _Para("series", ((regular, "Ký hiệu:"), (bold, _clean(document.series) or "—")), "head"),
          _Para("number", ((regular, "Số:"), (bold, document.number_text)), "head_strong")], split, page.x1),
    ])
    page.gap(0.9)
    page.flow(_Para("title", ((bold, document.title),), "title", "center"))
    page.flow(_Para("subtitle", ((regular, SUBTITLE),), "subtitle", "center"))
    page.flow(_Para("date", ((regular, _date_words(document.issued_at)),), "date", "center"))
    page.gap(0.8)

    # The payer and what was paid for, as label: value rows.
    fields = [
        ("payer", "Họ tên người nộp:", bold, _clean(document.payer_name)),
        ("dossier", "Mã hồ sơ:", bold, _clean(document.dossier_code)),
        ("procedure", "Thủ tục:", regular, _clean(document.procedure_name)),
        ("channel", "Hình thức thanh toán:", regular, channel_words(document.payment_channels)),
    ]
    body = page.size("body")
    label_w = min(round(width * 0.36), max(math.ceil(_width(regular, body, label)) for _, label, _, _ in fields)
                  + round(body * 0.6))
    for kind, label, font, value in fields:
        page.columns([([_Para(f"{kind}_label", ((regular, label),), "body")], page.x0, page.x0 + label_w),
                      ([_Para(kind, ((font, value or "—"),), "body")], page.x0 + label_w, page.x1)])
    page.gap(0.6)

    _table(page, document)
    page.gap(0.5)
    page.flow(_Para("total_words", ((regular, "Số tiền bằng chữ:"), (bold, amount_in_words(document.total))),
                    "words"))
    if document.replaces:
        page.flow(_Para("replaces", ((regular, f"Biên lai này thay thế biên lai {document.replaces} đã hủy."),),
                        "note"))
    if document.cancelled_at is not None:
        page.flow(_Para("cancelled", ((bold, f"Biên lai đã bị hủy lúc {_time_words(document.cancelled_at)}."),),
                        "note"))
    page.gap(0.9)
    left = page.x0 + round(width * 0.40)
    page.columns([([_Para("signature_title", ((bold, SIGNATURE_TITLE),), "sign_title", "center"),
                    _Para("signature", ((regular, SIGNATURE_LINE),), "sign", "center")], left, page.x1)])
    return page


def _table(page: _Page, document: ReceiptDocument) -> None:
    """The fee lines: No. | name | amount, a header and a total row, ruled."""
    size = page.size("table")
    pad = round(size * 0.35)
    width = page.x1 - page.x0
    bold, regular = "bold", "regular"
    amounts = [format_vnd(line.amount, symbol=False) for line in document.lines] + \
        [format_vnd(document.total, symbol=False)]
    widest = max(_width(bold, size, a) for a in amounts + ["Số tiền (đồng)"])
    amount_w = min(round(width * 0.40), max(round(width * 0.24), math.ceil(widest) + 2 * pad + 2 * RULE))
    # The column holds its header on one line: the cell's padding, the rule, and the text's own
    # inset (``_place``) beside the widest text (without the inset "STT" wrapped to "ST/T").
    inset = 2 * (2 + round(size * 0.06)) + 1
    index_w = max(math.ceil(_width(bold, size, "STT")), math.ceil(_width(regular, size, str(len(document.lines))))) \
        + 2 * pad + RULE + inset
    xs = [page.x0, page.x0 + index_w, page.x1 - amount_w, page.x1]

    top = page.y
    page.rule(xs[0], top, xs[3], top + RULE)
    y = top + RULE
    rows: list[tuple[list[_Para | None], bool]] = [
        ([_Para("th_index", ((bold, "STT"),), "table", "center", one_line=True),
          _Para("th_name", ((bold, "Nội dung khoản thu"),), "table", "center"),
          _Para("th_amount", ((bold, "Số tiền (đồng)"),), "table", "center")], False)]
    for number, (line, amount) in enumerate(zip(document.lines, amounts), 1):
        rows.append(([_Para("line_index", ((regular, str(number)),), "table", "center", one_line=True),
                      _Para("line_name", ((regular, _clean(line.name) or "—"),), "table"),
                      _Para("line_amount", ((regular, amount),), "table", "right", one_line=True)], False))
    rows.append(([None, _Para("total_label", ((bold, "Tổng cộng"),), "table", "right"),
                  _Para("total", ((bold, amounts[-1]),), "table", "right", one_line=True)], True))
    inner_rules: list[tuple[int, int, int]] = []  # (x, y0, y1) vertical rules inside the table
    for cells, is_total in rows:
        bottom = y + pad
        for column, para in enumerate(cells):
            if para is None:
                continue
            x0 = xs[column] + RULE + pad if not (is_total and column == 1) else xs[0] + RULE + pad
            x1 = xs[column + 1] - pad
            bottom = max(bottom, page.para(para, x0, x1, y + pad).box[3])
        row_end = bottom + pad
        inner_rules.append((xs[2], y, row_end))
        if not is_total:
            inner_rules.append((xs[1], y, row_end))
        page.rule(xs[0], row_end, xs[3], row_end + RULE)
        y = row_end + RULE
    page.rule(xs[0], top, xs[0] + RULE, y)
    page.rule(xs[3] - RULE, top, xs[3], y)
    for x, y0, y1 in inner_rules:
        page.rule(x, y0, x + RULE, y1)
    page.y = y


def layout_receipt(document: ReceiptDocument) -> ReceiptLayout:
    """The boxes the receipt is drawn with; raises ValueError if it cannot fit an A5 page."""
    _check(document)
    bottom = PAGE_PX[1] - MARGIN
    for scale in SCALES:
        page = _build(document, scale)
        if page.y <= bottom:
            break
    else:
        raise ValueError(
            f"the receipt does not fit an A5 page even at {SCALES[-1]:.0%} text size: it has "
            f"{len(document.lines)} fee lines; shorten the fee, procedure or agency names")
    blocks = tuple(TextBlock(p.kind, p.text, p.lines, tuple(p.box), p.size) for p in page.placed)
    stamp_top = _stamp_top(page.y) if document.cancelled else None
    stamp_box = _stamp_geometry(stamp_top)[0] if stamp_top is not None else None
    return ReceiptLayout(size=PAGE_PX, dpi=DPI, content_box=(MARGIN, MARGIN, PAGE_PX[0] - MARGIN, bottom),
                         text_scale=page.scale, blocks=blocks, rules=tuple(page.rules), stamp_box=stamp_box,
                         title=document.title, _draws=tuple(d for p in page.placed for d in p.draws),
                         _stamp_top=stamp_top)


# ---------------------------------------------------------------------------------------------
# The "ĐÃ HỦY" stamp: red letters in a frame, across the page, under the text

STAMP_SIZE = 250
STAMP_ANGLE = 28  # degrees, counter-clockwise


@lru_cache(maxsize=1)
def _stamp_tile() -> tuple[Image.Image, tuple[float, float]]:
    """The stamp rotated (grayscale, 255 is ink) and where its text's pen starts, relative to
    the tile's centre."""
    font = _font("bold", STAMP_SIZE)
    x0, y0, x1, y1 = font.getbbox(STAMP, anchor="ls")
    pad, frame = 60, 16
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    tile = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=40, outline=255, width=frame)
    draw.text((pad - x0, pad - y0), STAMP, font=font, fill=255, anchor="ls")
    rotated = tile.rotate(STAMP_ANGLE, resample=Image.Resampling.BICUBIC, expand=True)
    dx, dy = pad - x0 - w / 2, pad - y0 - h / 2
    a = math.radians(STAMP_ANGLE)  # counter-clockwise on the page (whose y axis points down)
    return rotated, (dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a))


def _stamp_top(content_end: int) -> int:
    """The stamp's top: centred on the text, inside the margins."""
    height = _stamp_tile()[0].height
    top = (MARGIN + content_end) // 2 - height // 2
    return max(MARGIN, min(top, PAGE_PX[1] - MARGIN - height))


@lru_cache(maxsize=8)
def _stamp_geometry(top: int) -> tuple[Box, Image.Image, tuple[float, float, int]]:
    """(box on the page, 1-bit page mask where 0 is stamp ink, and the text's pen start on the
    page with its size, for the PDF's text layer)."""
    rotated, (sx, sy) = _stamp_tile()
    left = (PAGE_PX[0] - rotated.width) // 2
    mask = Image.new("L", PAGE_PX, 0)
    mask.paste(rotated, (left, top))
    ink = mask.point(lambda v: 255 if v >= 128 else 0)
    x0, y0, x1, y1 = ink.getbbox() or (0, 0, 1, 1)
    page = ImageChops.invert(ink).convert("1", dither=Image.Dither.NONE)
    centre = (left + rotated.width / 2, top + rotated.height / 2)
    return (x0, y0, x1, y1), page, (centre[0] + sx, centre[1] + sy, STAMP_SIZE)


# ---------------------------------------------------------------------------------------------
# Drawing


def _text_image(layout: ReceiptLayout) -> Image.Image:
    """The page's text and rules as a 1-bit image (0 is ink), as printers print it."""
    page = Image.new("L", layout.size, 255)
    draw = ImageDraw.Draw(page)
    for x, baseline, name, size, text in layout._draws:
        draw.text((x, baseline), text, font=_font(name, size), fill=0, anchor="ls")
    for x0, y0, x1, y1 in layout.rules:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=0)
    return page.convert("1", dither=Image.Dither.NONE)


def render_receipt(document: ReceiptDocument, fmt: str = "pdf") -> bytes:
    """The receipt as PDF or PNG bytes (ValueError for an unknown format or a receipt whose
    text cannot fit the page; nothing is ever cut)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown receipt format {fmt!r}: expected one of {', '.join(FORMATS)}")
    layout = layout_receipt(document)
    text = _text_image(layout)
    stamp = _stamp_geometry(layout._stamp_top)[1] if layout._stamp_top is not None else None
    if fmt == "pdf":
        return _pdf(layout, document, text, stamp)
    if stamp is None:
        image = text
    else:  # white, red stamp, black text on top
        image = Image.new("P", layout.size, 0)
        image.putpalette([255, 255, 255, *STAMP_RGB, 0, 0, 0])
        image.paste(1, (0, 0), stamp.point(lambda v: 255 - v).convert("L"))
        image.paste(2, (0, 0), text.point(lambda v: 255 - v).convert("L"))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6, dpi=(DPI, DPI))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The PDF: two stencil images and an invisible text layer


def _pdf_string(text: str) -> bytes:
    """A PDF text string (document information) as UTF-16BE hex with its byte order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _stencil(image: Image.Image) -> tuple[bytes, bytes]:
    data = zlib.compress(image.tobytes(), 6)  # mode "1": 1 bit per pixel, rows padded to bytes
    head = (f"<< /Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} /ImageMask true "
            f"/BitsPerComponent 1 /Decode [0 1] /Filter /FlateDecode /Length {len(data)} >>").encode()
    return head, data


def _font_objects(name: str, chars: list[str], first: int) -> tuple[list[bytes], dict[str, int]]:
    """A Type 0 font (Identity-H, not embedded) whose codes are our own numbering of the
    characters used, with their widths and a ToUnicode map back to the characters."""
    cids = {c: i + 1 for i, c in enumerate(chars)}
    font = _font(name, 1000)
    widths = " ".join(f"{cid} [{round(font.getlength(c))}]" for c, cid in cids.items())
    base = _PDF_FONTS[name][1]
    entries = []
    for c, cid in cids.items():
        entries.append(f"<{cid:04X}> <{c.encode('utf-16-be').hex().upper()}>")
    blocks = [f"{len(entries[i:i + 100])} beginbfchar\n" + "\n".join(entries[i:i + 100]) + "\nendbfchar"
              for i in range(0, len(entries), 100)]
    cmap = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend").encode()
    bold = name == "bold"
    objects = [
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
        f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 3} 0 R >>".encode(),
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} "
        f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {first + 2} 0 R /DW 600 /W [{widths}] >>".encode(),
        f"<< /Type /FontDescriptor /FontName /{base} /Flags 32 /FontBBox [-1021 -463 1793 1232] /ItalicAngle 0 "
        f"/Ascent 928 /Descent -236 /CapHeight 729 /StemV {120 if bold else 80} >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    return objects, cids


def _pdf(layout: ReceiptLayout, document: ReceiptDocument, text: Image.Image, stamp: Image.Image | None) -> bytes:
    k = PAGE_PT[0] / PAGE_PX[0]  # points per pixel (72 / 300, up to rounding of the page size)
    height = PAGE_PT[1]
    # x, baseline (px), font, size (px), text, angle (degrees)
    draws: list[tuple[float, float, str, int, str, float]] = [
        (x, b, name, size, t, 0.0) for x, b, name, size, t in layout._draws if t]
    if stamp is not None:
        sx, sy, ssize = _stamp_geometry(layout._stamp_top)[2]
        draws.append((sx, sy, "bold", ssize, STAMP, float(STAMP_ANGLE)))

    used = {name: sorted({c for d in draws if d[2] == name for c in d[4]}) for name in _PDF_FONTS}
    objects: list[bytes] = [b"", b""]  # the catalog and the page tree, written last
    page_index = len(objects) + 1
    objects.append(b"")  # the page
    content_index = len(objects) + 1
    objects.append(b"")  # the content stream
    images: dict[str, int] = {}
    for key, image in (("Stamp", stamp), ("Text", text)):
        if image is not None:
            head, data = _stencil(image)
            objects.append(head + b"\nstream\n" + data + b"\nendstream")
            images[key] = len(objects)
    fonts: dict[str, tuple[int, dict[str, int]]] = {}
    for name, chars in used.items():
        if chars:
            first = len(objects) + 1
            font_objects, cids = _font_objects(name, chars, first)
            objects.extend(font_objects)
            fonts[name] = (first, cids)

    ops = []
    if "Stamp" in images:
        r, g, b = (v / 255 for v in STAMP_RGB)
        ops.append(f"q {_num(r)} {_num(g)} {_num(b)} rg {_num(PAGE_PT[0])} 0 0 {_num(height)} 0 0 cm /Stamp Do Q")
    ops.append(f"q 0 g {_num(PAGE_PT[0])} 0 0 {_num(height)} 0 0 cm /Text Do Q")
    ops.append("BT 3 Tr")
    for x, baseline, name, size, shown, angle in draws:
        cids = fonts[name][1]
        # Stretch the invisible text to the drawn width, so that selections match the image.
        natural = sum(_font(name, 1000).getlength(c) for c in shown) * size / 1000
        scale = 100 * _width(name, size, shown) / natural if natural else 100
        a = math.radians(angle)
        ops.append(f"/{_PDF_FONTS[name][0]} {_num(size * k)} Tf {_num(scale)} Tz "
                   f"{_num(math.cos(a))} {_num(math.sin(a))} {_num(-math.sin(a))} {_num(math.cos(a))} "
                   f"{_num(x * k)} {_num(height - baseline * k)} Tm <{''.join(f'{cids[c]:04X}' for c in shown)}> Tj")
    ops.append("ET")
    content = zlib.compress("\n".join(ops).encode("ascii"), 6)
    objects[content_index - 1] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + \
        b"\nendstream"
    xobjects = " ".join(f"/{key} {index} 0 R" for key, index in images.items())
    font_refs = " ".join(f"/{_PDF_FONTS[name][0]} {first} 0 R" for name, (first, _) in fonts.items())
    objects[page_index - 1] = (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(PAGE_PT[0])} {_num(height)}] "
        f"/Resources << /XObject << {xobjects} >> /Font << {font_refs} >> >> /Contents {content_index} 0 R >>"
    ).encode()
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R /Lang (vi-VN) >>"
    objects[1] = f"<< /Type /Pages /Kids [{page_index} 0 R] /Count 1 >>".encode()
    title = f"{document.title} {document.form} {document.series} {document.number_text}"
    objects.append(b"<< /Title " + _pdf_string(title) + b" /Producer (payments.receipt_pdf) >>")
    info = len(objects)

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, info, start)
    return bytes(out)
