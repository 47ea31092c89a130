"""Reconciling item 3.6 with the national portal's figure: the simulator writes the portal's
export of the crafted month (computed on its own from what the portal received), a supervisor
uploads it, and the service shows per unit where the figures differ and the dossiers that explain
it; malformed files are refused naming the row and column, and leave nothing behind."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

from core.tokens import create_token
from reconciliation.models import OutboxEvent
from reports.models import PortalIndexUnit, PortalIndexUpload
from reports.portal_export import read_export

MONTH = "2026-11"


@pytest.fixture
def tokens(base):
    made = {role: create_token(base, f"pi-{role}", role) for role in ("supervisor", "counter", "finance")}
    base.commit()
    return made


def deliver_all(session) -> None:
    session.execute(update(OutboxEvent).values(status="delivered"))
    session.commit()


def upload(client, token, files: dict[str, tuple[bytes, str]], month: str = MONTH):
    data = {"month": month, **{name: (io.BytesIO(content), filename) for name, (content, filename) in files.items()}}
    return client.post("/api/v1/reports/portal-index", data=data, content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {token}"})


def export(runner, tmp_path, *extra: str, name: str = "portal.csv") -> tuple[bytes, bytes]:
    out, dossiers = tmp_path / name, tmp_path / "dossiers.csv"
    result = runner.invoke(args=["bank", "portal-export", "--month", MONTH, "--out", str(out), "--dossiers-out",
                                 str(dossiers), *extra])
    assert result.exit_code == 0, result.output
    return out.read_bytes(), dossiers.read_bytes()


def test_the_round_trip_agrees_when_everything_was_delivered(november, session, runner, client, tokens, tmp_path):
    deliver_all(session)
    units, _ = export(runner, tmp_path)
    assert units.decode("utf-8-sig").splitlines()[0] == "STT;Mã đơn vị;Tên đơn vị;Tử số;Mẫu số;Tỷ lệ (%)"
    response = upload(client, tokens["supervisor"], {"file": (units, "portal.csv")})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ours"] == body["portal"] == {"numerator": 2, "denominator": 16, "rate": 2 / 16}
    assert [u["code"] for u in body["units"] if u["differs"]] == []
    assert {u["code"]: (u["portal"]["numerator"], u["portal"]["denominator"]) for u in body["units"]} == {
        "P-HOANKIEM": (0, 5), "P-DONGDA": (0, 6), "HN-VPDKDD-CN02": (2, 5)}
    assert {u["code"]: u["portal_rate_in_file"] for u in body["units"]}["HN-VPDKDD-CN02"] == 0.4  # "40,00" in %
    again = upload(client, tokens["supervisor"], {"file": (units, "portal.csv")})
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]  # the same file: the same upload
    listed = client.get("/api/v1/reports/portal-index", headers={"Authorization": f"Bearer {tokens['finance']}"})
    assert [i["id"] for i in listed.get_json()["items"]] == [body["id"]]
    shown = client.get(f"/api/v1/reports/portal-index/{body['id']}",
                       headers={"Authorization": f"Bearer {tokens['finance']}"}).get_json()
    assert shown["units"] == body["units"]


def test_an_event_not_delivered_explains_the_difference(november, session, runner, client, tokens, tmp_path):
    deliver_all(session)
    c1 = session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code == "CN2-C1")).all()
    for event in c1:
        event.status = "dead"  # every retry failed: the portal never heard that C1 was paid on its platform
    session.commit()
    units, _ = export(runner, tmp_path)
    body = upload(client, tokens["supervisor"], {"file": (units, "portal.csv")}).get_json()
    cn2 = next(u for u in body["units"] if u["code"] == "HN-VPDKDD-CN02")
    assert cn2["differs"] and (cn2["ours"]["numerator"], cn2["portal"]["numerator"]) == (2, 1)
    assert cn2["numerator_difference"] == 1 and cn2["denominator_difference"] == 0
    assert [(d["dossier_code"], d["reason"], d["event_status"], d["our_flag"]) for d in cn2["dossiers"]] == [
        ("CN2-C1", "not_synced", "dead", 1)]
    assert [u["code"] for u in body["units"] if u["differs"]] == ["HN-VPDKDD-CN02"]


def test_a_per_dossier_export_names_the_flags_that_differ(november, session, runner, client, tokens, tmp_path):
    deliver_all(session)
    units, dossiers = export(runner, tmp_path, "--flag", "CN2-C6=0", "--flag", "HK-A3=1")
    body = upload(client, tokens["supervisor"], {"file": (units, "portal.csv"),
                                                 "dossiers": (dossiers, "ho-so.csv")}).get_json()
    assert body["dossiers_in_file"] == 19
    explained = {(d["dossier_code"], d["reason"], d["our_flag"], d["portal_flag"])
                 for u in body["units"] for d in u["dossiers"]}
    assert explained == {("CN2-C6", "flag_differs", 1, 0), ("HK-A3", "flag_differs", 0, 1)}
    assert {u["code"]: u["numerator_difference"] for u in body["units"] if u["differs"]} == {
        "HN-VPDKDD-CN02": 1, "P-HOANKIEM": -1}


def test_fee_data_and_dossiers_the_portal_lacks(november, session, client, tokens):
    deliver_all(session)
    units = ("Mã đơn vị,Tên đơn vị,Tử số,Mẫu số,Tỷ lệ\n"
             "HN-VPDKDD-CN02,Chi nhánh,2,5,0.4\n"
             "P-HOANKIEM,Hoàn Kiếm,0,4,0\n"
             "P-DONGDA,Đống Đa,0,6,0\n").encode()
    rows = ["Mã hồ sơ,Mã đơn vị,DuocThanhToanTrucTuyen,Tổng phí"] + [
        f"{code},P-HOANKIEM,0,{fee}" for code, fee in (("HK-A1", 1_000_000), ("HK-A2", 1_000_000), ("HK-A3", 16_000),
                                                       ("HK-A4", 0), ("HK-A5", 0), ("HK-A6", 1_000_000),
                                                       ("HK-A7", 1))] + [
        "HK-X9,P-HOANKIEM,1,8000"]  # A7's fee data differs; X9 the service does not know
    body = upload(client, tokens["supervisor"], {"file": (units, "tong-hop.csv"),
                                                 "dossiers": ("\n".join(rows).encode(), "ho-so.csv")}).get_json()
    hk = next(u for u in body["units"] if u["code"] == "P-HOANKIEM")
    assert hk["differs"] and hk["denominator_difference"] == 1
    assert [(d["dossier_code"], d["reason"], d["our_fee_total"], d["portal_fee_total"]) for d in hk["dossiers"]] == [
        ("HK-A7", "fee_data_differs", 1_000_000, 1), ("HK-X9", "unknown_to_service", None, 8000)]
    assert [u["code"] for u in body["units"] if u["differs"]] == ["P-HOANKIEM"]
    assert [d["dossier_code"] for d in body["unknown_dossiers"]] == ["HK-X9"]


def test_an_xlsx_export_with_its_dossier_sheet(november, session, runner, client, tokens, tmp_path):
    deliver_all(session)
    units, _ = export(runner, tmp_path, "--unsynced", "CN2-C6", name="portal.xlsx")
    parsed = read_export(units, "portal.xlsx")
    assert len(parsed.units) == 3 and len(parsed.dossiers) == 19  # the title line above the header is skipped
    body = upload(client, tokens["supervisor"], {"file": (units, "portal.xlsx")}).get_json()
    cn2 = next(u for u in body["units"] if u["code"] == "HN-VPDKDD-CN02")
    assert [(d["dossier_code"], d["reason"]) for d in cn2["dossiers"]] == [("CN2-C6", "flag_differs")]


@pytest.mark.parametrize("text, where", [
    ("Mã đơn vị,Tử số\nP-HOANKIEM,1\n", "column:Mẫu số"),
    ("Mã đơn vị,Tử số,Mẫu số\nP-HOANKIEM,1,4\nP-DONGDA,một,4\n", "row:3:Tử số"),
    ("Mã đơn vị,Tử số,Mẫu số\nP-HOANKIEM,5,4\n", "row:2:Tử số"),
    ("Mã đơn vị,Tử số,Mẫu số,Tỷ lệ\nP-HOANKIEM,1,4,abc\n", "row:2:Tỷ lệ"),
    ("Mã đơn vị,Tử số,Mẫu số\nP-HOANKIEM,1,4\nP-HOANKIEM,1,4\n", "row:3:Mã đơn vị"),
    ("Mã đơn vị,Tử số,Mẫu số\n", "file"),
])
def test_a_malformed_file_is_refused_naming_the_place(base, session, client, tokens, text, where):
    response = upload(client, tokens["supervisor"], {"file": (text.encode(), "bad.csv")})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "portal_export_invalid" and problem["params"]["where"] == where
    assert session.scalar(select(func.count()).select_from(PortalIndexUpload)) == 0
    assert session.scalar(select(func.count()).select_from(PortalIndexUnit)) == 0


def test_who_may_upload_and_other_refusals(base, client, tokens):
    units = b"Ma don vi,Tu so,Mau so\nP-HOANKIEM,1,4\n"  # headers without diacritics are read too
    assert upload(client, tokens["counter"], {"file": (units, "x.csv")}).status_code == 403
    assert upload(client, tokens["finance"], {"file": (units, "x.csv")}).status_code == 403
    assert upload(client, tokens["supervisor"], {"file": (units, "x.csv")}, month="2026-13").status_code == 422
    assert upload(client, tokens["supervisor"], {}).status_code == 422
    assert upload(client, tokens["supervisor"], {"file": (b"PK\x03\x04garbage", "x.xlsx")}).get_json()["params"] == {
        "where": "file", "problem": "unreadable"}
    ok = upload(client, tokens["supervisor"], {"file": (units, "x.csv")})
    assert ok.status_code == 201 and ok.get_json()["units"][0]["known"] is True
    assert client.get("/api/v1/reports/portal-index/999", headers={
        "Authorization": f"Bearer {tokens['supervisor']}"}).status_code == 404


def test_the_pages_for_supervisors(app, runner, tmp_path):
    import re

    from core.db import db

    from .test_pages import signed_in

    with app.app_context():
        from payments.agencies import seed_agencies
        from tests.staff import add_staff

        from .conftest import build_november, seed_catalogue
        from .test_pages import PASSWORD, STAFF

        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session)
        build_november(db.session)
        add_staff(db.session, STAFF, PASSWORD)
        db.session.execute(update(OutboxEvent).values(status="delivered"))
        db.session.execute(update(OutboxEvent).where(OutboxEvent.dossier_code == "CN2-C6").values(status="dead"))
        db.session.commit()
    units, _ = export(runner, tmp_path)
    client = signed_in(app, "giamsat")
    page = client.get("/reports/portal-index").get_data(as_text=True)
    assert 'data-testid="portal-upload-form"' in page and 'data-vietqr-as-gateway="off"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post("/reports/portal-index", data={"csrf_token": token, "month": MONTH,
                                                     "file": (io.BytesIO(b"Ma don vi;Tu so\nX;1\n"), "bad.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "cột “Mẫu số”" in bad.get_data(as_text=True) and "Chưa có gì được lưu" in bad.get_data(as_text=True)
    done = client.post("/reports/portal-index", data={"csrf_token": token, "month": MONTH,
                                                      "file": (io.BytesIO(units), "portal.csv")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="ours" data-numerator="2" data-denominator="16"' in shown
    assert 'data-testid="portal" data-numerator="1" data-denominator="16"' in shown
    assert '<li data-code="CN2-C6" data-reason="not_synced">' in shown
    english = client.get(done.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert 'data-reason="not_synced"' in english
    reader = signed_in(app, "ketoan")  # finance reads, does not upload
    assert 'data-testid="portal-upload-form"' not in reader.get("/reports/portal-index").get_data(as_text=True)
    assert reader.post("/reports/portal-index", data={"csrf_token": token}).status_code in (400, 403)
    assert signed_in(app, "motcua").get("/reports/portal-index").status_code == 403


UNITS = "Mã đơn vị,Tử số,Mẫu số\nP-HOANKIEM,1,4\nTổng cộng,1,4\n".encode()


@pytest.mark.parametrize("dossiers, where", [
    ("Mã hồ sơ,DuocThanhToanTrucTuyen\nHS-1,1\nHS-1,0\n", "row:3:Mã hồ sơ"),
    ("Mã hồ sơ,DuocThanhToanTrucTuyen\nHS-1,3\n", "row:2:DuocThanhToanTrucTuyen"),
    ("Mã hồ sơ,DuocThanhToanTrucTuyen\n,1\n", "row:2:Mã hồ sơ"),
    ("Mã hồ sơ,DuocThanhToanTrucTuyen\n" + "H" * 61 + ",1\n", "row:2:Mã hồ sơ"),
    ("DuocThanhToanTrucTuyen\n1\n", "column:Mã hồ sơ"),
])
def test_a_malformed_dossier_file_is_refused_naming_the_place(dossiers, where):
    from core.errors import ValidationError
    from reports.portal_export import read_export

    export = read_export(UNITS, "units.csv", "Mã hồ sơ\nHS-1\n".encode(), "d.csv")
    assert [u.unit_code for u in export.units] == ["P-HOANKIEM"]  # the total line is not a unit
    assert [d.dossier_code for d in export.dossiers] == ["HS-1"]
    with pytest.raises(ValidationError) as refused:
        read_export(UNITS, "units.csv", dossiers.encode(), "d.csv")
    assert refused.value.params["where"] == where
