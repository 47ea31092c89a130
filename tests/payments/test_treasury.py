"""Treasury on SQLite and PostgreSQL: the fee returns 01/PHLP and 02/PHLP against hand-computed
figures on a crafted month, remittances and what is still owed, the CLI's XLSX, and a refund
of a remitted month refused.

The crafted months (agency HN-VPDKDD-CN02; catalogue: ``TLX`` a phí with 30 % retained,
sub-item 2627; ``BDX`` a lệ phí, 0 %, sub-item 2805):

- D1 (12.345 phí + 28.000 lệ phí) paid 5 Nov; D2 the same, paid 10 Nov;
- D3 (12.345 phí) paid 31 Oct 23:30 ICT — October — and reversed on 2 Nov (its receipt is
  cancelled in November: −12.345 in November, October stays as declared);
- D4 (28.000 lệ phí) overpaid 48.000 on 12 Nov; 10.000 of the excess refunded (no fee: the
  return does not move); a November remittance of 50.000 (doc KB-1101).

November (01/PHLP): phí 12.345 + 12.345 − 12.345 = 12.345, retained 30 % = 3.703,5 → 3.704
(half up), payable 8.641; lệ phí 28.000 × 3 = 84.000, payable 84.000; total payable 92.641,
remitted 50.000, owed 42.641. October: phí 12.345, retained 3.704, payable 8.641.
Year 2026 (02/PHLP): phí 24.690, retained 3.704 + 3.704 = 7.408 (the months as declared; one
rounding over the year would say 7.407), payable 17.282; lệ phí 84.000; payable 101.282,
remitted 50.000, owed 51.282.
"""
from __future__ import annotations

from tests.dossiers import register_named

import io
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.errors import Conflict, ValidationError
from core.tokens import create_token
from payments import receipts as receipt_module
from payments.agencies import seed_agencies
from payments.catalogue import import_catalogue
from payments.models import Dossier, Remittance
from payments.treasury import month_fees, positions, record_remittance, retained_amount
from reconciliation.matching import allocation as allocation_module
from reconciliation.matching.allocation import reverse
from reconciliation.workflow.refunds import request_refund
from reports.fee_return import monthly_return, yearly_return
from tests.payments.test_pages import site  # noqa: F401  (fixture)
from tests.reports.conftest import refund_excess, transfer

ICT = timezone(timedelta(hours=7))
AGENCY = "HN-VPDKDD-CN02"
HEAD = ("field,procedure_code,procedure_vi,procedure_en,fee_code,fee_vi,kind,payer_class,amount,rate_per_mille,cap,"
        "exempt,verified,legal_basis,budget_chapter,budget_subitem,retention_percent,treasury_verified\n")
CATALOGUE = HEAD + (
    "land,,Thẩm định thử,Test appraisal,TLX,Phí thẩm định thử,phi,any,12345,,,,yes,thử,426,2627,30,yes\n"
    "land,,Biến động thử,Test change,BDX,Lệ phí biến động thử,le_phi,any,28000,,,,yes,thử,426,2805,0,no\n")
PAYEE = {"beneficiary_bank": "970436", "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyen Van A"}


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ICT)


def clock(monkeypatch, when: datetime) -> None:
    """Receipts are dated, and reversals made, at ``when``."""
    utc = when.astimezone(timezone.utc)
    monkeypatch.setattr(receipt_module, "utcnow", lambda: utc)
    monkeypatch.setattr(allocation_module, "utcnow", lambda: utc)


@pytest.fixture
def months(session, monkeypatch):
    seed_agencies(session, lambda _: None)
    import_catalogue(session, CATALOGUE)
    session.commit()
    both = [(12_345, "phi"), (28_000, "le_phi")]

    made_dossiers = {}
    for code, charges, when in (("D1", both, at(11, 5)), ("D2", both, at(11, 10)),
                                ("D3", [(12_345, "phi")], at(10, 31, 23, 30))):
        d = _dossier(session, code, charges)
        clock(monkeypatch, when)
        made_dossiers[code] = (d, transfer(session, d, d.amount_due, when))
        session.commit()
    d4 = _dossier(session, "D4", [(28_000, "le_phi")])
    clock(monkeypatch, at(11, 12))
    transfer(session, d4, 48_000, at(11, 12))
    session.commit()
    clock(monkeypatch, at(11, 2))
    reverse(session, made_dossiers["D3"][1], "user:ketoan1", "ngân hàng đảo giao dịch")
    session.commit()
    clock(monkeypatch, at(11, 20))
    refund_excess(session, d4, 10_000)
    session.commit()
    record_remittance(session, {"agency": AGENCY, "month": "2026-11", "remitted_on": "2026-12-02", "amount": 50_000,
                                "document_number": "KB-1101"}, "user:ketoan1")
    session.commit()
    return session


