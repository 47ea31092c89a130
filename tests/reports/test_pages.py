"""The report pages through Flask's test client, on SQLite and PostgreSQL: who may see the
dashboard, the figures it shows (the crafted month's), the drill-down, money collected and its
files, and the public monthly disclosure (no login) with its CSV, XLSX and PNG."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from core.db import db
from payments.agencies import seed_agencies
from tests.staff import add_staff

from .conftest import at, build_november, seed_catalogue

PASSWORD = "Mật-khẩu-báo-cáo-2026"
STAFF = {"motcua": "counter", "ketoan": "finance", "giamsat": "supervisor", "quantri": "admin"}


@pytest.fixture
def site(app):
    """The crafted month and one user per staff role, made in an app context of their own (each
    request then runs in its own context, as in production)."""
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session)
        build_november(session)
        add_staff(session, STAFF, PASSWORD)
        session.commit()
    return app


def signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def today(monkeypatch):
    import reports.views as views

    monkeypatch.setattr(views, "_today", lambda: date(2026, 12, 1))
    return date(2026, 12, 1)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_who_may_see_the_dashboard(app, site):
    assert app.test_client().get("/reports/").status_code == 302  # to the login page
    assert signed_in(app, "motcua").get("/reports/").status_code == 403
    for username in ("ketoan", "giamsat", "quantri"):
        assert signed_in(app, username).get("/reports/?month=2026-11").status_code == 200, username


def test_the_dashboard_shows_the_month(app, site, today):
    page = text(signed_in(app, "giamsat").get("/reports/?month=2026-11&group=agency"))
    card = re.search(r'data-testid="indicator-3.6" data-numerator="(\d+)" data-denominator="(\d+)" data-rate="([^"]*)"',
                     page)
    assert card.groups() == ("2", "16", str(2 / 16))
    assert "12,5 %" in page  # Vietnamese number format
    for item, top, bottom in (("3.5", 4, 5), ("3.5b", 2, 5), ("cashless", 7, 12)):
        assert f'data-testid="indicator-{item}" data-numerator="{top}" data-denominator="{bottom}"' in page
    assert "5,5 <small>/ 10" in page
    cn = re.search(r'<tr data-key="HN-VPDKDD-CN02"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert 'data-measure="paid_online" data-value="2"' in cn and 'data-rate="0.4"' in cn
    assert 'data-testid="flag-setting" data-vietqr-as-gateway="off"' in page  # how the flag is set, on the page
    assert "ngưỡng chưa xác nhận" in page  # the 3.6 threshold is not settled
    assert "<svg" in page and "https://" not in re.sub(r'xmlns="[^"]+"', "", page)  # the chart is the page's own
    assert 'data-testid="delays"' in page and "UBND phường Đống Đa" in page  # unclosed days of November


def test_the_dashboard_in_english_and_other_groups(app, site):
    client = signed_in(app, "quantri")
    page = text(client.get("/reports/?month=2026-11&lang=en"))
    assert "Online payment rate" in page and "12.5%" in page
    for group in ("field", "procedure", "channel", "month"):
        page = text(client.get(f"/reports/?month=2026-11&group={group}"))
        assert f'data-group="{group}"' in page
    page = text(client.get("/reports/?from=2026-11-30&to=2026-11-01"))
    assert "Ngày bắt đầu (“Từ ngày”) sau ngày kết thúc" in page and "from is after to" not in page  # told, in Vietnamese; this month shown instead


def test_the_drill_down_page(app, site):
    client = signed_in(app, "ketoan")
    page = text(client.get("/reports/dossiers?from=2026-11-01&to=2026-11-30&measure=paid_online"
                           "&group_by=agency&key=HN-VPDKDD-CN02"))
    assert re.findall(r'<tr data-code="([^"]+)"', page) == ["CN2-C1", "CN2-C6"]
    assert 'data-flag="1"' in page
    assert client.get("/reports/dossiers?month=2026-11&measure=nothing").status_code == 404
    assert client.get("/reports/dossiers?month=2026-11&group_by=agency&key=P-NOWHERE").status_code == 404


def test_money_collected_page_and_files(app, site):
    from payments.models import Receipt

    with app.app_context():
        for receipt in db.session.query(Receipt):
            receipt.issued_at = at(20, 10)
        db.session.commit()
    client = signed_in(app, "ketoan")
    page = text(client.get("/reports/collections?month=2026-11&by=agency"))
    # 11,088,000 = 8,040,000 on e-receipts (13 lines) + C1's 3,028,000 and C6's 20,000 on the portal's platform
    assert 'data-amount="11088000" data-testid="collections-total">' in page
    assert 'data-amount="8040000" data-testid="collections-e-receipts"' in page
    assert 'data-amount="3048000" data-testid="collections-other-documents"' in page
    response = client.get("/reports/collections?month=2026-11&by=fee&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Mã khoản thu", "Khoản thu", "Loại", "Số dòng biên lai", "Số tiền (đồng)",
                       "Trên biên lai điện tử (đồng)", "Theo chứng từ của nơi khác (đồng)"]
    assert rows[-1] == ["Tổng cộng", "", "", "16", "11088000", "8040000", "3048000"]
    response = client.get("/reports/collections?month=2026-11&by=agency&per=day&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "Ngày" and sheet.cell(sheet.max_row, 6).value == 11_088_000
    assert (sheet.cell(sheet.max_row, 7).value, sheet.cell(sheet.max_row, 8).value) == (8_040_000, 3_048_000)


def test_the_public_disclosure_needs_no_login(app, site, today):
    client = app.test_client()
    page = text(client.get("/reports/public/2026-11"))
    assert 'data-testid="public-3.6" data-numerator="2" data-denominator="16"' in page
    assert 'data-vietqr-as-gateway="off"' in page
    assert "Quyết định 766/QĐ-TTg" in page and 'data-testid="provisional"' not in page
    ranking = re.search(r'data-testid="public-ranking-commune">(.*?)</table>', page, re.S).group(1)
    assert ranking.index("P-DONGDA") < ranking.index("P-HOANKIEM") < ranking.index("P-CUANAM")  # both 0: more fees first
    assert 'data-testid="public-delays"' in page
    assert "HK-A1" not in page  # no dossier, no applicant: only figures
    assert client.get("/reports/public/").status_code == 200
    assert client.get("/reports/public/2027-01").status_code == 404  # not begun
    assert client.get("/reports/public/2026-13").status_code == 404
    assert client.get("/reports/public/2026-11.pdf").status_code == 404
    provisional = client.get("/reports/public/2026-12")
    assert 'data-testid="provisional"' in text(provisional)
    assert provisional.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/reports/public/2026-11").headers["Cache-Control"] == "public, max-age=3600"
    signed = signed_in(app, "giamsat").get("/reports/public/2026-11")
    assert signed.headers["Cache-Control"] == "private, no-store"  # it shows the person's name


def test_the_public_files(app, site, today):
    client = app.test_client()
    response = client.get("/reports/public/2026-11.csv")
    assert response.status_code == 200 and "cong-khai-thanh-toan-truc-tuyen-2026-11.csv" in \
        response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[1][:10] == ["Toàn thành phố", "", "Tháng 2026-11", "", "19", "16", "2", "0.1250", "7", "0.5833"]
    hk = next(r for r in rows if r[1] == "P-HOANKIEM")
    assert hk[3:] == ["1", "7", "5", "0", "0.0000", "3", "0.7500"]
    assert ["Lĩnh vực", "land", "Đất đai", "", "6", "5", "2", "0.4000", "2", "0.6667"] in rows
    book = load_workbook(io.BytesIO(client.get("/reports/public/2026-11.xlsx").data))
    assert book.sheetnames == ["Tổng hợp", "Theo đơn vị", "Theo lĩnh vực", "Đơn vị chậm xử lý", "Định nghĩa"]
    summary = book["Tổng hợp"]
    assert [summary.cell(7, c).value for c in range(2, 7)] == [2, 16, 2 / 16, 2.5, 6]
    png = client.get("/reports/public/2026-11.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")


def test_the_fee_return_counts_the_platforms_money(app, site):
    """CN02's November: nothing on e-receipts; C1 (28,000 lệ phí + 3,000,000 phí) and C6 (20,000
    lệ phí) paid on the portal's platform, which receipts them: 3,048,000 collected, all of it
    receipted elsewhere."""
    client = signed_in(app, "ketoan")
    page = text(client.get("/reports/fee-return?agency=HN-VPDKDD-CN02&month=2026-11"))
    assert 'data-testid="other-documents" data-amount="3048000"' in page
    assert re.findall(r'<tr data-fee="([^"]+)"', page) == ["BD", "CAPDOI", "BD"]  # lệ phí first, then phí
    response = client.get("/reports/fee-return?agency=HN-VPDKDD-CN02&month=2026-11&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    assert 3_048_000 in cells and any(isinstance(v, str) and v.startswith("Trong đó tiền đã có chứng từ của nơi khác")
                                      and v.endswith("3.048.000") for v in cells)
