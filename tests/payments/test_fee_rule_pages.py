"""Fee rules at the counter, in the API, in the catalogue page and export, and in the migration:
a clerk registering an exempt family's civil-status dossier or an online dossier under Nghị
quyết 77/2025 sees 0 đ with the rule and its basis; each charge keeps the rule as it stood."""
from __future__ import annotations

import re

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text as sql

from core.cli import alembic_config
from core.db import db
from payments.models import Dossier, DossierCharge, FeeLawRule
from tests.payments.test_api import Api, assert_problem  # noqa: F401  (fixtures below reuse them)
from tests.payments.test_api import api, tokens  # noqa: F401
from tests.payments.test_pages import LAND_FORM, clerk, in_db, post, signed_in, site, text  # noqa: F401

MARRIAGE_FORM = {"agency_code": "P-HOANKIEM", "procedure_code": "2.000806", "applicant_name": "Lê Thị Hoa",
                 "channel": "counter"}


def saved(client, form: dict):
    """Preview, then save with the digest the preview carries; the dossier page it leads to."""
    preview = post(client, "/counter/dossiers/new", {**form, "action": "preview"}, page="/counter/dossiers/new")
    assert preview.status_code == 200, text(preview)
    digest = re.search(r'name="preview_digest" value="([^"]+)"', text(preview)).group(1)
    response = post(client, "/counter/dossiers/new", {**form, "action": "save", "preview_digest": digest},
                    page="/counter/dossiers/new")
    assert response.status_code == 302, text(response)
    return client.get(response.headers["Location"])


def charges_of(app, applicant: str) -> list[DossierCharge]:
    def run(session):
        dossier = session.scalar(select(Dossier).where(Dossier.applicant_name == applicant))
        return [(c.fee_code, c.amount, c.rule_code, c.rule_basis, c.rule_confirmed, c.schedule_amount,
                 c.city_support) for c in dossier.charges], dossier.amount_due, dossier.parameters
    return in_db(app, run)


def test_the_form_asks_for_the_exemption_ground_of_civil_status_procedures(clerk):
    page = text(clerk.get("/counter/dossiers/new"))
    assert 'name="exemption_ground"' in page and "Người thuộc hộ nghèo" in page
    assert re.search(r'value="2\.000806"[^>]*data-ground="1"', page, re.S)
    assert re.search(r'value="1\.013831"[^>]*data-ground="0"', page, re.S)  # a land procedure: no ground
    assert re.search(r'value="1\.004859"[^>]*data-child="1"', page, re.S)
    assert re.search(r'value="HN\.TLHT"[^>]*data-vneid="1"', page, re.S)


def test_an_exempt_family_pays_nothing_and_sees_the_rule_and_its_basis(site, clerk):
    form = {**MARRIAGE_FORM, "exemption_ground": "poor_household"}
    preview = text(post(clerk, "/counter/dossiers/new", {**form, "action": "preview"}, page="/counter/dossiers/new"))
    assert "HT-MIEN-HN" in preview and "Miễn lệ phí hộ tịch: người thuộc hộ nghèo" in preview
    assert "Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội" in preview and "1.000.000 ₫" in preview  # schedule shown
    assert re.search(r'data-testid="preview-total">\s*0 ₫', preview)
    page = text(saved(clerk, form))
    assert "HT-MIEN-HN" in page and 'data-testid="exemption-ground">Người thuộc hộ nghèo' in page
    lines, due, parameters = charges_of(site, "Lê Thị Hoa")
    assert lines == [("KH-NN", 0, "HT-MIEN-HN", "Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội", True, 1_000_000, 0)]
    assert due == 0 and parameters["exemption_ground"] == "poor_household"


def test_without_a_ground_the_schedule_applies(site, clerk):
    preview = text(post(clerk, "/counter/dossiers/new", {**MARRIAGE_FORM, "action": "preview"},
                        page="/counter/dossiers/new"))
    assert re.search(r'data-testid="preview-total">\s*1\.000\.000 ₫', preview) and "data-rule=" not in preview


def test_an_unknown_ground_is_refused_on_the_form(site, clerk):
    response = post(clerk, "/counter/dossiers/new", {**MARRIAGE_FORM, "exemption_ground": "rich", "action": "preview"},
                    page="/counter/dossiers/new")
    assert response.status_code == 422 and 'data-error-for="exemption_ground"' in text(response)


