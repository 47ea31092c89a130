"""Money collected (by agency, fee item, budget sub-item; per day and month), the time from
payment request to payment, and the reconciliation backlog per unit, on the crafted month,
against figures computed by hand."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from payments.agencies import default_account
from payments.models import Agency, Receipt
from reconciliation.models import DailyClose, ReconException
from reports.definitions import SUBITEMS_KEY, Period, store_setting
from reports.operations import backlog, collections, payment_times

from .conftest import NOVEMBER, at

# The Indochina day each dossier was paid in full, where its receipts are dated in these tests.
PAID_ON = {"HK-A1": at(3, 9, 30), "HK-A2": at(5, 12, 5), "HK-A3": at(6, 9, 20), "HK-A6": at(10, 9, 30),
           "HK-A7": at(2, 10, month=12), "HK-A8": at(1, 8, month=12), "HK-A9": at(2, 8), "DD-B1": at(12, 9, 10),
           "DD-B2": at(13, 9, 30), "DD-B3": at(14, 9, 40), "DD-B4": at(15, 9, 30), "CN2-C1": at(19, 8),
           "CN2-C6": at(23, 10)}


def date_receipts(session, november) -> None:
    codes = {d.id: d.code for d in november.values()}
    for receipt in session.scalars(select(Receipt)):
        receipt.issued_at = PAID_ON[codes[receipt.dossier_id]]
    session.commit()


def test_money_collected_by_agency_fee_and_sub_item(november, session):
    date_receipts(session, november)
    by_agency = collections(session, NOVEMBER, "agency")
    # A7 and A8 were paid (and receipted) in December: not November's money. B2's receipt is cancelled.
    assert [(r.key, r.lines, r.amount) for r in by_agency.rows] == [
        ("HN-VPDKDD-CN02", 3, 3_048_000), ("P-DONGDA", 5, 2_024_000), ("P-HOANKIEM", 6, 4_016_000)]
    assert (by_agency.total_lines, by_agency.total_amount) == (14, 9_088_000)
    by_fee = collections(session, NOVEMBER, "fee")
    assert [(r.key, r.kind, r.lines, r.amount) for r in by_fee.rows] == [
        ("BD", "le_phi", 1, 28_000), ("BD", "phi", 1, 3_000_000), ("CAPDOI", "le_phi", 1, 20_000),
        ("KH-NN", "le_phi", 6, 6_000_000), ("TLHT", "phi", 5, 40_000)]
    by_kind = collections(session, NOVEMBER, "kind")
    assert [(r.key, r.amount) for r in by_kind.rows] == [("le_phi", 6_048_000), ("phi", 3_040_000)]
    unassigned = collections(session, NOVEMBER, "subitem")
    assert [(r.key, r.amount, r.verified) for r in unassigned.rows] == [("", 9_088_000, False)]
    store_setting(session, SUBITEMS_KEY, {"KH-NN": {"code": "9999", "name": "Tiểu mục thử"}}, "user:admin")
    session.commit()
    by_subitem = collections(session, NOVEMBER, "subitem")
    assert [(r.key, r.name, r.amount) for r in by_subitem.rows] == [("9999", "Tiểu mục thử", 6_000_000),
                                                                   ("", "Chưa gán tiểu mục", 3_088_000)]


def test_money_collected_per_day_and_month(november, session):
    date_receipts(session, november)
    per_day = collections(session, NOVEMBER, "kind", "day")
    assert [(r.period, r.key, r.amount) for r in per_day.rows if r.period == "2026-11-19"] == [
        ("2026-11-19", "le_phi", 28_000), ("2026-11-19", "phi", 3_000_000)]
    assert [r.period for r in per_day.rows][:2] == ["2026-11-02", "2026-11-03"]
    months = collections(session, Period(date(2026, 11, 1), date(2026, 12, 31)), "agency", "month")
    assert [(r.period, r.key, r.amount) for r in months.rows if r.key == "P-HOANKIEM"] == [
        ("2026-11", "P-HOANKIEM", 4_016_000), ("2026-12", "P-HOANKIEM", 2_000_000)]


def test_time_from_request_to_payment(november, session):
    rows, total = payment_times(session, NOVEMBER)
    # A1: 25 min, A2: 2 h (HK); C1: 1 day (CN2). Dossiers without a request (cash, portal) are not timed.
    assert [(r.key, r.count, r.median_s, r.p90_s, r.mean_s, r.within_hour, r.within_day) for r in rows] == [
        ("HN-VPDKDD-CN02", 1, 86400, 86400, 86400, 0, 1), ("P-HOANKIEM", 2, 1500, 7200, 4350, 1, 2)]
    assert (total.count, total.median_s, total.p90_s, total.mean_s, total.within_hour, total.within_day) == \
        (3, 7200, 86400, 31700, 1, 3)
    direct, _ = payment_times(session, NOVEMBER, direct=True)
    assert direct == rows


def _agency(session, code):
    return session.scalar(select(Agency).where(Agency.code == code))


def test_the_backlog_per_unit(november, session):
    hk, cn2 = _agency(session, "P-HOANKIEM"), _agency(session, "HN-VPDKDD-CN02")
    hk_account, cn2_account = default_account(hk), default_account(cn2)
    session.add_all([
        ReconException(reason="unknown_reference", status="open", account_id=hk_account.id, amount=50_000,
                       created_at=at(25, 10), deadline=date(2026, 11, 28)),  # open, overdue, 6 days old
        ReconException(reason="amount_mismatch", status="open", account_id=hk_account.id, amount=8_000,
                       created_at=at(30, 10), deadline=date(2026, 12, 3)),  # open, 1 day old
        ReconException(reason="overpaid", status="resolved", dossier_id=november["B1"].id, amount=24_000,
                       created_at=at(10, 10), deadline=date(2026, 11, 13), resolved_at=at(20, 10)),  # settled late
        ReconException(reason="unknown_account", status="open", amount=1_000, created_at=at(1, 0, 30, month=12),
                       deadline=date(2026, 12, 4)),  # no unit known
        ReconException(reason="unknown_reference", status="resolved", account_id=cn2_account.id, amount=5_000,
                       created_at=at(5, 10), deadline=date(2026, 11, 8), resolved_at=at(6, 10)),  # on time
        DailyClose(account_id=hk_account.id, day=date(2026, 11, 3), status="closed", closed_at=at(4, 9)),
        DailyClose(account_id=hk_account.id, day=date(2026, 11, 5), status="closed", closed_at=at(8, 9)),
        DailyClose(account_id=default_account(_agency(session, "P-DONGDA")).id, day=date(2026, 11, 12),
                   status="open"),
    ])
    session.commit()
    units = backlog(session, NOVEMBER, date(2026, 12, 1))
    got = [(u.key, u.open_exceptions, u.overdue_exceptions, u.late_exceptions, u.oldest_open_days, u.age_buckets,
            u.amount_open, [d.day for d in u.unclosed_days], [d.day for d in u.late_closed_days]) for u in units]
    # Days with transfers: HK 2, 3, 5, 10 (A9 A1 A2 A6); DD 12–17; CN2 19, 23. HK closed the 3rd on time and the
    # 5th late; DD's 12th is open. Days after 29 November are within the grace.
    assert got == [
        ("P-DONGDA", 0, 0, 1, None, {"lt1": 0, "1to3": 0, "gt3": 0}, 0, [12, 13, 14, 15, 16, 17], []),
        ("P-HOANKIEM", 2, 1, 1, 6, {"lt1": 0, "1to3": 1, "gt3": 1}, 58_000, [2, 10], [5]),
        ("HN-VPDKDD-CN02", 0, 0, 0, None, {"lt1": 0, "1to3": 0, "gt3": 0}, 0, [19, 23], []),
        ("", 1, 0, 0, 0, {"lt1": 1, "1to3": 0, "gt3": 0}, 1_000, [], []),
    ]
    assert all(u.delayed for u in units[:3]) and not units[3].delayed
