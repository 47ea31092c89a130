"""Printable VietQR cards: what counter staff hand (or show) to a citizen who pays by bank app.

Two layouts:

``a6``
    A6 portrait, 105 × 148 mm at 300 dpi (1240 × 1748 px). Everything must fit on the page:
    when long texts do not, the text sizes and then the QR's module size step down within
    limits, and if the card still cannot fit, :func:`render_card` raises ``ValueError``
    rather than cutting anything.
``receipt80``
    An 80 mm thermal receipt: 576 px printable width (72 mm at 203 dpi, the usual 80 mm
    head); as long as the content needs.

Both render to PNG or PDF (the PDF page has the card's physical size). Cards are 1-bit
images, as printers print them: text is drawn anti-aliased in grayscale and thresholded,
which is also what keeps PNG encoding cheap (a 1-bit A6 page is 270 kB before compression
instead of 2.2 MB) and makes the PDF a lossless CCITT G4 image rather than a JPEG.

The QR's module matrix comes from the ``qrcode`` package (error correction M, best mask);
the modules are drawn here, as a 1 px-per-module image scaled up with nearest-neighbour,
inside a quiet zone of 4 modules that no text enters.

Text is never cut: it wraps by measured width, over-long words (an account holder written
without spaces) are broken, and blocks that should stay on few lines (the amount, the
reference) step their font size down to a floor before wrapping. :func:`layout_card`
returns every box drawn so that tests can check that nothing overlaps or leaves the page.

Fonts are DejaVu Sans, Sans Bold and Sans Mono, shipped in ``qr/fonts`` (licence
``LICENSE-DejaVu.txt``), so Vietnamese diacritics render the same on every machine.
This module is pure: no Flask, no database.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from core.clock import format_ict
from core.money import amount_in_words, format_vnd

from .banks import by_bin
from .text_layout import LABELS, clean, fit_prefix, wrap

LAYOUTS = ("a6", "receipt80")
FORMATS = ("png", "pdf")

TITLE = "Thanh toán phí, lệ phí thủ tục hành chính"
INSTRUCTIONS = "Mở ứng dụng ngân hàng, quét mã QR, kiểm tra số tiền và nội dung rồi xác nhận."
INSTRUCTIONS_STATIC = (
    "Mở ứng dụng ngân hàng, quét mã QR, nhập đúng số tiền phải nộp, kiểm tra nội dung rồi xác nhận."
)
STATIC_AMOUNT_NOTE = "Người nộp tự nhập số tiền phải nộp"
REFERENCE_LABEL = "Mã tham chiếu (dành cho cán bộ)"
_L_BANK, _L_BIN, _L_ACCOUNT, _L_HOLDER = LABELS["bank"], LABELS["bin"], LABELS["account"], LABELS["holder"]
_L_CONTENT, _L_DOSSIER, _L_PROCEDURE = LABELS["content"], LABELS["dossier"], LABELS["procedure"]
_L_VALIDITY, _L_WORDS = LABELS["validity"], LABELS["in_words"]
# Texts that are the same on every card: drawn once per size, then stamped (see _stamp).
_FIXED = frozenset({
    TITLE, INSTRUCTIONS, INSTRUCTIONS_STATIC, STATIC_AMOUNT_NOTE, REFERENCE_LABEL, _L_BANK, _L_BIN,
    _L_ACCOUNT, _L_HOLDER, _L_CONTENT, _L_DOSSIER, _L_PROCEDURE, _L_VALIDITY, _L_WORDS,
})
QUIET_ZONE = 4  # modules; ISO/IEC 18004 asks for at least 4

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), x1 and y1 exclusive, in pixels

_FONT_DIR = Path(__file__).with_name("fonts")
_FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}


@dataclass(frozen=True)
class CardInfo:
    payload: str                  # the VietQR payload to draw
    bank_bin: str                 # shown as the bank's short and full name (the BIN if unknown)
    account: str                  # account number
    account_holder: str
    amount: int | None            # đồng; None for a static code (the payer types the amount)
    transfer_content: str | None  # what the payer types as content if the app does not fill it
    dossier_code: str | None = None
    procedure_name: str | None = None
    agency_name: str | None = None
    valid_until: datetime | None = None  # aware; shown in Indochina Time
    reference: str | None = None         # the payment reference, large and mono for staff


@dataclass(frozen=True)
class TextBlock:
    """One drawn block of text. ``text`` is the logical text; ``lines`` as drawn (over-long
    words broken); ``box`` bounds the ink of every line; ``font``/``font_size`` are the
    block's main font (a leading label such as "Số tài khoản:" is drawn in regular type at
    the same size)."""

    kind: str
    text: str
    lines: tuple[str, ...]
    box: Box
    font: str
    font_size: int


@dataclass(frozen=True)
class CardLayout:
    layout: str
    size: tuple[int, int]   # page, pixels
    dpi: int
    content_box: Box        # the page minus its margins: every box lies inside it
    qr_box: Box             # the QR including its quiet zone
    qr_modules: int         # modules per side, without the quiet zone
    qr_quiet_zone: int      # modules
    qr_module_px: int
    text_scale: float       # 1.0 unless the page needed smaller text
    blocks: tuple[TextBlock, ...]
    _matrix: tuple[tuple[bool, ...], ...] = field(repr=False, compare=False, default=())
    _draws: tuple[tuple[int, int, str, int, str, bool], ...] = field(repr=False, compare=False, default=())

    def block(self, kind: str) -> TextBlock | None:
        return next((b for b in self.blocks if b.kind == kind), None)

    @property
    def text(self) -> str:
        """Everything the card says, block by block (for tests and previews)."""
        return "\n".join(b.text for b in self.blocks)


# ---------------------------------------------------------------------------------------------
# Layout specifications


@dataclass(frozen=True)
class _Spec:
    name: str
    width: int
    height: int | None     # None: as long as the content needs
    dpi: int
    margin_x: int
    margin_y: int
    sizes: dict[str, int]  # nominal font size per block kind, px
    floors: dict[str, int]  # smallest size per block kind, px
    floor: int             # default floor
    qr_target: int         # preferred QR side including quiet zone, px
    qr_min_module: int     # px
    qr_max_module: int     # px
    qr_comfort_module: int  # px; below this, text shrinks first (fixed-height pages)
    block_gap: float       # × body size, between blocks of a section
    section_gap: float     # × body size, between sections
    scales: tuple[float, ...] = (1.0,)  # text scales tried when the page is fixed


_SPECS = {
    "a6": _Spec(
        name="a6", width=1240, height=1748, dpi=300, margin_x=59, margin_y=59,  # 5 mm
        sizes={"title": 44, "agency": 36, "amount": 84, "amount_words": 32, "amount_note": 44,
               "body": 33, "reference_label": 28, "reference": 56, "instructions": 30},
        floors={"amount": 40, "reference": 34, "amount_note": 28},
        floor=22,  # 5.3 pt
        qr_target=660, qr_min_module=6, qr_max_module=20, qr_comfort_module=10,  # 6 px = 0.5 mm
        block_gap=0.2, section_gap=0.6,
        scales=(1.0, 0.94, 0.88, 0.82, 0.76, 0.7),
    ),
    "receipt80": _Spec(
        name="receipt80", width=576, height=None, dpi=203, margin_x=8, margin_y=24,
        sizes={"title": 28, "agency": 24, "amount": 50, "amount_words": 22, "amount_note": 24,
               "body": 22, "reference_label": 20, "reference": 36, "instructions": 21},
        floors={"amount": 28, "reference": 24, "amount_note": 20},
        floor=16,  # 5.7 pt at 203 dpi
        qr_target=440, qr_min_module=4, qr_max_module=14, qr_comfort_module=4,  # 4 px = 0.5 mm
        block_gap=0.3, section_gap=0.8,
    ),
}


# ---------------------------------------------------------------------------------------------
# Fonts and measurements (all cached: a card measures the same words and glyphs again and again)


@lru_cache(maxsize=None)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: faster than raqm, and enough for Vietnamese once text is NFC (precomposed).
    return ImageFont.truetype(str(_FONT_DIR / _FONT_FILES[name]), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=16384)
def _width(name: str, size: int, text: str) -> float:
    return _font(name, size).getlength(text)


@lru_cache(maxsize=16384)
def _glyph(name: str, size: int, char: str) -> tuple[int, int, int, int, float]:
    """Ink box of one character drawn at the origin with anchor "ls", and its advance."""
    x0, y0, x1, y1 = _font(name, size).getbbox(char, anchor="ls")
    return x0, y0, x1, y1, _width(name, size, char)


@lru_cache(maxsize=None)
def _extents(name: str, size: int) -> tuple[int, int]:
    """Nominal (top, bottom) of a line relative to its baseline: the tallest Vietnamese
    capitals with stacked marks and the deepest descenders, so lines are evenly spaced."""
    font = _font(name, size)
    top = font.getbbox("ẤẦẨẪẬỄỖỮỠÁĐ|", anchor="ls")[1]
    bottom = font.getbbox("gjpqyỵỹẬỘ|", anchor="ls")[3]
    return min(top, -font.getmetrics()[0]), max(bottom, font.getmetrics()[1])


@lru_cache(maxsize=256)
def _stamp(name: str, size: int, text: str) -> tuple[Image.Image, int, int]:
    """A fixed text rendered once as a mask of its ink, with the offset of the ink box from
    the pen position (anchor "ls"); pasting it is pixel-identical to drawing the text."""
    font = _font(name, size)
    x0, y0, x1, y1 = font.getbbox(text, anchor="ls")
    mask = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(mask).text((-x0, -y0), text, font=font, fill=255, anchor="ls")
    return mask, x0, y0


@lru_cache(maxsize=4096)
def _has_glyph(name: str, char: str) -> bool:
    """Whether the font draws char rather than its .notdef box (DejaVu Sans Mono, for one,
    lacks the Vietnamese letters with a hook above or a circumflex and a tone mark)."""
    font = _font(name, 20)
    return char.isspace() or bytes(font.getmask(char)) != bytes(font.getmask("\U0010fffd"))


def _mono_or_bold(text: str) -> str:
    return "mono" if all(_has_glyph("mono", c) for c in text) else "bold"


def _fit_prefix(name: str, size: int, word: str, avail: float) -> int:
    """The longest n such that word[:n] fits in avail pixels (``text_layout.fit_prefix``)."""
    font = _font(name, size)
    return fit_prefix(font.getlength, word, avail)


def _clean(text: str | None) -> str:
    """``text_layout.clean``: NFC, no control characters, single spaces."""
    return clean(text)


# ---------------------------------------------------------------------------------------------
# Paragraphs: runs of text in different fonts, wrapped together


@dataclass(frozen=True)
class _Para:
    kind: str
    runs: tuple[tuple[str, str], ...]  # (font name, text); the last run is the block's main font
    role: str                          # key into the spec's sizes
    align: str = "left"                # "left" | "center"
    max_lines: int = 99                # step the size down (to the floor) rather than exceed this

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.runs if t)


# (font, word, space before it unless first on its line, part of a fixed text)
_Token = tuple[str, str, bool, bool]
_Line = list[_Token]


def _tokens(runs: Iterable[tuple[str, str]], fixed: frozenset[str]) -> list[_Token]:
    return [(name, word, True, text in fixed) for name, text in runs for word in text.split(" ") if word]


def _wrap(tokens: list[_Token], size: int, maxw: float) -> list[_Line]:
    """``text_layout.wrap`` with Pillow's measure at ``size`` px."""
    try:
        return wrap(tokens, lambda name, text: _width(name, size, text), maxw)
    except ValueError as exc:
        raise ValueError(f"{exc} at {size} px") from None