def test_an_online_land_dossier_under_nq77(site, clerk):
    page = text(saved(clerk, {**LAND_FORM, "channel": "online", "applicant_name": "Đỗ Văn Tâm"}))
    assert "NQ77-HN-TP" in page and "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội" in page
    lines, due, _ = charges_of(site, "Đỗ Văn Tâm")
    assert lines == [("BD", 0, "NQ77-HN-TP", "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội", True, 28_000, 0),
                     ("TD", 3_000_000, None, None, None, None, 0)]
    assert due == 3_000_000


def test_an_online_ministry_fee_is_the_citys_support(site, clerk):
    form = {"agency_code": "P-HOANKIEM", "procedure_code": "HN.TLHT", "applicant_name": "Vũ Minh Khang",
            "channel": "online", "copies": "2"}
    page = text(saved(clerk, form))
    assert "NQ77-HN-BTC" in page and "Ngân sách thành phố hỗ trợ: 16.000 ₫" in page
    lines, due, _ = charges_of(site, "Vũ Minh Khang")
    assert lines == [("TLHT", 0, "NQ77-HN-BTC", "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội", True, 16_000, 16_000)]
    assert due == 0


def test_child_under_14_and_an_unconfirmed_vneid_reduction(site, clerk):
    child = {"agency_code": "P-HOANKIEM", "procedure_code": "1.004859", "applicant_name": "Ngô Bảo Châu",
             "channel": "counter", "child_under_14": "1"}
    saved(clerk, child)
    assert charges_of(site, "Ngô Bảo Châu")[0] == [("CC", 5000, "CC-DUOI-14",
                                                   "Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội", True, 25000, 0)]
    vneid = {"agency_code": "P-HOANKIEM", "procedure_code": "HN.TLHT", "applicant_name": "Hà Thu",
             "channel": "counter", "vneid_level2": "1"}
    preview = text(post(clerk, "/counter/dossiers/new", {**vneid, "action": "preview"}, page="/counter/dossiers/new"))
    # Today (December 2026) is inside 15/8/2026 – 28/02/2027; the rule's facts are not confirmed.
    assert "VNEID2-GIAM" in preview and "data-rule-unconfirmed" in preview and "quy định chưa xác minh" in preview
    assert re.search(r'data-testid="preview-total">\s*4\.000 ₫', preview)


