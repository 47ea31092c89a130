"""Refusals with a code (``core.refusals``): every code has its sentence in both languages; the
API's problem bodies carry the code and its parameters; pages and the CLI tell the real cause,
including the three that used to be told wrong (a refund of a transfer no statement shows, not
ours on a closed day, the dry run's missing-callback line); and statement lines that no callback
announced are matched when the statement is imported."""
from __future__ import annotations

import io
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from simulator.statement_files import write_statement
from core.clock import ict_day
from core.errors import Conflict
from core.refusals import MESSAGES, Refusal, render
from core.tokens import create_token
from payments.models import CollectionAccount, Dossier
from reconciliation.workflow.close import Action
from reconciliation.web.finance import run_action_label
from reconciliation.models import BankTransaction, DailyClose

from .conftest import make_request, ok, post, signed, transfer_for
from .test_finance_pages import (HOANKIEM, account_id, form_post, in_db, ketoan, site, snapshot,  # noqa: F401
                                 text, transaction_of, unknown_transfer)

SAMPLE = {"code": "000.12.03.H26-261125-0001", "dossier": "000.12.03.H26-261125-0001", "open_requests": ["HS7K2M9QXAS"],
          "reference": "HS7K2M9QXAS", "status": "paid", "amount": 1_500_000, "available": 400_000,
          "day": date(2026, 11, 25), "account": "108405063352", "count": 2, "total": 9000, "left": 8000,
          "target": "HS000", "allocated": 3000, "act": "unmatch", "remaining": 5000, "ref": "FT26001",
          "id": 7, "problem": "line 3", "key": "amount"}


def test_every_code_with_a_sentence_says_it_in_vietnamese_and_in_english(app):
    with app.test_request_context():
        for code in MESSAGES:
            with force_locale("vi"):
                vi = render(code, SAMPLE)
            with force_locale("en"):
                en = render(code, SAMPLE)
            assert vi and en and vi != en, code
            assert "%(" not in vi and "%(" not in en, code
        with force_locale("vi"):
            assert render(Refusal.OVER_ALLOCATION, SAMPLE) == \
                "Tổng số tiền ghép (9.000 ₫) lớn hơn số còn lại của giao dịch (8.000 ₫)."
            assert "25/11/2026" in render(Refusal.DAY_CLOSED, SAMPLE)
            assert "HS7K2M9QXAS" in render(Refusal.NOTHING_DUE, SAMPLE)  # the open request named
            assert "HS7K2M9QXAS" not in render(Refusal.NOTHING_DUE, {"dossier": "X"})
        with force_locale("en"):
            assert render(Refusal.REASON_REQUIRED, {"act": "unmatch"}) == "Give the reason for undoing the match."


def test_a_refusal_without_a_sentence_keeps_its_detail(app):
    with app.test_request_context():
        assert render("conflict", {}, fallback="english detail") == "english detail"
        assert render("no_such_code", {}, fallback="x") == "x"


def test_the_problem_body_carries_the_code_and_its_parameters(client, seeded):
    token = create_token(seeded, "refusals-system", "system")
    seeded.commit()
    auth = {"Authorization": f"Bearer {token}"}
    request = make_request(seeded, amount=8000)
    code = seeded.get(Dossier, request.dossier_id).code
    again = client.post("/api/v1/dossiers", headers=auth, json={
        "code": code, "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02", "applicant_name": "A",
        "channel": "counter", "submitted_at": "2026-11-25T09:00:00+07:00",
        "charges": [{"name": "Lệ phí", "amount": 1000, "kind": "le_phi"}]})
    body = again.get_json()
    assert again.status_code == 409 and body["code"] == "dossier_exists" and body["params"] == {"code": code}
    assert body["detail"].startswith(f"A dossier with code {code} exists already")
    nothing = client.post(f"/api/v1/dossiers/{code}/payment-requests", headers=auth, json={})
    body = nothing.get_json()
    assert nothing.status_code == 409 and body["code"] == "nothing_due"
    assert body["params"] == {"dossier": code, "open_requests": [request.reference]}
    vietnamese = client.post(f"/api/v1/dossiers/{code}/payment-requests", json={},
                             headers={**auth, "Accept-Language": "vi, en;q=0.5"}).get_json()
    assert vietnamese["code"] == "nothing_due" and vietnamese["detail"].startswith("Số còn phải nộp của hồ sơ")
    invalid = client.post("/api/v1/dossiers", headers=auth, json={"code": "x"}).get_json()
    assert invalid["code"] == "invalid_dossier" and invalid["errors"]
    assert client.get("/api/v1/dossiers/none-such", headers=auth).get_json()["code"] == "not_found"
    assert client.get("/api/v1/dossiers/none-such").get_json()["code"] == "unauthorized"
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request))))
    paid = client.post(f"/api/v1/payment-requests/{request.reference}/cancel", headers=auth, json={"reason": "x"})
    body = paid.get_json()
    assert paid.status_code == 409 and body["code"] == "request_paid"
    assert body["params"] == {"reference": request.reference, "status": "paid"}