@dataclass
class _Placed:
    kind: str
    text: str
    lines: tuple[str, ...]
    box: list[int]
    font: str
    size: int
    draws: list[tuple[int, int, str, int, str, bool]]  # (x, baseline, font, size, text, fixed)
    section: int = 0


def _place(para: _Para, size: int, lines: list[_Line], x0: int, x1: int, y: int, pad: int) -> _Placed:
    """Position wrapped lines from top y; the box bounds the ink of every glyph."""
    names = {n for n, _ in para.runs}
    top = min(_extents(n, size)[0] for n in names)
    bottom = max(_extents(n, size)[1] for n in names)
    pitch = bottom - top + max(2, round(size * 0.16))
    draws: list[tuple[int, int, str, int, str, bool]] = []
    bx0, by0, bx1, by1 = x1, y, x0, y
    texts = []
    baseline = y - top + 1
    for line in lines:
        # group consecutive tokens of one font (and fixedness) into runs; a space belongs to
        # the run before it
        runs: list[list] = []  # [font, text, width, fixed]
        for name, word, spaced, fixed in line:
            if runs and spaced:
                runs[-1][1] += " "
                runs[-1][2] += _width(runs[-1][0], size, " ")
            if runs and runs[-1][0] == name and runs[-1][3] == fixed:
                runs[-1][1] += word
                runs[-1][2] += _width(name, size, word)
            else:
                runs.append([name, word, _width(name, size, word), fixed])
        width = sum(r[2] for r in runs)
        left = x0 + pad + ((x1 - x0 - 2 * pad - width) / 2 if para.align == "center" else 0)
        pen = left
        ink_top, ink_bottom = top, bottom
        for name, text, w, fixed in runs:
            for ch in text:
                g = _glyph(name, size, ch)
                ink_top, ink_bottom = min(ink_top, g[1]), max(ink_bottom, g[3])
            draws.append((round(pen), baseline, name, size, text.rstrip(" "), fixed))
            pen += w
        first = _glyph(runs[0][0], size, runs[0][1][0])
        last = _glyph(runs[-1][0], size, runs[-1][1].rstrip(' ')[-1])
        lx0 = round(left) + min(0, first[0]) - 1
        lx1 = round(pen) + max(0, round(last[2] - last[4])) + 2
        bx0, bx1 = min(bx0, lx0), max(bx1, lx1)
        by0, by1 = min(by0, baseline + ink_top - 1), max(by1, baseline + ink_bottom + 1)
        texts.append("".join(r[1] for r in runs))
        baseline += pitch
    return _Placed(para.kind, para.text, tuple(texts), [bx0, by0, bx1, by1], para.runs[-1][0], size, draws)


