"""The e-receipt reports on SQLite and PostgreSQL: the daily list of receipts issued (bảng kê
biên lai) and the quarterly usage report (BC26/BLĐT), as functions, as pages with their XLSX
(read back with openpyxl), and in the API (against its OpenAPI description), with a crafted set
of receipts and the figures computed by hand.

The receipts of ward Hoàn Kiếm's series HK-26E are issued through the real paths (cash at the
counter, ``reconciliation.matching.cash.record_cash``; a reversal that cancels a receipt; the payment
again, whose receipt replaces the cancelled one), on a clock the test sets; a second series
HKB-26E, with a gap and a number on another unit's receipt, is written directly.

    HK-26E (01BLP0-001), P-HOANKIEM                        Indochina time
      1  phí      8,000      Q3   10/08/2026 10:00
      2  phí      8,000      Q3   30/09/2026 23:50
      3  phí      8,000      Q4   01/10/2026 00:10        (still 30 September in UTC)
      4  lệ phí   1,000,000  Q4   25/11/2026 08:00        cancelled 10:30 (payment reversed), replaced by 7
      5  lệ phí   20,000          25/11/2026 09:00        } one dossier, two kinds
      6  phí      8,000           25/11/2026 09:00        }
      7  lệ phí   1,000,000       25/11/2026 11:00        replaces 4
      8  phí      8,000           25/11/2026 23:59:30
      9  phí      8,000           26/11/2026 00:00:30     (still 25 November in UTC)
     10  lệ phí   1,000,000       02/12/2026 14:00        cancelled 05/01/2027, after the quarter
    DA-26E 1 (P-DONGDA)  lệ phí 1,000,000  25/11/2026 10:00    another unit: never in Hoàn Kiếm's
    HKB-26E (01BLP0-001), written directly
      1  phí      50,000     P-HOANKIEM 25/11/2026 13:00
      2  lệ phí   30,000     P-HOANKIEM 25/11/2026 13:05   cancelled 25/11/2026 15:00 "Lập nhầm"
      3  —                                                  missing: a gap
      4  phí      70,000     P-HOANKIEM 25/11/2026 13:10
      5  phí      40,000     P-DONGDA   20/11/2026 09:00   outside Hoàn Kiếm's report
      6  phí      60,000     P-HOANKIEM 27/11/2026 09:00
"""
from __future__ import annotations

import io
import re
import secrets
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from core.db import db
from core.errors import NotFound, ValidationError
from core.tokens import create_token
from reconciliation.matching import allocation as allocation_module
from payments.agencies import seed_agencies
from payments.models import Agency, Receipt
from reconciliation.matching.allocation import active_allocations, reverse
from reports.receipt_reports import (NumberRange, daily_list, find_agency, holes, parse_day, parse_quarter, quarter,
                                     quarter_of, runs, usage_report)
from tests.payments.test_openapi import Recorder, operations
from tests.staff import add_staff

from .conftest import ICT, at, cash, dossier, seed_catalogue

PASSWORD = "Mật-khẩu-biên-lai-2026"
STAFF = {"motcua": "counter", "ketoan": "finance", "giamsat": "supervisor", "quantri": "admin"}
ROLES = ("system", "counter", "finance", "supervisor", "admin")
HK, DD = "P-HOANKIEM", "P-DONGDA"
FORM = "01BLP0-001"
REVERSED = "Khoản thanh toán bị hoàn trả (payment reversed)"


class Clock:
    """The moment a payment or a reversal is written at (the writer issues and cancels
    receipts at it)."""

    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def paid_in_cash(session, clock: Clock, when: datetime, code: str, agency: str, charges, payer: str):
    clock.set(when)
    made = dossier(session, code, agency, "T.KH-NN", "counter", when, charges)
    made.applicant_name = payer
    session.flush()
    cash(session, made, made.amount_due, when)
    session.commit()
    return made


def direct(session, agency: Agency, dossier_id: int, series: str, number: int, kind: str, amount: int,
           when: datetime, *, cancelled: datetime | None = None, reason: str | None = None) -> None:
    """A receipt written as another system would have issued it."""
    session.add(Receipt(agency_id=agency.id, dossier_id=dossier_id, form=FORM, series=series, year=when.year,
                        number=number, kind=kind, payer_name="Lê Văn Khách", amount=amount,
                        lines=[{"name": "Khoản thu", "amount": amount}], payment_channel="cash",
                        lookup_token=secrets.token_urlsafe(18), issued_at=when.astimezone(timezone.utc),
                        issued_by="test", status="cancelled" if cancelled else "issued",
                        cancelled_at=cancelled.astimezone(timezone.utc) if cancelled else None,
                        cancelled_by="test" if cancelled else None, cancel_reason=reason))


