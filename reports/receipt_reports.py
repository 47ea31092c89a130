"""The e-receipt reports ("biên lai điện tử", DOMAIN.md "Receipts"): the daily list of the
receipts an agency issued (bảng kê biên lai) and the quarterly receipt-usage report
(BC26/BLĐT, "Báo cáo tình hình sử dụng biên lai"). ``docs/REPORTS.md`` says what each shows
and why.

Plain functions over the base tables (``receipts``, ``dossiers``, ``agencies``), returning
dataclasses; the pages, the XLSX files and the API only present them.

- A receipt belongs to the Indochina day (and quarter) of its ``issued_at``, and to the agency
  that issued it (``Receipt.agency_id``).
- A receipt's status is the status it has when the report is made: a receipt cancelled later
  shows as cancelled, with when and why (and, in BC26, whether that was after the quarter).
- Money is whole đồng. Issued amounts count only receipts that are not cancelled; cancelled
  receipts are counted (and their amount shown) apart.
- A series is numbered from 1 without gaps (``payments.receipts``; per form, series and year
  of issue): BC26 checks it. Every number from the first the quarter should have used (the
  number after the last one used in the series before the quarter, or 1) to the last it used
  is either on a receipt of the quarter (used or cancelled), or on a receipt of another
  quarter or unit sharing the series (``outside``), or on no receipt at all (``missing``: a
  defect). A gap is listed as ranges, so a long one stays readable.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import as_utc, ict_day_bounds
from core.errors import FieldError, NotFound, ValidationError
from payments.models import Agency, Dossier, Receipt
from payments.money_rules import RECEIPT_KINDS as KINDS
from payments.receipts import NUMBER_DIGITS

from .definitions import Period

FIRST_YEAR, LAST_YEAR = 2000, 2100  # the days and quarters a report may ask for
_QUARTER = re.compile(r"^(?P<year>[0-9]{4})-[Qq](?P<q>[1-4])$")
_AGENCY_CODE = re.compile(r"^[^\x00-\x1f\x7f]{1,40}$")


# --- what a report is asked for ------------------------------------------------------------------


def parse_day(raw: str | None, name: str = "day") -> date:
    """An Indochina day ``YYYY-MM-DD`` (years 2000 to 2100); a ValidationError otherwise."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(f"{name} is required: a date YYYY-MM-DD",
                              errors=[FieldError(name, "required: a date YYYY-MM-DD")])
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(text)
    except ValueError:
        raise ValidationError(f"{name} must be a date YYYY-MM-DD between {FIRST_YEAR} and {LAST_YEAR}",
                              errors=[FieldError(name, "a date YYYY-MM-DD")]) from None
    return day


def quarter(year: int, number: int) -> Period:
    """The Indochina days of a quarter, labelled ``YYYY-Qn``."""
    start = date(year, 3 * number - 2, 1)
    end = Period.month(year, 3 * number).end
    return Period(start, end, f"{year:04d}-Q{number}")