def test_a_refund_of_a_transfer_no_statement_shows_says_so(site, ketoan):
    _, transfer = unknown_transfer(site, amount=1_000_000, content="CHUYEN NHAM", on_statement=False)
    tid = transaction_of(site, transfer)
    before = snapshot(site)
    refused = form_post(ketoan, "/finance/refunds", {
        "transaction_id": str(tid), "amount": "1.000.000", "reason": "Trả lại", "beneficiary_bank": "970436",
        "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyen Van A"},
        f"/finance/refunds/new?transaction_id={tid}")
    page = text(refused)
    assert refused.status_code == 409
    assert f"Sao kê của ngân hàng chưa có giao dịch {transfer.bank_ref}" in page
    assert "lớn hơn số còn có thể hoàn" not in page
    assert snapshot(site) == before


def test_not_ours_on_a_closed_day_says_the_day_is_closed(site, ketoan):
    _, transfer = unknown_transfer(site, amount=50000, content="CHUYEN NHAM TAI KHOAN")
    tid = transaction_of(site, transfer)
    day = ict_day(transfer.booked_at)

    def close(s):
        s.add(DailyClose(account_id=account_id(site, HOANKIEM), day=day, status="closed", figures={}, blocking=[]))
        s.commit()
    in_db(site, close)
    before = snapshot(site)
    refused = form_post(ketoan, f"/finance/transactions/{tid}/not-ours", {"reason": "Người dân chuyển nhầm"},
                        f"/finance/transactions/{tid}")
    page = text(refused)
    assert refused.status_code == 409
    assert f"Ngày {day.strftime('%d/%m/%Y')} của tài khoản {HOANKIEM} đã khóa sổ" in page
    assert "gỡ ghép trước" not in page
    assert snapshot(site) == before


def test_the_run_says_what_it_did_in_the_pages_language(app):
    action = Action("missing_callback", count=2, outcomes=(("matched", 1), ("unmatched", 1)))
    with app.test_request_context():
        with force_locale("vi"):
            label = run_action_label(action)
        with force_locale("en"):
            english = run_action_label(action)
    assert label == "2 khoản chỉ có trên sao kê (không có báo có) đã qua bước ghép: 1 đã khớp, 1 chưa khớp."
    assert "missing_callback" not in label and english.startswith("2 transfer(s) only the statement shows")
    assert str(action) == "missing_callback: 2 transfer(s) only the statement shows: 1 matched, 1 unmatched"


def test_the_cli_prints_the_code_and_the_reason(runner, seeded):
    result = runner.invoke(args=["day", "reopen", HOANKIEM, "2026-11-25", "--reason", "kiểm tra"])
    assert result.exit_code == 1
    assert "error [day_not_closed]: Day 25/11/2026 of account 108405063352 is not closed" in result.output


