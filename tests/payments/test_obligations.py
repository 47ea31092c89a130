"""Land financial obligations on SQLite and PostgreSQL: never a charge (catalogue, API), tax
notices and their proof through the API and the counter, and migration 0011 over old data."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text

from core.cli import alembic_config
from core.tokens import create_token
from tests.payments.test_pages import clerk, site  # noqa: F401  (fixtures)
from payments.catalogue import import_catalogue, rules_for
from payments.dossiers import get_procedure
from payments.obligations import obligation_kind

LAND = {"code": "000.12.03.H26-261125-0101", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
        "applicant_name": "Nguyễn Văn An", "channel": "counter", "submitted_at": "2026-11-25T09:00:00+07:00",
        "parameters": {"payer_class": "individual_ward", "declared_value": 1_000_000_000}}


def test_what_is_an_obligation():
    assert obligation_kind("LPTB", "") == "registration_fee"
    assert obligation_kind(None, "Lệ phí trước bạ nhà, đất") == "registration_fee"
    assert obligation_kind(None, "Tiền sử dụng đất") == "land_use_levy"
    assert obligation_kind(None, "Thuế thu nhập cá nhân từ chuyển nhượng") == "personal_income_tax"
    assert obligation_kind(None, "Thuế TNCN") == "personal_income_tax"
    assert obligation_kind("GCN", "Lệ phí cấp Giấy chứng nhận quyền sử dụng đất") is None
    assert obligation_kind("TD", "Phí thẩm định hồ sơ cấp Giấy chứng nhận") is None


@pytest.fixture
def api(seeded):
    token = create_token(seeded, "counter-test", "counter")
    seeded.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_catalogue_has_no_obligation_and_refuses_one(seeded):
    procedure = get_procedure(seeded, "1.013831")
    assert all(obligation_kind(r.code, r.name) is None for r in rules_for(procedure))
    from payments.catalogue import DATA
    shipped = (DATA / "fees-hanoi.csv").read_text(encoding="utf-8")
    row = ('land,,"Lệ phí trước bạ nhà, đất",Registration fee,LPTB,Lệ phí trước bạ nhà đất,le_phi,any,,5,,,yes,'
           'NĐ 10/2022,,,2801,0,no\n')
    from core.errors import ValidationError
    with pytest.raises(ValidationError, match="line 29: LPTB .*land financial obligation"):
        import_catalogue(seeded, shipped + row)
    seeded.rollback()


def test_a_given_charge_that_is_an_obligation_is_refused(client, seeded, api):
    body = {**LAND, "charges": [{"name": "Lệ phí chứng nhận đăng ký biến động", "amount": 28_000},
                                {"name": "Lệ phí trước bạ", "amount": 5_000_000}]}
    answer = client.post("/api/v1/dossiers", json=body, headers=api)
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["code"] == "obligation_as_charge" and problem["errors"][0]["field"] == "charges[1].name"
    assert client.get(f"/api/v1/dossiers/{LAND['code']}", headers=api).status_code == 404


def test_notices_and_proof_through_the_api(client, seeded, api):
    created = client.post("/api/v1/dossiers", json=LAND, headers=api)
    assert created.status_code == 201
    dossier = created.get_json()
    assert dossier["tax_obligations"] == []
    assert all(obligation_kind(c["fee_code"], c["name"]) is None for c in dossier["charges"])
    url = f"/api/v1/dossiers/{LAND['code']}/tax-obligations"
    bad = client.post(url, json={"kind": "tax", "amount": -1}, headers=api)
    assert bad.status_code == 422 and bad.get_json()["code"] == "invalid_obligation"
    assert {e["field"] for e in bad.get_json()["errors"]} == {"kind", "notice_number", "issuing_authority", "amount"}
    notice = {"kind": "registration_fee", "notice_number": "TB-2026-001", "amount": 5_000_000,
              "due_date": "2026-12-25", "issuing_authority": "Thuế cơ sở 1 thành phố Hà Nội"}
    made = client.post(url, json=notice, headers=api)
    assert made.status_code == 201, made.get_json()
    obligation = made.get_json()
    assert obligation["status"] == "unpaid" and obligation["proof"] is None
    shown = client.get(f"/api/v1/dossiers/{LAND['code']}", headers=api).get_json()
    assert shown["tax_obligations"] == [obligation]
    assert shown["amount_due"] == dossier["amount_due"]  # never the office's charge
    proof_url = f"{url}/{obligation['id']}/proof"
    assert client.post(proof_url, json={"kind": "cash", "number": "", "date": "x"}, headers=api).status_code == 422
    paid = client.post(proof_url, json={"kind": "treasury_slip", "number": "GNT-778", "date": "2026-11-26"},
                       headers=api)
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"
    assert paid.get_json()["proof"]["number"] == "GNT-778"
    again = client.post(proof_url, json={"kind": "portal", "number": "X", "date": "2026-11-26"}, headers=api)
    assert again.status_code == 409 and again.get_json()["code"] == "obligation_paid"
    assert client.post(f"{url}/999999/proof", json={"kind": "portal", "number": "X", "date": "2026-11-26"},
                       headers=api).status_code == 404
    civil = {**LAND, "code": "000.20.01.H26-261125-0102", "procedure_code": "2.000806", "agency_code": "P-HOANKIEM",
             "parameters": {}}
    assert client.post("/api/v1/dossiers", json=civil, headers=api).status_code == 201
    refused = client.post(f"/api/v1/dossiers/{civil['code']}/tax-obligations", json=notice, headers=api)
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_a_land_dossier"


def test_the_counter_records_notices_and_sees_what_is_missing(site, clerk):
    from payments.dossiers import parse_dossier_input, register_dossier
    from tests.payments.test_pages import in_db, post

    in_db(site, lambda s: (register_dossier(s, parse_dossier_input(LAND), actor="test"), s.commit()))
    page_url = f"/counter/dossiers/{LAND['code']}"
    html = clerk.get(page_url).get_data(as_text=True)
    assert 'data-testid="obligations"' in html and 'data-testid="obligations-missing"' not in html
    url = f"{page_url}/tax-obligations"
    bad = post(clerk, url, {"kind": "land_use_levy", "notice_number": "", "amount": "abc", "issuing_authority": ""},
               page=page_url)
    assert bad.status_code == 422 and "Thông báo nghĩa vụ tài chính chưa hợp lệ" in bad.get_data(as_text=True)
    answer = post(clerk, url, {"kind": "land_use_levy", "notice_number": "TB-9", "amount": "1.200.000",
                               "issuing_authority": "Thuế cơ sở 2", "due_date": "2026-12-20"}, page=page_url)
    assert answer.status_code == 302
    html = clerk.get(page_url).get_data(as_text=True)
    assert 'data-testid="obligations-missing"' in html and "TB-9" in html and "1.200.000" in html
    obligation_id = in_db(site, lambda s: s.scalar(text("SELECT id FROM tax_obligations")))
    paid = post(clerk, f"{url}/{obligation_id}/proof", {"kind": "portal", "number": "DVC-5521", "date": "2026-11-26"},
                page=page_url)
    assert paid.status_code == 302
    html = clerk.get(page_url).get_data(as_text=True)
    assert 'data-testid="obligations-missing"' not in html and "DVC-5521" in html and 'data-status="paid"' in html
    assert in_db(site, lambda s: s.scalar(text("SELECT amount_due FROM dossiers"))) == 28_000 + 1_500_000


def test_migration_moves_old_charges_to_obligations(app, seeded):
    """Old data: an unpaid dossier and a paid one, each with a registration-fee charge. Up: the
    unpaid one loses the charge (amount due down, its open request cancelled) and gets an
    unpaid obligation; the paid one keeps its money and charge, and its obligation shows it as
    paid through the service. Down: the removed charge comes back."""
    from payments.dossiers import parse_dossier_input, register_dossier
    from payments.requests import create_payment_request
    from reconciliation.matching.cash import record_cash

    url = app.config["DATABASE_URL"]
    made = {}
    for code, pay in (("0201", False), ("0202", True)):
        body = {**LAND, "code": f"000.12.03.H26-261125-{code}",
                "charges": [{"name": "Lệ phí chứng nhận đăng ký biến động", "amount": 28_000, "kind": "le_phi",
                             "fee_code": "BD"}]}
        d = register_dossier(seeded, parse_dossier_input(body), actor="test")
        seeded.flush()
        made[code] = d.id
    for dossier_id in made.values():  # as the old service charged it: the registration fee as a fee
        seeded.execute(text("INSERT INTO dossier_charges (dossier_id, fee_code, name, kind, amount, legal_basis, detail) "
                            "VALUES (:d, 'LPTB', 'Lệ phí trước bạ nhà đất', 'le_phi', 5000000, 'NĐ 10/2022', '')"),
                       {"d": dossier_id})
        seeded.execute(text("UPDATE dossiers SET amount_due = 5028000 WHERE id = :d"), {"d": dossier_id})
    seeded.commit()
    seeded.expire_all()
    from payments.models import Dossier
    unpaid = seeded.get(Dossier, made["0201"])
    request = create_payment_request(seeded, unpaid, "test")
    paid = seeded.get(Dossier, made["0202"])
    record_cash(seeded, paid, amount=5_028_000, receipt_number="PT-1", clerk_username="motcua", clerk_name="A")
    seeded.commit()
    request_id = request.id
    seeded.close()
    command.downgrade(alembic_config(url), "0007")  # the schema before; the old rows are as it left them
    command.upgrade(alembic_config(url), "head")
    rows = {r.dossier_id: r for r in seeded.execute(text(
        "SELECT dossier_id, kind, amount, legacy_charge_id, source_charge FROM tax_obligations")).all()}
    assert set(rows) == set(made.values())
    assert rows[made["0201"]].kind == "registration_fee" and rows[made["0201"]].legacy_charge_id is None
    assert rows[made["0202"]].legacy_charge_id is not None
    due = dict(seeded.execute(text("SELECT id, amount_due FROM dossiers")).all())
    paid_now = dict(seeded.execute(text("SELECT id, amount_paid FROM dossiers")).all())
    assert due[made["0201"]] == 28_000 and due[made["0202"]] == 5_028_000 and paid_now[made["0202"]] == 5_028_000
    charges = seeded.execute(text("SELECT dossier_id, fee_code FROM dossier_charges ORDER BY id")).all()
    assert (made["0201"], "LPTB") not in [tuple(c) for c in charges]
    assert (made["0202"], "LPTB") in [tuple(c) for c in charges]
    assert seeded.scalar(text("SELECT status FROM payment_requests WHERE id = :i"), {"i": request_id}) == "cancelled"
    from payments.obligations import for_dossier, status
    seeded.expire_all()
    assert [status(o) for o in for_dossier(seeded, seeded.get(Dossier, made["0202"]))] == ["paid_via_service"]
    assert [status(o) for o in for_dossier(seeded, seeded.get(Dossier, made["0201"]))] == ["unpaid"]
    receipts = seeded.execute(text("SELECT kind, amount FROM receipts WHERE dossier_id = :d"),
                              {"d": made["0202"]}).all()
    assert sum(r.amount for r in receipts) == 5_028_000  # the money received stays recorded
    report_lines = seeded.execute(text("SELECT fee_code, amount FROM report_receipt_lines")).all()
    assert [tuple(r) for r in report_lines] == [("BD", 28_000)]  # the reports never count it as a fee collected
    from payments.treasury import month_fees, month_of
    from payments.models import Receipt
    receipt = seeded.scalar(select(Receipt).where(Receipt.dossier_id == made["0202"]))
    fees = month_fees(seeded, seeded.get(Dossier, made["0202"]).agency, month_of(receipt.issued_at))
    assert fees.collected == 28_000 and fees.obligations == {"registration_fee": 5_000_000}  # kept apart
    seeded.close()

    command.downgrade(alembic_config(url), "0007")
    back = seeded.execute(text("SELECT fee_code, amount FROM dossier_charges WHERE dossier_id = :d ORDER BY id"),
                          {"d": made["0201"]}).all()
    assert [tuple(b) for b in back] == [("BD", 28_000), ("LPTB", 5_000_000)]
    assert seeded.scalar(text("SELECT amount_due FROM dossiers WHERE id = :d"), {"d": made["0201"]}) == 5_028_000
    seeded.close()
    command.upgrade(alembic_config(url), "head")
