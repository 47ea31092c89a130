"""The finance officer's pages through Flask's test client, on SQLite and PostgreSQL.

Money arrives through the real callback endpoints (the helpers of ``conftest``); the pages
call the real rules. Each request runs in its own app context and the database is read in
separate ones, so a view that forgot to commit (or committed a refused act) fails here.
CSRF protection is on, as in production: every POST reads its token from a page first.
"""
from __future__ import annotations

import csv
import io
import json
import re
import threading
import zipfile
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from simulator.statement_files import write_statement
from core.audit import AuditRecord
from core.clock import ICT, ict_day, utcnow
from core.db import db
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.models import CollectionAccount, Dossier, PaymentRequest
from reconciliation.web import finance_queries
from reconciliation.models import (Allocation, BankTransaction, DailyClose, ExceptionNote, MatchDecision,
                                   OutboxDelivery, OutboxEvent, ReconException, Refund, StatementImport)
from tests.staff import add_staff

from .conftest import make_request, ok, post, signed, transfer_for

PASSWORD = "Mật-khẩu-kế-toán-2026"
STAFF = {"ketoan": "finance", "ketoan2": "finance", "giamsat": "supervisor", "quantri": "admin",
         "motcua": "counter", "truongphong": ("finance", "admin")}
HOANKIEM = "108405063352"  # P-HOANKIEM's collection account (payments/data/accounts.csv)
SOTP = "107418055433"
FIXTURES = Path(__file__).resolve().parents[1] / "bank_adapters" / "fixtures" / "statements"


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def site(app):
    with app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        add_staff(db.session, STAFF, PASSWORD)
        db.session.commit()
    return app


def in_db(app, fn):
    with app.app_context():
        return fn(db.session)


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrf_token" value="([^"]+)"', text(page))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def signed_in(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "username": username,
                                           "password": PASSWORD})
    assert response.status_code == 302, text(response)
    return client


@pytest.fixture
def ketoan(site):
    return signed_in(site, "ketoan")


@pytest.fixture
def ketoan2(site):
    return signed_in(site, "ketoan2")


def form_post(client, url: str, data: dict, page: str = "/finance/exceptions", **kwargs):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)


def new_request(app, **kwargs):
    return in_db(app, lambda s: make_request(s, **kwargs))


def pay(app, request, via: str = "bankdirect", **kwargs):
    """A transfer for ``request`` through the bank's real callback endpoint."""
    transfer = transfer_for(request, **kwargs)
    posted = post(app.test_client(), via, *signed(via, transfer))
    assert ok(via, posted), posted.body
    return transfer


def transaction_of(app, transfer) -> int:
    return in_db(app, lambda s: s.scalar(select(BankTransaction.id).where(BankTransaction.bank_ref == transfer.bank_ref)))


def exception_of(app, transaction_id: int, reason: str | None = None) -> int:
    def find(s):
        query = select(ReconException.id).where(ReconException.transaction_id == transaction_id)
        if reason:
            query = query.where(ReconException.reason == reason)
        return s.scalar(query.order_by(ReconException.id.desc()))
    return in_db(app, find)


def snapshot(app) -> dict:
    """What an act may change: a refused act leaves every figure as it was."""
    def take(s):
        count = lambda model: s.scalar(select(func.count()).select_from(model))
        return {
            "allocations": [(a.id, a.amount, a.reversed_at is None) for a in s.scalars(select(Allocation).order_by(Allocation.id))],
            "transactions": [(t.id, t.allocated, t.status, t.disposition) for t in s.scalars(select(BankTransaction).order_by(BankTransaction.id))],
            "exceptions": [(e.id, e.status, e.owner, e.deadline) for e in s.scalars(select(ReconException).order_by(ReconException.id))],
            "refunds": [(r.id, r.status, r.amount) for r in s.scalars(select(Refund).order_by(Refund.id))],
            "dossiers": [(d.id, d.amount_paid) for d in s.scalars(select(Dossier).order_by(Dossier.id))],
            "closes": [(c.id, c.status) for c in s.scalars(select(DailyClose).order_by(DailyClose.id))],
            "decisions": count(MatchDecision), "notes": count(ExceptionNote), "audit": count(AuditRecord),
            "events": count(OutboxEvent),
        }
    return in_db(app, take)


def unknown_transfer(app, *, amount: int = 8000, content: str = "CHUYEN TIEN NOP PHI", on_statement: bool = True,
                     **kwargs):
    """A credit on P-HOANKIEM's account that names no request: unknown_reference. The bank's
    statement shows it too (money is refunded only once a statement proves it arrived)."""
    request = new_request(app, amount=amount)
    transfer = pay(app, request, content=content, **kwargs)
    if on_statement:
        import io

        from simulator.statement_files import write_statement
        from core.clock import ict_day
        from reconciliation.inbound.statement_import import import_statement

        day = ict_day(transfer.booked_at)
        buffer = io.BytesIO()
        write_statement("mt940", buffer, account=transfer.account, bank_bin=transfer.bank_bin, day_from=day,
                        day_to=day, opening_balance=1_000_000, transfers=[transfer])
        buffer.seek(0)
        in_db(app, lambda s: import_statement(s, buffer, filename=f"{transfer.bank_ref}.sta", actor="test"))
    return request, transfer


# ---------------------------------------------------------------------------------------------
# Access


PAGES = ("/finance/exceptions", "/finance/transactions", "/finance/refunds", "/finance/days", "/finance/statements",
         "/finance/exports")


def test_the_pages_are_for_finance_supervisors_and_admins(site):
    anonymous = site.test_client()
    for url in PAGES:
        response = anonymous.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    clerk = signed_in(site, "motcua")
    for url in PAGES + ("/admin/events/",):
        assert clerk.get(url).status_code == 403
    for username in ("ketoan", "giamsat", "quantri"):
        client = signed_in(site, username)
        for url in PAGES:
            page = client.get(url)
            assert page.status_code == 200, (username, url)
            assert ("chế độ chỉ đọc" in text(page)) == (username == "giamsat")
        nav = text(client.get("/finance/exceptions"))
        assert 'href="/finance/exceptions">Kế toán, đối soát</a>' in nav
    assert signed_in(site, "ketoan").get("/admin/events/").status_code == 403
    assert signed_in(site, "quantri").get("/admin/events/").status_code == 200
    assert signed_in(site, "ketoan").get("/finance/").headers["Location"] == "/finance/exceptions"


