"""The counter's dossier page after payment: the payments received, the e-receipts with their
downloads, and the cash form with every refusal, through Flask's test client on SQLite and
PostgreSQL, with CSRF protection on (as in production).

Requests run in their own app contexts; the database is checked in separate ones, so a view
that forgot to commit (or committed a refusal) fails here."""
from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from core.audit import AuditRecord
from payments.models import Dossier, PaymentRequest, Receipt
from reconciliation.models import Allocation, CashPayment
from tests.payments.test_pages import LAND_BODY, csrf_token, in_db, make_request, post, signed_in, site  # noqa: F401
from tests.payments.test_pages import clerk  # noqa: F401  (fixture)
from tests.reconciliation.conftest import ok, transfer_for
from tests.reconciliation.conftest import post as post_callback
from tests.reconciliation.conftest import signed

CODE = LAND_BODY["code"]
PAGE = f"/counter/dossiers/{CODE}"
CASH = f"/counter/dossiers/{CODE}/cash"
DUE = 3_028_000


def text(response) -> str:
    return response.get_data(as_text=True)


def pdf_text(data: bytes) -> str:
    return " ".join(pdfium.PdfDocument(data)[0].get_textpage().get_text_range().split())


def unchanged(app) -> None:
    """Nothing recorded: no cash, no allocation, nothing paid, no receipt, no audit record of it."""
    def check(session):
        assert session.scalar(select(func.count()).select_from(CashPayment)) == 0
        assert session.scalar(select(func.count()).select_from(Allocation)) == 0
        assert session.scalar(select(func.count()).select_from(Receipt)) == 0
        assert session.scalar(select(Dossier.amount_paid)) == 0
        assert session.scalar(select(func.count()).select_from(AuditRecord)
                              .where(AuditRecord.action == "cash.received")) == 0
    in_db(app, check)


def cash(client, page: str = PAGE, **fields):
    data = {"amount": str(DUE), "amount_tendered": "", "receipt_number": "PT-000123", "note": "", **fields}
    return post(client, CASH, data, page=page)


def pay_by_callback(app, via="sepay"):
    request = in_db(app, lambda s: s.scalar(select(PaymentRequest)))
    transfer = transfer_for(request)
    posted = post_callback(app.test_client(), via, *signed(via, transfer))
    assert ok(via, posted), posted.body
    return transfer


# ---------------------------------------------------------------------------------------------
# The payments section


def test_a_new_dossier_has_no_payments_and_offers_the_cash_form(site, clerk):
    make_request(site)
    page = text(clerk.get(PAGE))
    assert "Thanh toán đã nhận" in page and 'data-testid="payments-empty"' in page
    assert "Chưa nhận khoản nào cho hồ sơ này." in page and 'data-testid="receipts-empty"' in page
    form = re.search(r'<form[^>]*data-testid="cash-form"[^>]*>', page).group(0)
    assert f'action="{CASH}"' in form and "hidden" not in form
    assert "Thu tiền mặt" in page and 'name="amount_tendered"' in page and 'name="receipt_number"' in page
    assert 'name="note"' in page and 'placeholder="3.028.000"' in page
    assert re.search(r'data-testid="cash-clerk">Cán bộ motcua<', page)  # the signed-in clerk takes the cash


def test_a_transfer_received_shows_in_payments_with_its_receipts(site, clerk):
    make_request(site)
    transfer = pay_by_callback(site)
    page = text(clerk.get(PAGE))
    row = re.search(rf'<tr data-payment="{transfer.bank_ref}">(.*?)</tr>', page, re.S).group(1)
    assert "Chuyển khoản VietQR tại quầy" in row and "SePay" in row and "3.028.000 ₫" in row
    receipts = in_db(site, lambda s: s.scalars(select(Receipt).order_by(Receipt.id)).all())
    assert receipts and all(r.status == "issued" for r in receipts)
    for receipt in receipts:
        assert f'/counter/receipts/{receipt.id}.pdf' in page and f'data-receipt="{receipt.number:08d}"' in page
    assert "Đã phát hành" in page and 'data-testid="receipts-empty"' not in page
    form = re.search(r'<form[^>]*data-testid="cash-form"[^>]*>', page).group(0)
    assert "hidden" in form  # nothing left to take
    status = clerk.get(f"/counter/status.json?code={CODE}").get_json()
    assert status["ledger"].startswith("1|3028000|")


