"""What the indicators count, written down once: dossier statuses, payment channels, the
settings that are configuration (with their documented defaults), the legal bases, and the
reporting period.

``docs/REPORTS.md`` explains every decision made here.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.clock import ict_day_bounds
from core.errors import FieldError, ValidationError
from core.settings import get_setting, set_setting
from core.vocabulary import PaymentChannel
from payments.api import DOSSIER_STATUSES

# --- dossier statuses --------------------------------------------------------------------------
# Cancelled: the dossier will never be processed to a result, so it leaves every rate.
CANCELLED_STATUSES = ("rejected", "withdrawn", "stopped")  # national 3, 7, 8
# Submitted but not yet accepted: processing has not started, so it is not yet counted.
NOT_STARTED_STATUSES = ("submitted",)  # national 1
NOT_COUNTED_STATUSES = CANCELLED_STATUSES + NOT_STARTED_STATUSES
# Every other status (2 accepted, 4, 5, 6, 9, 10, and any unknown text) is counted.
COUNTED_STATUSES = tuple(s for s in DOSSIER_STATUSES if s not in NOT_COUNTED_STATUSES)

# --- the shape of a dossier row: its status class and payment state as bits, stored with it so
# that a year of rows is counted without evaluating predicates row by row (reports.facts).
SHAPE_NO_FEE_DATA = 1  # no charge line at all
SHAPE_PAID = 2  # fees above 0, paid in full (net of reversals and paid refunds)
SHAPE_WITH_FEES = 4  # charges add up to more than 0
SHAPE_CANCELLED = 8  # status rejected, withdrawn or stopped
SHAPE_NOT_STARTED = 16  # status submitted
SHAPE_NOT_COUNTED = SHAPE_CANCELLED | SHAPE_NOT_STARTED

# --- payment channels (core.vocabulary.PaymentChannel), one bit each, in their order -----------
CHANNEL_BITS = {channel.value: 1 << i for i, channel in enumerate(PaymentChannel)}
ALL_CHANNELS_MASK = sum(CHANNEL_BITS.values())
CASH_BIT = CHANNEL_BITS["cash"]


def channels_of(mask: int) -> list[str]:
    return [name for name, bit in CHANNEL_BITS.items() if mask & bit]


def mask_of(channels: list[str] | tuple[str, ...]) -> int:
    return sum(CHANNEL_BITS[c] for c in set(channels))


# --- grouping ---------------------------------------------------------------------------------
GROUPS = ("agency", "field", "procedure", "channel", "month")
CONTRACT_GROUPS = ("agency", "field", "procedure")  # CONTRACT.md; the API takes all of GROUPS
FIELD_NAMES = {"land": "Đất đai", "civil_status": "Hộ tịch"}
OTHER_FIELD_NAME = "Lĩnh vực khác"
DOSSIER_CHANNEL_NAMES = {"online": "Trực tuyến", "counter": "Trực tiếp", "post": "Bưu chính"}
AGENCY_TIERS = {"city_body": "city", "branch": "city", "ward": "commune", "commune": "commune",
                "district": "district"}

# --- legal bases -------------------------------------------------------------------------------
BASIS_766 = "Quyết định 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ, Bộ chỉ số chỉ đạo, điều hành và " \
            "đánh giá chất lượng phục vụ người dân, doanh nghiệp"
BASIS_CASHLESS = "Nghị quyết 71/NQ-CP (2025): mục tiêu 80 % hồ sơ thanh toán trực tuyến đến năm 2030; " \
                 "chỉ tiêu nội bộ của Hà Nội về thanh toán không dùng tiền mặt"

# --- settings that are configuration (core.settings) ------------------------------------------
# Which payments count as online is no longer a report setting: the one rule is
# ``payments.money_rules.online_flag``, shaped by ``ONLINE_FLAG_VIETQR_AS_GATEWAY`` (core/config.py).
ONLINE_CHANNELS_KEY = "reports.online_channels"  # retired: refused with a pointer to the flag's setting
SCORING_KEY = "reports.scoring"
SUBITEMS_KEY = "reports.budget_subitems"
CLOSE_GRACE_KEY = "reports.close_grace_days"

# Points and full-marks thresholds of the 766 items. Proportional scoring: points × min(1, rate ÷
# threshold). The 3.6 threshold is not settled in public sources (30 % in one province's tool).
DEFAULT_SCORING: dict[str, dict[str, Any]] = {
    "3.5": {"points": 2, "full_marks_at": 0.8, "verified": True},
    "3.5b": {"points": 2, "full_marks_at": 0.8, "verified": True},
    "3.6": {"points": 6, "full_marks_at": 0.3, "verified": False},
}
DEFAULT_SUBITEMS: dict[str, dict[str, str]] = {}  # fee code → {"code": tiểu mục, "name": ...}: data, not code
DEFAULT_CLOSE_GRACE_DAYS = 1


@dataclass(frozen=True)
class ReportSettings:
    scoring: dict[str, dict[str, Any]]
    subitems: dict[str, dict[str, str]]
    close_grace_days: int
    vietqr_as_gateway: bool = False  # ONLINE_FLAG_VIETQR_AS_GATEWAY, read from the app's configuration

    @property
    def online_channels(self) -> tuple[str, ...]:
        """The payment channels the online-payment flag counts as online under this setting."""
        return ("portal", "gateway") if self.vietqr_as_gateway else ("portal",)

    def flag(self, mask: int, paid: bool) -> int:
        """The online-payment flag of a dossier with these payment channels (``pay_mask``):
        ``payments.money_rules.online_flag`` itself, the rule the outbound events use."""
        from payments.money_rules import online_flag

        return online_flag(channels_of(mask), paid=paid, vietqr_as_gateway=self.vietqr_as_gateway)

    def online_masks(self) -> list[int]:
        """Every ``pay_mask`` whose paid dossier the flag says is paid online (1 or 2)."""
        return [m for m in range(ALL_CHANNELS_MASK + 1) if self.flag(m, True)]

    def masks_with_flag(self, flag: int) -> list[int]:
        return [m for m in range(ALL_CHANNELS_MASK + 1) if self.flag(m, True) == flag]


def validate_setting(key: str, value: Any) -> Any:
    """The value as stored, or a ValidationError saying what is wrong."""
    if key == ONLINE_CHANNELS_KEY:
        raise ValidationError(f"{key} is retired: what counts as paid online is the online-payment flag, "
                              "set by ONLINE_FLAG_VIETQR_AS_GATEWAY (docs/OPERATIONS.md)",
                              errors=[FieldError(key, "retired: see ONLINE_FLAG_VIETQR_AS_GATEWAY")])
    if key == SCORING_KEY:
        if not isinstance(value, dict) or any(item not in DEFAULT_SCORING for item in value):
            raise ValidationError(f"{key}: an object with items {', '.join(DEFAULT_SCORING)}",
                                  errors=[FieldError(key, "unknown item")])
        merged = copy.deepcopy(DEFAULT_SCORING)
        for item, spec in value.items():
            if not isinstance(spec, dict):
                raise ValidationError(f"{key}.{item}: an object", errors=[FieldError(f"{key}.{item}", "object")])
            points, threshold = spec.get("points", merged[item]["points"]), spec.get("full_marks_at",
                                                                                   merged[item]["full_marks_at"])
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise ValidationError(f"{key}.{item}.points: a number ≥ 0",
                                      errors=[FieldError(f"{key}.{item}.points", "number ≥ 0")])
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
                raise ValidationError(f"{key}.{item}.full_marks_at: a rate above 0 and at most 1",
                                      errors=[FieldError(f"{key}.{item}.full_marks_at", "0 < rate ≤ 1")])
            merged[item] = {"points": points, "full_marks_at": threshold,
                            "verified": bool(spec.get("verified", True))}
        return {item: merged[item] for item in value}
    if key == SUBITEMS_KEY:
        if not isinstance(value, dict) or any(
                not isinstance(v, dict) or not isinstance(v.get("code"), str) or not v["code"].strip()
                for v in value.values()):
            raise ValidationError(f"{key}: an object fee code → {{\"code\": ..., \"name\": ...}}",
                                  errors=[FieldError(key, "fee code → sub-item")])
        return {str(k): {"code": v["code"].strip(), "name": str(v.get("name") or "").strip()}
                for k, v in value.items()}
    if key == CLOSE_GRACE_KEY:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 30:
            raise ValidationError(f"{key}: whole days from 0 to 30", errors=[FieldError(key, "0..30")])
        return value
    raise ValidationError(f"unknown report setting {key!r}", errors=[FieldError("key", "unknown")])


SETTING_KEYS = (SCORING_KEY, SUBITEMS_KEY, CLOSE_GRACE_KEY)


def load_settings(session: Session) -> ReportSettings:
    """The settings in force: stored values over the documented defaults. A stored value that
    is no longer valid is ignored (the default applies), so a report never fails on it."""

    def read(key: str, default: Any) -> Any:
        value = get_setting(session, key)
        if value is None:
            return copy.deepcopy(default)
        try:
            return validate_setting(key, value)
        except ValidationError:
            return copy.deepcopy(default)

    scoring = copy.deepcopy(DEFAULT_SCORING)
    scoring.update(read(SCORING_KEY, {}))
    from payments.portal_sync import vietqr_as_gateway

    return ReportSettings(scoring=scoring, subitems=read(SUBITEMS_KEY, DEFAULT_SUBITEMS),
                          close_grace_days=read(CLOSE_GRACE_KEY, DEFAULT_CLOSE_GRACE_DAYS),
                          vietqr_as_gateway=vietqr_as_gateway())


def store_setting(session: Session, key: str, value: Any, actor: str) -> Any:
    """Validate, store and audit one report setting (the caller commits)."""
    from core import audit

    clean = validate_setting(key, value)
    if key == SCORING_KEY:  # keep what was set before for the items not given now
        current = get_setting(session, key) or {}
        clean = {**(current if isinstance(current, dict) else {}), **clean}
    previous = get_setting(session, key)
    set_setting(session, key, clean, actor)
    audit.record(session, actor, "setting.changed", "setting", key, {"from": previous, "to": clean})
    return clean


def score(settings: ReportSettings, item: str, rate: float | None) -> float | None:
    """Points of a 766 item: proportional to the rate up to the full-marks threshold."""
    if rate is None:
        return None
    spec = settings.scoring[item]
    return round(spec["points"] * min(1.0, rate / spec["full_marks_at"]), 2)


# --- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Indochina days ``start`` to ``end``, both included; a dossier belongs to the period of
    the Indochina day its processing started (``Dossier.submitted_at``)."""

    start: date
    end: date
    label: str = field(default="", compare=False)

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        return ict_day_bounds(self.start)[0], ict_day_bounds(self.end)[1]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        end = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        return cls(start, end, f"{year:04d}-{month:02d}")

    @classmethod
    def parse_month(cls, text: str | None, name: str = "month") -> Period:
        try:
            year, month = (int(part) for part in (text or "").strip().split("-"))
            if not (2000 <= year <= 2100 and 1 <= month <= 12) or len((text or "").strip()) != 7:
                raise ValueError
        except ValueError:
            raise ValidationError(f"{name} must be a month YYYY-MM", errors=[FieldError(name, "YYYY-MM")]) from None
        return cls.month(year, month)

    def whole_months(self) -> tuple[int, int] | None:
        """(first, last) ``yyyymm`` when the period is whole calendar months, else None."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return None
        return self.start.year * 100 + self.start.month, self.end.year * 100 + self.end.month

    def months(self) -> list[int]:
        """The months (``yyyymm``) the period touches."""
        out, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(year * 100 + month)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


MAX_PERIOD_DAYS = 3 * 366 + 1


def parse_period(raw_from: str | None, raw_to: str | None) -> Period:
    """``from`` and ``to`` (``YYYY-MM-DD``), both required and both included."""
    errors, days = [], {}
    for name, raw in (("from", raw_from), ("to", raw_to)):
        try:
            days[name] = parse_iso_day(raw, name)
        except ValidationError as exc:
            errors += exc.errors
    if errors:
        raise ValidationError("the period is not valid: " + "; ".join(f"{e.field} {e.message}" for e in errors),
                              errors=errors)
    return period_between(days["from"], days["to"])


def parse_iso_day(raw: str | None, name: str) -> date:
    """A day of a period, ``YYYY-MM-DD`` exactly."""
    if raw is None or not raw.strip():
        raise ValidationError(f"{name} is required", errors=[FieldError(name, "required: a date YYYY-MM-DD")])
    try:
        if len(raw.strip()) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(f"{name} must be a date", errors=[FieldError(name, "a date YYYY-MM-DD")]) from None


def period_between(start: date, end: date) -> Period:
    """The days ``start`` to ``end``, both included: ``start`` first, three years at most."""
    days = {"from": start, "to": end}
    if days["from"] > days["to"]:
        raise ValidationError("from is after to", errors=[FieldError("from", "on or before 'to'")])
    if (days["to"] - days["from"]).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError("the period is longer than three years",
                              errors=[FieldError("to", "at most three years after 'from'")])
    return Period(days["from"], days["to"])


def month_label(yyyymm: int) -> str:
    return f"{yyyymm // 100:04d}-{yyyymm % 100:02d}"


def trend_period(end: date, months: int = 12) -> Period:
    """The ``months`` whole months ending with the month of ``end``."""
    year, month = end.year, end.month
    for _ in range(months - 1):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    last = Period.month(end.year, end.month)
    return Period(date(year, month, 1), last.end)
