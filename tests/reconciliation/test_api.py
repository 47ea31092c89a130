"""The reconciliation side of the REST API against its OpenAPI description, on SQLite and
PostgreSQL: statements, transactions, exceptions, the portal initialisation; every status
the description names is given, and no other."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.tokens import create_token
from payments.models import Dossier
from reconciliation.models import BankTransaction, StatementImport
from tests.payments.test_openapi import Recorder, operations

from .conftest import make_dossier, make_request, ok, post, signed, transfer_for

FIXTURES = Path(__file__).resolve().parents[1] / "bank_adapters" / "fixtures" / "statements"
ROLES = ("system", "counter", "finance", "supervisor", "admin")
RECONCILIATION_OPERATIONS = {"importStatement", "listTransactions", "listExceptions", "startPortalPayment"}


@pytest.fixture
def tokens(seeded):
    made = {role: create_token(seeded, f"recon-{role}", role) for role in ROLES}
    seeded.commit()
    return made


def upload(rec, name: str, data: bytes, role="finance"):
    return rec.call("importStatement", role=role, data={"file": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")


def test_every_described_status_is_given_and_no_other(app, client, tokens, seeded):
    rec = Recorder(client, tokens)
    camt = (FIXTURES / "camt053_001_02.xml").read_bytes()
    first = upload(rec, "sao-ke.xml", camt).get_json()
    assert first["format"] == "camt053" and first["entries"] > 0
    again = upload(rec, "renamed.txt", camt)  # the same bytes: 200, nothing created
    assert again.status_code == 200 and again.get_json()["statement_id"] == first["statement_id"]
    upload(rec, "x.csv", (FIXTURES / "fraction.csv").read_bytes())  # 422
    rec.call("importStatement", role="finance", data={}, content_type="multipart/form-data")  # 422: no file
    app.config["STATEMENT_MAX_BYTES"] = 1000
    upload(rec, "big.xml", camt)  # 413
    app.config.pop("STATEMENT_MAX_BYTES")
    upload(rec, "x.xml", camt, role=None)
    upload(rec, "x.xml", camt, role="counter")

    listed = rec.call("listTransactions", role="finance").get_json()
    assert len(listed["items"]) == first["new_transactions"] and listed["next"] is None
    rec.call("listTransactions", role="finance", query_string={"from": "25/11/2026"})  # 422
    rec.call("listTransactions", role=None)
    rec.call("listTransactions", role="system")

    rec.call("listExceptions", role="finance")
    rec.call("listExceptions", role="finance", query_string={"status": "maybe"})  # 422
    rec.call("listExceptions", role=None)
    rec.call("listExceptions", role="counter")

    dossier = make_dossier(seeded, amount=28000)
    seeded.commit()
    started = rec.call("startPortalPayment", params={"code": dossier.code}).get_json()
    assert started["status"] == "pending" and started["amount"] == 28000 and started["ref"].startswith("dvc")
    assert rec.call("startPortalPayment", params={"code": dossier.code}).get_json()["ref"] == started["ref"]  # 200
    too_much = make_dossier(seeded, amount=8000)
    seeded.execute(update(Dossier).where(Dossier.id == too_much.id).values(amount_due=10**13))
    seeded.commit()
    rec.call("startPortalPayment", params={"code": too_much.code})  # 422: charges over the limit
    rec.call("startPortalPayment", params={"code": "nope-404"})
    rec.call("startPortalPayment", role=None, params={"code": dossier.code})
    rec.call("startPortalPayment", role="finance", params={"code": dossier.code})
    paid = make_dossier(seeded, amount=0)
    seeded.commit()
    rec.call("startPortalPayment", params={"code": paid.code})  # 409: nothing due

    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] in RECONCILIATION_OPERATIONS}
    assert rec.seen == described


def test_transactions_show_channels_status_and_allocations(client, tokens, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    assert post(client, "bankdirect", *signed("bankdirect", transfer)).json["responseCode"] == "01"
    body = client.get("/api/v1/transactions", headers={"Authorization": f"Bearer {tokens['finance']}"},
                      query_string={"account": transfer.account}).get_json()
    (item,) = body["items"]
    assert item["transaction_ref"] == transfer.bank_ref
    assert item["channels"] == ["sepay", "bankdirect"]
    assert item["status"] == "matched" and item["direction"] == "in"
    assert item["allocations"] == [{"dossier_code": request.dossier.code, "reference": request.reference,
                                    "amount": 8000, "payment_channel": "counter_transfer"}]
    dossier = client.get(f"/api/v1/dossiers/{request.dossier.code}",
                         headers={"Authorization": f"Bearer {tokens['system']}"}).get_json()
    assert dossier["payment_status"] == "paid"
    assert [(p["transaction_ref"], p["amount"], p["channel"], p["payment_channel"]) for p in dossier["payments"]] == \
        [(transfer.bank_ref, 8000, "sepay", "counter_transfer")]


def test_exceptions_list_with_suggestions_and_paging(app, client, tokens, seeded):
    import reconciliation.api.api as api

    request = make_request(seeded, amount=8000)
    damaged = request.reference[:-1] + ("2" if request.reference[-1] != "2" else "3")
    for n in range(3):
        post(client, "payos", *signed("payos", transfer_for(request, content=f"IBFT {damaged} {n}")))
    headers = {"Authorization": f"Bearer {tokens['finance']}"}
    old = api.PAGE
    api.PAGE = 2
    try:
        first = client.get("/api/v1/exceptions", headers=headers).get_json()
        assert len(first["items"]) == 2 and first["next"]
        rest = client.get(first["next"], headers=headers).get_json()
    finally:
        api.PAGE = old
    items = first["items"] + rest["items"]
    assert [i["reason"] for i in items] == ["unknown_reference"] * 3 and rest["next"] is None
    assert items[0]["suggestions"][0]["reference"] == request.reference
    assert items[0]["dossier_code"] == request.dossier.code


def test_a_statement_line_confirms_a_callback_and_never_duplicates_it(client, tokens, seeded, tmp_path):
    from datetime import date

    from simulator.statement_files import write_statement
    from core.clock import ict_day

    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request)
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer)))
    day = ict_day(transfer.booked_at)
    other = transfer_for(request, amount=5000, content="CHUYEN TIEN KHONG MA")
    for fmt in ("camt053", "mt940", "csv", "xlsx"):
        buffer = io.BytesIO()
        write_statement(fmt, buffer, account=transfer.account, bank_bin=transfer.bank_bin, day_from=day, day_to=day,
                        opening_balance=1_000_000, transfers=[transfer, other])
        response = client.post("/api/v1/statements", headers={"Authorization": f"Bearer {tokens['finance']}"},
                               data={"file": (io.BytesIO(buffer.getvalue()), f"s.{fmt}")},
                               content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["balance_ok"] and body["entries"] == 2, body
        expected_new = 1 if fmt == "camt053" else 0
        assert body["new_transactions"] == expected_new and body["known_transactions"] == 2 - expected_new
    seeded.rollback()
    rows = seeded.scalars(select(BankTransaction).order_by(BankTransaction.id)).all()
    assert [(r.bank_ref, r.channels, r.on_statement) for r in rows] == [
        (transfer.bank_ref, "bankdirect,statement", True), (other.bank_ref, "statement", True)]
    assert seeded.query(StatementImport).count() == 4