def build_receipts(session, clock: Clock) -> None:
    million, small = [(1_000_000, "le_phi")], [(8_000, "phi")]
    paid_in_cash(session, clock, at(10, 10, month=8), "HK-R01", HK, small, "Phạm Thị Một")  # 1
    paid_in_cash(session, clock, at(30, 23, 50, month=9), "HK-R02", HK, small, "Phạm Thị Hai")  # 2
    paid_in_cash(session, clock, at(1, 0, 10, month=10), "HK-R03", HK, small, "Phạm Thị Ba")  # 3
    first = paid_in_cash(session, clock, at(25, 8), "HK-R04", HK, million, "Nguyễn Văn Bốn")  # 4
    paid_in_cash(session, clock, at(25, 9), "HK-R05", HK, [(20_000, "le_phi"), (8_000, "phi")],
                 "Trần Thị Năm")  # 5 (lệ phí), 6 (phí)
    clock.set(at(25, 10))
    other = dossier(session, "DD-R01", DD, "T.KH-NN", "counter", at(25, 10), million)
    cash(session, other, 1_000_000, at(25, 10))
    session.commit()
    clock.set(at(25, 10, 30))  # the cash was booked to the wrong dossier: its receipt is cancelled
    reverse(session, active_allocations(session, dossier_id=first.id)[0], "user:ketoan", "thu nhầm hồ sơ")
    session.commit()
    clock.set(at(25, 11))  # paid again: a new receipt replaces it
    cash(session, first, 1_000_000, at(25, 11))
    session.commit()
    paid_in_cash(session, clock, at(25, 23, 59).replace(second=30), "HK-R08", HK, small, "Đỗ Văn Tám")  # 8
    paid_in_cash(session, clock, datetime(2026, 11, 26, 0, 0, 30, tzinfo=ICT), "HK-R09", HK, small,
                 "Đỗ Văn Chín")  # 9
    last = paid_in_cash(session, clock, at(2, 14, month=12), "HK-R10", HK, million, "Đỗ Văn Mười")  # 10
    clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=ICT))  # reversed in January: cancelled after the quarter
    reverse(session, active_allocations(session, dossier_id=last.id)[0], "user:ketoan", "khách đòi lại tiền")
    session.commit()
    hk, dd = (session.query(Agency).filter_by(code=code).one() for code in (HK, DD))
    holder = dossier(session, "HK-R99", HK, "T.KH-NN", "counter", at(20, 9), million)
    direct(session, hk, holder.id, "HKB-26E", 1, "phi", 50_000, at(25, 13))
    direct(session, hk, holder.id, "HKB-26E", 2, "le_phi", 30_000, at(25, 13, 5), cancelled=at(25, 15),
           reason="Lập nhầm")
    direct(session, hk, holder.id, "HKB-26E", 4, "phi", 70_000, at(25, 13, 10))
    direct(session, dd, other.id, "HKB-26E", 5, "phi", 40_000, at(20, 9))
    direct(session, hk, holder.id, "HKB-26E", 6, "phi", 60_000, at(27, 9))
    session.commit()


@pytest.fixture
def site(app, monkeypatch):
    """The crafted receipts and one user per staff role, made in an app context of their own."""
    clock = Clock()
    monkeypatch.setattr(allocation_module, "utcnow", clock)
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session)
        build_receipts(session, clock)
        add_staff(session, STAFF, PASSWORD)
        session.commit()
    return app


def hoan_kiem() -> Agency:
    return db.session.query(Agency).filter_by(code=HK).one()


# ---------------------------------------------------------------------------------------------------
# Reading what is asked for (no database)