def test_counter_downloads_receipts(site, clerk):
    make_request(site)
    pay_by_callback(site)
    receipt = in_db(site, lambda s: s.scalars(select(Receipt).order_by(Receipt.id)).first())
    pdf = clerk.get(f"/counter/receipts/{receipt.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment; filename=\"bien-lai-")
    assert f"Số: {receipt.number:08d}" in pdf_text(pdf.data) and "Nguyễn Văn An" in pdf_text(pdf.data)
    xml = clerk.get(f"/counter/receipts/{receipt.id}.xml")  # the signed document the PDF renders
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    from payments.receipt_providers import TEST_CERT, verify_receipt_xml
    assert verify_receipt_xml(xml.data, TEST_CERT.read_bytes()).findtext(".//SBLai") == f"{receipt.number:08d}"
    assert clerk.get(f"/counter/receipts/{receipt.id}.png").status_code == 404  # PDF and XML only
    assert clerk.get(f"/counter/receipts/{receipt.id}.gif").status_code == 404
    assert clerk.get("/counter/receipts/999999.pdf").status_code == 404
    assert site.test_client().get(f"/counter/receipts/{receipt.id}.pdf").status_code == 302  # sign in first
    assert signed_in(site, "ketoan").get(f"/counter/receipts/{receipt.id}.pdf").status_code == 200  # finance pages link here
    assert signed_in(site, "quantri").get(f"/counter/receipts/{receipt.id}.pdf").status_code == 200


# ---------------------------------------------------------------------------------------------
# Cash at the counter


def test_clerk_records_cash_and_the_dossier_is_paid(site, clerk):
    make_request(site)
    response = cash(clerk, amount="3.028.000", amount_tendered="3.030.000", note="Nộp tại quầy số 2")
    assert response.status_code == 302 and response.headers["Location"] == f"{PAGE}#payments"
    page = text(clerk.get(PAGE))
    assert "Đã ghi nhận 3.028.000 ₫ tiền mặt, biên lai số PT-000123, người thu Cán bộ motcua." in page
    assert "Tiền trả lại người nộp: 2.000 ₫." in page
    payment = in_db(site, lambda s: s.scalars(select(CashPayment)).one())
    assert (payment.amount, payment.amount_tendered, payment.receipt_number, payment.clerk_username,
            payment.clerk_name, payment.note) == (DUE, 3_030_000, "PT-000123", "motcua", "Cán bộ motcua",
                                                  "Nộp tại quầy số 2")
    assert in_db(site, lambda s: s.scalar(select(Dossier.amount_paid))) == DUE
    assert in_db(site, lambda s: s.scalar(select(PaymentRequest.status))) == "paid"
    row = re.search(r'<tr data-payment="CASH-PT-000123">(.*?)</tr>', page, re.S).group(1)
    assert "Tiền mặt" in row and "Tiền mặt tại quầy" in row and "3.028.000 ₫" in row
    receipt = in_db(site, lambda s: s.scalars(select(Receipt).order_by(Receipt.id)).first())
    assert f"/counter/receipts/{receipt.id}.pdf" in page
    assert "Hình thức thanh toán: Tiền mặt" in pdf_text(clerk.get(f"/counter/receipts/{receipt.id}.pdf").data)


def test_part_in_cash_leaves_the_rest_due(site, clerk):
    make_request(site)
    assert cash(clerk, amount="1000000").status_code == 302
    page = text(clerk.get(PAGE))
    assert 'data-total="remaining">2.028.000 ₫' in page and 'data-testid="receipts-empty"' in page
    form = re.search(r'<form[^>]*data-testid="cash-form"[^>]*>', page).group(0)
    assert "hidden" not in form


