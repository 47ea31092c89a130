"""What the finance pages and files say, on the demo world: people and rules by their labels,
the money an item concerns, evidence as a snapshot, a future day neither run nor closed, the
refunds export, one charset, and the pages' errors in the page's language."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.clock import ict_day, utcnow
from core.db import db
from core.users import actor_name
from core.vocabulary import actor_label
from payments.models import Dossier
from reconciliation.models import DailyClose, ReconException
from reconciliation.web.finance_labels import resolution_label
from reconciliation.workflow.refunds import request_refund
from simulator.demo_world import build_demo_world
from tests.core.web import form_post, login, text


@pytest.fixture
def world(app):
    return build_demo_world(app)


@pytest.fixture
def ketoan(app, world):
    client = app.test_client()
    assert login(client, "ketoan", world.password).status_code == 302
    return client


def test_actors_are_told_by_name_or_label(app, world):
    with app.test_request_context():
        assert actor_name("user:ketoan") == "Trần Văn Minh"
        assert actor_name("rule:reference_partial") == "Mã thanh toán đúng, nộp thiếu"
        assert actor_name("rule:statement_run") == "Chạy đối soát theo sao kê"
        assert actor_name("cli:cli") == "Dòng lệnh quản trị"
        assert actor_name("cli:nguyenvana") == "Dòng lệnh quản trị (nguyenvana)"
        assert actor_name("portal:dvc") == "Cổng Dịch vụ công" and actor_name("system") == "Hệ thống"
        assert actor_name("user:nobody") == "nobody" and actor_name("unknown:x") == "unknown:x"
        assert resolution_label("manual_match by user:ketoan: gọi điện xác nhận") == \
            "Ghép thủ công — Trần Văn Minh: gọi điện xác nhận"
        assert resolution_label("a note a person typed") == "a note a person typed"
    with app.test_request_context("/?lang=en"):
        assert actor_name("rule:reference_partial") == "Right reference, amount short"
        assert actor_name("system") == "The system"
    assert actor_label("user:ketoan", {"ketoan": "Trần Văn Minh"}.get) == "Trần Văn Minh"


def test_the_queue_and_the_item_speak_plainly(app, world, ketoan):
    queue = text(ketoan.get("/finance/exceptions"))
    assert "rule:" not in queue and "user:" not in queue
    with app.app_context():
        partial = db.session.scalar(select(ReconException).where(ReconException.reason == "amount_mismatch"))
        assert partial is not None and partial.amount == 0  # what the item holds: nothing; the transfer is in question
    # The amount concerned of "Sai số tiền" is the transfer's 3,000 đồng, not "0 ₫".
    row = queue.split("Sai số tiền", 1)[1].split("</tr>", 1)[0]
    assert "3.000 ₫" in row and ">0 ₫<" not in row
    page = text(ketoan.get(f"/finance/exceptions/{partial.id}"))
    # The system's own record is kept verbatim, folded away and marked as English; the rest speaks plainly.
    assert '<p class="code" lang="en">rule reference_partial' in page
    item = re.sub(r'<details class="tech">.*?</details>', "", page, flags=re.S)
    assert "rule:" not in item and "reference_partial" not in item and "độ tin cậy" not in item
    assert "Ghép tự động khi nhận báo có" in item  # the matcher, by its label
    assert 'data-testid="snapshot-note"' in item and "lúc xét (trước khi ghép)" in item


def test_a_future_day_is_neither_run_nor_closed(app, world, ketoan):
    future = ict_day(utcnow()) + timedelta(days=2)
    with app.app_context():
        closes = db.session.scalar(select(func.count()).select_from(DailyClose))
    page = f"/finance/days/1/{future.isoformat()}"
    shown = text(ketoan.get(page))
    assert 'data-testid="future-day"' in shown and 'data-testid="run"' not in shown and 'data-testid="close"' not in shown
    ran = form_post(ketoan, f"{page}/run", {}, page)
    assert ran.status_code == 422 and "chưa đến" in text(ran)
    closed = form_post(ketoan, f"{page}/close", {}, page)
    assert closed.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DailyClose)) == closes  # nothing recorded
    today = text(ketoan.get(f"/finance/days/1/{ict_day(utcnow()).isoformat()}"))
    assert 'data-testid="run"' in today and 'data-testid="future-day"' not in today


def test_refunds_export_in_csv_and_xlsx(app, world, ketoan):
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.applicant_name == "Bùi Văn Đức"))
        request_refund(db.session, amount=4000, reason="Nộp thừa 4.000 đồng", beneficiary_bank="970436",
                       beneficiary_account="0011001234567", beneficiary_name="BUI VAN DUC", actor="user:ketoan",
                       dossier_id=dossier.id)
        db.session.commit()
    day = ict_day(utcnow()).isoformat()
    page = text(ketoan.get("/finance/exports"))
    assert 'data-testid="export-refunds-csv"' in page and 'data-testid="export-refunds-xlsx"' in page
    got = ketoan.get(f"/finance/exports/refunds.csv?from={day}&to={day}")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not twice
    rows = list(csv.reader(io.StringIO(got.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã đề nghị", "Đề nghị lúc (giờ Việt Nam)", "Số tiền hoàn (đồng)"]
    assert len(rows) == 2 and rows[1][2] == "4000" and rows[1][3] == "Chờ duyệt" and rows[1][11] == "Trần Văn Minh"
    book = ketoan.get(f"/finance/exports/refunds.xlsx?from={day}&to={day}")
    assert book.status_code == 200 and "charset" not in book.headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(book.get_data())).active
    assert sheet.title == "Hoàn trả" and sheet.cell(2, 3).value == 4000 and sheet.cell(2, 5).value == "Nộp thừa 4.000 đồng"
    # In English, the same file speaks English.
    ketoan.get("/lang/en")
    english = ketoan.get(f"/finance/exports/refunds.csv?from={day}&to={day}").get_data().decode("utf-8-sig")
    assert english.startswith("Request no.,Requested at (Vietnam time),Amount refunded (đồng)")
    assert "Awaiting approval" in english and "Chờ duyệt" not in english


def test_error_pages_and_report_filters_speak_the_page_language(app, world, ketoan):
    missing = app.test_client().get("/no-such-page")
    assert missing.status_code == 404 and "Không tìm thấy trang" in text(missing)
    assert "Not Found" not in text(missing) and "requested URL" not in text(missing)
    english = app.test_client().get("/no-such-page?lang=en")
    assert "Page not found" in text(english) and "Không" not in text(english)
    supervisor = app.test_client()
    assert login(supervisor, "giamsat", world.password).status_code == 302
    bad = text(supervisor.get("/reports/collections?month=2026-13"))
    assert "Tháng không hợp lệ" in bad and "must be" not in bad
    backwards = text(supervisor.get("/reports/?from=2026-12-05&to=2026-12-01&lang=en"))
    assert "The start (“From”) is after the end (“To”)" in backwards and "from is after to" not in backwards
