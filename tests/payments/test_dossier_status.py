"""``POST /api/v1/dossiers/{code}/status``: the one-stop dossier system sets a dossier's
status (the national portal's, by name or number); against its OpenAPI description, on SQLite
and PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.audit import AuditRecord
from core.tokens import create_token
from payments.models import Dossier
from tests.payments.test_openapi import Recorder, operations

ROLES = ("system", "counter", "finance", "supervisor", "admin")
DOSSIER = {"code": "000.20.01.H26-261125-0001", "procedure_code": "2.000806", "agency_code": "P-HOANKIEM",
           "applicant_name": "Nguyễn Văn A", "submitted_at": "2026-11-25T09:00:00+07:00", "channel": "online"}


@pytest.fixture
def tokens(seeded):
    made = {role: create_token(seeded, f"status-{role}", role) for role in ROLES}
    seeded.commit()
    return made


@pytest.fixture
def code(client, tokens):
    response = client.post("/api/v1/dossiers", json=DOSSIER, headers={"Authorization": f"Bearer {tokens['system']}"})
    assert response.status_code == 201
    return DOSSIER["code"]


def test_every_described_status_is_given_and_no_other(client, tokens, code):
    rec = Recorder(client, tokens)
    where = {"code": code}
    rec.call("setDossierStatus", params=where, json={"status": "in_progress"})
    rec.call("setDossierStatus", params=where, json={"status": "cancelled"})  # 422: not a national status
    rec.call("setDossierStatus", params=where, data="{", content_type="application/json")  # 400
    rec.call("setDossierStatus", params=where, data=json.dumps({"status": 7, "note": "x" * 1_100_000}),
             content_type="application/json")  # 413
    rec.call("setDossierStatus", params={"code": "nope-404"}, json={"status": 7})
    rec.call("setDossierStatus", role=None, params=where, json={"status": 7})
    rec.call("setDossierStatus", role="counter", params=where, json={"status": 7})
    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] == "setDossierStatus"}
    assert rec.seen == described


@pytest.mark.parametrize("value, name, number", [("withdrawn", "withdrawn", 7), (3, "rejected", 3), ("8", "stopped", 8),
                                                 (10, "result_delivered", 10), (" done ", "done", 9)])
def test_by_name_or_number(client, tokens, code, seeded, value, name, number):
    response = client.post(f"/api/v1/dossiers/{code}/status", json={"status": value, "note": "theo hệ thống một cửa"},
                           headers={"Authorization": f"Bearer {tokens['system']}"})
    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["status"], body["status_number"], body["previous_status"], body["changed"]) == \
        (name, number, "accepted", True)
    seeded.expire_all()
    assert seeded.scalar(select(Dossier.status).where(Dossier.code == code)) == name
    record = seeded.scalars(select(AuditRecord).where(AuditRecord.action == "dossier.status_changed")).one()
    assert record.data == {"code": code, "from": "accepted", "to": name, "note": "theo hệ thống một cửa"}
    assert record.actor == "token:status-system"


def test_the_same_status_again_changes_nothing(client, tokens, code, seeded):
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    first = client.post(f"/api/v1/dossiers/{code}/status", json={"status": 2}, headers=headers).get_json()
    assert first["changed"] is False and first["status"] == "accepted"
    assert seeded.scalars(select(AuditRecord).where(AuditRecord.action == "dossier.status_changed")).all() == []


@pytest.mark.parametrize("body, field", [({}, "status"), ({"status": 0}, "status"), ({"status": 11}, "status"),
                                         ({"status": True}, "status"), ({"status": None}, "status"),
                                         ({"status": 7, "note": 5}, "note"), ([7], "body")])
def test_invalid_bodies_are_refused_and_change_nothing(client, tokens, code, seeded, body, field):
    response = client.post(f"/api/v1/dossiers/{code}/status", json=body,
                           headers={"Authorization": f"Bearer {tokens['system']}"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    seeded.expire_all()
    assert seeded.scalar(select(Dossier.status).where(Dossier.code == code)) == "accepted"


def test_the_reports_follow_the_status(client, tokens, code, seeded):
    from reports.definitions import Period
    from reports.indicators import online_payment_rate

    november = Period.month(2026, 11)
    before = online_payment_rate(seeded, november).total
    assert before.dossiers == 1 and before.counts.cancelled == 0
    client.post(f"/api/v1/dossiers/{code}/status", json={"status": "withdrawn"},
                headers={"Authorization": f"Bearer {tokens['system']}"})
    seeded.expire_all()
    total = online_payment_rate(seeded, november).total
    # item 3.6 keeps a withdrawn dossier, as the portal does; it is counted as withdrawn, and it
    # leaves the service's own figures (the cashless rate's dossiers to pay)
    assert total.dossiers == 1 and total.dossiers_with_fees == before.dossiers_with_fees
    assert total.counts.cancelled == 1 and total.counts.to_pay == 0