def test_the_api_records_the_ground_and_the_rule(api, seeded):
    body = {"code": "000.20.01.H26-261125-0100", "procedure_code": "1.004873", "agency_code": "P-HOANKIEM",
            "applicant_name": "Bùi Văn C", "submitted_at": "2026-11-25T09:00:00+07:00", "channel": "counter",
            "exemption_ground": "disability"}
    response = api.post("/dossiers", body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["amount_due"] == 0 and created["parameters"]["exemption_ground"] == "disability"
    charge = created["charges"][0]
    assert charge["rule"] == {"code": "HT-MIEN-NKT", "name": "Miễn lệ phí hộ tịch: người khuyết tật",
                              "legal_basis": "Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội", "confirmed": True}
    assert (charge["amount"], charge["schedule_amount"], charge["city_support"]) == (0, 3000, 0)
    # A later change of the rule does not rewrite the charge.
    rule = seeded.scalar(select(FeeLawRule).where(FeeLawRule.code == "HT-MIEN-NKT"))
    rule.legal_basis, rule.name = "Văn bản khác", "Tên khác"
    seeded.commit()
    again = api.get(f"/dossiers/{body['code']}").get_json()["charges"][0]
    assert again["rule"]["legal_basis"] == "Nghị quyết 06/2020/NQ-HĐND thành phố Hà Nội"
    # Before 2026 an online dossier owes the schedule; the rule is "schedule".
    old = api.post("/dossiers", {**body, "code": "000.20.01.H26-251231-0001", "exemption_ground": None,
                                 "channel": "online", "submitted_at": "2025-12-31T23:59:00+07:00"}).get_json()
    assert old["amount_due"] == 3000 and old["charges"][0]["rule"]["code"] == "schedule"
    new = api.post("/dossiers", {**body, "code": "000.20.01.H26-260101-0001", "exemption_ground": None,
                                 "channel": "online", "submitted_at": "2026-01-01T00:00:00+07:00"}).get_json()
    assert new["amount_due"] == 0 and new["charges"][0]["rule"]["code"] == "NQ77-HN-TP"


def test_the_api_refuses_bad_rule_facts_422(api, seeded):
    body = {"procedure_code": "1.004873", "agency_code": "P-HOANKIEM", "applicant_name": "Bùi Văn D"}
    problem = assert_problem(api.post("/dossiers", {**body, "exemption_ground": "rich"}), 422, ["exemption_ground"])
    assert problem["code"] == "invalid_dossier"
    problem = assert_problem(api.post("/dossiers", {**body, "parameters": {"child_under_14": "yes"}}), 422,
                             ["parameters.child_under_14"])
    assert seeded.scalar(select(Dossier).where(Dossier.applicant_name == "Bùi Văn D")) is None


def test_the_catalogue_page_and_export_mark_unconfirmed_rules(site):
    admin = signed_in(site, "quantri")
    page = text(admin.get("/admin/catalogue"))
    assert "VNEID2-GIAM" in page and "NQ77-HN-BTC" in page and 'data-rule-row="VNEID2-GIAM"' in page
    row = re.search(r'data-rule-row="VNEID2-GIAM".*?</tr>', page, re.S).group(0)
    assert "Chưa xác minh" in row
    export = admin.get("/admin/catalogue/fee-rules.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = text(export).splitlines()
    assert lines[0].startswith("code,name_vi,name_en,effect")
    assert next(l for l in lines if l.startswith("VNEID2-GIAM")).endswith(",no")
    assert next(l for l in lines if l.startswith("NQ77-HN-TP")).endswith(",yes")
    assert signed_in(site, "motcua").get("/admin/catalogue/fee-rules.csv").status_code == 403


def test_migration_keeps_existing_charges_as_the_schedule(database_url):
    from alembic.script import ScriptDirectory

    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0013").down_revision
    command.downgrade(config, before)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sql("INSERT INTO agencies (id, code, name, kind) VALUES (1, 'A', 'A', 'ward')"))
            conn.execute(sql("INSERT INTO procedures (id, code, name, field, active) "
                             "VALUES (1, 'P', 'P', 'civil_status', :t)"), {"t": True})
            conn.execute(sql("INSERT INTO fee_items (procedure_id, position, code, name, kind, payer_class, amount, "
                             "per_copy, exempt_always, online_free_from, legal_basis, verified) VALUES "
                             "(1, 0, 'XNHN', 'X', 'le_phi', 'any', 3000, :f, :f, '2026-01-01', 'b', :t)"),
                         {"f": False, "t": True})
            conn.execute(sql("INSERT INTO dossiers (id, code, code_key, procedure_id, agency_id, applicant_name, channel, "
                             "submitted_at, parameters, status, amount_due, amount_paid, created_at, created_by) "
                             "VALUES (1, 'D-1', 'D1', 1, 1, 'N', 'online', CURRENT_TIMESTAMP, '{}', 'accepted', "
                             "3000, 0, CURRENT_TIMESTAMP, 't')"))
            conn.execute(sql("INSERT INTO dossier_charges (dossier_id, fee_code, name, kind, amount, legal_basis, "
                             "detail) VALUES (1, 'XNHN', 'X', 'le_phi', 3000, 'b', 'd')"))
        command.upgrade(config, "head")
        with engine.connect() as conn:
            charge = conn.execute(sql("SELECT amount, rule_code, city_support, schedule_amount FROM dossier_charges"
                                      )).one()
            rule = conn.execute(sql("SELECT code, effect, channel, fee_codes, valid_from, confirmed FROM fee_rules"
                                    )).one()
        assert tuple(charge) == (3000, None, 0, None)
        assert (rule[0], rule[1], rule[2], rule[3], str(rule[4])[:10], bool(rule[5])) == (
            "NQ77-HN-TP", "exempt", "online", "XNHN", "2026-01-01", True)
        command.downgrade(config, before)
        with engine.connect() as conn:
            assert conn.execute(sql("SELECT amount FROM dossier_charges")).scalar() == 3000
    finally:
        engine.dispose()


def test_rules_import_is_an_upsert_all_or_nothing_and_the_export_reads_back(seeded):
    from core.errors import ValidationError
    from payments.rule_catalogue import export_rules, import_rules

    exported = export_rules(seeded)
    again = import_rules(seeded, exported)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    changed = exported.replace(",50,2026-08-15,2027-02-28,", ",30,2026-08-15,2027-02-28,")
    bad = changed + "BROKEN,Tên,,fixed,,,,,,,,,,,,Căn cứ,yes\n"
    with pytest.raises(ValidationError, match="fee rules line 9"):
        import_rules(seeded, bad)
    seeded.rollback()
    rule = seeded.scalar(select(FeeLawRule).where(FeeLawRule.code == "VNEID2-GIAM"))
    assert rule.percent == 50  # nothing of the refused file was kept
    result = import_rules(seeded, changed)
    seeded.commit()
    assert (result.updated, result.unchanged) == (1, 6) and rule.percent == 30
