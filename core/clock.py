"""Time: stored in UTC, shown in Indochina Time (UTC+7, no daylight saving).

Days that matter to the business (daily closes, reports, validity) are Indochina days.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from babel.dates import format_datetime as _babel_format_datetime

ICT = timezone(timedelta(hours=7), "ICT")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused (its zone would be a guess)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return value.astimezone(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Datetimes read back from SQLite come naive; they were stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def to_ict(value: datetime) -> datetime:
    return as_utc(value).astimezone(ICT)


def ict_day(value: datetime) -> date:
    """The Indochina calendar day a moment falls on."""
    return to_ict(value).date()


def ict_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of an Indochina day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=ICT)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 timestamp with an offset (``Z`` accepted), as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return to_utc(value)


def isoformat_ict(value: datetime) -> str:
    """ISO 8601 with the +07:00 offset, as the API shows times."""
    return to_ict(value).isoformat(timespec="seconds")


def format_ict(value: datetime, locale: str = "vi", fmt: str = "HH:mm dd/MM/yyyy") -> str:
    """A moment as people in Hanoi read it, e.g. ``14:05 25/11/2026``."""
    return _babel_format_datetime(to_ict(value), fmt, tzinfo=ICT, locale=locale)
