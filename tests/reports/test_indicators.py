"""Every indicator on the crafted month of ``conftest.py`` against figures computed by hand,
read from the maintained table and computed directly from the records (both must agree),
on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from reports.definitions import SCORING_KEY, Period, store_setting
from reports.indicators import (breakdown, cashless_rate, dossiers_behind, item_3_5, item_3_5b, online_payment_rate,
                                ranking, summary, trend)

from .conftest import (EXPECTED_AGENCY, EXPECTED_CHANNEL, EXPECTED_DRILL, EXPECTED_FIELD, EXPECTED_PROCEDURE,
                       EXPECTED_TOTAL, NOVEMBER)

BOTH = pytest.mark.parametrize("direct", [False, True], ids=["table", "direct"])


def figures(counts) -> tuple:
    return counts.dossiers, counts.with_fees, counts.zero_fee, counts.paid_online, counts.cashless


@BOTH
def test_the_online_payment_rate_by_agency(november, session, direct):
    report = online_payment_rate(session, NOVEMBER, "agency", direct=direct)
    assert {r.key: figures(r.counts) for r in report.rows} == EXPECTED_AGENCY
    rows = {r.key: r for r in report.rows}
    assert rows["P-HOANKIEM"].rate == 0.0  # only VietQR, counter transfers and cash: no flag with the setting off
    assert rows["P-DONGDA"].rate == 0.0
    assert rows["HN-VPDKDD-CN02"].rate == 2 / 5  # C1, C6 of C1 C3 C4 C5 C6
    assert figures(report.total.counts) == EXPECTED_TOTAL
    assert (report.total.dossiers, report.total.dossiers_with_fees, report.total.numerator) == (19, 16, 2)
    assert report.total.rate == 2 / 16
    assert report.legal_basis.startswith("Quyết định 766/QĐ-TTg")


@BOTH
@pytest.mark.parametrize("group_by, expected", [("field", EXPECTED_FIELD), ("procedure", EXPECTED_PROCEDURE),
                                                ("channel", EXPECTED_CHANNEL)])
def test_the_online_payment_rate_by_field_procedure_and_channel(november, session, direct, group_by, expected):
    report = online_payment_rate(session, NOVEMBER, group_by, direct=direct)
    assert {r.key: figures(r.counts) for r in report.rows} == expected
    assert figures(report.total.counts) == EXPECTED_TOTAL
    rates = {r.key: r.rate for r in report.rows}
    if group_by == "procedure":
        assert rates["T.KS"] is None and rates["T.KH-NN"] == 0 and rates["T.CAPDOI"] == 0.5


@BOTH
def test_the_edge_cases_one_by_one(november, session, direct):
    c = online_payment_rate(session, NOVEMBER, direct=direct).total.counts
    assert c.cancelled == 2  # A6 (paid, then withdrawn) and C5 (rejected): in 3.6, out of the service's own figures
    assert c.not_started == 1  # B4: submitted: likewise
    assert c.zero_fee == 2  # A4 (online under the 2026 rule), C2 (exempt payer); not C4 (no charge line at all)
    assert c.no_fee_procedure == 1  # A5: a free procedure, neither subtracted nor counted
    assert c.fee_procedure_dossiers == 18 and c.fee_procedure_dossiers - c.zero_fee == c.with_fees == 16
    assert c.to_pay == 12  # the cashless rate's own denominator
    assert c.paid == 9  # B2 is not: its payment was reversed; B6 is not: a part only
    assert c.amount_due == 9_124_000
    assert c.paid_amount == 7_496_000  # B1's refunded excess is taken off
    assert c.no_fee_data == 1  # C4


@BOTH
def test_the_cashless_rate_counts_every_payment_but_cash(november, session, direct):
    report = cashless_rate(session, NOVEMBER, "agency", direct=direct)
    rows = {r.key: (r.numerator, r.dossiers_with_fees, r.rate) for r in report.rows}
    assert rows == {"P-HOANKIEM": (3, 4, 0.75), "P-DONGDA": (2, 5, 0.4), "HN-VPDKDD-CN02": (2, 3, 2 / 3)}
    assert (report.total.numerator, report.total.dossiers_with_fees, report.total.rate) == (7, 12, 7 / 12)


@BOTH
def test_items_3_5_and_3_5b(november, session, direct):
    a = item_3_5(session, NOVEMBER, direct=direct)
    # Y: KH-NN, TLHT, BD, CAPDOI, UNUSED. X: a dossier with a charge above 0: KH-NN, TLHT (A3), BD (C1),
    # CAPDOI (C6, though C4 has no line); not UNUSED (no dossier).
    assert (a.numerator, a.denominator, a.rate) == (4, 5, 0.8)
    assert {p.code for p in a.procedures if p.carries_fee_data} == {"T.KH-NN", "T.TLHT", "T.BD", "T.CAPDOI"}
    assert a.by_field == {"civil_status": (2, 2), "land": (2, 3)}
    b = item_3_5b(session, NOVEMBER, direct=direct)
    # A dossier with the flag 1 or 2: BD (C1), CAPDOI (C6); KH-NN's B6 is a part on the portal (no flag).
    assert (b.numerator, b.denominator, b.rate) == (2, 5, 0.4)
    assert {p.code for p in b.procedures if p.paid_online} == {"T.BD", "T.CAPDOI"}


@BOTH
def test_the_points_and_the_summary(november, session, direct):
    s = summary(session, NOVEMBER, direct=direct)
    assert (s.item_3_5.rate, s.item_3_5b.rate, s.rate_3_6) == (0.8, 0.4, 2 / 16)
    # 2 × min(1, 0.8/0.8) = 2; 2 × 0.4/0.8 = 1; 6 × (2/16)/0.3 = 2.5
    assert s.scores == {"3.5": 2.0, "3.5b": 1.0, "3.6": 2.5}
    assert (s.points, s.max_points) == (5.5, 10)
    assert {g.key: figures(g.counts) for g in s.by_field} == EXPECTED_FIELD


def test_the_scoring_is_configuration(november, session):
    store_setting(session, SCORING_KEY, {"3.6": {"full_marks_at": 0.5}}, "user:admin")
    session.commit()
    s = summary(session, NOVEMBER)
    assert s.scores["3.6"] == 1.5  # 6 × (2/16)/0.5
    assert s.settings.scoring["3.5"]["full_marks_at"] == 0.8  # the others keep their defaults


def test_a_period_is_indochina_days_both_included(november, session):
    assert online_payment_rate(session, Period(NOVEMBER.end, NOVEMBER.end)).total.dossiers == 1  # A7 at 23:30
    december = Period.month(2026, 12)
    total = online_payment_rate(session, december).total
    assert (total.dossiers, total.dossiers_with_fees) == (1, 1)  # A8 (00:10 on 1 December in Hanoi)
    october = online_payment_rate(session, Period.month(2026, 10)).total
    assert (october.dossiers, october.dossiers_with_fees) == (1, 1)  # A9, paid in November, counts for October
    empty = online_payment_rate(session, Period.month(2026, 9), "agency")
    assert empty.rows == [] and empty.total.rate is None and empty.total.dossiers == 0


@BOTH
def test_the_dossiers_behind_every_figure(november, session, direct):
    for measure, codes in EXPECTED_DRILL.items():
        lines, count = dossiers_behind(session, NOVEMBER, measure, direct=direct)
        assert {x.code for x in lines} == codes, measure
        assert count == len(codes), measure
    lines, count = dossiers_behind(session, NOVEMBER, "paid_online", "agency", "HN-VPDKDD-CN02", direct=direct)
    assert [x.code for x in lines] == ["CN2-C1", "CN2-C6"] and count == 2
    assert lines[0].payment_channels == ["portal"] and lines[0].paid_online and lines[0].cashless
    assert lines[0].online_flag == 1
    lines, _ = dossiers_behind(session, NOVEMBER, "with_fees", "field", "land", direct=direct)
    assert {x.code for x in lines} == {"CN2-C1", "CN2-C3", "CN2-C4", "CN2-C5", "CN2-C6"}
    lines, _ = dossiers_behind(session, NOVEMBER, "dossiers", "month", "2026-11", direct=direct)
    assert len(lines) == 19


def test_every_figure_equals_the_count_of_the_dossiers_behind_it(november, session):
    from reports.indicators import DRILL_MEASURES

    for group_by in ("agency", "field", "procedure", "channel", "month"):
        b = breakdown(session, NOVEMBER, group_by)
        for g in b.groups:
            for measure in DRILL_MEASURES:
                _, count = dossiers_behind(session, NOVEMBER, measure, group_by, g.key)
                assert count == getattr(g.counts, measure), (group_by, g.key, measure)


def test_the_drill_down_pages_by_dossier(november, session):
    seen, after = [], 0
    while True:
        lines, count = dossiers_behind(session, NOVEMBER, "dossiers", after=after, limit=5)
        if not lines:
            break
        seen += [x.code for x in lines]
        after = lines[-1].id
    assert len(seen) == len(set(seen)) == count == 19


def test_the_ranking_by_tier(november, session):
    units = breakdown(session, NOVEMBER, "agency")
    ranked = ranking(units)
    assert [(r.rank, r.group.key) for r in ranked["commune"]] == [(1, "P-DONGDA"), (1, "P-HOANKIEM")]  # both 0
    assert [(r.rank, r.group.key) for r in ranked["city"]] == [(1, "HN-VPDKDD-CN02")]
    listed = ranking(units, active_only_period=NOVEMBER)
    keys = {r.group.key for rows in listed.values() for r in rows}
    assert "P-CUANAM" in keys and "Q-HOANKIEM" not in keys  # a ward with no dossier is listed; a former district is not
    assert next(r for r in listed["commune"] if r.group.key == "P-CUANAM").rank is None
    old = ranking(breakdown(session, Period.month(2025, 5), "agency"), active_only_period=Period.month(2025, 5))
    assert "Q-HOANKIEM" in {r.group.key for r in old["district"]}  # before July 2025 the districts are there


def test_the_trend_month_by_month(november, session):
    points = trend(session, NOVEMBER.end, months=3)
    assert [p.month for p in points] == ["2026-09", "2026-10", "2026-11"]
    assert [(p.counts.dossiers, p.counts.paid_online) for p in points] == [(0, 0), (1, 0), (19, 2)]
    assert trend(session, NOVEMBER.end, months=3, direct=True)[2].counts == points[2].counts