def test_days_and_quarters_are_read_strictly():
    assert parse_day("2026-11-25") == date(2026, 11, 25) and parse_day(" 2026-11-25 ") == date(2026, 11, 25)
    for bad in ("", None, "2026-02-30", "2026-11-5", "25/11/2026", "1999-12-31", "2101-01-01", "2026-11-25T00:00",
                "99999-01-01"):
        with pytest.raises(ValidationError) as caught:
            parse_day(bad)
        assert caught.value.errors[0].field == "day", bad
    q4 = parse_quarter("2026-Q4")
    assert (q4.start, q4.end, q4.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    assert parse_quarter("2028-q1") == quarter(2028, 1)
    assert (quarter(2028, 1).start, quarter(2028, 1).end) == (date(2028, 1, 1), date(2028, 3, 31))
    assert quarter(2026, 2).end == date(2026, 6, 30) and quarter(2026, 3).start == date(2026, 7, 1)
    for bad in ("", None, "2026-Q5", "2026-Q0", "2026Q4", "2026-4", "Q4-2026", "1999-Q4", "2101-Q1", "2026-Q44"):
        with pytest.raises(ValidationError) as caught:
            parse_quarter(bad)
        assert caught.value.errors[0].field == "quarter", bad
    assert quarter_of(date(2026, 9, 30)).label == "2026-Q3" and quarter_of(date(2026, 10, 1)).label == "2026-Q4"


def test_ranges_and_holes():
    assert runs([1, 2, 3, 5, 7, 8]) == [NumberRange(1, 3), NumberRange(5, 5), NumberRange(7, 8)]
    assert runs([]) == []
    assert holes([3, 4, 8], 1, 10) == [NumberRange(1, 2), NumberRange(5, 7), NumberRange(9, 10)]
    assert holes([1, 2, 3], 1, 3) == []
    assert holes([], 5, 5) == [NumberRange(5, 5)]
    assert holes([10_000_000], 1, 10_000_000) == [NumberRange(1, 9_999_999)]  # linear in the numbers, not the range
    assert NumberRange(7, 7).text == "00000007" and NumberRange(1, 12).text == "00000001–00000012"


# ---------------------------------------------------------------------------------------------------
# The functions


def test_the_daily_list(site):
    with site.app_context():
        d = daily_list(db.session, hoan_kiem(), date(2026, 11, 25))
    assert (d.agency.code, d.agency.tax_code, d.day) == (HK, "0110000101", date(2026, 11, 25))
    assert [(s.form, s.series) for s in d.series] == [(FORM, "HK-26E"), (FORM, "HKB-26E")]
    hk26, hkb = d.series
    assert [(r.number, r.kind, r.amount, r.status) for r in hk26.receipts] == [
        (4, "le_phi", 1_000_000, "cancelled"), (5, "le_phi", 20_000, "issued"), (6, "phi", 8_000, "issued"),
        (7, "le_phi", 1_000_000, "issued"), (8, "phi", 8_000, "issued")]
    cancelled, _, _, replacement, late = hk26.receipts
    assert (cancelled.dossier_code, cancelled.payer_name) == ("HK-R04", "Nguyễn Văn Bốn")
    assert cancelled.issued_at == at(25, 8).astimezone(timezone.utc)
    assert cancelled.cancelled_at == at(25, 10, 30).astimezone(timezone.utc) and cancelled.cancel_reason == REVERSED
    assert cancelled.replaced_by is not None and (cancelled.replaced_by.series, cancelled.replaced_by.number) == (
        "HK-26E", 7)
    assert replacement.replaces is not None and replacement.replaces.number_text == "00000004"
    assert replacement.replaced_by is None and cancelled.replaces is None
    assert late.issued_at == at(25, 23, 59).replace(second=30).astimezone(timezone.utc)  # 16:59:30 UTC
    assert [r.number for r in hkb.receipts] == [1, 2, 4]  # 5 is another unit's, 6 another day's
    assert (hkb.receipts[1].status, hkb.receipts[1].cancel_reason) == ("cancelled", "Lập nhầm")

    def totals(ts):
        return [(t.kind, t.issued, t.amount, t.cancelled, t.cancelled_amount) for t in ts]

    assert totals(hk26.totals + [hk26.total]) == [("le_phi", 2, 1_020_000, 1, 1_000_000), ("phi", 2, 16_000, 0, 0),
                                                  (None, 4, 1_036_000, 1, 1_000_000)]
    assert totals(hkb.totals + [hkb.total]) == [("le_phi", 0, 0, 1, 30_000), ("phi", 2, 120_000, 0, 0),
                                                (None, 2, 120_000, 1, 30_000)]
    assert totals(d.totals + [d.total]) == [("le_phi", 2, 1_020_000, 2, 1_030_000), ("phi", 4, 136_000, 0, 0),
                                            (None, 6, 1_156_000, 2, 1_030_000)]
    with site.app_context():
        # The Indochina day, not the UTC one: 00:00:30 on the 26th is still the 25th in UTC.
        assert [r.number for r in daily_list(db.session, hoan_kiem(), date(2026, 11, 26)).receipts] == [9]
        assert [(r.series, r.number) for r in daily_list(db.session, hoan_kiem(), date(2026, 10, 1)).receipts] == [
            ("HK-26E", 3)]
        # A receipt cancelled in the next year still shows as cancelled on the day it was issued.
        december = daily_list(db.session, hoan_kiem(), date(2026, 12, 2))
        assert [(r.number, r.status, r.cancel_reason) for r in december.receipts] == [(10, "cancelled", REVERSED)]
        assert (december.total.issued, december.total.amount, december.total.cancelled) == (0, 0, 1)
        empty = daily_list(db.session, hoan_kiem(), date(2026, 11, 24))
        assert empty.series == [] and (empty.total.issued, empty.total.amount) == (0, 0)
        other = daily_list(db.session, db.session.query(Agency).filter_by(code=DD).one(), date(2026, 11, 25))
        assert [(r.series, r.number, r.dossier_code) for r in other.receipts] == [("DA-26E", 1, "DD-R01")]


def test_the_usage_report(site):
    with site.app_context():
        q3 = usage_report(db.session, hoan_kiem(), quarter(2026, 3))
        q4 = usage_report(db.session, hoan_kiem(), quarter(2026, 4))
        q1 = usage_report(db.session, hoan_kiem(), quarter(2027, 1))
        dong_da = usage_report(db.session, db.session.query(Agency).filter_by(code=DD).one(), quarter(2026, 4))
    (only,) = q3.series
    assert (only.series, only.first, only.last, only.count, only.used, only.cancelled, only.previous_last) == (
        "HK-26E", 1, 2, 2, 2, [], None)
    assert only.ok and only.missing == [] and q3.ok
    hk26, hkb = q4.series
    # HK-26E: 3 to 10, continuing Q3's 2, two cancelled (one after the quarter), nothing missing.
    assert (hk26.form, hk26.series, hk26.year, hk26.first, hk26.last) == (FORM, "HK-26E", 2026, 3, 10)
    assert hk26.ranges == [NumberRange(3, 10)] and (hk26.count, hk26.used) == (8, 6)
    assert [(c.number, c.reason, c.after_quarter, c.dossier_code) for c in hk26.cancelled] == [
        (4, REVERSED, False, "HK-R04"), (10, REVERSED, True, "HK-R10")]
    assert hk26.cancelled[1].cancelled_at == datetime(2027, 1, 5, 2, 0, tzinfo=timezone.utc)
    assert (hk26.previous_last, hk26.expected_first, hk26.missing, hk26.outside, hk26.ok) == (2, 3, [], [], True)
    # HKB-26E: 1, 2, 4, 6 are Hoàn Kiếm's; 3 is on no receipt (a defect), 5 on Đống Đa's.
    assert (hkb.first, hkb.last, hkb.count, hkb.used) == (1, 6, 4, 3)
    assert hkb.ranges == [NumberRange(1, 2), NumberRange(4, 4), NumberRange(6, 6)]
    assert [(c.number, c.reason, c.after_quarter) for c in hkb.cancelled] == [(2, "Lập nhầm", False)]
    assert (hkb.previous_last, hkb.missing, hkb.outside, hkb.ok) == (None, [NumberRange(3, 3)], [NumberRange(5, 5)],
                                                                      False)
    for s in q4.series:  # every number of the range checked is accounted for, once
        assert s.checked.count == s.used + len(s.cancelled) + s.missing_count + s.outside_count
    assert (q4.count, q4.used, q4.cancelled, q4.missing_count, q4.outside_count, q4.ok) == (12, 9, 3, 1, 1, False)
    assert q1.series == [] and q1.ok
    # Đống Đa's one HKB-26E number: the series was never its own, so Hoàn Kiếm's numbers are outside it.
    assert [(s.series, s.first, s.last) for s in dong_da.series] == [("DA-26E", 1, 1), ("HKB-26E", 5, 5)]
    shared = dong_da.series[1]
    assert (shared.missing, shared.outside) == ([NumberRange(3, 3)], [NumberRange(1, 2), NumberRange(4, 4)])


def test_a_gap_between_quarters_is_found(site):
    """The quarter should go on from the last number used before it: a series that ended Q3 at 1
    and starts Q4 at 4 has lost 2 and 3, though Q4's own numbers follow each other."""
    with site.app_context():
        hk = hoan_kiem()
        holder = db.session.query(Receipt).filter_by(series="HKB-26E", number=1).one().dossier_id
        direct(db.session, hk, holder, "HKC-26E", 1, "phi", 10_000, at(15, 9, month=9))
        direct(db.session, hk, holder, "HKC-26E", 4, "phi", 10_000, at(5, 9, month=10))
        direct(db.session, hk, holder, "HKC-26E", 5, "phi", 10_000, at(6, 9, month=10))
        db.session.commit()
        q4 = usage_report(db.session, hk, quarter(2026, 4))
        q3 = usage_report(db.session, hk, quarter(2026, 3))
    hkc = next(s for s in q4.series if s.series == "HKC-26E")
    assert (hkc.first, hkc.last, hkc.ranges, hkc.count, hkc.previous_last) == (4, 5, [NumberRange(4, 5)], 2, 1)
    assert (hkc.missing, hkc.outside, hkc.ok, hkc.checked) == ([NumberRange(2, 3)], [], False, NumberRange(2, 5))
    assert q4.missing_count == 1 + 2  # HKB-26E's 3, and these
    assert [(s.series, s.first, s.last, s.ok) for s in q3.series] == [("HK-26E", 1, 2, True), ("HKC-26E", 1, 1, True)]


def test_agencies_are_found_by_code(site):
    with site.app_context():
        assert find_agency(db.session, " P-HOANKIEM ").code == HK
        assert find_agency(db.session, "p-hoankiem").code == HK
        with pytest.raises(NotFound):
            find_agency(db.session, "P-NOWHERE")
        for bad in ("", None, "P\x00HK", "X" * 41):
            with pytest.raises(ValidationError):
                find_agency(db.session, bad)


# ---------------------------------------------------------------------------------------------------
# Pages and files


def signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def test_who_may_see_the_receipt_reports(app, site):
    for path in ("/reports/receipts/daily", "/reports/receipts/usage"):
        assert app.test_client().get(path).status_code == 302  # to the login page
        assert signed_in(app, "motcua").get(path).status_code == 403
        for username in ("ketoan", "giamsat", "quantri"):
            response = signed_in(app, username).get(path)
            assert response.status_code == 200 and 'data-testid="choose"' in text(response), (path, username)


def test_the_daily_list_page(app, site):
    page = text(signed_in(app, "ketoan").get(f"/reports/receipts/daily?agency={HK}&day=2026-11-25"))
    assert 'data-testid="daily-list" data-agency="P-HOANKIEM" data-day="2026-11-25"' in page
    assert "Bảng kê biên lai điện tử đã lập" in page and "Mã số thuế: 0110000101" in page
    rows = re.findall(r'<tr data-number="(\d+)" data-status="(\w+)" data-kind="(\w+)" data-amount="(\d+)">', page)
    assert rows == [("00000004", "cancelled", "le_phi", "1000000"), ("00000005", "issued", "le_phi", "20000"),
                    ("00000006", "issued", "phi", "8000"), ("00000007", "issued", "le_phi", "1000000"),
                    ("00000008", "issued", "phi", "8000"), ("00000001", "issued", "phi", "50000"),
                    ("00000002", "cancelled", "le_phi", "30000"), ("00000004", "issued", "phi", "70000")]
    first = re.search(r'<tr data-number="00000004" data-status="cancelled".*?</tr>', page, re.S).group(0)
    assert "Hủy lúc 10:30 25/11/2026 — Khoản thanh toán bị hoàn trả" in first
    assert "Được thay bằng biên lai ký hiệu HK-26E, số 00000007" in first and "Nguyễn Văn Bốn" in first
    assert "08:00:00" in first and "HK-R04" in first
    assert "Thay thế biên lai ký hiệu HK-26E, số 00000004 đã hủy" in page
    day = re.search(r'data-testid="day-totals">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r'data-total="(\w+)" data-issued="(\d+)" data-amount="(\d+)" data-cancelled="(\d+)" '
                      r'data-cancelled-amount="(\d+)"', day) == [
        ("le_phi", "2", "1020000", "2", "1030000"), ("phi", "4", "136000", "0", "0"),
        ("all", "6", "1156000", "2", "1030000")]
    assert "1.156.000" in day
    english = text(signed_in(app, "giamsat").get(f"/reports/receipts/daily?agency={HK}&day=2026-11-25&lang=en"))
    assert "Daily list of e-receipts issued" in english and "Replaced by receipt series HK-26E, number 00000007" \
        in english and "Totals of the day" in english
    empty = text(signed_in(app, "giamsat").get(f"/reports/receipts/daily?agency={HK}&day=2026-11-24"))
    assert "Đơn vị không lập biên lai nào trong ngày này." in empty


@pytest.mark.parametrize("query, status, field, message", [
    ("agency=P-HOANKIEM&day=2026-02-30", 422, "day", "Ngày không hợp lệ"),
    ("agency=P-HOANKIEM&day=1900-01-01", 422, "day", "Ngày không hợp lệ"),
    ("agency=P-NOWHERE&day=2026-11-25", 404, "agency", "Không có đơn vị nào mang mã “P-NOWHERE”"),
    ("agency=P%00X&day=2026-11-25", 422, "agency", "Mã đơn vị không hợp lệ"),
    ("day=2026-11-25&format=xlsx", 422, "agency", "Chọn đơn vị để tải tệp."),
    ("agency=P-NOWHERE&day=2026-11-25&format=xlsx", 404, "agency", "Không có đơn vị nào"),
])
def test_bad_input_on_the_daily_page(app, site, query, status, field, message):
    response = signed_in(app, "ketoan").get(f"/reports/receipts/daily?{query}")
    assert response.status_code == status and response.mimetype == "text/html"
    page = text(response)
    assert re.search(rf'data-testid="error-{field}">[^<]*{re.escape(message)}', page), page[-3000:]
    assert 'data-testid="daily-list"' not in page


@pytest.mark.parametrize("query, status, field, message", [
    ("agency=P-HOANKIEM&quarter=2026-Q5", 422, "quarter", "Quý không hợp lệ"),
    ("agency=P-HOANKIEM&quarter=Q4-2026", 422, "quarter", "Quý không hợp lệ"),
    ("agency=P-NOWHERE&quarter=2026-Q4", 404, "agency", "Không có đơn vị nào mang mã “P-NOWHERE”"),
    ("agency=P-NOWHERE&quarter=2026-Q9", 422, "quarter", "Quý không hợp lệ"),
])
def test_bad_input_on_the_usage_page(app, site, query, status, field, message):
    response = signed_in(app, "giamsat").get(f"/reports/receipts/usage?{query}")
    assert response.status_code == status
    page = text(response)
    assert re.search(rf'data-testid="error-{field}">[^<]*{re.escape(message)}', page)
    assert 'data-testid="usage"' not in page


def test_the_usage_page(app, site):
    client = signed_in(app, "giamsat")
    page = text(client.get(f"/reports/receipts/usage?agency={HK}&quarter=2026-q4"))
    assert 'data-testid="usage" data-agency="P-HOANKIEM" data-quarter="2026-Q4" data-ok="no"' in page
    assert "Quý 4 năm 2026" in page and "BC26/BLĐT" in page and "cần xác nhận với thành phố" in page
    assert 'data-testid="gaps"' in page
    rows = re.findall(r'<tr data-form="01BLP0-001" data-series="([\w-]+)" data-first="(\d+)" data-last="(\d+)" '
                      r'data-count="(\d+)" data-used="(\d+)" data-cancelled="(\d+)" data-missing="(\d+)" '
                      r'data-outside="(\d+)">', page)
    assert rows == [("HK-26E", "3", "10", "8", "6", "2", "0", "0"), ("HKB-26E", "1", "6", "4", "3", "1", "1", "1")]
    hk26 = re.search(r'data-series="HK-26E".*?</tr>', page, re.S).group(0)
    assert "00000003" in hk26 and "00000010" in hk26 and "(sau quý)" in hk26 and "Số cuối trước quý: 00000002" in hk26
    assert re.findall(r'data-cancelled-number="(\d+)"', hk26) == ["00000004", "00000010"]
    hkb = re.search(r'data-series="HKB-26E".*?</tr>', page, re.S).group(0)
    assert re.search(r'data-testid="missing">00000003<', hkb)
    assert "Trên biên lai của quý hoặc đơn vị khác: 00000005" in hkb
    assert "00000001–00000002, 00000004, 00000006" in hkb  # the ranges used
    q3 = text(client.get(f"/reports/receipts/usage?agency={HK}&quarter=2026-Q3"))
    assert 'data-ok="yes"' in q3 and 'data-testid="gaps"' not in q3
    assert "Quarter 3 of 2026" in text(client.get(f"/reports/receipts/usage?agency={HK}&quarter=2026-Q3&lang=en"))


def xlsx(client, url):
    response = client.get(url)
    assert response.status_code == 200, text(response)[-2000:]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return response, load_workbook(io.BytesIO(response.data))


def test_the_daily_list_file(app, site):
    response, book = xlsx(signed_in(app, "ketoan"), f"/reports/receipts/daily?agency={HK}&day=2026-11-25&format=xlsx")
    assert "bang-ke-bien-lai_P-HOANKIEM_2026-11-25.xlsx" in response.headers["Content-Disposition"]
    assert book.sheetnames == ["Bảng kê biên lai", "Tổng hợp"]
    sheet = book["Bảng kê biên lai"]
    assert sheet["A1"].value == "BẢNG KÊ BIÊN LAI ĐIỆN TỬ ĐÃ LẬP"
    assert sheet["A2"].value == "Đơn vị: UBND phường Hoàn Kiếm (P-HOANKIEM)" and sheet["A4"].value.startswith(
        "Ngày: 25/11/2026")
    assert [c.value for c in sheet[6]][:10] == ["STT", "Mẫu số", "Ký hiệu", "Số", "Thời điểm lập (giờ Việt Nam)",
                                              "Người nộp", "Mã hồ sơ", "Loại", "Số tiền (đồng)", "Tình trạng"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=7, max_row=14)]
    assert [(r[0], r[2], r[3], r[7], r[8], r[9]) for r in rows] == [
        (1, "HK-26E", "00000004", "Lệ phí", 1_000_000, "Đã hủy"), (2, "HK-26E", "00000005", "Lệ phí", 20_000,
                                                                    "Đã phát hành"),
        (3, "HK-26E", "00000006", "Phí", 8_000, "Đã phát hành"), (4, "HK-26E", "00000007", "Lệ phí", 1_000_000,
                                                                 "Đã phát hành"),
        (5, "HK-26E", "00000008", "Phí", 8_000, "Đã phát hành"), (6, "HKB-26E", "00000001", "Phí", 50_000,
                                                                  "Đã phát hành"),
        (7, "HKB-26E", "00000002", "Lệ phí", 30_000, "Đã hủy"), (8, "HKB-26E", "00000004", "Phí", 70_000,
                                                                "Đã phát hành")]
    first = rows[0]
    assert (first[1], first[4], first[5], first[6]) == (FORM, datetime(2026, 11, 25, 8, 0), "Nguyễn Văn Bốn", "HK-R04")
    assert (first[10], first[11]) == (datetime(2026, 11, 25, 10, 30), REVERSED)
    assert first[12] == "Được thay bằng biên lai ký hiệu HK-26E, số 00000007"
    assert rows[3][12] == "Thay thế biên lai ký hiệu HK-26E, số 00000004 đã hủy"
    assert rows[4][4] == datetime(2026, 11, 25, 23, 59, 30)  # Indochina wall-clock time
    total = [c.value for c in sheet[15]]
    assert total[0] == "Tổng cộng" and total[8] == 1_156_000 and "2 biên lai đã hủy" in total[5]
    summary = [[c.value for c in row] for row in book["Tổng hợp"].iter_rows(min_row=2)]
    assert summary == [
        [FORM, "HK-26E", "Lệ phí", 2, 1_020_000, 1, 1_000_000], [FORM, "HK-26E", "Phí", 2, 16_000, 0, 0],
        [FORM, "HK-26E", "Cộng", 4, 1_036_000, 1, 1_000_000],
        [FORM, "HKB-26E", "Lệ phí", 0, 0, 1, 30_000], [FORM, "HKB-26E", "Phí", 2, 120_000, 0, 0],
        [FORM, "HKB-26E", "Cộng", 2, 120_000, 1, 30_000],
        ["Tổng cộng", None, "Lệ phí", 2, 1_020_000, 2, 1_030_000], ["Tổng cộng", None, "Phí", 4, 136_000, 0, 0],
        ["Tổng cộng", None, "Cộng", 6, 1_156_000, 2, 1_030_000]]