# ---------------------------------------------------------------------------------------------
# What a card says


def _paragraphs(info: CardInfo) -> tuple[list[list[_Para] | str], frozenset[str]]:
    """The card's sections, top to bottom (the string "qr" stands for the code), and the
    texts in them that do not change from card to card."""
    if info.amount is not None and (not isinstance(info.amount, int) or isinstance(info.amount, bool)
                                    or info.amount < 0):
        raise ValueError(f"amount must be a non-negative whole number of đồng or None, got {info.amount!r}")
    if info.valid_until is not None and info.valid_until.tzinfo is None:
        raise ValueError("valid_until is a naive datetime: give an aware one (UTC or +07:00)")
    bank = by_bin(info.bank_bin or "")
    if bank is not None:
        bank_runs = (("regular", _L_BANK), ("bold", _clean(bank.short_name)), ("regular", "– " + _clean(bank.name)))
        fixed = _FIXED | {bank_runs[1][1], bank_runs[2][1]}  # the bank directory is a fixed list too
    else:
        bank_runs = (("regular", _L_BIN), ("bold", _clean(info.bank_bin) or "?"))
        fixed = _FIXED

    header = [_Para("title", (("bold", TITLE),), "title", "center", 2)]
    if _clean(info.agency_name):
        header.append(_Para("agency", (("bold", _clean(info.agency_name)),), "agency", "center", 2))

    if info.amount is None:
        amount = [_Para("amount_note", (("bold", STATIC_AMOUNT_NOTE),), "amount_note", "center", 2)]
    else:
        amount = [
            _Para("amount", (("bold", format_vnd(info.amount)),), "amount", "center", 1),
            _Para("amount_words", (("regular", _L_WORDS), ("regular", amount_in_words(info.amount))),
                  "amount_words", "center", 3),
        ]

    details = [_Para("bank", bank_runs, "body", max_lines=3)]
    details.append(_Para("account", (("regular", _L_ACCOUNT), ("bold", _clean(info.account))), "body", max_lines=2))
    details.append(_Para("holder", (("regular", _L_HOLDER), ("bold", _clean(info.account_holder))),
                         "body", max_lines=3))
    if _clean(info.transfer_content):
        details.append(_Para("content", (("regular", _L_CONTENT), ("bold", _clean(info.transfer_content))),
                             "body", max_lines=3))
    if _clean(info.dossier_code):
        details.append(_Para("dossier", (("regular", _L_DOSSIER), ("bold", _clean(info.dossier_code))), "body",
                             max_lines=2))
    if _clean(info.procedure_name):
        details.append(_Para("procedure", (("regular", _L_PROCEDURE), ("regular", _clean(info.procedure_name))),
                             "body", max_lines=4))
    if info.valid_until is not None:
        details.append(_Para("validity", (("regular", _L_VALIDITY), ("bold", format_ict(info.valid_until))),
                             "body", max_lines=1))

    sections: list[list[_Para] | str] = [header, "qr", amount, details]
    if _clean(info.reference):
        sections.append([
            _Para("reference_label", (("regular", REFERENCE_LABEL),), "reference_label", "center", 2),
            _Para("reference", ((_mono_or_bold(_clean(info.reference)), _clean(info.reference)),), "reference",
                  "center", 1),
        ])
    text = INSTRUCTIONS if info.amount is not None else INSTRUCTIONS_STATIC
    sections.append([_Para("instructions", (("regular", text),), "instructions", "center", 3)])
    return sections, fixed


