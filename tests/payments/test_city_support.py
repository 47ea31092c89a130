"""The city's support (Nghị quyết 77/2025/NQ-HĐND) in the treasury figures, on SQLite and
PostgreSQL: beside what was collected, never in it.

The crafted months (shipped catalogue and rules; certified extract copies ``HN.TLHT``, 8.000 đ a
copy, a phí set by the Ministry of Finance: online from 2026 the rule ``NQ77-HN-BTC`` has the
city pay it):

- P-HOANKIEM, online: O1 2 copies filed 10 Nov (16.000), O2 1 copy filed 30 Nov 23:59 ICT
  (8.000, still November), O3 1 copy filed 1 Dec 00:10 ICT (8.000: December, although it is
  still 30 November in UTC); O4 5 copies filed 15 Nov and withdrawn (40.000: left out);
- P-HOANKIEM, counter: C1 3 copies filed and paid 12 Nov (24.000 collected, no support);
- P-DONGDA, online: O5 1 copy filed 20 Nov (8.000, for that ward only).

November, P-HOANKIEM: collected 24.000 (retention of TLHT not set: 0 % kept, 24.000 payable),
city support 16.000 + 8.000 = 24.000 over 2 charges. December: collected 0, support 8.000.
Year 2026: support 32.000 over 3 charges; payable 24.000, unchanged by the support.
"""
from __future__ import annotations

from tests.dossiers import register_named

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.tokens import create_token
from payments import receipts as receipt_module
from payments.city_support import CANCELLED_STATUSES, SupportLine, city_support, merged, positions_with_support, \
    support_lines
from payments.models import Agency, Dossier
from payments.treasury import TreasuryData
from reconciliation.matching import allocation as allocation_module
from reports.fee_return import monthly_return, yearly_return
from tests.payments.test_pages import site  # noqa: F401  (fixture)
from tests.reports.conftest import transfer

ICT = timezone(timedelta(hours=7))
HK, DD = "P-HOANKIEM", "P-DONGDA"
BASIS = "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội"
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ICT)


def _copies(session, code: str, agency: str, channel: str, when: datetime, copies: int) -> Dossier:
    body = {"code": f"000.20.05.H26-{code}", "procedure_code": "HN.TLHT", "agency_code": agency,
            "applicant_name": "Vũ Minh Khang", "channel": channel, "submitted_at": when.isoformat(),
            "parameters": {"copies": copies}}
    made = register_named(session, body)
    session.flush()
    return made


@pytest.fixture
def months(site, session, monkeypatch):
    made = {
        "O1": _copies(session, "O1", HK, "online", at(11, 10), 2),
        "O2": _copies(session, "O2", HK, "online", at(11, 30, 23, 59), 1),
        "O3": _copies(session, "O3", HK, "online", at(12, 1, 0, 10), 1),
        "O4": _copies(session, "O4", HK, "online", at(11, 15), 5),
        "C1": _copies(session, "C1", HK, "counter", at(11, 12), 3),
        "O5": _copies(session, "O5", DD, "online", at(11, 20), 1),
    }
    made["O4"].status = "withdrawn"
    paid_at = at(11, 12, 10).astimezone(timezone.utc)
    monkeypatch.setattr(receipt_module, "utcnow", lambda: paid_at)
    monkeypatch.setattr(allocation_module, "utcnow", lambda: paid_at)
    transfer(session, made["C1"], 24_000, at(11, 12, 10))
    session.commit()
    return made


def test_the_charges_are_as_the_rules_say(months):
    o1, c1 = months["O1"].charges[0], months["C1"].charges[0]
    assert (o1.amount, o1.city_support, o1.rule_code, o1.rule_basis) == (0, 16_000, "NQ77-HN-BTC", BASIS)
    assert (c1.amount, c1.city_support, c1.rule_code) == (24_000, 0, None)
    assert months["C1"].amount_paid == 24_000


