"""Text layout shared by what the service prints: the VietQR cards (``qr.card``, drawn with
Pillow) and the e-receipt PDF (``payments.receipt_pdf``, written with fpdf2).

- ``clean``: NFC (precomposed Vietnamese diacritics), no control characters, single spaces;
- ``wrap``: greedy line wrapping by measured width, over-long words broken (never cut), for
  words in several fonts; the caller gives the measure (Pillow's or the PDF's);
- ``LABELS``: the labels of a receipt's and a card's fields, written once (Vietnamese: these
  are documents, not pages, and stay Vietnamese whatever the page's language).

Pure: no Flask, no database, no drawing library.
"""
from __future__ import annotations

import unicodedata
from typing import Callable, Sequence

# The labels of the fields a card or a receipt shows.
LABELS = {
    "bank": "Ngân hàng:",
    "bin": "Ngân hàng: BIN",
    "account": "Số tài khoản:",
    "holder": "Chủ tài khoản:",
    "content": "Nội dung chuyển khoản:",
    "dossier": "Mã hồ sơ:",
    "procedure": "Thủ tục:",
    "validity": "Hiệu lực đến",
    "in_words": "Bằng chữ:",
    "form": "Mẫu số:",
    "series": "Ký hiệu:",
    "number": "Số:",
    "collector": "Đơn vị thu:",
    "tax_code": "Mã số thuế:",
    "payer": "Người nộp:",
    "channel": "Hình thức thanh toán:",
    "total": "Tổng cộng:",
    "transmission_code": "Mã của hệ thống biên lai điện tử:",
}


def clean(text: str | None) -> str:
    """NFC (precomposed diacritics), no control characters, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(text.split())


def fit_prefix(measure: Callable[[str], float], word: str, avail: float) -> int:
    """The longest n such that word[:n] fits in ``avail`` (binary search, measured)."""
    lo, hi = 0, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(word[:mid]) <= avail:
            lo = mid
        else:
            hi = mid - 1
    return lo


# A token: (font name, word, space before it unless first on its line, *anything the caller keeps).
Token = tuple
Measure = Callable[[str, str], float]  # (font name, text) → width


def wrap(tokens: Sequence[Token], measure: Measure, maxw: float) -> list[list[Token]]:
    """Greedy wrapping by measured width. Word widths add up exactly across spaces (kerning
    never crosses a space), so a line's width is the sum of its words and spaces. A word wider
    than a line is broken, using the rest of the current line if at least a few characters
    fit; ValueError if one character is wider than the line."""
    lines: list[list[Token]] = []
    line: list[Token] = []
    used = 0.0
    queue = list(reversed(tokens))
    while queue:
        token = queue.pop()
        name, word, spaced, *rest = token
        w = measure(name, word)
        sp = measure(line[-1][0], " ") if line and spaced else 0.0
        if used + sp + w <= maxw:
            line.append(token)
            used += sp + w
            continue
        if w <= maxw and line:  # fits on a line of its own
            lines.append(line)
            line, used = [], 0.0
            queue.append(token)
            continue
        avail = maxw - used - sp if line else maxw
        n = fit_prefix(lambda text: measure(name, text), word, avail)
        if line and n < min(4, len(word)):
            lines.append(line)
            line, used = [], 0.0
            queue.append(token)
            continue
        if n == 0:
            raise ValueError(f"a character of {word!r} is wider than the {maxw:.0f} line")
        line.append((name, word[:n], spaced, *rest))
        lines.append(line)
        line, used = [], 0.0
        queue.append((name, word[n:], False, *rest))
    if line:
        lines.append(line)
    return lines