def test_supervisor_sees_no_action_form_and_cannot_act(site):
    request, transfer = unknown_transfer(site)
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    supervisor = signed_in(site, "giamsat")
    page = text(supervisor.get(f"/finance/exceptions/{eid}"))
    assert "Không nhận ra mã thanh toán" in page and transfer.bank_ref in page
    assert post_forms(page) == ["/logout"]  # the only form is signing out
    day = text(supervisor.get(f"/finance/days/{account_id(site, HOANKIEM)}/{ict_day(utcnow()).isoformat()}"))
    assert post_forms(day) == ["/logout"]
    refund_id = in_db(site, lambda s: _refund(s, tid))
    day_url = f"/finance/days/{account_id(site, HOANKIEM)}/{ict_day(utcnow()).isoformat()}"
    before = snapshot(site)
    token_page = "/finance/exceptions"
    for url, data in [
        (f"/finance/transactions/{tid}/match", {"target-0": request.reference, "amount-0": "8000", "note": "x",
                                                "step": "confirm"}),
        (f"/finance/transactions/{tid}/not-ours", {"reason": "nhầm"}),
        (f"/finance/exceptions/{eid}/assign", {"me": "1"}),
        (f"/finance/exceptions/{eid}/notes", {"text": "ghi chú"}),
        (f"/finance/exceptions/{eid}/resolve", {"resolution": "xong"}),
        ("/finance/refunds", {"transaction_id": str(tid), "amount": "1000", "reason": "x", "beneficiary_bank": "970436",
                              "beneficiary_account": "0011001234567", "beneficiary_name": "NGUYEN VAN A"}),
        (f"/finance/transactions/{tid}/unmatch", {"reason": "nhầm"}),
        (f"/finance/refunds/{refund_id}/decide", {"decision": "approve"}),
        (f"/finance/refunds/{refund_id}/paid", {"payout_ref": "FT1"}),
        (f"{day_url}/run", {}), (f"{day_url}/close", {}), (f"{day_url}/reopen", {"reason": "x"}),
        ("/finance/statements", {"file": (io.BytesIO(b"x"), "x.csv")}),
    ]:
        response = form_post(supervisor, url, data, token_page)
        assert response.status_code == 403, url
        assert "không có quyền" in text(response)
    assert snapshot(site) == before


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(site, ketoan):
    request, transfer = unknown_transfer(site)
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    refund_id = in_db(site, lambda s: _refund(s, tid))
    day_url = f"/finance/days/{account_id(site, HOANKIEM)}/{ict_day(utcnow()).isoformat()}"
    before = snapshot(site)
    for url, data in [
        (f"/finance/transactions/{tid}/match", {"target-0": request.reference, "amount-0": "8000", "note": "đã kiểm tra",
                                                "step": "confirm"}),
        (f"/finance/transactions/{tid}/not-ours", {"reason": "nhầm"}),
        (f"/finance/exceptions/{eid}/resolve", {"resolution": "xong"}),
        (f"/finance/transactions/{tid}/unmatch", {"reason": "nhầm"}),
        (f"/finance/exceptions/{eid}/assign", {"me": "1"}),
        (f"/finance/exceptions/{eid}/notes", {"text": "ghi chú"}),
        ("/finance/refunds", {"transaction_id": str(tid), "amount": "1000", "reason": "x", "beneficiary_bank": "970436",
                              "beneficiary_account": "0011001234567", "beneficiary_name": "NGUYEN VAN A"}),
        (f"/finance/refunds/{refund_id}/decide", {"decision": "approve"}),
        (f"{day_url}/run", {}), (f"{day_url}/close", {}), (f"{day_url}/reopen", {"reason": "x"}),
        ("/finance/statements", {"file": (io.BytesIO(b"x"), "x.csv")}),
    ]:
        response = ketoan.post(url, data=data)
        assert response.status_code == 400 and "CSRF" in text(response), url
    assert snapshot(site) == before


def _refund(session, transaction_id: int) -> int:
    """A refund waiting for approval (made with the rule, as another officer would)."""
    from reconciliation.workflow.refunds import request_refund

    refund = request_refund(session, amount=1000, reason="trả lại", beneficiary_bank="970436",
                            beneficiary_account="0011001234567", beneficiary_name="NGUYEN VAN A", actor="user:ketoan2",
                            transaction_id=transaction_id)
    session.commit()
    return refund.id


def post_forms(html: str) -> list[str]:
    return re.findall(r'<form\b(?=[^>]*method="post")[^>]*action="([^"]+)"', html)


def account_id(app, number: str) -> int:
    return in_db(app, lambda s: s.scalar(select(CollectionAccount.id).where(CollectionAccount.number == number)))


# ---------------------------------------------------------------------------------------------
# The queue


def test_the_queue_by_reason_and_age_and_its_search(site, ketoan):
    _, unknown = unknown_transfer(site, content="CHUYEN TIEN LE PHI HO TICH")
    partial_request = new_request(site, amount=10000)
    pay(site, partial_request, amount=6000)  # amount_mismatch
    over_request = new_request(site, amount=8000)
    pay(site, over_request, amount=9500)  # overpaid
    page = text(ketoan.get("/finance/exceptions"))
    assert "3 mục đang mở" in page
    by_reason = page.split('data-testid="by-reason"')[1].split("</table>")[0]
    for label in ("Không nhận ra mã thanh toán", "Sai số tiền", "Nộp thừa"):
        assert label in by_reason
    assert "1.500 ₫" in by_reason  # the excess held for refund
    queue = lambda **args: text(ketoan.get("/finance/exceptions", query_string=args))
    rows = lambda html: re.findall(r'data-exception="(\d+)"', html)
    assert len(rows(page)) == 3
    assert len(rows(queue(reason="overpaid"))) == 1
    assert len(rows(queue(amount="9.500"))) == 1
    assert len(rows(queue(content="ho tich"))) == 1
    assert len(rows(queue(content=unknown.bank_ref[-6:]))) == 1  # a piece of the bank's reference
    assert len(rows(queue(content="100%_"))) == 0  # LIKE wildcards are searched for, not used
    assert len(rows(queue(payer="nguyen van"))) == 3
    assert len(rows(queue(payer="0011001234567"))) == 3
    assert len(rows(queue(account=HOANKIEM))) == 3
    assert len(rows(queue(account=SOTP))) == 0
    today = ict_day(utcnow())
    assert len(rows(queue(**{"from": today.isoformat(), "to": today.isoformat()}))) == 3
    assert len(rows(queue(**{"from": (today + timedelta(days=1)).isoformat()}))) == 0
    assert len(rows(queue(age="new"))) == 3 and len(rows(queue(age="3+"))) == 0
    assert "Số tiền là số đồng nguyên dương" in queue(amount="mười nghìn")
    assert "Ngày kết thúc phải từ ngày bắt đầu trở đi" in queue(**{"from": "2026-11-25", "to": "2026-11-01"})
    # An old item: in the "over 3 days" bucket, and overdue once its deadline has passed.
    eid = exception_of(site, transaction_of(site, unknown))

    def age(s):
        item = s.get(ReconException, eid)
        item.created_at = utcnow() - timedelta(days=5)
        item.deadline = today - timedelta(days=1)
        s.commit()
    in_db(site, age)
    assert rows(queue(age="3+")) == [str(eid)] and rows(queue(overdue="1")) == [str(eid)]
    assert rows(queue())[0] == str(eid)  # the most urgent first
    assert "quá hạn" in queue(overdue="1")
    # An item about a statement, not a transaction: listed, and settled on its own page.
    from reconciliation.workflow.exceptions import open_exception

    def statement_item(s):
        item = open_exception(s, "balance_mismatch", account_id=s.scalar(select(CollectionAccount.id).where(
            CollectionAccount.number == HOANKIEM)), amount=1200, detail="opening differs", actor="rule:test")
        s.commit()
        return item.id
    sid = in_db(site, statement_item)
    assert str(sid) in rows(queue(account=HOANKIEM)) and "Lệch số dư sao kê" in queue(reason="balance_mismatch")
    item_page = text(ketoan.get(f"/finance/exceptions/{sid}"))
    assert 'data-testid="transaction"' not in item_page and "1.200 ₫" in item_page
    assert post_forms(item_page) == ["/logout", f"/finance/exceptions/{sid}/assign", f"/finance/exceptions/{sid}/notes",
                                     f"/finance/exceptions/{sid}/resolve"]
    assert form_post(ketoan, f"/finance/exceptions/{sid}/resolve", {"resolution": "Ngân hàng gửi lại sao kê"},
                     f"/finance/exceptions/{sid}").status_code == 302


