"""Server-side form errors, the same way on every staff and citizen form (GOV.UK's error
summary pattern): every error at once, a summary at the top linking to each field, each field
saying what is wrong with it, and what was typed kept.

A view fills a :class:`FormErrors`, passes it to its template as ``errors`` and answers 422
when it is not empty; ``templates/_forms.html`` draws it (``error_summary``, ``field_error``,
``invalid``), ``base.html`` prefixes the title with "Lỗi:", and ``static/js/forms.js`` moves
the focus to the summary (the CSP forbids inline scripts).
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from .money import MAX_AMOUNT, MoneyError, to_vnd


# Words people type for amounts ("2,5 tỷ", "300 nghìn"), with and without diacritics.
_NUMBER_WORDS = ("tỷ", "tỉ", "triệu", "nghìn", "ngàn", "trăm", "ty", "trieu", "nghin", "ngan", "tram", "k")


class FormErrors:
    """Field id → one message, in the order the fields were checked, and messages that belong
    to no field (``general``)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.general: list[str] = []

    def add(self, field: str | None, message: str) -> None:
        """The first message for a field stays: it is the one the person must fix first."""
        if field is None:
            if message not in self.general:
                self.general.append(message)
        else:
            self.fields.setdefault(field, message)

    def get(self, field: str, default=None):
        return self.fields.get(field, default)

    def __contains__(self, field: str) -> bool:
        return field in self.fields

    def __getitem__(self, field: str) -> str:
        return self.fields[field]

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def __len__(self) -> int:
        return len(self.fields) + len(self.general)

    def items(self):
        return self.fields.items()

    def update(self, other) -> None:
        for field, message in (other.items() if hasattr(other, "items") else other):
            self.add(field, message)


def money_error(raw: str, *, required: bool = False, minimum: int = 0, maximum: int = MAX_AMOUNT,
                what: str | None = None) -> tuple[int | None, str | None]:
    """Read an amount typed in a form: ``(amount, None)`` or ``(None, message)``, the message
    saying what is wrong with this value specifically (empty, words, decimals, negative, not
    a number, too small or too large)."""
    text = (raw or "").strip()
    what = what or _("Số tiền")
    if not text:
        return None, (_("Nhập %(what)s.", what=what.lower()) if required else None)
    try:
        amount = to_vnd(text)
    except MoneyError:
        head = text.lower().replace(" ", "").replace("\u00a0", "").lstrip("-")
        for suffix in ("₫", "vnđ", "vnd", "đồng", "đ"):
            head = head.removesuffix(suffix)
        if any(word in head for word in _NUMBER_WORDS):
            return None, _("%(what)s phải viết bằng chữ số, không dùng chữ như “tỷ”, “triệu”: ví dụ 2.500.000.000.",
                           what=what)
        if any(ch.isalpha() for ch in head) or not any(ch.isdigit() for ch in head):
            return None, _("%(what)s không phải là một số: chỉ nhập chữ số, ví dụ 2.500.000.", what=what)
        if _has_fraction(head):
            return None, _("%(what)s phải là số đồng nguyên, không có phần thập phân.", what=what)
        return None, _("%(what)s không đọc được: nhập chữ số, có thể nhóm bằng dấu chấm, ví dụ 2.500.000.", what=what)
    if amount < 0:
        return None, _("%(what)s không được là số âm.", what=what)
    if amount < minimum:
        return None, _("%(what)s phải từ %(min)s đồng trở lên.", what=what, min=f"{minimum:,}".replace(",", "."))
    if amount > maximum:
        return None, _("%(what)s quá lớn: tối đa %(max)s đồng.", what=what, max=f"{maximum:,}".replace(",", "."))
    return amount, None


def _has_fraction(text: str) -> bool:
    for sep in (".", ","):
        head, found, tail = text.rpartition(sep)
        if found and tail.isdigit() and 1 <= len(tail) <= 2:
            return True
    return False


def date_error(raw: str, *, required: bool = False, what: str | None = None) -> tuple[date | None, str | None]:
    """A ``YYYY-MM-DD`` date from a form, or the message saying why it is not one."""
    text = (raw or "").strip()
    what = what or _("Ngày")
    if not text:
        return None, (_("Nhập %(what)s.", what=what.lower()) if required else None)
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, _("%(what)s không hợp lệ: chọn ngày theo dạng năm-tháng-ngày, ví dụ 2026-11-25.", what=what)
