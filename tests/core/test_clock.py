from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from core.clock import ICT, format_ict, ict_day, ict_day_bounds, isoformat_ict, parse_iso, to_utc


def test_late_evening_utc_is_next_day_in_hanoi():
    moment = datetime(2026, 11, 25, 17, 30, tzinfo=timezone.utc)
    assert ict_day(moment) == date(2026, 11, 26)
    assert format_ict(moment) == "00:30 26/11/2026"
    assert isoformat_ict(moment) == "2026-11-26T00:30:00+07:00"


def test_day_bounds_are_utc():
    start, end = ict_day_bounds(date(2026, 11, 25))
    assert start == datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)


def test_parse_iso_needs_an_offset():
    assert parse_iso("2026-11-25T09:00:00+07:00") == datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    assert parse_iso("2026-11-25T02:00:00Z").tzinfo == timezone.utc
    with pytest.raises(ValueError, match="naive"):
        parse_iso("2026-11-25T09:00:00")
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2026, 1, 1))


def test_ict_has_no_daylight_saving():
    assert datetime(2026, 6, 1, tzinfo=ICT).utcoffset() == datetime(2026, 12, 1, tzinfo=ICT).utcoffset()