def _dossier(session, code, charges) -> Dossier:

    body = {"code": f"000.12.03.H26-261101-{code}", "procedure_code": "HN.TLX", "agency_code": AGENCY,
            "applicant_name": "Nguyễn Văn A", "channel": "counter", "submitted_at": at(10, 1).isoformat(),
            "charges": [{"name": "Phí thẩm định thử" if kind == "phi" else "Lệ phí biến động thử", "amount": amount,
                         "kind": kind, "fee_code": "TLX" if kind == "phi" else "BDX"} for amount, kind in charges]}
    made = register_named(session, body)
    session.flush()
    return made


def figures(result):
    return [(l.fee_code, l.subitem, l.chapter, l.collected, l.applied_bp, l.retained, l.payable) for l in result.lines]


def test_retention_is_rounded_half_up_to_the_dong():
    assert retained_amount(12_345, 3000) == 3_704  # 3.703,5
    assert retained_amount(12_344, 3000) == 3_703  # 3.703,2
    assert retained_amount(10_001, 5000) == 5_001  # 5.000,5
    assert retained_amount(-12_345, 3000) == -3_704  # a cancellation undoes what its receipt added
    assert retained_amount(99_999, 0) == 0 and retained_amount(99_999, 10_000) == 99_999
    with pytest.raises(ValueError):
        retained_amount(1, 10_001)


def test_monthly_return_01_phlp(months):
    november = monthly_return(months, AGENCY, datetime(2026, 11, 1).date())
    assert figures(november) == [("BDX", "2805", "426", 84_000, 0, 0, 84_000),
                                 ("TLX", "2627", "426", 12_345, 3000, 3_704, 8_641)]
    assert (november.collected, november.retained, november.payable) == (96_345, 3_704, 92_641)
    assert (november.remitted, november.owed) == (50_000, 42_641)
    october = monthly_return(months, AGENCY, datetime(2026, 10, 1).date())
    assert figures(october) == [("TLX", "2627", "426", 12_345, 3000, 3_704, 8_641)]
    assert (october.remitted, october.owed) == (0, 8_641)


def test_yearly_return_02_phlp_sums_the_months_as_declared(months):
    year = yearly_return(months, AGENCY, 2026)
    assert figures(year) == [("BDX", "2805", "426", 84_000, 0, 0, 84_000),
                             ("TLX", "2627", "426", 24_690, 3000, 7_408, 17_282)]
    assert retained_amount(24_690, 3000) == 7_407  # one rounding over the year would not tie to the months
    assert (year.payable, year.remitted, year.owed) == (101_282, 50_000, 51_282)
    assert year.months == ["2026-10", "2026-11"]


def test_positions_show_what_is_still_owed(months):
    rows = positions(months, [datetime(2026, 11, 1).date(), datetime(2026, 10, 1).date()])
    assert [(p.agency.code, f"{p.month:%Y-%m}", p.collected, p.retained, p.payable, p.remitted, p.owed)
            for p in rows] == [(AGENCY, "2026-11", 96_345, 3_704, 92_641, 50_000, 42_641),
                               (AGENCY, "2026-10", 12_345, 3_704, 8_641, 0, 8_641)]


def test_a_refund_of_a_remitted_month_needs_the_treasury(months):
    d4 = months.scalar(select(Dossier).where(Dossier.code.endswith("-D4")))
    with pytest.raises(Conflict) as refused:
        request_refund(months, dossier_id=d4.id, amount=5_000, reason="nộp thừa", actor="user:ketoan1", **PAYEE)
    assert refused.value.code == "refund_after_remittance"
    assert refused.value.params == {"dossier": d4.code, "month": "11/2026", "document": "KB-1101"}
    months.rollback()
    from core.refusals import refusal_text_in
    assert "Kho bạc" in refusal_text_in(refused.value, "vi")