# ---------------------------------------------------------------------------------------------
# The QR


def _qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    if not payload:
        raise ValueError("empty payload: nothing to encode")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    return tuple(tuple(bool(c) for c in row) for row in code.modules)


def _qr_image(matrix: tuple[tuple[bool, ...], ...], module_px: int) -> Image.Image:
    n = len(matrix)
    small = Image.frombytes("L", (n, n), bytes(0 if c else 255 for row in matrix for c in row))
    return small.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)


# ---------------------------------------------------------------------------------------------
# Layout


def _spec(layout: str) -> _Spec:
    try:
        return _SPECS[layout]
    except (KeyError, TypeError):
        raise ValueError(f"unknown card layout {layout!r}: expected one of {', '.join(LAYOUTS)}") from None


def _size_for(spec: _Spec, role: str, scale: float) -> tuple[int, int]:
    floor = spec.floors.get(role, spec.floor)
    return max(floor, round(spec.sizes[role] * scale)), floor


def _attempt(spec: _Spec, sections, fixed: frozenset[str], n_modules: int, scale: float, module_px: int):
    """Lay the card out top-down. Returns (placed blocks, qr box, end y, the QR's section)."""
    x0, x1 = spec.margin_x, spec.width - spec.margin_x
    body = round(spec.sizes["body"] * scale)
    y = spec.margin_y
    placed: list[_Placed] = []
    qr_box: list[int] = []
    qr_section = 0
    for number, section in enumerate(sections):
        if number:
            y += round(spec.section_gap * body)
        if section == "qr":
            side = (n_modules + 2 * QUIET_ZONE) * module_px
            left = x0 + (x1 - x0 - side) // 2
            qr_box = [left, y, left + side, y + side]
            qr_section = number
            y += side
            continue
        for i, para in enumerate(section):
            if i:
                y += round(spec.block_gap * body)
            size, floor = _size_for(spec, para.role, scale)
            tokens = _tokens(para.runs, fixed)
            while True:
                pad = 2 + round(size * 0.06)
                lines = _wrap(tokens, size, x1 - x0 - 2 * pad)
                # Fixed pages keep most blocks to a few lines (smaller type rather than pushing
                # the page over); an endless receipt only keeps one-line blocks (amounts,
                # references: a number broken in two misleads) on one line.
                limit = para.max_lines if spec.height is not None or para.max_lines == 1 else len(lines)
                if len(lines) <= limit or size <= floor:
                    break
                size = max(floor, size - max(1, round(size * 0.06)))
            block = _place(para, size, lines, x0, x1, y, pad)
            block.section = number
            placed.append(block)
            y = block.box[3]
    return placed, qr_box, y, qr_section