def quarter_of(day: date) -> Period:
    return quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(raw: str | None, name: str = "quarter") -> Period:
    """A quarter ``YYYY-Qn`` (``2026-Q4``; ``q`` in lower case too), years 2000 to 2100."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(f"{name} is required: a quarter YYYY-Qn",
                              errors=[FieldError(name, "required: a quarter YYYY-Qn")])
    found = _QUARTER.match(text)
    if found is None or not FIRST_YEAR <= int(found["year"]) <= LAST_YEAR:
        raise ValidationError(f"{name} must be a quarter YYYY-Qn such as 2026-Q4, between {FIRST_YEAR} and "
                              f"{LAST_YEAR}", errors=[FieldError(name, "a quarter YYYY-Qn")])
    return quarter(int(found["year"]), int(found["q"]))


def find_agency(session: Session, raw: str | None, name: str = "agency") -> Agency:
    """The agency with that code (exactly, else in capitals): a ValidationError when none is
    given or it cannot be a code, NotFound when no agency has it."""
    code = (raw or "").strip()
    if not code:
        raise ValidationError(f"{name} is required: an agency code",
                              errors=[FieldError(name, "required: an agency code")])
    if not _AGENCY_CODE.match(code):
        raise ValidationError(f"{name} is not an agency code", errors=[FieldError(name, "an agency code")])
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None and code != code.upper():
        agency = session.scalar(select(Agency).where(Agency.code == code.upper()))
    if agency is None:
        raise NotFound(f"no agency {code!r}")
    return agency


def number_text(number: int) -> str:
    """A receipt number as receipts print it: 8 digits (``00000042``)."""
    return f"{number:0{NUMBER_DIGITS}d}"


@dataclass(frozen=True)
class AgencyInfo:
    code: str
    name: str
    name_en: str | None
    tax_code: str | None

    @classmethod
    def of(cls, agency: Agency) -> AgencyInfo:
        return cls(agency.code, agency.name, agency.name_en, agency.tax_code)


@dataclass(frozen=True)
class ReceiptRef:
    """Which receipt: form (mẫu số), series (ký hiệu) and number."""

    form: str
    series: str
    number: int

    @property
    def number_text(self) -> str:
        return number_text(self.number)


# --- the daily list (bảng kê biên lai) -------------------------------------------------------------


@dataclass(frozen=True)
class ListedReceipt:
    id: int
    form: str
    series: str
    number: int
    issued_at: datetime  # UTC
    payer_name: str
    dossier_code: str
    kind: str  # phi | le_phi
    amount: int
    status: str  # issued | cancelled, as it is now
    cancelled_at: datetime | None
    cancel_reason: str | None
    replaces: ReceiptRef | None  # the cancelled receipt this one replaces
    replaced_by: ReceiptRef | None  # the receipt that replaces this cancelled one

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def number_text(self) -> str:
        return number_text(self.number)


@dataclass
class KindTotal:
    """Receipts of one kind (``None``: every kind): how many are in force and their amount,
    how many were cancelled and theirs."""

    kind: str | None
    issued: int = 0
    amount: int = 0
    cancelled: int = 0
    cancelled_amount: int = 0

    def add(self, receipt: ListedReceipt) -> None:
        if receipt.cancelled:
            self.cancelled += 1
            self.cancelled_amount += receipt.amount
        else:
            self.issued += 1
            self.amount += receipt.amount

    @property
    def count(self) -> int:
        """Every receipt, in force or cancelled."""
        return self.issued + self.cancelled


def _totals(receipts: list[ListedReceipt]) -> tuple[list[KindTotal], KindTotal]:
    per_kind = {kind: KindTotal(kind) for kind in KINDS}
    total = KindTotal(None)
    for receipt in receipts:
        per_kind.setdefault(receipt.kind, KindTotal(receipt.kind)).add(receipt)
        total.add(receipt)
    return list(per_kind.values()), total


@dataclass
class SeriesList:
    form: str
    series: str
    receipts: list[ListedReceipt]
    totals: list[KindTotal]  # one per kind, phí and lệ phí always
    total: KindTotal


@dataclass
class DailyList:
    agency: AgencyInfo
    day: date
    series: list[SeriesList]
    totals: list[KindTotal]  # the day's, per kind
    total: KindTotal

    @property
    def receipts(self) -> list[ListedReceipt]:
        return [r for s in self.series for r in s.receipts]


def _refs(session: Session, ids: set[int]) -> dict[int, ReceiptRef]:
    if not ids:
        return {}
    rows = session.execute(select(Receipt.id, Receipt.form, Receipt.series, Receipt.number)
                           .where(Receipt.id.in_(sorted(ids))))
    return {r.id: ReceiptRef(r.form, r.series, r.number) for r in rows}


def _replacements(session: Session, cancelled_ids: list[int]) -> dict[int, ReceiptRef]:
    """The receipt that replaces each of these cancelled ones (the latest, if several)."""
    if not cancelled_ids:
        return {}
    rows = session.execute(select(Receipt.replaces_id, Receipt.form, Receipt.series, Receipt.number)
                           .where(Receipt.replaces_id.in_(cancelled_ids)).order_by(Receipt.id))
    return {r.replaces_id: ReceiptRef(r.form, r.series, r.number) for r in rows}


def daily_list(session: Session, agency: Agency, day: date) -> DailyList:
    """Every receipt ``agency`` issued on the Indochina ``day``, by form, series and number,
    with totals per series and kind and for the day."""
    start, end = ict_day_bounds(day)
    rows = session.execute(
        select(Receipt, Dossier.code).join(Dossier, Dossier.id == Receipt.dossier_id)
        .where(Receipt.agency_id == agency.id, Receipt.issued_at >= start, Receipt.issued_at < end)).all()
    rows.sort(key=lambda row: (row[0].form, row[0].series, row[0].number))  # in Python: the same on every database
    replaced = _refs(session, {r.replaces_id for r, _ in rows if r.replaces_id is not None})
    replacing = _replacements(session, [r.id for r, _ in rows if r.status == "cancelled"])
    listed = [ListedReceipt(
        id=r.id, form=r.form, series=r.series, number=r.number, issued_at=as_utc(r.issued_at),
        payer_name=r.payer_name, dossier_code=code, kind=r.kind, amount=int(r.amount), status=r.status,
        cancelled_at=as_utc(r.cancelled_at) if r.cancelled_at else None, cancel_reason=r.cancel_reason,
        replaces=replaced.get(r.replaces_id) if r.replaces_id else None,
        replaced_by=replacing.get(r.id) if r.status == "cancelled" else None) for r, code in rows]
    series = []
    for (form, name), group in groupby(listed, key=lambda x: (x.form, x.series)):
        receipts = list(group)
        totals, total = _totals(receipts)
        series.append(SeriesList(form, name, receipts, totals, total))
    totals, total = _totals(listed)
    return DailyList(AgencyInfo.of(agency), day, series, totals, total)


# --- the quarterly usage report (BC26/BLĐT) ---------------------------------------------------------


@dataclass(frozen=True)
class NumberRange:
    """Numbers ``first`` to ``last``, both included."""

    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def text(self) -> str:
        if self.first == self.last:
            return number_text(self.first)
        return f"{number_text(self.first)}–{number_text(self.last)}"


def runs(numbers: list[int]) -> list[NumberRange]:
    """Sorted distinct numbers as ranges of consecutive ones: [1, 2, 3, 5] → 1–3, 5."""
    out: list[NumberRange] = []
    for number in numbers:
        if out and number == out[-1].last + 1:
            out[-1] = NumberRange(out[-1].first, number)
        else:
            out.append(NumberRange(number, number))
    return out


def holes(numbers: list[int], start: int, end: int) -> list[NumberRange]:
    """The numbers from ``start`` to ``end`` that are not in the sorted distinct ``numbers``,
    as ranges; linear in ``numbers``, whatever the width of the range."""
    out: list[NumberRange] = []
    expected = start
    for number in numbers:
        if number < start or number > end:
            continue
        if number > expected:
            out.append(NumberRange(expected, number - 1))
        expected = number + 1
    if expected <= end:
        out.append(NumberRange(expected, end))
    return out


@dataclass(frozen=True)
class CancelledNumber:
    number: int
    issued_at: datetime  # UTC
    cancelled_at: datetime | None  # UTC
    reason: str | None
    dossier_code: str
    after_quarter: bool  # cancelled after the quarter ended (it was in force when the quarter closed)

    @property
    def number_text(self) -> str:
        return number_text(self.number)


@dataclass
class SeriesUsage:
    """One form and series in the quarter (BC26's row)."""

    form: str
    series: str
    year: int  # the Indochina year of issue (numbering starts again at 1 each year)
    first: int  # the first number used in the quarter
    last: int  # the last number used in the quarter
    ranges: list[NumberRange]  # the numbers used in the quarter, as ranges (one when all is well)
    used: int  # receipts of the quarter still in force
    cancelled: list[CancelledNumber]  # receipts of the quarter cancelled (now)
    previous_last: int | None  # the last number of the series used before the quarter (same year)
    missing: list[NumberRange]  # numbers on no receipt at all: a gap in the numbering, a defect
    outside: list[NumberRange]  # numbers in the range on receipts of another quarter or unit

    @property
    def count(self) -> int:
        """Numbers used in the quarter: in force and cancelled."""
        return self.used + len(self.cancelled)

    @property
    def expected_first(self) -> int:
        """The number the quarter should have started with."""
        return (self.previous_last or 0) + 1

    @property
    def checked(self) -> NumberRange:
        """The range of numbers checked for gaps: from the expected (or actual, if earlier)
        first number to the last."""
        return NumberRange(min(self.first, self.expected_first), self.last)

    @property
    def missing_count(self) -> int:
        return sum(r.count for r in self.missing)

    @property
    def outside_count(self) -> int:
        return sum(r.count for r in self.outside)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.outside


@dataclass
class UsageReport:
    agency: AgencyInfo
    quarter: Period  # label YYYY-Qn
    series: list[SeriesUsage]

    @property
    def count(self) -> int:
        return sum(s.count for s in self.series)

    @property
    def used(self) -> int:
        return sum(s.used for s in self.series)

    @property
    def cancelled(self) -> int:
        return sum(len(s.cancelled) for s in self.series)

    @property
    def missing_count(self) -> int:
        return sum(s.missing_count for s in self.series)

    @property
    def outside_count(self) -> int:
        return sum(s.outside_count for s in self.series)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.series)