def test_remittances_are_checked(months):
    good = {"agency": AGENCY, "month": "2026-11", "remitted_on": "2026-12-03", "amount": 1_000,
            "document_number": "KB-1102"}
    for change, field in (({"amount": 0}, "amount"), ({"amount": 1.5}, "amount"), ({"month": "2026-13"}, "month"),
                          ({"remitted_on": "2026-10-31"}, "remitted_on"), ({"document_number": " "}, "document_number"),
                          ({"remitted_on": "2999-01-01"}, "remitted_on")):
        with pytest.raises(ValidationError) as refused:
            record_remittance(months, {**good, **change}, "user:ketoan1")
        assert field in {e.field for e in refused.value.errors}
        months.rollback()
    with pytest.raises(Conflict) as twice:
        record_remittance(months, {**good, "document_number": "KB-1101"}, "user:ketoan1")
    assert twice.value.code == "remittance_exists"
    months.rollback()
    assert months.query(Remittance).count() == 1


def test_api_and_cli_write_the_returns(app, months, runner, tmp_path):
    token = create_token(months, "finance-test", "finance")
    months.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get(f"/api/v1/reports/fee-return?month=2026-11&agency={AGENCY}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    # every dossier here is paid by transfer: all of it is on e-receipts, nothing receipted elsewhere
    assert body["form"] == "01/PHLP" and body["total"] == {"collected": 96_345, "retained": 3_704, "payable": 92_641,
                                                          "remitted": 50_000, "owed": 42_641,
                                                          "city_support": 0,
                                                          "collected_e_receipts": 96_345,
                                                          "collected_other_documents": 0}
    assert body["lines"][1]["retention_percent"] == 30
    yearly = client.get(f"/api/v1/reports/fee-return?year=2026&agency={AGENCY}", headers=headers).get_json()
    assert yearly["form"] == "02/PHLP" and yearly["total"]["owed"] == 51_282
    xlsx = client.get(f"/api/v1/reports/fee-return?month=2026-11&agency={AGENCY}&format=xlsx", headers=headers)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    bad = client.get("/api/v1/reports/fee-return?month=2026-11&year=2026&agency=" + AGENCY, headers=headers)
    assert bad.status_code == 422
    assert client.get("/api/v1/reports/fee-return?month=2026-11&agency=NOPE", headers=headers).status_code == 404
    created = client.post("/api/v1/treasury/remittances", headers=headers,
                          json={"agency": AGENCY, "month": "2026-10", "remitted_on": "2026-11-05", "amount": 8_641,
                                "document_number": "KB-1001"})
    assert created.status_code == 201, created.get_json()
    owed = client.get("/api/v1/treasury/positions?from=2026-10&to=2026-11", headers=headers).get_json()["items"]
    assert [(r["month"], r["owed"]) for r in owed] == [("2026-11", 42_641), ("2026-10", 0)]

    out = tmp_path / "01.xlsx"
    result = runner.invoke(args=["report", "fee-return", "--month", "2026-11", "--agency", AGENCY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = _cells(out.read_bytes())
    row = next(r for r in cells if r[3:4] and "Phí thẩm định thử" in str(r[3]))
    assert row[1:3] == ["426", "2627"] and row[4:8] == [12_345, 30, 3_704, 8_641]
    assert next(r for r in cells if r[3:4] == ["Tổng cộng"])[4:8] == [96_345, None, 3_704, 92_641]
    out2 = tmp_path / "02.xlsx"
    result = runner.invoke(args=["report", "fee-return", "--year", "2026", "--agency", AGENCY, "--out", str(out2)])
    assert result.exit_code == 0, result.output
    total = next(r for r in _cells(out2.read_bytes()) if r[3:4] == ["Tổng cộng"])
    assert total[4:10] == [108_690, None, 7_408, 101_282, 58_641, 42_641]
    refused = runner.invoke(args=["report", "fee-return", "--month", "2026-11", "--agency", "NOPE", "--out",
                                  str(tmp_path / "x.xlsx")])
    assert refused.exit_code != 0 and "NOPE" in refused.output and not (tmp_path / "x.xlsx").exists()


def _cells(data: bytes) -> list[list]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - the venv has it; XlsxWriter's XML otherwise
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [[z.read("xl/worksheets/sheet1.xml").decode()]]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[c for c in row] for row in sheet.iter_rows(values_only=True)]



def test_the_catalogue_carries_treasury_data_and_round_trips(session):
    from payments.catalogue import DATA
    from payments.catalogue_export import export_catalogue

    seed_agencies(session, lambda _: None)
    shipped = (DATA / "fees-hanoi.csv").read_text(encoding="utf-8")
    import_catalogue(session, shipped)
    session.commit()
    again = import_catalogue(session, export_catalogue(session))  # what the admin downloads imports unchanged
    assert (again.items_created, again.items_updated, again.procedures_created) == (0, 0, 0)
    session.rollback()
    from payments.models import FeeItem
    items = {(i.code, i.payer_class): i for i in session.scalars(select(FeeItem))}
    assert (items["TD", "any"].budget_subitem, items["TD", "any"].retention_bp) == ("2627", None)
    assert (items["KH-NN", "any"].budget_subitem, items["KH-NN", "any"].retention_bp) == ("2771", 0)
    assert not any(i.treasury_verified for i in items.values())
    line = "land,,Thử,Test,{code},{name},{kind},any,1000,,,,yes,thử,{chapter},{sub},{ret},no\n"
    ok = dict(code="X1", name="Phí thử", kind="phi", chapter="426", sub="2627", ret="92.5")
    parsed = [r for r in __import__("payments.catalogue", fromlist=["parse_catalogue"]).parse_catalogue(
        HEAD + line.format(**ok)) if r["code"] == "X1"]
    assert parsed[0]["retention_bp"] == 9250
    for change, message in (({"kind": "le_phi", "ret": "10"}, "must be 0"), ({"ret": "100.5"}, "0 to 100"),
                            ({"ret": "33.333"}, "two decimals"), ({"sub": "26"}, "4 digits"),
                            ({"chapter": "4x6"}, "3 digits")):
        with pytest.raises(ValidationError, match=message):
            import_catalogue(session, HEAD + line.format(**{**ok, **change}))
        session.rollback()
    with pytest.raises(ValidationError, match="line 3: fee X1 has another budget"):
        import_catalogue(session, HEAD + line.format(**ok) + line.format(**{**ok, "sub": "2628"}))
    session.rollback()


def test_the_finance_page_records_a_remittance(site):
    from tests.payments.test_pages import in_db, post, signed_in

    officer = signed_in(site, "ketoan")
    page = officer.get("/finance/treasury")
    assert page.status_code == 200 and 'data-testid="positions"' in page.get_data(as_text=True)
    form = {"agency": AGENCY, "month": "2026-11", "remitted_on": "2026-12-02", "amount": "1.500.000",
            "document_number": "GNT-77", "note": ""}
    bad = post(officer, "/finance/treasury/remittances", {**form, "amount": "-5"}, page="/finance/treasury")
    assert bad.status_code == 422 and "Khoản nộp Kho bạc chưa hợp lệ" in bad.get_data(as_text=True)
    done = post(officer, "/finance/treasury/remittances", form, page="/finance/treasury")
    assert done.status_code == 302
    html = officer.get("/finance/treasury").get_data(as_text=True)
    assert "GNT-77" in html and f'data-agency="{AGENCY}" data-month="2026-11"' in html
    assert in_db(site, lambda s: s.scalar(select(Remittance.recorded_by))) == "user:ketoan"
    supervisor = signed_in(site, "giamsat")
    assert 'action="/finance/treasury/remittances"' not in supervisor.get("/finance/treasury").get_data(as_text=True)
    assert post(supervisor, "/finance/treasury/remittances", {**form, "document_number": "GNT-78"},
                page="/finance/treasury").status_code == 403
    returned = supervisor.get(f"/reports/fee-return?agency={AGENCY}&month=2026-11")
    assert returned.status_code == 200 and 'data-testid="fee-return"' in returned.get_data(as_text=True)
    assert "1.500.000" in returned.get_data(as_text=True)
    xlsx = supervisor.get(f"/reports/fee-return?agency={AGENCY}&year=2026&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert supervisor.get(f"/reports/fee-return?agency={AGENCY}&month=26-11").status_code == 422