def test_the_usage_file(app, site):
    response, book = xlsx(signed_in(app, "giamsat"), f"/reports/receipts/usage?agency={HK}&quarter=2026-Q4&format=xlsx")
    assert "bc26-bldt_P-HOANKIEM_2026-Q4.xlsx" in response.headers["Content-Disposition"]
    assert book.sheetnames == ["BC26-BLĐT", "Biên lai đã hủy"]
    sheet = book["BC26-BLĐT"]
    assert sheet["A1"].value.startswith("BÁO CÁO TÌNH HÌNH SỬ DỤNG BIÊN LAI")
    assert sheet["A2"].value.startswith("Quý 4 năm 2026 (từ 01/10/2026 đến 31/12/2026")
    assert "cần xác nhận với thành phố" in sheet["A5"].value
    assert [c.value for c in sheet[7]][:7] == ["STT", "Mẫu số", "Ký hiệu", "Từ số", "Đến số", "Các khoảng số đã dùng",
                                             "Số lượng đã dùng"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=8, max_row=10)]
    assert rows[0] == [1, FORM, "HK-26E", "00000003", "00000010", "00000003–00000010", 8, 6, 2,
                       "00000004, 00000010", 0, None, None, "00000002"]
    assert rows[1] == [2, FORM, "HKB-26E", "00000001", "00000006", "00000001–00000002, 00000004, 00000006", 4, 3, 1,
                       "00000002", 1, "00000003", "00000005", None]
    assert rows[2][0] == "Tổng cộng" and rows[2][6:11] == [12, 9, 3, None, 1]
    cancelled = [[c.value for c in row] for row in book["Biên lai đã hủy"].iter_rows(min_row=2)]
    assert [(r[1], r[2], r[3], r[5], r[6], r[7]) for r in cancelled] == [
        ("HK-26E", "00000004", "HK-R04", datetime(2026, 11, 25, 10, 30), REVERSED, "Không"),
        ("HK-26E", "00000010", "HK-R10", datetime(2027, 1, 5, 9, 0), REVERSED, "Có"),
        ("HKB-26E", "00000002", "HK-R99", datetime(2026, 11, 25, 15, 0), "Lập nhầm", "Không")]