def test_the_queue_and_the_transactions_are_paginated(site, ketoan, monkeypatch):
    monkeypatch.setattr(finance_queries, "PER_PAGE", 2)
    for n in range(3):
        unknown_transfer(site, content=f"CHUYEN TIEN {n}")
    first = text(ketoan.get("/finance/exceptions"))
    assert len(re.findall(r'data-exception="(\d+)"', first)) == 2
    assert "Trang 1/2" in first and 'rel="next" class="button ghost" href="/finance/exceptions?page=2"' in first
    second = text(ketoan.get("/finance/exceptions?page=2"))
    assert len(re.findall(r'data-exception="(\d+)"', second)) == 1 and "3–3 trong số 3" in second
    listed = text(ketoan.get("/finance/transactions?page=2&direction=in"))
    assert "3–3 trong số 3" in listed and "page=1" in listed and "direction=in" in listed
    assert "Không có giao dịch nào" in text(ketoan.get("/finance/transactions?amount=1"))


@pytest.mark.parametrize("path, prefix", [("/finance/exceptions", "f"), ("/finance/transactions", "t")])
def test_a_bad_search_is_shown_on_its_field_and_the_input_kept(site, ketoan, path, prefix):
    """Both lists share their search fields: a wrong amount or day is named on its field
    (and its value kept), the other fields keep what was typed."""
    response = ketoan.get(path, query_string={"amount": "12,5", "from": "2026-02-30", "content": "le phi"})
    page = text(response)
    assert f'id="{prefix}-amount" name="amount" inputmode="numeric" value="12,5" aria-invalid="true"' in page
    assert f'id="{prefix}-from" name="from" type="date" value="" aria-invalid="true"' in page
    assert page.count('class="field-error"') == 2
    assert f'id="{prefix}-content" name="content" value="le phi"' in page
    assert f'id="{prefix}-to" name="to" type="date" value=""' in page and f'id="{prefix}-payer"' in page


# ---------------------------------------------------------------------------------------------
# One item: suggestions, match, split, unmatch, not ours


def test_a_suggestion_is_shown_with_its_evidence_and_applied_in_one_click(site, ketoan):
    request = new_request(site, amount=8000)
    ref = request.reference
    damaged = ref[:-1] + ("2" if ref[-1] != "2" else "3")
    transfer = pay(site, request, content=f"IBFT {damaged} LE PHI")
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid, "unknown_reference")
    page = text(ketoan.get(f"/finance/exceptions/{eid}"))
    suggestions = page.split('data-testid="suggestions"')[1].split("</section>")[0]
    assert "Mã gần giống (sai hoặc đảo một ký tự)" in suggestions and "55 %" in suggestions and ref in suggestions
    assert "#1" in suggestions and "8.000 ₫" in suggestions
    evidence = page.split('data-testid="evidence"')[1].split("</dl>")[0]
    assert "Mã hỏng (sai ký tự kiểm tra)" in evidence and damaged in evidence
    response = form_post(ketoan, f"/finance/transactions/{tid}/match",
                         {"form": "suggestion-1", "step": "confirm", "exception_id": str(eid), "target-0": ref,
                          "amount-0": "8.000", "note": "Theo gợi ý: mã gần giống"}, f"/finance/exceptions/{eid}")
    assert response.status_code == 302 and response.headers["Location"] == f"/finance/exceptions/{eid}"
    after = text(ketoan.get(f"/finance/exceptions/{eid}"))
    assert "Đã ghép 8.000 ₫ của giao dịch" in after and "Đã xử lý" in after

    def check(s):
        allocation = s.scalars(select(Allocation)).one()
        assert (allocation.amount, allocation.rule, allocation.created_by) == (8000, "manual_match", "user:ketoan")
        assert s.get(PaymentRequest, request.id).status == "paid"
        assert s.get(ReconException, eid).status == "resolved"
    in_db(site, check)


def test_a_manual_match_is_previewed_then_confirmed(site, ketoan):
    request, transfer = unknown_transfer(site, content="NOP TIEN HO SO")
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    code = in_db(site, lambda s: s.get(Dossier, request.dossier_id).code)
    before = snapshot(site)
    preview = form_post(ketoan, f"/finance/transactions/{tid}/match",
                        {"form": "match", "exception_id": str(eid), "target-0": code, "amount-0": "8000",
                         "note": "Người nộp gọi điện xác nhận"}, f"/finance/exceptions/{eid}")
    assert preview.status_code == 200
    body = text(preview)
    assert "Xác nhận ghép giao dịch" in body and code in body and "Nguyễn Văn A" in body
    assert 'name="step" value="confirm"' in body and "Người nộp gọi điện xác nhận" in body
    assert snapshot(site) == before  # a preview changes nothing
    done = form_post(ketoan, f"/finance/transactions/{tid}/match",
                     {"form": "match", "step": "confirm", "exception_id": str(eid), "target-0": code,
                      "amount-0": "8000", "note": "Người nộp gọi điện xác nhận"}, f"/finance/exceptions/{eid}")
    assert done.status_code == 302
    assert in_db(site, lambda s: s.get(BankTransaction, tid).status) == "matched"
    assert in_db(site, lambda s: s.get(Dossier, request.dossier_id).amount_paid) == 8000
    by_ref = text(ketoan.get(f"/finance/transactions/{tid}"))
    # The actor by name, never its code (user:ketoan); the resolution worded for people.
    assert "Ghép thủ công" in by_ref and "Cán bộ ketoan" in by_ref and "user:ketoan" not in by_ref


def test_every_refusal_of_a_match_is_told_and_changes_nothing(site, ketoan):
    request, transfer = unknown_transfer(site, amount=8000)
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    page = f"/finance/exceptions/{eid}"
    base = {"form": "match", "step": "confirm", "exception_id": str(eid), "target-0": request.reference}
    before = snapshot(site)
    cases = [
        ({"amount-0": "8000", "note": ""}, 422, "Nhập lý do ghép: bạn đã kiểm tra những gì"),
        ({"amount-0": "tám nghìn", "note": "x"}, 422, "Số tiền là số đồng nguyên dương"),
        ({"amount-0": "0", "note": "x"}, 422, "Số tiền là số đồng nguyên dương"),
        ({"amount-0": "9000", "note": "x"}, 409, "Tổng số tiền ghép (9.000 ₫) lớn hơn số còn lại của giao dịch (8.000 ₫)"),
        ({"target-0": "HSKHONGCO", "amount-0": "8000", "note": "x"}, 422, "Không có yêu cầu thanh toán hay hồ sơ nào mang mã “HSKHONGCO”"),
        ({"target-0": "", "amount-0": "", "note": "x"}, 422, "Nhập ít nhất một dòng"),
        ({"target-0": "", "amount-0": "8000", "note": "x"}, 422, "Nhập mã yêu cầu thanh toán hoặc mã hồ sơ."),
    ]
    for data, status, message in cases:
        response = form_post(ketoan, f"/finance/transactions/{tid}/match", {**base, **data}, page)
        assert response.status_code == status, (data, text(response)[:300])
        assert message in text(response), data
        assert "Chưa có gì thay đổi" in text(response)
    # The preview refuses an unknown code as well, before anything is asked.
    preview = form_post(ketoan, f"/finance/transactions/{tid}/match", {**base, "step": "preview", "target-0": "ABC",
                                                                       "amount-0": "8000", "note": "x"}, page)
    assert preview.status_code == 422 and "“ABC”" in text(preview)
    assert snapshot(site) == before
    assert ketoan.get("/finance/transactions/999999").status_code == 404


