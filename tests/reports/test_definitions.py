"""The reporting period, the settings' validation and the points — no database."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from core.errors import ValidationError
from reports.definitions import (DEFAULT_SCORING, ONLINE_CHANNELS_KEY, SCORING_KEY, SUBITEMS_KEY, Period,
                                 ReportSettings, channels_of, mask_of, parse_period, score, trend_period,
                                 validate_setting)


def test_a_period_is_indochina_days_in_utc():
    p = parse_period("2026-11-01", "2026-11-30")
    assert (p.start, p.end, p.days) == (date(2026, 11, 1), date(2026, 11, 30), 30)
    assert p.utc_bounds == (datetime(2026, 10, 31, 17, tzinfo=timezone.utc),
                            datetime(2026, 11, 30, 17, tzinfo=timezone.utc))
    assert p.whole_months() == (202611, 202611)
    assert parse_period("2026-11-02", "2026-11-30").whole_months() is None
    assert Period(date(2025, 12, 1), date(2026, 2, 28)).whole_months() == (202512, 202602)
    assert Period.month(2024, 2).end == date(2024, 2, 29) and Period.month(2026, 12).end == date(2026, 12, 31)
    assert trend_period(date(2026, 3, 15), 12) == Period(date(2025, 4, 1), date(2026, 3, 31))
    assert Period(date(2025, 11, 1), date(2026, 2, 3)).months() == [202511, 202512, 202601, 202602]


@pytest.mark.parametrize("start, end, field", [
    (None, "2026-11-30", "from"), ("2026-11-01", "", "to"), ("01/11/2026", "2026-11-30", "from"),
    ("2026-11-1", "2026-11-30", "from"), ("2026-12-01", "2026-11-30", "from"), ("2020-01-01", "2026-11-30", "to")])
def test_a_bad_period_is_refused(start, end, field):
    with pytest.raises(ValidationError) as caught:
        parse_period(start, end)
    assert field in [e.field for e in caught.value.errors]


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-11", "", None, "2026-11-01"])
def test_a_bad_month_is_refused(text):
    with pytest.raises(ValidationError):
        Period.parse_month(text)


def test_the_settings_are_validated():
    for retired in (["portal", "gateway"], ["bitcoin"]):  # what counts as online is the flag's setting now
        with pytest.raises(ValidationError, match="ONLINE_FLAG_VIETQR_AS_GATEWAY"):
            validate_setting(ONLINE_CHANNELS_KEY, retired)
    assert validate_setting(SCORING_KEY, {"3.6": {"full_marks_at": 0.5}}) == {
        "3.6": {"points": 6, "full_marks_at": 0.5, "verified": True}}
    for bad in ({"3.7": {}}, {"3.6": {"full_marks_at": 0}}, {"3.6": {"points": -1}}, {"3.6": 5}):
        with pytest.raises(ValidationError):
            validate_setting(SCORING_KEY, bad)
    assert validate_setting(SUBITEMS_KEY, {"KH-NN": {"code": " 9999 ", "name": "x"}}) == {
        "KH-NN": {"code": "9999", "name": "x"}}
    with pytest.raises(ValidationError):
        validate_setting(SUBITEMS_KEY, {"KH-NN": {"name": "no code"}})


def test_the_points_are_proportional_up_to_the_threshold():
    settings = ReportSettings(DEFAULT_SCORING, {}, 1)
    assert score(settings, "3.6", 0.15) == 3.0 and score(settings, "3.6", 0.9) == 6.0
    assert score(settings, "3.5", 0.4) == 1.0 and score(settings, "3.5b", None) is None


def test_the_reports_take_the_flag_from_the_one_rule():
    off, on = ReportSettings(DEFAULT_SCORING, {}, 1), ReportSettings(DEFAULT_SCORING, {}, 1, vietqr_as_gateway=True)
    assert off.online_masks() == [mask_of(["portal"])] and off.online_channels == ("portal",)
    assert sorted(on.online_masks()) == sorted([mask_of(["portal"]), mask_of(["gateway"]),
                                                mask_of(["portal", "gateway"])])
    assert on.masks_with_flag(2) == [mask_of(["gateway"])]
    assert off.flag(mask_of(["portal"]), paid=False) == 0 and on.flag(mask_of(["gateway", "cash"]), paid=True) == 0
    assert channels_of(mask_of(["cash", "portal"])) == ["portal", "cash"]
