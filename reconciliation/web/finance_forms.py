"""Reading the finance pages' forms and filters: plain functions from a mapping of strings
(``request.form`` / ``request.args``) to typed values and per-field messages.

Nothing here touches the database; a value that cannot be read becomes a message for its
field, and the page shows it instead of guessing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from flask_babel import gettext as _

from core.money import MAX_AMOUNT, MoneyError, to_vnd
from payments.references import is_valid

from reconciliation.matching.manual import Part
from reconciliation.models import EXCEPTION_REASONS

MAX_SPLIT_ROWS = 20
EXCEPTION_STATUSES = ("open", "resolved", "dismissed", "all")
AGES = ("new", "1-3", "3+")
TRANSACTION_STATUSES = ("matched", "partially_matched", "unmatched", "ignored", "not_ours")
REFUND_STATUSES = ("requested", "approved", "rejected", "paid", "all")


def clean(value: str | None, limit: int = 500) -> str:
    """A form value as text that any database stores: NUL removed, trimmed, bounded."""
    return (value or "").replace("\x00", "").strip()[:limit]


def parse_amount(raw: str | None) -> int | None:
    """A whole, positive number of đồng (``1.500.000``, ``1500000``, ``1,500,000 ₫``), or None."""
    text = clean(raw, 40)
    if not text:
        return None
    try:
        value = to_vnd(text)
    except MoneyError:
        raise ValueError(text) from None
    if value <= 0 or value > MAX_AMOUNT:
        raise ValueError(text)
    return value


def parse_day(raw: str | None) -> date | None:
    text = clean(raw, 20)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.replace("-", "/").split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts):  # 25/11/2026, as people type it
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            pass
    raise ValueError(text)


def parse_page(args: Mapping[str, str]) -> int:
    raw = clean(args.get("page"), 6)
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _amount_field(args: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    try:
        return parse_amount(args.get(name))
    except ValueError:
        errors[name] = _("Số tiền là số đồng nguyên dương, ví dụ 1.500.000.")
        return None


def _day_field(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    try:
        return parse_day(args.get(name))
    except ValueError:
        errors[name] = _("Ngày viết dạng ngày/tháng/năm, ví dụ 25/11/2026.")
        return None


def _range(args: Mapping[str, str], errors: dict[str, str]) -> tuple[date | None, date | None]:
    day_from, day_to = _day_field(args, "from", errors), _day_field(args, "to", errors)
    if day_from and day_to and day_from > day_to:
        errors["to"] = _("Ngày kết thúc phải từ ngày bắt đầu trở đi.")
        day_to = None
    return day_from, day_to


# --- filters ----------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    status: str = "open"
    reason: str = ""
    account: str = ""
    amount: int | None = None
    day_from: date | None = None
    day_to: date | None = None
    content: str = ""
    payer: str = ""
    owner: str = ""  # "": anyone; "-": nobody yet; else a username
    age: str = ""
    overdue: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.reason or self.account or self.amount or self.day_from or self.day_to or self.content
                    or self.payer or self.owner or self.age or self.overdue)


def queue_filters(args: Mapping[str, str]) -> tuple[QueueFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    status = clean(args.get("status"), 20) or "open"
    reason = clean(args.get("reason"), 40)
    age = clean(args.get("age"), 5)
    day_from, day_to = _range(args, errors)
    filters = QueueFilters(
        status=status if status in EXCEPTION_STATUSES else "open",
        reason=reason if reason in EXCEPTION_REASONS else "",
        account=clean(args.get("account"), 34),
        amount=_amount_field(args, "amount", errors),
        day_from=day_from, day_to=day_to,
        content=clean(args.get("content"), 100),
        payer=clean(args.get("payer"), 100),
        owner=clean(args.get("owner"), 64),
        age=age if age in AGES else "",
        overdue=args.get("overdue") == "1",
    )
    return filters, errors


@dataclass
class TransactionFilters:
    account: str = ""
    day_from: date | None = None
    day_to: date | None = None
    amount: int | None = None
    content: str = ""
    payer: str = ""
    status: str = ""
    direction: str = ""


def transaction_filters(args: Mapping[str, str]) -> tuple[TransactionFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    day_from, day_to = _range(args, errors)
    status = clean(args.get("status"), 20)
    direction = clean(args.get("direction"), 3)
    return TransactionFilters(
        account=clean(args.get("account"), 34), day_from=day_from, day_to=day_to,
        amount=_amount_field(args, "amount", errors), content=clean(args.get("content"), 100),
        payer=clean(args.get("payer"), 100), status=status if status in TRANSACTION_STATUSES else "",
        direction=direction if direction in ("in", "out") else "",
    ), errors


@dataclass
class ExportFilters:
    day_from: date
    day_to: date
    account: str = ""
    from_text: str = ""  # what was typed, shown again as it was when the range is refused
    to_text: str = ""


MAX_EXPORT_DAYS = 366


def export_filters(args: Mapping[str, str], today: date) -> tuple[ExportFilters, dict[str, str]]:
    """Both ends default to the current month up to today; at most a year at once."""
    errors: dict[str, str] = {}
    # Never swapped nor replaced: a refused range comes back as typed, the error beside it.
    day_from, day_to = _day_field(args, "from", errors), _day_field(args, "to", errors)
    day_to = day_to or (today if not clean(args.get("to"), 20) else None)
    day_from = day_from or (min(day_to or today, today).replace(day=1) if not clean(args.get("from"), 20) else None)
    if day_from and day_to and day_from > day_to:
        errors["to"] = _("Ngày kết thúc (%(to)s) phải từ ngày bắt đầu (%(from)s) trở đi.",
                         to=day_to.strftime("%d/%m/%Y"), **{"from": day_from.strftime("%d/%m/%Y")})
    elif day_from and day_to and (day_to - day_from).days >= MAX_EXPORT_DAYS:
        errors["to"] = _("Mỗi lần xuất tối đa %(n)d ngày.", n=MAX_EXPORT_DAYS)
    result = ExportFilters(day_from or today, day_to or today, clean(args.get("account"), 34),
                           clean(args.get("from"), 20), clean(args.get("to"), 20))
    return result, errors


# --- the manual match / split form -------------------------------------------------------------


@dataclass
class PartRow:
    index: int
    target: str
    amount_text: str
    amount: int | None = None
    error: str | None = None


@dataclass
class PartsForm:
    rows: list[PartRow] = field(default_factory=list)
    note: str = ""

    @property
    def parts(self) -> list[Part]:
        return [part_of(r.target, r.amount) for r in self.rows if r.target and r.amount is not None]

    @property
    def total(self) -> int:
        return sum(r.amount or 0 for r in self.rows)

    @property
    def errors(self) -> dict[int, str]:
        return {r.index: r.error for r in self.rows if r.error}


def part_of(target: str, amount: int) -> Part:
    """A payment reference when the text is one (its check symbol is right), else a dossier code."""
    reference = target.strip().upper().replace(" ", "")
    if is_valid(reference):
        return Part(amount=amount, reference=reference)
    return Part(amount=amount, dossier_code=target.strip())


def parts_form(form: Mapping[str, str]) -> PartsForm:
    """Rows ``target-<i>`` / ``amount-<i>`` (i from 0); an empty row is skipped; a row with only
    one of the two is an error of that row."""
    result = PartsForm(note=clean(form.get("note"), 2000))
    for index in range(MAX_SPLIT_ROWS):
        target = clean(form.get(f"target-{index}"), 60)
        amount_text = clean(form.get(f"amount-{index}"), 40)
        if not target and not amount_text:
            continue
        row = PartRow(index, target, amount_text)
        if not target:
            row.error = _("Nhập mã yêu cầu thanh toán hoặc mã hồ sơ.")
        try:
            row.amount = parse_amount(amount_text)
            if row.amount is None:
                row.error = row.error or _("Nhập số tiền ghép cho dòng này.")
        except ValueError:
            row.error = _("Số tiền là số đồng nguyên dương, ví dụ 1.500.000.")
        result.rows.append(row)
    return result


# --- a refund request ------------------------------------------------------------------------


@dataclass
class RefundForm:
    amount_text: str = ""
    amount: int | None = None
    reason: str = ""
    bank: str = ""
    account: str = ""
    name: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def refund_form(form: Mapping[str, str]) -> RefundForm:
    result = RefundForm(amount_text=clean(form.get("amount"), 40), reason=clean(form.get("reason"), 2000),
                        bank=clean(form.get("beneficiary_bank"), 6),
                        account=clean(form.get("beneficiary_account"), 34).replace(" ", ""),
                        name=clean(form.get("beneficiary_name"), 200))
    try:
        result.amount = parse_amount(result.amount_text)
    except ValueError:
        result.amount = None  # the rule refuses it with the other fields' problems
    return result