def test_a_transaction_is_split_across_two_dossiers(site, ketoan):
    first, second = new_request(site, amount=8000), new_request(site, amount=28000)
    transfer = pay(site, first, amount=36000, content="NOP PHI HAI HO SO")
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    second_code = in_db(site, lambda s: s.get(Dossier, second.dossier_id).code)
    page = f"/finance/exceptions/{eid}"
    assert 'data-testid="split-form"' in text(ketoan.get(page))
    assert 'name="target-5"' in text(ketoan.get(page + "?rows=6"))  # more rows without JavaScript
    rows = {"form": "split", "exception_id": str(eid), "target-0": first.reference, "amount-0": "8.000",
            "target-1": second_code, "amount-1": "28.000", "note": "Hai hồ sơ của cùng người nộp"}
    preview = form_post(ketoan, f"/finance/transactions/{tid}/match", rows, page)
    assert preview.status_code == 200 and "Xác nhận chia giao dịch" in text(preview)
    assert "36.000 ₫" in text(preview).split('data-testid="confirm-total"')[1][:40]
    before = snapshot(site)
    too_much = form_post(ketoan, f"/finance/transactions/{tid}/match", {**rows, "amount-1": "29000", "step": "confirm"},
                         page)
    assert too_much.status_code == 409 and "37.000 ₫" in text(too_much)
    half = form_post(ketoan, f"/finance/transactions/{tid}/match", {**rows, "amount-1": "", "step": "confirm"}, page)
    assert half.status_code == 422 and "Nhập số tiền ghép cho dòng này" in text(half)
    assert snapshot(site) == before
    done = form_post(ketoan, f"/finance/transactions/{tid}/match", {**rows, "step": "confirm"}, page)
    assert done.status_code == 302

    def check(s):
        made = s.scalars(select(Allocation).order_by(Allocation.id)).all()
        assert [(a.amount, a.rule) for a in made] == [(8000, "manual_split"), (28000, "manual_split")]
        assert s.get(BankTransaction, tid).status == "matched"
    in_db(site, check)


def test_unmatch_needs_a_reason_and_something_to_undo(site, ketoan):
    request = new_request(site, amount=8000)
    transfer = pay(site, request)  # matched by the rules
    tid = transaction_of(site, transfer)
    page = f"/finance/transactions/{tid}"
    assert "Gỡ ghép…" in text(ketoan.get(page)) and "Không thuộc đơn vị (trả lại" not in text(ketoan.get(page))
    before = snapshot(site)
    paying = form_post(ketoan, f"/finance/transactions/{tid}/not-ours", {"reason": "nhầm"}, page)
    assert paying.status_code == 409 and "gỡ ghép trước rồi mới đánh dấu" in text(paying)
    refused = form_post(ketoan, f"/finance/transactions/{tid}/unmatch", {"reason": "  "}, page)
    assert refused.status_code == 422 and "Nhập lý do gỡ ghép" in text(refused)
    assert snapshot(site) == before
    done = form_post(ketoan, f"/finance/transactions/{tid}/unmatch", {"reason": "Ghép nhầm hồ sơ"}, page)
    assert done.status_code == 302

    def check(s):
        assert s.scalars(select(Allocation)).one().reverse_reason == "Ghép nhầm hồ sơ"
        assert s.get(BankTransaction, tid).status == "unmatched"
        assert s.get(Dossier, request.dossier_id).amount_paid == 0
        return s.scalar(select(ReconException.reason).where(ReconException.transaction_id == tid,
                                                            ReconException.status == "open"))
    assert in_db(site, check) == "unknown_reference"  # back in the queue
    before = snapshot(site)
    again = form_post(ketoan, f"/finance/transactions/{tid}/unmatch", {"reason": "lần nữa"}, page)
    assert again.status_code == 409 and "không có khoản phân bổ nào để gỡ" in text(again)
    assert snapshot(site) == before


# ---------------------------------------------------------------------------------------------
# Not ours, refunds, four eyes


def test_not_ours_then_a_refund_requested_by_one_and_approved_by_another(site, ketoan, ketoan2):
    _, transfer = unknown_transfer(site, amount=50000, content="CHUYEN NHAM TAI KHOAN")
    tid = transaction_of(site, transfer)
    eid = exception_of(site, tid)
    page = f"/finance/exceptions/{eid}"
    before = snapshot(site)
    refused = form_post(ketoan, f"/finance/transactions/{tid}/not-ours", {"exception_id": str(eid), "reason": ""}, page)
    assert refused.status_code == 422 and "vì sao khoản tiền này không thuộc đơn vị" in text(refused)
    assert snapshot(site) == before
    done = form_post(ketoan, f"/finance/transactions/{tid}/not-ours",
                     {"exception_id": str(eid), "reason": "Người dân chuyển nhầm"}, page)
    assert done.status_code == 302
    assert in_db(site, lambda s: (s.get(BankTransaction, tid).disposition, s.get(ReconException, eid).status)) == \
        ("not_ours", "resolved")
    after = text(ketoan.get(page))
    assert "Không thuộc đơn vị, chờ trả lại" in after and "Đề nghị hoàn tiền từ giao dịch (tối đa 50.000 ₫)" in after

    # The form is filled with the payer's account; the rules check everything again.
    form = text(ketoan.get(f"/finance/refunds/new?transaction_id={tid}&exception_id={eid}"))
    assert 'value="0011001234567"' in form and 'value="NGUYEN VAN A"' in form and 'value="970436" selected' in form
    new = f"/finance/refunds/new?transaction_id={tid}"
    fields = {"transaction_id": str(tid), "exception_id": str(eid), "amount": "50.000", "reason": "Trả lại người chuyển nhầm",
              "beneficiary_bank": "970436", "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyen Van A"}
    before = snapshot(site)
    bad = form_post(ketoan, "/finance/refunds", {**fields, "amount": "abc", "reason": "", "beneficiary_bank": "123",
                                                 "beneficiary_account": "12"}, new)
    assert bad.status_code == 422
    for message in ("Có vấn đề cần sửa", "Số tiền hoàn không phải là một số", "Nhập lý do hoàn tiền",
                    "Chọn ngân hàng của tài khoản nhận", "Số tài khoản nhận gồm 6 đến 19"):
        assert message in text(bad)
    # every error at once, in a summary linking to the fields in the form's order; no browser bubbles
    assert re.findall(r'<a href="#([a-z_]+)" data-error-link', text(bad)) == \
        ["amount", "beneficiary_bank", "beneficiary_account", "reason"]
    assert 'data-testid="refund-form" novalidate' in text(bad) and 'value="abc"' in text(bad)
    too_much = form_post(ketoan, "/finance/refunds", {**fields, "amount": "50001"}, new)
    assert too_much.status_code == 409 and "lớn hơn số còn có thể hoàn (50.000 ₫)" in text(too_much)
    assert snapshot(site) == before
    created = form_post(ketoan, "/finance/refunds", fields, new)
    assert created.status_code == 302
    refund_id = int(created.headers["Location"].rsplit("/", 1)[1])
    # A second officer at the same time cannot refund the same đồng again.
    again = form_post(ketoan2, "/finance/refunds", {**fields, "amount": "1"}, new)
    assert again.status_code == 409 and "(0 ₫)" in text(again)

    # Four eyes: the requester sees no approve button, and a forged POST is refused.
    own = text(ketoan.get(f"/finance/refunds/{refund_id}"))
    assert "Chờ duyệt" in own and 'data-testid="four-eyes"' in own and 'data-testid="approve"' not in own
    before = snapshot(site)
    self_approved = form_post(ketoan, f"/finance/refunds/{refund_id}/decide", {"decision": "approve"},
                              f"/finance/refunds/{refund_id}")
    assert self_approved.status_code == 403 and "Nguyên tắc bốn mắt" in text(self_approved)
    not_yet = form_post(ketoan2, f"/finance/refunds/{refund_id}/paid", {"payout_ref": "FT1"}, f"/finance/refunds/{refund_id}")
    assert not_yet.status_code == 409 and "đang ở trạng thái “Chờ duyệt”: không làm được việc này nữa" in text(not_yet)
    assert snapshot(site) == before
    other = text(ketoan2.get(f"/finance/refunds/{refund_id}"))
    assert 'data-testid="approve"' in other
    approved = form_post(ketoan2, f"/finance/refunds/{refund_id}/decide", {"decision": "approve", "note": "Đã kiểm tra"},
                         f"/finance/refunds/{refund_id}")
    assert approved.status_code == 302
    twice = form_post(ketoan2, f"/finance/refunds/{refund_id}/decide", {"decision": "reject", "note": "x"},
                      f"/finance/refunds/{refund_id}")
    assert twice.status_code == 409 and "Đã duyệt, chờ chuyển trả" in text(twice)
    no_ref = form_post(ketoan, f"/finance/refunds/{refund_id}/paid", {"payout_ref": " "}, f"/finance/refunds/{refund_id}")
    assert no_ref.status_code == 422 and "Nhập số tham chiếu của ngân hàng" in text(no_ref)
    paid = form_post(ketoan, f"/finance/refunds/{refund_id}/paid", {"payout_ref": "FT26330999"},
                     f"/finance/refunds/{refund_id}")
    assert paid.status_code == 302
    refund = in_db(site, lambda s: s.get(Refund, refund_id))
    assert (refund.status, refund.requested_by, refund.decided_by, refund.payout_ref, refund.beneficiary_name) == \
        ("paid", "user:ketoan", "user:ketoan2", "FT26330999", "NGUYEN VAN A")
    listed = text(ketoan.get("/finance/refunds?status=paid"))
    assert f"#{refund_id}" in listed and "50.000 ₫" in listed and "Đã chuyển trả" in listed