def usage_report(session: Session, agency: Agency, period: Period) -> UsageReport:
    """BC26/BLĐT for ``agency`` over ``period`` (a quarter, or any span of Indochina days):
    per form and series, the numbers used, those cancelled, and any gap in the numbering."""
    start, end = period.utc_bounds
    rows = session.execute(
        select(Receipt.form, Receipt.series, Receipt.year, Receipt.number, Receipt.status, Receipt.issued_at,
               Receipt.cancelled_at, Receipt.cancel_reason, Dossier.code)
        .join(Dossier, Dossier.id == Receipt.dossier_id)
        .where(Receipt.agency_id == agency.id, Receipt.issued_at >= start, Receipt.issued_at < end)).all()
    rows.sort(key=lambda r: (r.form, r.series, r.year, r.number))  # in Python: the same on every database's collation
    out: list[SeriesUsage] = []
    for (form, series, year), group in groupby(rows, key=lambda r: (r.form, r.series, r.year)):
        group = list(group)
        numbers = [r.number for r in group]
        cancelled = [CancelledNumber(r.number, as_utc(r.issued_at), as_utc(r.cancelled_at) if r.cancelled_at else None,
                                     r.cancel_reason, r.code,
                                     r.cancelled_at is not None and as_utc(r.cancelled_at) >= end)
                     for r in group if r.status == "cancelled"]
        in_series = (Receipt.form == form, Receipt.series == series, Receipt.year == year)
        previous_last = session.scalar(select(func.max(Receipt.number)).where(*in_series, Receipt.issued_at < start))
        usage = SeriesUsage(form, series, year, numbers[0], numbers[-1], runs(numbers),
                            used=len(group) - len(cancelled), cancelled=cancelled, previous_last=previous_last,
                            missing=[], outside=[])
        checked = usage.checked
        known = list(session.scalars(select(Receipt.number).distinct()
                                     .where(*in_series, Receipt.number >= checked.first,
                                            Receipt.number <= checked.last).order_by(Receipt.number)))
        usage.missing = holes(known, checked.first, checked.last)
        ours = set(numbers)
        usage.outside = runs([n for n in known if n not in ours])
        out.append(usage)
    return UsageReport(AgencyInfo.of(agency), period, out)