def test_the_monthly_return_shows_the_support_beside_what_was_collected(months, session):
    november = monthly_return(session, HK, NOV)
    [line] = november.lines
    assert (line.fee_code, line.kind, line.collected, line.retained, line.payable) == ("TLHT", "phi", 24_000, 0,
                                                                                      24_000)
    assert november.support_of(line) == 24_000
    assert [(s.fee_code, s.kind, s.amount, s.charges, s.rules) for s in november.support] == [
        ("TLHT", "phi", 24_000, 2, {"NQ77-HN-BTC": BASIS})]
    # never counted as collected, retained, payable or owed
    assert (november.collected, november.payable, november.owed, november.city_support) == (24_000, 24_000, 24_000,
                                                                                            24_000)
    december = monthly_return(session, HK, DEC)
    assert december.lines == [] and december.collected == 0
    assert [(s.fee_code, s.amount, s.charges) for s in december.support] == [("TLHT", 8_000, 1)]
    ward = monthly_return(session, DD, NOV)
    assert (ward.collected, ward.city_support) == (0, 8_000)


def test_a_counter_dossier_has_no_support(site, session):
    _copies(session, "C9", HK, "counter", at(11, 5), 2)
    session.commit()
    november = monthly_return(session, HK, NOV)
    assert november.support == [] and november.city_support == 0
    assert city_support(session, [NOV]) == {}


def test_the_yearly_return_sums_the_months(months, session):
    year = yearly_return(session, HK, 2026)
    assert [(s.fee_code, s.amount, s.charges) for s in year.support] == [("TLHT", 32_000, 3)]
    assert (year.collected, year.payable, year.city_support) == (24_000, 24_000, 32_000)


def test_positions_carry_the_support_and_a_month_of_support_only(months, session):
    rows = positions_with_support(session, [NOV, DEC])
    assert [(p.agency.code, f"{p.month:%Y-%m}", p.collected, p.payable, p.remitted, p.owed, p.city_support)
            for p in rows] == [(HK, "2026-12", 0, 0, 0, 0, 8_000),
                               (DD, "2026-11", 0, 0, 0, 0, 8_000),
                               (HK, "2026-11", 24_000, 24_000, 0, 24_000, 24_000)]
    ward = session.scalar(select(Agency).where(Agency.code == DD))
    assert [(p.agency.code, p.city_support) for p in positions_with_support(session, [NOV, DEC], [ward])] == [
        (DD, 8_000)]


def test_api_json_xlsx_and_positions(app, months, session):
    token = create_token(session, "finance-test", "finance")
    session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/reports/fee-return?month=2026-11&agency={HK}", headers=headers).get_json()
    assert body["total"] == {"collected": 24_000, "retained": 0, "payable": 24_000, "remitted": 0, "owed": 24_000,
                             "city_support": 24_000, "collected_e_receipts": 24_000, "collected_other_documents": 0}
    assert [(l["fee_code"], l["collected"], l["city_support"]) for l in body["lines"]] == [("TLHT", 24_000, 24_000)]
    assert body["city_support_lines"] == [
        {"fee_code": "TLHT", "name": "Phí cấp bản sao trích lục hộ tịch", "kind": "phi", "budget_chapter": None,
         "budget_subitem": None, "amount": 24_000, "charges": 2,
         "rules": [{"code": "NQ77-HN-BTC", "legal_basis": BASIS}]}]
    december = client.get(f"/api/v1/reports/fee-return?month=2026-12&agency={HK}", headers=headers).get_json()
    assert december["lines"] == [] and december["total"]["city_support"] == 8_000
    assert [l["amount"] for l in december["city_support_lines"]] == [8_000]

    xlsx = client.get(f"/api/v1/reports/fee-return?month=2026-11&agency={HK}&format=xlsx", headers=headers)
    assert xlsx.status_code == 200
    cells = _cells(xlsx.data)
    collected_row = next(r for r in cells if r[3] and "Phí cấp bản sao trích lục hộ tịch" == r[3].split(" (")[0]
                         and r[0] == 1 and r[5] == 0)
    assert collected_row[4] == 24_000 and collected_row[7] == 24_000
    assert next(r for r in cells if r[3] == "Tổng cộng")[4:8] == [24_000, None, 0, 24_000]
    title = next(i for i, r in enumerate(cells) if r[0] and str(r[0]).startswith("Ngân sách thành phố hỗ trợ"))
    assert cells[title + 1][4] == "Số tiền ngân sách thành phố hỗ trợ"
    support_row = cells[title + 2]
    assert support_row[3] == f"Phí cấp bản sao trích lục hộ tịch (NQ77-HN-BTC, {BASIS})"
    assert support_row[4:6] == [24_000, 2]
    assert cells[title + 3][3:5] == ["Tổng ngân sách thành phố hỗ trợ", 24_000]
    empty = client.get(f"/api/v1/reports/fee-return?year=2025&agency={HK}&format=xlsx", headers=headers)
    assert not any(r[0] and str(r[0]).startswith("Ngân sách thành phố") for r in _cells(empty.data))

    items = client.get("/api/v1/treasury/positions?from=2026-11&to=2026-12", headers=headers).get_json()["items"]
    assert [(r["agency"], r["month"], r["collected"], r["owed"], r["city_support"]) for r in items] == [
        (HK, "2026-12", 0, 0, 8_000), (DD, "2026-11", 0, 0, 8_000), (HK, "2026-11", 24_000, 24_000, 24_000)]
    one = client.get(f"/api/v1/treasury/positions?month=2026-11&agency={HK}", headers=headers).get_json()["items"]
    assert [(r["month"], r["city_support"]) for r in one] == [("2026-11", 24_000)]