@pytest.mark.parametrize("fields, field, message", [
    (dict(amount="0"), "amount", "Số tiền thu phải từ 1 đồng trở lên."),
    (dict(amount=""), "amount", "Nhập số tiền thu."),
    (dict(amount="-5000"), "amount", "Số tiền thu không được là số âm."),
    (dict(amount="ba triệu"), "amount", "Số tiền thu phải viết bằng chữ số"),
    (dict(amount="1500.5"), "amount", "Số tiền thu phải là số đồng nguyên, không có phần thập phân."),
    (dict(amount="3028001"), "amount",
     "Số tiền thu (3.028.001 ₫) lớn hơn số còn phải nộp (3.028.000 ₫): chỉ thu đúng số còn phải nộp."),
    (dict(receipt_number=""), "receipt_number", "Nhập số biên lai đã lập cho khoản tiền mặt này (1 đến 40 ký tự)."),
    (dict(receipt_number="   "), "receipt_number", "Nhập số biên lai đã lập cho khoản tiền mặt này (1 đến 40 ký tự)."),
    (dict(receipt_number="X" * 41), "receipt_number",
     "Nhập số biên lai đã lập cho khoản tiền mặt này (1 đến 40 ký tự)."),
    (dict(amount_tendered="3000000"), "amount_tendered",
     "Số tiền người nộp đưa phải là số đồng, không nhỏ hơn số tiền thu."),
    (dict(amount_tendered="nhiều"), "amount_tendered", "Số tiền người nộp đưa không phải là một số"),
    (dict(note="x" * 1001), "note", "Ghi chú tối đa 1000 ký tự."),
])
def test_refusals_say_why_and_change_nothing(site, clerk, fields, field, message):
    make_request(site)
    response = cash(clerk, **fields)
    page = text(response)
    assert response.status_code == 422
    assert 'data-testid="cash-error"' in page and message in page
    assert f'data-error-for="{field}"' in page and f'aria-describedby="cash-err-{field}"' in page
    # What the clerk typed is still there; the dossier page is whole around the form.
    if fields.get("amount"):
        assert f'value="{fields["amount"]}"' in page
    assert "Phí, lệ phí" in page and "Yêu cầu thanh toán" in page
    unchanged(site)


def test_nothing_due_is_refused(site, clerk):
    make_request(site)
    assert cash(clerk).status_code == 302
    refused = cash(clerk, amount="1000", receipt_number="PT-000124")
    assert refused.status_code == 409
    assert re.search(r"Hồ sơ \S+ không còn khoản nào phải nộp\. Chưa có gì được lưu\.", text(refused))
    assert in_db(site, lambda s: s.scalar(select(func.count()).select_from(CashPayment))) == 1
    assert in_db(site, lambda s: s.scalar(select(Dossier.amount_paid))) == DUE


def test_a_refusal_in_english(site, clerk):
    make_request(site)
    clerk.get("/lang/en")
    page = text(cash(clerk, amount="3028001"))
    assert "more than what remains due" in page and "Record cash" in page and "Payments received" in page
    assert "Số tiền thu" not in page
    unchanged(site)


def test_cash_needs_a_signed_in_clerk(site):
    make_request(site)
    anonymous = site.test_client()
    token = csrf_token(anonymous)
    response = anonymous.post(CASH, data={"csrf_token": token, "amount": str(DUE), "receipt_number": "PT-1"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    unchanged(site)


@pytest.mark.parametrize("username, status", [("ketoan", 403), ("giamsat", 403), ("quantri", 302)])
def test_cash_roles(site, username, status):
    make_request(site)
    client = signed_in(site, username)
    data = {"csrf_token": csrf_token(client, "/"), "amount": str(DUE), "receipt_number": "PT-1"}
    response = client.post(CASH, data=data)
    assert response.status_code == status
    if status == 403:
        assert "Không có quyền truy cập" in text(response)
        unchanged(site)
    else:
        payment = in_db(site, lambda s: s.scalars(select(CashPayment)).one())
        assert (payment.clerk_username, payment.clerk_name) == ("quantri", "Cán bộ quantri")


def test_cash_without_csrf_token_is_refused(site, clerk):
    make_request(site)
    refused = clerk.post(CASH, data={"amount": str(DUE), "receipt_number": "PT-1"})
    assert refused.status_code == 400 and "CSRF" in text(refused)
    wrong = clerk.post(CASH, data={"csrf_token": "not-the-token", "amount": str(DUE), "receipt_number": "PT-1"})
    assert wrong.status_code == 400
    unchanged(site)


def test_cash_for_an_unknown_dossier_is_404(site, clerk):
    response = post(clerk, "/counter/dossiers/KHONG-CO/cash", {"amount": "1000", "receipt_number": "PT-1"})
    assert response.status_code == 404 and "Không tìm thấy hồ sơ" in text(response)


def test_the_ledger_changes_when_cash_is_taken(site, clerk):
    make_request(site)
    before = clerk.get(f"/counter/status.json?code={CODE}").get_json()
    assert before["ledger"] == "0|0|"
    cash(clerk)
    after = clerk.get(f"/counter/status.json?code={CODE}").get_json()
    assert after["ledger"] != before["ledger"] and after["ledger"].startswith(f"1|{DUE}|")
    assert after["payment_status"] == "paid"
    page = text(clerk.get(PAGE))
    assert f'data-ledger="{after["ledger"]}"' in page
