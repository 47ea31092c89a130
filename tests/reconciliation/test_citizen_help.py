"""The citizen is never left guessing (pages, SQLite and PostgreSQL): a part payment shows
what remains with a VietQR for exactly that; an overpayment says what is held and takes a
refund request into the finance queue (never approved by itself); "I paid but it does not
show" opens one inquiry, whose answer the page then shows."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import ict_day, utcnow
from core.db import db
from payments.models import Dossier, PaymentRequest
from qr.vietqr import decode
from reconciliation.inbound.transactions import record_transfer
from reconciliation.matching.reconcile import match_transaction
from reconciliation.models import ReconException, Refund
from reconciliation.workflow.exceptions import resolve
from reconciliation.workflow.refunds import decide
from tests.payments.test_pages import LAND_BODY, in_db, make_request, site, text  # noqa: F401
from tests.reconciliation.conftest import transfer_for

DUE = 3_028_000
VCB = "970436"


def pay(app, token: str, amount: int) -> None:
    def run(session):
        request = session.scalar(select(PaymentRequest).where(PaymentRequest.token == token))
        recorded = record_transfer(session, transfer_for(request, amount=amount), "statement")
        match_transaction(session, recorded.transaction)
        session.commit()
    in_db(app, run)


def form(client, url: str, data: dict):
    page = text(client.get(url))
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found:  # a page without the form (it was sent) still takes a post with the session's token
        client.csrf = found.group(1)
    return client.post(url + data.pop("_to"), data={"csrf_token": client.csrf, **data})


def test_part_payment_shows_the_balance_and_its_qr(site):
    token = make_request(site)
    pay(site, token, 1_000_000)
    client = site.test_client()
    page = text(client.get(f"/pay/{token}"))
    assert "Còn phải nộp 2.028.000 ₫" in page and 'data-testid="balance-qr"' in page
    balance = in_db(site, lambda s: s.scalar(select(PaymentRequest).where(PaymentRequest.status == "open")))
    assert balance.amount == 2_028_000
    assert decode(balance.qr_payload).amount == 2_028_000
    assert f"/pay/{balance.token}/qr.png" in page
    assert client.get(f"/pay/{balance.token}/qr.png").status_code == 200
    # the page again reuses the same request: no second one
    text(client.get(f"/pay/{token}"))
    assert in_db(site, lambda s: len(s.scalars(select(PaymentRequest)).all())) == 2


def test_overpayment_is_held_and_asked_back_through_the_four_eyes(site):
    token = make_request(site)
    pay(site, token, DUE + 4_000)
    client = site.test_client()
    url = f"/pay/{token}"
    page = text(client.get(url))
    assert "Bạn không cần làm gì thêm" not in page
    assert "Số tiền được giữ để hoàn trả: 4.000 ₫" in page and 'data-testid="refund-form"' in page
    # every error at once, in the summary, the typed values kept
    refused = form(client, url, {"_to": "/refund", "bank": "", "account": "12", "name": ""})
    assert refused.status_code == 422
    page = text(refused)
    assert re.findall(r'<a href="#(refund-[a-z]+)"', page) == ["refund-bank", "refund-account", "refund-name"]
    assert "<title>Lỗi:" in page and 'value="12"' in page
    assert in_db(site, lambda s: s.scalars(select(Refund)).all()) == []
    done = form(client, url, {"_to": "/refund", "bank": VCB, "account": "0011 0012 34567", "name": "Nguyễn Văn An"})
    assert done.status_code == 302
    refund = in_db(site, lambda s: s.scalar(select(Refund)))
    assert (refund.amount, refund.status, refund.beneficiary_account, refund.requested_by) == \
        (4_000, "requested", "0011001234567", f"citizen:{in_db(site, lambda s: s.scalar(select(PaymentRequest.reference)))}")
    page = text(client.get(url))
    assert "Đã tiếp nhận, chờ kế toán duyệt" in page and 'data-testid="refund-form"' not in page
    # asking twice takes nothing more
    again = form(client, url, {"_to": "/refund", "bank": VCB, "account": "0011001234567", "name": "X"})
    assert again.status_code == 422 and in_db(site, lambda s: len(s.scalars(select(Refund)).all())) == 1
    # the citizen cannot approve: only a finance officer other than the requester
    with pytest.raises(Exception):
        in_db(site, lambda s: decide(s, s.get(Refund, refund.id), refund.requested_by, approve=True))


def test_an_inquiry_goes_to_the_finance_queue_and_its_answer_comes_back(site):
    token = make_request(site)
    client = site.test_client()
    url = f"/pay/{token}"
    future = (ict_day(utcnow()) + timedelta(days=2)).isoformat()
    refused = form(client, url, {"_to": "/inquiry", "paid_on": future, "bank": "x", "amount": "2,5 triệu"})
    assert refused.status_code == 422
    page = text(refused)
    assert re.findall(r'<a href="#(inquiry-[a-z_]+)"', page) == ["inquiry-paid_on", "inquiry-bank", "inquiry-amount"]
    today = ict_day(utcnow()).isoformat()
    done = form(client, url, {"_to": "/inquiry", "paid_on": today, "bank": VCB, "amount": "3.028.000",
                              "bank_ref": "FT2633012345"})
    assert done.status_code == 302
    item = in_db(site, lambda s: s.scalar(select(ReconException).where(ReconException.reason == "citizen_inquiry")))
    dossier_id = in_db(site, lambda s: s.scalar(select(Dossier.id)))
    assert (item.status, item.dossier_id, item.amount) == ("open", dossier_id, DUE)
    assert item.deadline is not None and "FT2633012345" in item.detail
    # one open inquiry per dossier
    twice = form(client, url, {"_to": "/inquiry", "paid_on": today, "bank": VCB, "amount": "1000"})
    assert twice.status_code == 409
    assert in_db(site, lambda s: len(s.scalars(select(ReconException).where(
        ReconException.reason == "citizen_inquiry")).all())) == 1
    # the finance office answers; the citizen reads it
    in_db(site, lambda s: (resolve(s, s.get(ReconException, item.id), "user:ketoan",
                                   "Chưa thấy khoản chuyển trên sao kê ngày này; vui lòng gửi ảnh giao dịch."),
                           s.commit()))
    page = text(client.get(url))
    assert "Chưa thấy khoản chuyển trên sao kê" in page and 'data-testid="inquiry-form"' in page


def test_the_finance_office_takes_the_inquiry_and_answers_it_through_its_pages(site):
    from tests.payments.test_pages import post, signed_in

    token = make_request(site)
    client = site.test_client()
    url = f"/pay/{token}"
    today = ict_day(utcnow()).isoformat()
    assert form(client, url, {"_to": "/inquiry", "paid_on": today, "bank": VCB, "amount": "3028000"}).status_code == 302
    item_id = in_db(site, lambda s: s.scalar(select(ReconException.id).where(
        ReconException.reason == "citizen_inquiry")))
    ketoan = signed_in(site, "ketoan")
    queue = text(ketoan.get("/finance/exceptions?reason=citizen_inquiry"))
    assert f"/finance/exceptions/{item_id}" in queue
    assert "Người nộp báo đã chuyển khoản nhưng chưa thấy ghi nhận" in queue
    page = f"/finance/exceptions/{item_id}"
    assert ketoan.get(page).status_code == 200
    assert post(ketoan, f"{page}/assign", {"me": "1"}, page=page).status_code == 302
    assert in_db(site, lambda s: s.get(ReconException, item_id).owner) == "ketoan"
    answer = "Khoản chuyển ngày này chưa về tài khoản thu; sẽ kiểm tra lại khi có sao kê."
    assert post(ketoan, f"{page}/resolve", {"resolution": answer}, page=page).status_code == 302
    assert answer in text(client.get(url))