def test_the_cli_says_the_support(months, runner, tmp_path):
    out = tmp_path / "02.xlsx"
    result = runner.invoke(args=["report", "fee-return", "--year", "2026", "--agency", HK, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "collected 24000" in result.output and "city support 32000" in result.output
    assert any(r[3:6] == ["Tổng ngân sách thành phố hỗ trợ", 32_000, None] for r in _cells(out.read_bytes()))


def test_the_pages_show_the_support(site, months, monkeypatch):
    from reports import treasury_views
    from tests.payments.test_pages import signed_in

    now = at(12, 3).astimezone(timezone.utc)
    monkeypatch.setattr(treasury_views, "utcnow", lambda: now)
    officer = signed_in(site, "ketoan")
    html = officer.get(f"/reports/fee-return?agency={HK}&month=2026-11").get_data(as_text=True)
    assert "Ngân sách thành phố hỗ trợ (Nghị quyết 77/2025)" in html and 'data-testid="city-support"' in html
    assert "NQ77-HN-BTC" in html and BASIS in html
    assert 'data-testid="city-support-total">24.000' in html
    page = officer.get("/finance/treasury").get_data(as_text=True)
    assert f'data-agency="{HK}" data-month="2026-12"' in page and 'data-city-support="8000"' in page
    assert 'data-city-support="24000"' in page


def test_the_treasury_page_in_english(site):
    # its own test: the months' session keeps one app context, and with it the first locale
    from tests.payments.test_pages import signed_in

    officer = signed_in(site, "ketoan")
    officer.get("/lang/en")
    text = officer.get("/finance/treasury").get_data(as_text=True)
    assert "Paid by the city budget (Resolution 77/2025)" in text and "Ngân sách thành phố" not in text


def test_the_grouping_by_hand():
    data = {"TLHT": TreasuryData(None, None, None, False), "KS": TreasuryData("426", "2771", 0, True)}
    rows = [(1, NOV, "TLHT", "Phí bản sao", "phi", "NQ77-HN-BTC", BASIS, 16_000, 1),
            (1, NOV, "TLHT", "Phí bản sao (tên cũ)", "phi", "NQ77-X", "khác", 8_000, 2),
            (1, NOV, "KS", "Lệ phí KS", "le_phi", None, None, 5_000, 1),
            (1, DEC, "TLHT", "Phí bản sao", "phi", "NQ77-HN-BTC", BASIS, 8_000, 1),
            (2, NOV, None, "Không mã", "phi", "NQ77-HN-BTC", BASIS, 3_000, 1)]
    got = support_lines(rows, data)
    assert [(s.fee_code, s.subitem, s.amount, s.charges, s.rules) for s in got[1, NOV]] == [
        ("KS", "2771", 5_000, 1, {}), ("TLHT", None, 24_000, 3, {"NQ77-HN-BTC": BASIS, "NQ77-X": "khác"})]
    assert got[2, NOV][0].key == ("Không mã", "phi")
    year = merged([got[1, NOV], got[1, DEC]])
    assert [(s.fee_code, s.amount, s.charges) for s in year] == [("KS", 5_000, 1), ("TLHT", 32_000, 4)]
    assert isinstance(year[0], SupportLine) and got[1, NOV][1].amount == 24_000  # merging leaves the months alone


def test_cancelled_statuses_are_the_reports():
    from reports.definitions import CANCELLED_STATUSES as REPORTS

    assert CANCELLED_STATUSES == REPORTS


def _cells(data: bytes) -> list[list]:
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(row) + [None] * 10 for row in sheet.iter_rows(values_only=True)]