def _qr_module_range(spec: _Spec, n_modules: int) -> tuple[int, int]:
    """(preferred, smallest) module size in px for a code of n_modules."""
    total = n_modules + 2 * QUIET_ZONE
    widest = (spec.width - 2 * spec.margin_x) // total
    best = min(spec.qr_max_module, widest, max(spec.qr_min_module, spec.qr_target // total))
    if best < spec.qr_min_module:
        raise ValueError(
            f"the QR code ({n_modules} modules + quiet zone) does not fit the {spec.name} card "
            f"at {spec.qr_min_module} px per module: the payload is too long"
        )
    return best, spec.qr_min_module


def _choose(spec: _Spec, sections, fixed, n: int, best: int, smallest: int):
    """Text scale and module size for a fixed-height page, and the layout made with them.

    The page height is the text's height (which depends on the scale only) plus the QR's
    side, linear in the module size; so one layout per scale tells which module sizes fit.
    Preference: full-size text with the QR shrinking to a comfortable size; then smaller
    text (down to the last scale) with that QR; then the QR shrinking to its minimum."""
    bottom = spec.height - spec.margin_y
    total = n + 2 * QUIET_ZONE
    attempt = _attempt(spec, sections, fixed, n, spec.scales[0], best)
    if attempt[2] <= bottom:  # the usual case: everything fits at preferred sizes
        return spec.scales[0], best, attempt
    comfort = min(best, spec.qr_comfort_module)
    fitting: dict[float, int] = {}
    for scale in spec.scales:
        end = _attempt(spec, sections, fixed, n, scale, smallest)[2]
        fitting[scale] = smallest + (bottom - end) // total if end <= bottom else smallest - 1
        if fitting[scale] >= comfort:
            module = min(best, fitting[scale])
            return scale, module, _attempt(spec, sections, fixed, n, scale, module)
    last = spec.scales[-1]
    if fitting[last] >= smallest:
        return last, fitting[last], _attempt(spec, sections, fixed, n, last, fitting[last])
    raise ValueError(
        f"the card's text does not fit an {spec.name.upper()} page even at {last:.0%} text size "
        f"and {smallest} px QR modules: shorten the procedure, agency or account holder names"
    )


def _layout(info: CardInfo, spec: _Spec, matrix) -> CardLayout:
    sections, fixed = _paragraphs(info)
    n = len(matrix)
    best, smallest = _qr_module_range(spec, n)
    if spec.height is None:
        scale = spec.scales[0]
        placed, qr_box, end, qr_section = _attempt(spec, sections, fixed, n, scale, best)
        bottom = None
    else:
        scale, _, (placed, qr_box, end, qr_section) = _choose(spec, sections, fixed, n, best, smallest)
        bottom = spec.height - spec.margin_y
    if bottom is None:
        height = end + spec.margin_y
    else:
        height = spec.height
        # Spread the spare height over the gaps between sections (at most 2 body lines each).
        # Section k moves down by k shares; some spare height stays at the bottom.
        gaps = len(sections) - 1
        each = min((bottom - end) // (gaps + 2), round(2 * spec.sizes["body"] * scale))
        dy = each * qr_section
        qr_box = [qr_box[0], qr_box[1] + dy, qr_box[2], qr_box[3] + dy]
        for block in placed:
            dy = each * block.section
            if dy:
                block.box[1] += dy
                block.box[3] += dy
                block.draws = [(x, b + dy, *rest) for x, b, *rest in block.draws]
    blocks = tuple(TextBlock(p.kind, p.text, p.lines, tuple(p.box), p.font, p.size) for p in placed)
    draws = tuple(d for p in placed for d in p.draws)
    return CardLayout(
        layout=spec.name,
        size=(spec.width, height),
        dpi=spec.dpi,
        content_box=(spec.margin_x, spec.margin_y, spec.width - spec.margin_x, height - spec.margin_y),
        qr_box=tuple(qr_box),
        qr_modules=n,
        qr_quiet_zone=QUIET_ZONE,
        qr_module_px=(qr_box[2] - qr_box[0]) // (n + 2 * QUIET_ZONE),
        text_scale=scale,
        blocks=blocks,
        _matrix=matrix,
        _draws=draws,
    )


def layout_card(info: CardInfo, layout: str = "a6") -> CardLayout:
    """The boxes a card would be drawn with (raises ValueError if it cannot fit)."""
    spec = _spec(layout)
    return _layout(info, spec, _qr_matrix(info.payload))


# ---------------------------------------------------------------------------------------------
# Drawing


def _draw(card: CardLayout) -> Image.Image:
    page = Image.new("L", card.size, 255)
    draw = ImageDraw.Draw(page)
    for x, baseline, name, size, text, fixed in card._draws:
        if fixed:  # labels, title, instructions, bank names: rendered once, then stamped
            mask, dx, dy = _stamp(name, size, text)
            page.paste(0, (x + dx, baseline + dy), mask)
        else:
            draw.text((x, baseline), text, font=_font(name, size), fill=0, anchor="ls")
    inset = card.qr_quiet_zone * card.qr_module_px
    page.paste(_qr_image(card._matrix, card.qr_module_px), (card.qr_box[0] + inset, card.qr_box[1] + inset))
    # 1-bit, as printed: thresholds the anti-aliased text edges, keeps PNG and PDF small and fast.
    return page.convert("1", dither=Image.Dither.NONE)


def render_card(info: CardInfo, layout: str = "a6", fmt: str = "png") -> bytes:
    """The card as PNG or PDF bytes. Raises ValueError for an unknown layout or format, or
    for a card whose content cannot fit (never cuts text)."""
    spec = _spec(layout)
    if fmt not in FORMATS:
        raise ValueError(f"unknown card format {fmt!r}: expected one of {', '.join(FORMATS)}")
    image = _draw(_layout(info, spec, _qr_matrix(info.payload)))
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=1, dpi=(spec.dpi, spec.dpi))
    else:
        image.save(buffer, "PDF", resolution=spec.dpi, title="VietQR", producer="qr.card")
    return buffer.getvalue()