# ---------------------------------------------------------------------------------------------------
# The API


@pytest.fixture
def tokens(site):
    with site.app_context():
        made = {role: create_token(db.session, f"receipts-{role}", role) for role in ROLES}
        db.session.commit()
    return made


def get(client, tokens, path, role="finance", **query):
    response = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"}, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_described_status_is_given_and_no_other(app, tokens):
    rec = Recorder(app.test_client(), tokens)
    for op, name, good, bad in (("getDailyReceipts", "day", "2026-11-25", "2026-11-31"),
                                ("getReceiptUsage", "quarter", "2026-Q4", "2026-Q5")):
        rec.call(op, role="supervisor", query_string={name: good, "agency": HK})
        rec.call(op, role="system", query_string={name: good, "agency": "P-NOWHERE"})  # 404
        rec.call(op, role="finance", query_string={name: bad, "agency": HK})  # 422
        rec.call(op, role="finance", query_string={name: good})  # 422: no agency
        rec.call(op, role=None, query_string={name: good, "agency": HK})  # 401
        rec.call(op, role="counter", query_string={name: good, "agency": HK})  # 403
    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] in ("getDailyReceipts", "getReceiptUsage")}
    assert rec.seen == described


def test_bad_queries_in_the_api(app, tokens):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['finance']}"}
    response = client.get("/api/v1/reports/receipts/daily?day=2026-13-01&agency=P-NOWHERE", headers=headers)
    body = response.get_json()  # a bad day and an unknown agency: the bad day first, as 422
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == ["day"]
    response = client.get("/api/v1/reports/receipts/usage?quarter=2026-Q9", headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["quarter", "agency"]
    response = client.get("/api/v1/reports/receipts/usage?quarter=2026-Q4&agency=P-NOWHERE", headers=headers)
    assert response.status_code == 404 and "P-NOWHERE" in response.get_json()["detail"]
    response = client.get("/api/v1/reports/receipts/daily?day=9999-12-31&agency=P-HOANKIEM", headers=headers)
    assert response.status_code == 422  # never an overflow past the last day
    response = client.get("/api/v1/reports/receipts/daily?day=2026-11-25&agency=P%00HK", headers=headers)
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "agency"


def test_the_daily_list_in_the_api(app, tokens):
    body = get(app.test_client(), tokens, "/api/v1/reports/receipts/daily", day="2026-11-25", agency=HK)
    assert (body["day"], body["agency"]) == ("2026-11-25", {"code": HK, "name": "UBND phường Hoàn Kiếm",
                                                            "tax_code": "0110000101"})
    assert [s["series"] for s in body["series"]] == ["HK-26E", "HKB-26E"]
    first = body["series"][0]["receipts"][0]
    assert first == {"form": FORM, "series": "HK-26E", "number": "00000004", "issued_at": "2026-11-25T08:00:00+07:00",
                     "payer_name": "Nguyễn Văn Bốn", "dossier_code": "HK-R04", "kind": "le_phi", "amount": 1_000_000,
                     "status": "cancelled", "cancelled_at": "2026-11-25T10:30:00+07:00", "cancel_reason": REVERSED,
                     "replaces": None, "replaced_by": {"form": FORM, "series": "HK-26E", "number": "00000007"}}
    assert body["series"][0]["receipts"][3]["replaces"] == {"form": FORM, "series": "HK-26E", "number": "00000004"}
    assert body["series"][0]["receipts"][4]["issued_at"] == "2026-11-25T23:59:30+07:00"
    assert body["series"][1]["total"] == {"issued": 2, "amount": 120_000, "cancelled": 1, "cancelled_amount": 30_000}
    assert body["totals"] == [
        {"kind": "le_phi", "issued": 2, "amount": 1_020_000, "cancelled": 2, "cancelled_amount": 1_030_000},
        {"kind": "phi", "issued": 4, "amount": 136_000, "cancelled": 0, "cancelled_amount": 0}]
    assert body["total"] == {"issued": 6, "amount": 1_156_000, "cancelled": 2, "cancelled_amount": 1_030_000}
    assert body["generated_at"].endswith("+07:00")
    next_day = get(app.test_client(), tokens, "/api/v1/reports/receipts/daily", role="system", day="2026-11-26",
                   agency=HK)
    assert [(r["number"], r["issued_at"]) for s in next_day["series"] for r in s["receipts"]] == [
        ("00000009", "2026-11-26T00:00:30+07:00")]


def test_the_usage_report_in_the_api(app, tokens):
    body = get(app.test_client(), tokens, "/api/v1/reports/receipts/usage", role="supervisor", quarter="2026-Q4",
               agency=HK)
    assert (body["quarter"], body["from"], body["to"], body["ok"]) == ("2026-Q4", "2026-10-01", "2026-12-31", False)
    hk26, hkb = body["series"]
    assert {k: hk26[k] for k in ("series", "first", "last", "count", "used", "cancelled", "previous_last", "missing",
                                 "outside", "ok")} == {
        "series": "HK-26E", "first": "00000003", "last": "00000010", "count": 8, "used": 6, "cancelled": 2,
        "previous_last": "00000002", "missing": [], "outside": [], "ok": True}
    assert hk26["ranges"] == [{"from": "00000003", "to": "00000010", "count": 8}]
    assert hk26["cancelled_numbers"] == [
        {"number": "00000004", "dossier_code": "HK-R04", "issued_at": "2026-11-25T08:00:00+07:00",
         "cancelled_at": "2026-11-25T10:30:00+07:00", "reason": REVERSED, "after_quarter": False},
        {"number": "00000010", "dossier_code": "HK-R10", "issued_at": "2026-12-02T14:00:00+07:00",
         "cancelled_at": "2027-01-05T09:00:00+07:00", "reason": REVERSED, "after_quarter": True}]
    assert (hkb["missing"], hkb["missing_count"], hkb["outside"], hkb["ok"]) == (
        [{"from": "00000003", "to": "00000003", "count": 1}], 1, [{"from": "00000005", "to": "00000005", "count": 1}],
        False)
    assert body["total"] == {"count": 12, "used": 9, "cancelled": 3, "missing_count": 1, "outside_count": 1}
    q3 = get(app.test_client(), tokens, "/api/v1/reports/receipts/usage", quarter="2026-Q3", agency=HK)
    assert [(s["first"], s["last"], s["previous_last"], s["ok"]) for s in q3["series"]] == [
        ("00000001", "00000002", None, True)]
