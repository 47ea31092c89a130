"""The API's shapes are defined once (pydantic models): the schema that describes a field is the
one that refuses it. Each refusal is our problem JSON (422, the operation's code, one ``errors``
entry naming the field) and changes nothing; the document generated from the models is valid
OpenAPI 3.1."""
from __future__ import annotations

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from sqlalchemy import func, select

from app import register_api_docs
from core.api_schema import validate
from core.errors import ValidationError
from core.tokens import create_token
from payments import api_schemas
from payments.models import Dossier, PaymentRequest
from payments.openapi import DOCUMENT, document

from .test_api import LAND

register_api_docs()


def test_the_document_is_valid_openapi_3_1():
    OpenAPIV31SpecValidator(document("https://thanhtoan.hanoi.gov.vn/")).validate()


def test_a_broken_document_is_caught():
    broken = document()
    broken["paths"]["/api/v1/dossiers"]["post"]["responses"]["201"] = {"content": {}}  # no description
    with pytest.raises(Exception):
        OpenAPIV31SpecValidator(broken).validate()


def test_the_schemas_in_the_document_are_the_models():
    schemas = DOCUMENT["components"]["schemas"]
    assert set(api_schemas.DossierInput.model_fields) <= set(schemas["DossierInput"]["properties"])
    assert set(schemas["Dossier"]["required"]) == set(api_schemas.Dossier.model_fields)
    assert schemas["PaymentRequestInput"]["properties"]["amount"]["type"] == ["integer", "null"]
    assert schemas["ChargeInput"]["properties"]["kind"]["enum"] == ["phi", "le_phi", None]


@pytest.mark.parametrize("model, value, field", [
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": 8000.0}, "amount"),
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": 0.5}, "amount"),
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": "8000"}, "amount"),
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": True}, "amount"),
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": -1}, "amount"),
    (api_schemas.ChargeInput, {"amount": 8000}, "name"),
    (api_schemas.ChargeInput, {"name": "Lệ phí", "amount": 8000, "kind": "thue"}, "kind"),
    (api_schemas.ChargeInput, {"name": "x" * 301, "amount": 8000}, "name"),
    (api_schemas.DossierParameters, {"copies": 1001}, "copies"),
    (api_schemas.DossierParameters, {"child_under_14": 1}, "child_under_14"),
    (api_schemas.PaymentRequestInput, {"expires_in_minutes": 1.0}, "expires_in_minutes"),
    (api_schemas.DossierStatusInput, {"status": "lost"}, "status"),
    (api_schemas.CancelInput, {"reason": "x" * 1001}, "reason"),
])
def test_each_schema_refuses_what_it_describes(model, value, field):
    with pytest.raises(ValidationError) as caught:
        validate(model, value, detail="not valid", code="invalid")
    assert [e.field for e in caught.value.errors] == [field]
    assert caught.value.status == 422 and caught.value.code == "invalid"


def test_a_schema_takes_what_it_describes():
    charge = validate(api_schemas.ChargeInput, {"name": "  Lệ phí  ", "amount": 8000, "kind": "le_phi"}, detail="")
    assert (charge.name, charge.amount, charge.kind) == ("Lệ phí", 8000, "le_phi")
    assert validate(api_schemas.DossierStatusInput, {"status": " 7 "}, detail="").status == "withdrawn"
    assert validate(api_schemas.DossierStatusInput, {"status": 2}, detail="").status == "accepted"


# --- over HTTP: our problem body, nothing changed ------------------------------------------------


@pytest.fixture
def headers(seeded):
    made = {role: {"Authorization": f"Bearer {create_token(seeded, f'schema-{role}', role)}"}
            for role in ("system", "finance")}
    seeded.commit()
    return made


def count(session, model):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def problem(response, status, code, fields):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["code"] == code and body["title"] and body["detail"]
    assert [e["field"] for e in body["errors"]] == fields, body
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])
    return body


@pytest.mark.parametrize("changes, fields", [
    ({"charges": [{"name": "Lệ phí", "amount": 8000.0}]}, ["charges[0].amount"]),
    ({"charges": [{"name": "Lệ phí", "amount": 7999.5}]}, ["charges[0].amount"]),
    ({"applicant_name": None}, ["applicant_name"]),
    ({"channel": "fax"}, ["channel"]),
    ({"parameters": {"payer_class": "alien"}}, ["parameters.payer_class"]),
    ({"applicant_name": "A" * 201}, ["applicant_name"]),
    ({"submitted_at": "2026-11-25T09:00:00"}, ["submitted_at"]),
    ({"parameters": {"declared_value": 2e9}}, ["parameters.declared_value"]),
    ({"exemption_ground": "poor_household", "parameters": {"exemption_ground": "disability"}}, ["exemption_ground"]),
    ({"exemption_ground": "rich_household"}, ["exemption_ground"]),
])
def test_a_dossier_body_refused_by_its_schema(client, seeded, headers, changes, fields):
    body = {k: v for k, v in {**LAND, **changes}.items() if v is not None}
    response = client.post("/api/v1/dossiers", json=body, headers=headers["system"])
    body = problem(response, 422, "invalid_dossier", fields)
    if changes == {"applicant_name": None}:  # left out: named as required
        assert body["errors"][0]["message"] == "required"
    assert count(seeded, Dossier) == 0


def test_payment_request_status_and_cancel_bodies(client, seeded, headers):
    assert client.post("/api/v1/dossiers", json=LAND, headers=headers["system"]).status_code == 201
    code = LAND["code"]
    problem(client.post(f"/api/v1/dossiers/{code}/payment-requests", json={"amount": 1000.0},
                        headers=headers["system"]), 422, "invalid_request", ["amount"])
    problem(client.post(f"/api/v1/dossiers/{code}/payment-requests", json={"expires_in_minutes": 10**6},
                        headers=headers["system"]), 422, "invalid_request", ["expires_in_minutes"])
    assert count(seeded, PaymentRequest) == 0
    problem(client.post(f"/api/v1/dossiers/{code}/status", json={"status": "lost"}, headers=headers["system"]),
            422, "invalid_status", ["status"])
    problem(client.post(f"/api/v1/dossiers/{code}/status", json={"status": 7, "note": "x" * 1001},
                        headers=headers["system"]), 422, "invalid_status", ["note"])
    reference = client.post(f"/api/v1/dossiers/{code}/payment-requests", json={},
                            headers=headers["system"]).get_json()["reference"]
    problem(client.post(f"/api/v1/payment-requests/{reference}/cancel", json={"reason": "x" * 1001},
                        headers=headers["system"]), 422, "invalid_cancel", ["reason"])
    problem(client.post(f"/api/v1/payment-requests/{reference}/cancel", json={"reason": 5},
                        headers=headers["system"]), 422, "invalid_cancel", ["reason"])
    seeded.rollback()
    assert seeded.scalar(select(PaymentRequest.status)) == "open"
    assert seeded.scalar(select(Dossier.status).where(Dossier.code == code)) != "withdrawn"


@pytest.mark.parametrize("path, fields", [
    ("/api/v1/exceptions?status=lost", ["status"]),
    ("/api/v1/exceptions?after=-1", ["after"]),
    ("/api/v1/transactions?from=25/11/2026", ["from"]),
    ("/api/v1/transactions?from=2026-11-25&to=2026-13-01&after=x", ["to", "after"]),
])
def test_query_strings_refused_by_their_schema(client, headers, path, fields):
    problem(client.get(path, headers=headers["finance"]), 422, "invalid", fields)