def test_statement_lines_no_callback_announced_are_matched_on_import(client, seeded):
    token = create_token(seeded, "refusals-finance", "finance")
    seeded.commit()
    auth = {"Authorization": f"Bearer {token}"}
    request = make_request(seeded, amount=8000)
    stranger = transfer_for(request, amount=5000, content="CHUYEN TIEN KHONG MA")
    paying = transfer_for(request)  # no bank ever called back about it
    day = ict_day(paying.booked_at)
    buffer = io.BytesIO()
    write_statement("camt053", buffer, account=paying.account, bank_bin=paying.bank_bin, day_from=day, day_to=day,
                    opening_balance=1_000_000, transfers=[paying, stranger])
    data = buffer.getvalue()
    response = client.post("/api/v1/statements", headers=auth, data={"file": (io.BytesIO(data), "s.xml")},
                           content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 201 and body["new_transactions"] == 2 and body["matched"] == 1, body
    seeded.rollback()
    dossier = seeded.get(Dossier, request.dossier_id)
    assert dossier.amount_paid == 8000 and dossier.payment_requests[0].status == "paid"
    rows = {t.bank_ref: (t.status, t.allocated) for t in seeded.scalars(select(BankTransaction))}
    assert rows == {paying.bank_ref: ("matched", 8000), stranger.bank_ref: ("unmatched", 0)}
    again = client.post("/api/v1/statements", headers=auth, data={"file": (io.BytesIO(data), "s.xml")},
                        content_type="multipart/form-data")
    assert again.status_code == 200 and again.get_json()["matched"] == 0


def test_a_line_of_a_closed_day_is_not_matched_on_import(client, seeded):
    token = create_token(seeded, "refusals-finance", "finance")
    request = make_request(seeded, amount=8000)
    paying = transfer_for(request)
    day = ict_day(paying.booked_at)
    account = seeded.scalar(select(CollectionAccount.id).where(CollectionAccount.number == paying.account))
    seeded.add(DailyClose(account_id=account, day=day, status="closed", figures={}, blocking=[]))
    seeded.commit()
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=paying.account, bank_bin=paying.bank_bin, day_from=day, day_to=day,
                    opening_balance=1_000_000, transfers=[paying])
    response = client.post("/api/v1/statements", headers={"Authorization": f"Bearer {token}"},
                           data={"file": (io.BytesIO(buffer.getvalue()), "s.sta")}, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["matched"] == 0
    seeded.rollback()
    assert seeded.get(Dossier, request.dossier_id).amount_paid == 0


def test_a_conflict_names_its_generic_code():
    assert Conflict("x").code == "conflict" and Conflict("x", code=Refusal.DAY_CLOSED).code == "day_closed"
    problem = Conflict("x", code=Refusal.DAY_CLOSED, params={"day": date(2026, 11, 25)}).to_problem()
    assert problem["code"] == "day_closed" and problem["params"] == {"day": "2026-11-25"}
    with pytest.raises(ValueError):
        Refusal("nope")


GENERIC = {Refusal.BAD_REQUEST, Refusal.INVALID, Refusal.NOT_FOUND, Refusal.CONFLICT, Refusal.UNAUTHORIZED,
           Refusal.FORBIDDEN, Refusal.PAYLOAD_TOO_LARGE, Refusal.REQUEST_GONE}


def test_every_named_refusal_is_raised_somewhere_and_has_its_sentence():
    """No code is dead, and none reaches a person as an English rule sentence."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("core", "payments", "reconciliation", "reports")
                       for p in (root / folder).rglob("*.py") if p.name != "refusals.py")
    for code in Refusal:
        assert f"Refusal.{code.name}" in source or f'"{code.value}"' in source, code
        if code not in GENERIC:
            assert code in MESSAGES, code


def test_the_cli_says_statuses_in_its_own_language(app, monkeypatch):
    from core.errors import Conflict
    from core.refusals import cli_text

    exc = Conflict("x", code=Refusal.REFUND_STATE, params={"id": 3, "status": "paid"})
    with app.app_context():
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        assert cli_text(exc) == "error [refund_state]: Refund 3 is “Paid out”: this can no longer be done."
        monkeypatch.setenv("LANG", "vi_VN.UTF-8")
        assert "“Đã chuyển trả”" in cli_text(exc)


def test_every_refusal_code_is_told_on_a_page_in_the_api_and_on_the_cli(app, monkeypatch):
    """Each code, raised as the rules raise it, reaches a person on a page (in the page's
    language), an API client (the code, its parameters, and a sentence in the language asked
    for) and the CLI (``error [code]: …``) as the message table says, never as the rule's
    English detail."""
    import html

    import click

    from core.errors import ServiceError
    from core.refusals import cli_text

    detail = "the rule's own English detail, which nobody should see"

    def refuse(code: str):
        raise ServiceError(detail, code=code, params=SAMPLE)

    app.add_url_rule("/walk/<code>", "walk_page", refuse)
    app.add_url_rule("/api/v1/walk/<code>", "walk_api", refuse)

    @app.cli.command("walk")
    @click.argument("code")
    def walk(code):
        try:
            refuse(code)
        except ServiceError as exc:
            click.echo(cli_text(exc), err=True)
            raise SystemExit(1)

    client, runner = app.test_client(), app.test_cli_runner()
    for code in MESSAGES:
        with app.test_request_context():
            with force_locale("vi"):
                vi = render(code, SAMPLE)
            with force_locale("en"):
                en = render(code, SAMPLE)
        page = client.get(f"/walk/{code}?lang=vi")
        assert page.status_code >= 400 and vi in html.unescape(page.get_data(as_text=True)), code
        assert detail not in page.get_data(as_text=True), code
        for language, sentence in (("en", en), ("vi", vi)):
            answer = client.get(f"/api/v1/walk/{code}", headers={"Accept-Language": language})
            body = answer.get_json()
            assert answer.content_type.startswith("application/problem+json"), code
            assert (body["code"], body["detail"]) == (str(code), sentence), code
            assert body["params"]["reference"] == SAMPLE["reference"], code
        monkeypatch.setenv("LANG", "C.UTF-8")
        ran = runner.invoke(args=["walk", str(code)])
        assert ran.exit_code == 1 and f"error [{code}]: {en}" in ran.output, code
        monkeypatch.setenv("LANG", "vi_VN.UTF-8")
        ran = runner.invoke(args=["walk", str(code)])
        assert f"error [{code}]: {vi}" in ran.output, code