def test_an_admin_is_not_the_second_pair_of_eyes(site, ketoan):
    request = new_request(site, amount=8000)
    pay(site, request, amount=10000)
    new = f"/finance/refunds/new?dossier_id={request.dossier_id}"
    created = form_post(ketoan, "/finance/refunds", {"dossier_id": str(request.dossier_id), "amount": "2000",
                                                     "reason": "Nộp thừa", "beneficiary_bank": "970436",
                                                     "beneficiary_account": "0011001234567",
                                                     "beneficiary_name": "NGUYEN VAN A"}, new)
    refund_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = f"/finance/refunds/{refund_id}"
    admin = signed_in(site, "quantri")
    shown = text(admin.get(page))
    assert "Chờ duyệt" in shown and 'data-testid="approve"' not in shown  # admin may read, not decide
    before = snapshot(site)
    for decision in ({"decision": "approve"}, {"decision": "reject", "note": "Không"}):
        refused = admin.post(f"{page}/decide", data={"csrf_token": csrf_token(admin, page), **decision})
        assert refused.status_code == 403 and "Không có quyền truy cập" in text(refused)
    assert admin.get(new).status_code == 403  # nor request one
    assert snapshot(site) == before
    # A finance officer who is also admin decides like any other officer.
    chef = signed_in(site, "truongphong")
    assert 'data-testid="approve"' in text(chef.get(page))
    approved = form_post(chef, f"{page}/decide", {"decision": "approve"}, page)
    assert approved.status_code == 302
    assert in_db(site, lambda s: (s.get(Refund, refund_id).status, s.get(Refund, refund_id).decided_by)) == \
        ("approved", "user:truongphong")


def test_the_excess_of_an_overpaid_dossier_is_refunded_within_what_is_left(site, ketoan, ketoan2):
    request = new_request(site, amount=8000)
    transfer = pay(site, request, amount=10000)
    eid = exception_of(site, transaction_of(site, transfer), "overpaid")
    page = text(ketoan.get(f"/finance/exceptions/{eid}"))
    assert "Đề nghị hoàn số nộp thừa của hồ sơ" in page and "(tối đa 2.000 ₫)" in page
    new = f"/finance/refunds/new?dossier_id={request.dossier_id}&exception_id={eid}"
    assert 'value="2.000"' in text(ketoan.get(new))
    fields = {"dossier_id": str(request.dossier_id), "exception_id": str(eid), "amount": "2000",
              "reason": "Nộp thừa", "beneficiary_bank": "970436", "beneficiary_account": "0011001234567",
              "beneficiary_name": "NGUYEN VAN A"}
    assert form_post(ketoan, "/finance/refunds", {**fields, "amount": "1500"}, new).status_code == 302
    before = snapshot(site)
    over = form_post(ketoan2, "/finance/refunds", {**fields, "amount": "600"}, new)
    assert over.status_code == 409 and "(500 ₫)" in text(over)  # 1 500 of the 2 000 is already held
    assert snapshot(site) == before
    refund_id = in_db(site, lambda s: s.scalar(select(Refund.id)))
    no_note = form_post(ketoan2, f"/finance/refunds/{refund_id}/decide", {"decision": "reject"},
                        f"/finance/refunds/{refund_id}")
    assert no_note.status_code == 422 and "Nhập lý do từ chối" in text(no_note)
    assert snapshot(site) == before
    rejected = form_post(ketoan2, f"/finance/refunds/{refund_id}/decide", {"decision": "reject", "note": "Sai số tiền"},
                         f"/finance/refunds/{refund_id}")
    assert rejected.status_code == 302
    assert form_post(ketoan, "/finance/refunds", fields, new).status_code == 302  # all 2 000 again
    assert in_db(site, lambda s: [(r.amount, r.status) for r in s.scalars(select(Refund).order_by(Refund.id))]) == \
        [(1500, "rejected"), (2000, "requested")]


def test_assign_note_and_resolve_with_their_refusals(site, ketoan):
    _, transfer = unknown_transfer(site)
    eid = exception_of(site, transaction_of(site, transfer))
    page = f"/finance/exceptions/{eid}"
    before = snapshot(site)
    bad_date = form_post(ketoan, f"/finance/exceptions/{eid}/assign", {"owner": "ketoan2", "deadline": "mai"}, page)
    assert bad_date.status_code == 422 and "Hạn xử lý viết dạng ngày/tháng/năm" in text(bad_date)
    empty_note = form_post(ketoan, f"/finance/exceptions/{eid}/notes", {"text": "   "}, page)
    assert empty_note.status_code == 422 and "Nhập nội dung ghi chú" in text(empty_note)
    no_resolution = form_post(ketoan, f"/finance/exceptions/{eid}/resolve", {"resolution": ""}, page)
    assert no_resolution.status_code == 422 and "Nhập lý do xử lý: đã giải quyết thế nào" in text(no_resolution)
    assert snapshot(site) == before
    deadline = ict_day(utcnow()) + timedelta(days=2)
    assert form_post(ketoan, f"/finance/exceptions/{eid}/assign",
                     {"owner": "ketoan2", "deadline": deadline.strftime("%d/%m/%Y")}, page).status_code == 302
    assert form_post(ketoan, f"/finance/exceptions/{eid}/notes", {"text": "Đã gọi ngân hàng"}, page).status_code == 302
    shown = text(ketoan.get(page))
    assert "Đã gọi ngân hàng" in shown and deadline.strftime("%d/%m/%Y") in shown
    assert re.search(r'data-testid="owner">Cán bộ ketoan2<', shown)  # by name, not username
    assert form_post(ketoan, f"/finance/exceptions/{eid}/assign", {"me": "1"}, page).status_code == 302
    assert in_db(site, lambda s: s.get(ReconException, eid).owner) == "ketoan"
    assert form_post(ketoan, f"/finance/exceptions/{eid}/resolve",
                     {"resolution": "Không phải khoản nộp phí", "status": "dismissed"}, page).status_code == 302
    assert in_db(site, lambda s: s.get(ReconException, eid).status) == "dismissed"
    before = snapshot(site)
    again = form_post(ketoan, f"/finance/exceptions/{eid}/resolve", {"resolution": "lại"}, page)
    assert again.status_code == 409 and "đã ở trạng thái “Đã" in text(again)
    reassign = form_post(ketoan, f"/finance/exceptions/{eid}/assign", {"owner": "ketoan2"}, page)
    assert reassign.status_code == 409 and "đã ở trạng thái “Đã" in text(reassign)
    assert snapshot(site) == before
    assert ketoan.get("/finance/exceptions/999999").status_code == 404


# ---------------------------------------------------------------------------------------------
# Statements and the day


def statement_bytes(transfers, *, opening: int = 1_000_000, fmt: str = "camt053", day=None) -> bytes:
    buffer = io.BytesIO()
    day = day or ict_day(utcnow())
    write_statement(fmt, buffer, account=HOANKIEM, bank_bin="970405", day_from=day, day_to=day,
                    opening_balance=opening, transfers=list(transfers))
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "sao-ke.xml"):
    return client.post("/finance/statements", data={"csrf_token": csrf_token(client, "/finance/statements"),
                                                    "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_statement_upload_shows_the_result_and_each_sections_balance_proof(site, ketoan):
    request = new_request(site, amount=8000)
    transfer = pay(site, request)
    data = statement_bytes([transfer])
    response = upload(ketoan, data)
    assert response.status_code == 302
    result = text(ketoan.get(response.headers["Location"]))
    assert "Đã nhập sao kê: 1 dòng, 0 giao dịch mới (đã ghép ngay 0), 1 giao dịch đã biết." in result
    assert "Phép thử số dư: khớp" in result and HOANKIEM in result
    assert "1.000.000 ₫ + 8.000 ₫ − 0 ₫ = 1.008.000 ₫" in result
    again = upload(ketoan, data, "ten-khac.xml")
    assert again.headers["Location"] == response.headers["Location"]
    assert "đã được nhập trước đây" in text(ketoan.get(again.headers["Location"]))
    listed = text(ketoan.get("/finance/statements"))
    assert "sao-ke.xml" in listed and "khớp" in listed
    assert in_db(site, lambda s: s.scalar(select(func.count()).select_from(StatementImport))) == 1
    before = snapshot(site)
    for payload, name, status, message in [
        (None, None, 422, "Chọn tệp sao kê để tải lên"),
        (b"", "rong.csv", 422, "Tệp sao kê trống"),
        (b"day khong phai sao ke\n" * 5, "x.csv", 422, "Không đọc được sao kê: tệp hỏng"),
        ((FIXTURES / "garbage.bin").read_bytes(), "x.bin", 422, "không phải sao kê mà hệ thống đọc được"),
    ]:
        form = {"csrf_token": csrf_token(ketoan, "/finance/statements")}
        if payload is not None:
            form["file"] = (io.BytesIO(payload), name)
        refused = ketoan.post("/finance/statements", data=form, content_type="multipart/form-data")
        assert refused.status_code == status and message in text(refused), name
    site.config["STATEMENT_MAX_BYTES"] = 100
    big = upload(ketoan, statement_bytes([transfer], opening=5))
    assert big.status_code == 413 and "Tệp quá lớn" in text(big)
    site.config.pop("STATEMENT_MAX_BYTES")
    assert snapshot(site) == before
    assert in_db(site, lambda s: s.scalar(select(func.count()).select_from(StatementImport))) == 1


def test_a_statement_that_fails_its_balance_proof_is_flagged(site, ketoan):
    broken = (FIXTURES / "broken_balance.csv").read_bytes()
    response = upload(ketoan, broken, "broken_balance.csv")
    assert response.status_code == 302
    page = text(ketoan.get(response.headers["Location"]))
    assert "Phép thử số dư: không khớp" in page and "bị gắn cờ" in page and " ≠ " in page


def test_the_day_is_run_dry_then_for_real_closed_and_reopened(site, ketoan):
    from reconciliation.matching.cash import record_cash

    # Yesterday's transfers: a day closes only once it has ended (Indochina time).
    today = ict_day(utcnow())
    yesterday = today - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12, 0), tzinfo=ICT)
    matched_request = new_request(site, amount=8000)
    matched = pay(site, matched_request, when=noon)
    unknown_request, unknown = unknown_transfer(site, amount=28000, on_statement=False, when=noon)
    cash_dossier = in_db(site, lambda s: make_request(s, amount=5000).dossier_id)

    def cash(s):
        record_cash(s, s.get(Dossier, cash_dossier), amount=5000, receipt_number="0000123", clerk_username="motcua",
                    clerk_name="Cán bộ motcua")
        s.commit()
    in_db(site, cash)
    today_url = f"/finance/days/{account_id(site, HOANKIEM)}/{today.isoformat()}"
    page = text(ketoan.get(today_url))
    cash_panel = page.split('data-testid="cash"')[1].split("</section>")[0]
    assert "1 khoản, tổng 5.000 ₫" in cash_panel and "0000123" in cash_panel  # cash beside, not inside, the bank lines
    assert "Ngày chưa kết thúc (giờ Việt Nam)" in page.split('data-testid="blocking"')[1]
    before = snapshot(site)
    not_over = form_post(ketoan, today_url + "/close", {}, today_url)
    assert not_over.status_code == 409 and f"Ngày {today.strftime('%d/%m/%Y')} chưa kết thúc" in text(not_over)
    assert snapshot(site) == before
    url = f"/finance/days/{account_id(site, HOANKIEM)}/{yesterday.isoformat()}"
    today = yesterday  # the day this test runs and closes
    page = text(ketoan.get(url))
    assert "Chưa có sao kê nào của tài khoản phủ ngày này" in page
    assert "36.000 ₫" in page.split('data-testid="service-in"')[1][:30]
    refused = form_post(ketoan, url + "/close", {}, url)
    assert refused.status_code == 409 and "Chưa khóa sổ được" in text(refused)
    assert snapshot(site) == before

    assert upload(ketoan, statement_bytes([matched, unknown], day=yesterday)).status_code == 302
    page = text(ketoan.get(url))
    assert "36.000 ₫" in page.split('data-testid="statement-in"')[1][:30]
    assert "8.000 ₫" in page.split('data-testid="matched-sum"')[1][:30]
    assert "28.000 ₫" in page.split('data-testid="unmatched-sum"')[1][:30]
    assert "1.000.000 ₫ + 36.000 ₫ − 0 ₫ = 1.036.000 ₫" in page
    assert "Không còn vướng mắc: có thể khóa sổ." in page
    assert "Không nhận ra mã thanh toán" in page.split('data-testid="open-items"')[1]

    before = snapshot(site)
    dry = form_post(ketoan, url + "/run", {"dry_run": "1", "close": "1"}, url)
    assert dry.status_code == 200 and "Kết quả chạy thử — chưa lưu gì" in text(dry)
    assert "Nếu chạy thật, không còn vướng mắc và ngày sẽ được khóa sổ." in text(dry)
    assert snapshot(site) == before  # a dry run saves nothing
    run = form_post(ketoan, url + "/run", {}, url)
    assert run.status_code == 302
    assert in_db(site, lambda s: s.scalars(select(DailyClose.status)).one()) == "open"
    assert "không còn vướng mắc, có thể khóa sổ" in text(ketoan.get(url))
    assert form_post(ketoan, url + "/close", {}, url).status_code == 302
    closed = text(ketoan.get(url))
    assert "Đã khóa sổ ngày" in closed and 'data-testid="day-status">Đã khóa sổ<' in closed

    # A closed day refuses changes to its allocations, and another run, until it is reopened.
    tid = transaction_of(site, unknown)
    before = snapshot(site)
    match = form_post(ketoan, f"/finance/transactions/{tid}/match",
                      {"form": "match", "step": "confirm", "target-0": unknown_request.reference, "amount-0": "28000",
                       "note": "đã kiểm tra"}, f"/finance/transactions/{tid}")
    assert match.status_code == 409 and "đã khóa sổ: mở lại ngày" in text(match)
    assert "đã khóa sổ" in text(ketoan.get(f"/finance/transactions/{tid}"))
    matched_id = transaction_of(site, matched)
    unmatched = form_post(ketoan, f"/finance/transactions/{matched_id}/unmatch", {"reason": "nhầm"},
                          f"/finance/transactions/{matched_id}")
    assert unmatched.status_code == 409 and "đã khóa sổ: mở lại ngày" in text(unmatched)
    again = form_post(ketoan, url + "/run", {}, url)
    assert again.status_code == 409 and "đã khóa sổ rồi: mở lại ngày" in text(again)
    closing_twice = form_post(ketoan, url + "/close", {}, url)
    assert closing_twice.status_code == 409 and "đã khóa sổ rồi" in text(closing_twice)
    no_reason = form_post(ketoan, url + "/reopen", {"reason": ""}, url)
    assert no_reason.status_code == 422 and "Nhập lý do mở lại ngày" in text(no_reason)
    assert snapshot(site) == before
    assert form_post(ketoan, url + "/reopen", {"reason": "Ghép khoản 28.000"}, url).status_code == 302
    assert in_db(site, lambda s: s.scalars(select(DailyClose)).one().reopen_reason) == "Ghép khoản 28.000"
    not_closed = form_post(ketoan, url + "/reopen", {"reason": "lại"}, url)
    assert not_closed.status_code == 409 and "chưa khóa sổ, nên không có gì để mở lại" in text(not_closed)
    days = text(ketoan.get("/finance/days"))
    assert today.strftime("%d/%m/%Y") in days and HOANKIEM in days
    assert ketoan.get(f"/finance/days/{account_id(site, HOANKIEM)}/hom-nay").status_code == 404
    assert ketoan.get(f"/finance/days/999/{today.isoformat()}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Exports


def test_exports_in_csv_and_xlsx_with_vietnamese_headers_and_numbers(site, ketoan):
    import openpyxl

    request = new_request(site, amount=8000)
    matched = pay(site, request)
    _, unknown = unknown_transfer(site, amount=28000, content="=HYPERLINK(\"http://x\")")
    today = ict_day(utcnow()).isoformat()
    window = {"from": today, "to": today}

    response = ketoan.get("/finance/exports/transactions.csv", query_string=window)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert f"giao-dich_{today}_{today}.csv" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: spreadsheets read the Vietnamese right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ngày hạch toán", "Thời điểm (giờ Việt Nam)", "Mã giao dịch ngân hàng"]
    by_ref = {r[2]: r for r in rows[1:]}
    assert set(by_ref) == {matched.bank_ref, unknown.bank_ref}
    amount = rows[0].index("Số tiền (đồng)")
    assert by_ref[matched.bank_ref][amount] == "8000" and by_ref[unknown.bank_ref][amount] == "28000"
    assert by_ref[matched.bank_ref][rows[0].index("Trạng thái")] == "Đã khớp"
    assert by_ref[unknown.bank_ref][rows[0].index("Nội dung chuyển khoản")].startswith("'=HYPERLINK")

    xlsx = ketoan.get("/finance/exports/transactions.xlsx", query_string=window)
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["Content-Type"]
    with zipfile.ZipFile(io.BytesIO(xlsx.get_data())) as archive:  # constant_memory mode writes strings inline
        assert 't="inlineStr"' in archive.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/sharedStrings.xml" not in archive.namelist()
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    sheet = book["Giao dịch"]
    header = [c.value for c in sheet[1]]
    assert header[6] == "Số tiền (đồng)" and header[10] == "Nội dung chuyển khoản"
    cells = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    money = cells[matched.bank_ref][6]
    assert money.value == 8000 and isinstance(money.value, int) and money.number_format == "#,##0"
    assert cells[unknown.bank_ref][10].data_type == "s"  # text, never a formula
    assert cells[matched.bank_ref][1].is_date

    allocations = list(csv.reader(io.StringIO(ketoan.get("/finance/exports/allocations.csv", query_string=window)
                                              .get_data().decode("utf-8-sig"))))
    assert allocations[0][2] == "Mã hồ sơ" and len(allocations) == 2 and allocations[1][4] == "8000"
    sheet = openpyxl.load_workbook(io.BytesIO(ketoan.get("/finance/exports/exceptions.xlsx", query_string=window)
                                              .get_data()))["Cần xử lý"]
    assert sheet["B1"].value == "Lý do" and sheet["B2"].value == "Không nhận ra mã thanh toán"
    assert sheet["J2"].value == 28000

    other_account = list(csv.reader(io.StringIO(ketoan.get(
        "/finance/exports/transactions.csv", query_string={**window, "account": SOTP}).get_data().decode("utf-8-sig"))))
    assert len(other_account) == 1  # only the header
    earlier = (ict_day(utcnow()) - timedelta(days=3)).isoformat()
    assert len(list(csv.reader(io.StringIO(ketoan.get("/finance/exports/transactions.csv", query_string={
        "from": earlier, "to": earlier}).get_data().decode("utf-8-sig"))))) == 1
    bad = ketoan.get("/finance/exports/transactions.csv", query_string={"from": "2026-11-25", "to": "2026-11-01"})
    assert bad.status_code == 422 and "Ngày kết thúc (01/11/2026) phải từ ngày bắt đầu (25/11/2026) trở đi" in text(bad)
    # the range comes back as typed, never swapped, the error in the summary and by the field
    assert 'id="x-from" name="from" type="date" value="2026-11-25"' in text(bad)
    assert 'id="x-to" name="to" type="date" value="2026-11-01"' in text(bad)
    assert 'href="#x-to"' in text(bad) and "<title>Lỗi:" in text(bad)
    too_long = ketoan.get("/finance/exports/transactions.csv", query_string={"from": "2024-01-01", "to": "2026-01-01"})
    assert too_long.status_code == 422 and "Mỗi lần xuất tối đa 366 ngày" in text(too_long)
    assert ketoan.get("/finance/exports/journal.csv").status_code == 404
    assert ketoan.get("/finance/exports/transactions.pdf").status_code == 404
    form = text(ketoan.get("/finance/exports", query_string=window))
    assert f"/finance/exports/allocations.xlsx?from={today}&amp;to={today}" in form
    assert signed_in(site, "giamsat").get("/finance/exports/transactions.csv").status_code == 200


# ---------------------------------------------------------------------------------------------
# The admin page of outbound events


class Receiver:
    """The one-stop dossier system, on a real loopback port, answering ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[dict] = []

        @Request.application
        def answer(request):
            self.bodies.append(json.loads(request.get_data()))
            return Response("ok" if status < 300 else "boom", status=status)

        self.server = make_server("127.0.0.1", 0, answer, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


def test_admin_sees_the_delivery_log_and_replays_an_event(site):
    request = new_request(site, amount=8000)
    pay(site, request)
    event_id = in_db(site, lambda s: s.scalars(select(OutboxEvent.id)).one())
    admin = signed_in(site, "quantri")
    page = text(admin.get("/admin/events/"))
    assert 'data-testid="not-configured"' in page and "payment_request.paid" in page and "Chờ gửi" in page
    site.config.pop("DOSSIER_EVENTS_URL", None)
    site.config.pop("DOSSIER_EVENTS_SECRET", None)
    before = snapshot(site)
    refused = form_post(admin, f"/admin/events/{event_id}/replay", {}, "/admin/events/")
    assert refused.status_code == 409 and "Chưa cấu hình địa chỉ nhận" in text(refused)
    assert snapshot(site) == before
    with Receiver(500) as failing:
        site.config.update(DOSSIER_EVENTS_URL=failing.url, DOSSIER_EVENTS_SECRET="bí-mật")
        response = form_post(admin, f"/admin/events/{event_id}/replay", {}, "/admin/events/")
        assert response.status_code == 302
        assert "không thành công" in text(admin.get(response.headers["Location"]))
    with Receiver(200) as receiver:
        site.config.update(DOSSIER_EVENTS_URL=receiver.url)
        response = form_post(admin, f"/admin/events/{event_id}/replay", {"status": "pending"}, "/admin/events/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/admin/events/?status=pending")
        assert receiver.bodies[0]["type"] == "payment_request.paid"
    logs = in_db(site, lambda s: [(d.status_code, d.actor, d.error is None) for d in
                                  s.scalars(select(OutboxDelivery).order_by(OutboxDelivery.id))])
    assert logs == [(500, "user:quantri", False), (200, "user:quantri", True)]
    assert in_db(site, lambda s: s.get(OutboxEvent, event_id).status) == "delivered"
    page = text(admin.get("/admin/events/?status=delivered"))
    assert "Đã gửi" in page and "HTTP 200" in page and receiver.url in page and "Cán bộ quantri" in page and "user:quantri" not in page
    assert "not-configured" not in page
    assert admin.post(f"/admin/events/{event_id}/replay").status_code == 400  # CSRF
    assert form_post(admin, "/admin/events/999999/replay", {}, "/admin/events/").status_code == 404


# ---------------------------------------------------------------------------------------------
# English


def test_the_pages_switch_to_english(site, ketoan):
    _, transfer = unknown_transfer(site)
    eid = exception_of(site, transaction_of(site, transfer))
    ketoan.get("/lang/en")
    queue = text(ketoan.get("/finance/exceptions"))
    assert "Exceptions queue" in queue and "Unknown payment reference" in queue
    item = text(ketoan.get(f"/finance/exceptions/{eid}"))
    assert "Match with a payment request or dossier…" in item and "Not ours (return to the payer)…" in item
    day = text(ketoan.get(f"/finance/days/{account_id(site, HOANKIEM)}/{ict_day(utcnow()).isoformat()}"))
    assert "Statement and service" in day and "Cash taken at the counters" in day
    refused = form_post(ketoan, f"/finance/exceptions/{eid}/notes", {"text": ""}, f"/finance/exceptions/{eid}")
    assert "Write the note." in text(refused)


def test_money_out_is_never_matched_marked_or_refunded(site, ketoan):
    from bank_adapters.transfers import OUT, BankTransfer

    request = new_request(site, amount=8000)
    credit = pay(site, request)
    debit = BankTransfer(account=HOANKIEM, bank_ref="FT26OUT0001", amount=3000, direction=OUT,
                         booked_at=utcnow(), content="PHI DICH VU NGAN HANG", bank_bin="970405")
    assert upload(ketoan, statement_bytes([credit, debit])).status_code == 302
    tid = transaction_of(site, debit)
    page = f"/finance/transactions/{tid}"
    shown = text(ketoan.get(page))
    assert "Tiền ra" in shown and 'data-testid="match-form"' not in shown and "Đề nghị hoàn tiền" not in shown
    before = snapshot(site)
    match = form_post(ketoan, f"/finance/transactions/{tid}/match",
                      {"form": "match", "step": "confirm", "target-0": request.reference, "amount-0": "3000",
                       "note": "thử"}, page)
    assert match.status_code == 409 and "Đây là giao dịch tiền ra" in text(match)
    marked = form_post(ketoan, f"/finance/transactions/{tid}/not-ours", {"reason": "thử"}, page)
    assert marked.status_code == 409 and "Đây là giao dịch tiền ra" in text(marked)
    refund = form_post(ketoan, "/finance/refunds", {"transaction_id": str(tid), "amount": "3000", "reason": "thử",
                                                    "beneficiary_bank": "970436", "beneficiary_account": "0011001234567",
                                                    "beneficiary_name": "NGUYEN VAN A"}, page)
    assert refund.status_code == 409 and "Đây là giao dịch tiền ra" in text(refund)
    assert snapshot(site) == before
    listed = text(ketoan.get("/finance/transactions", query_string={"direction": "out"}))
    assert "FT26OUT0001" in listed and "−3.000 ₫" in listed and credit.bank_ref not in listed


def test_an_approval_is_refused_when_the_excess_is_gone_meanwhile(site, ketoan, ketoan2):
    request = new_request(site, amount=8000)
    transfer = pay(site, request, amount=10000)
    tid = transaction_of(site, transfer)
    new = f"/finance/refunds/new?dossier_id={request.dossier_id}"
    created = form_post(ketoan, "/finance/refunds", {"dossier_id": str(request.dossier_id), "amount": "2000",
                                                     "reason": "Nộp thừa", "beneficiary_bank": "970436",
                                                     "beneficiary_account": "0011001234567",
                                                     "beneficiary_name": "NGUYEN VAN A"}, new)
    refund_id = int(created.headers["Location"].rsplit("/", 1)[1])
    # The payment turns out to be someone else's: undone, the dossier has no excess left.
    assert form_post(ketoan2, f"/finance/transactions/{tid}/unmatch", {"reason": "Không phải của hồ sơ này"},
                     f"/finance/transactions/{tid}").status_code == 302
    before = snapshot(site)
    refused = form_post(ketoan2, f"/finance/refunds/{refund_id}/decide", {"decision": "approve"},
                        f"/finance/refunds/{refund_id}")
    assert refused.status_code == 409 and "hãy từ chối đề nghị này" in text(refused)
    assert snapshot(site) == before


def test_a_closed_day_changed_after_closing_says_so_on_its_page_and_in_the_queue(site, ketoan):
    from reconciliation.workflow.close import run_day

    yesterday = ict_day(utcnow()) - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12, 0), tzinfo=ICT)
    first = pay(site, new_request(site, amount=8000), when=noon)
    assert upload(ketoan, statement_bytes([first], day=yesterday)).status_code == 302
    url = f"/finance/days/{account_id(site, HOANKIEM)}/{yesterday.isoformat()}"
    closed = in_db(site, lambda s: run_day(s, s.get(CollectionAccount, account_id(site, HOANKIEM)), yesterday,
                                           "user:ketoan").status)
    assert closed == "closed" and 'data-testid="changed-after-closing"' not in text(ketoan.get(url))
    late = pay(site, new_request(site, amount=9000), via="sepay", when=noon + timedelta(hours=3))
    page = text(ketoan.get(url))
    banner = page.split('data-testid="changed-after-closing"')[1].split("</div>")[0]
    assert "Ngày đã thay đổi sau khi khóa sổ." in page and "1 khoản tiền (tổng 9.000 ₫)" in banner
    queue = text(ketoan.get("/finance/exceptions?reason=booked_on_closed_day"))
    assert "Tiền báo về ngày đã khóa sổ" in queue and "9.000 ₫" in queue and late.amount == 9000
