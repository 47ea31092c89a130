"""The REST API of CONTRACT.md, over HTTP, on SQLite and PostgreSQL.

Tokens are real (``create_token``), reference data is the seeded catalogue, nothing is mocked.
The test's session is also the views' session (the test client reuses the test's app context),
so "what is durable" is checked after ``session.rollback()``: whatever a view did not commit
is gone then.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.clock import utcnow
from core.tokens import ApiToken, create_token
from payments.models import CollectionAccount, Dossier, DossierCharge, PaymentRequest, PaymentRequestEvent
from payments.references import is_valid
from qr.vietqr import decode

ROLES = ("system", "counter", "finance", "supervisor", "admin")
WRITERS = ("system", "counter", "admin")
READERS_ONLY = ("finance", "supervisor")
ICT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")

LAND = {"code": "000.12.03.H26-261125-0001", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
        "applicant_name": "Nguyễn Văn A", "submitted_at": "2026-11-25T09:00:00+07:00", "channel": "counter",
        "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000}}
BIRTH = {"code": "000.20.01.H26-261125-0007", "procedure_code": "1.001193", "agency_code": "P-HOANKIEM",
         "applicant_name": "Trần Thị B", "submitted_at": "2026-11-25T09:00:00+07:00", "channel": "online",
         "charges": [{"name": "Lệ phí đăng ký khai sinh", "amount": 8000}]}

DOSSIER_KEYS = {"code", "portal_code", "procedure_code", "field", "agency_code", "applicant_name", "channel",
                "submitted_at", "payer_class", "parameters", "amount_due", "amount_paid", "payment_status", "charges",
                "payment_requests", "payments", "receipts", "tax_obligations"}
REQUEST_KEYS = {"reference", "dossier_code", "amount", "amount_paid", "account", "purpose", "qr_payload", "pay_url",
                "card_pdf_url", "qr_png_url", "expires_at", "created_at", "status", "cancel_reason"}


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def tokens(seeded):
    made = {role: create_token(seeded, f"test-{role}", role) for role in ROLES}
    seeded.commit()
    return made


class Api:
    def __init__(self, client, tokens):
        self.client, self.tokens = client, tokens

    def headers(self, role):
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path, role="system", **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self.headers(role), **kwargs)

    def post(self, path, json=None, role="system", **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self.client.post(f"/api/v1{path}", headers=self.headers(role), **kwargs)

    def dossier(self, role="system", **changes):
        response = self.post("/dossiers", {**LAND, **changes}, role=role)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def request(self, code=LAND["code"], role="system", **body):
        response = self.post(f"/dossiers/{code}/payment-requests", body, role=role)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def api(client, tokens):
    return Api(client, tokens)


def assert_problem(response, status, fields=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if fields is not None:
        assert {e["field"] for e in body["errors"]} >= set(fields), body
        assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])
    return body


def is_money(value):
    return isinstance(value, int) and not isinstance(value, bool)


def counts(session):
    """What is durable: rows per table, after dropping anything a view left uncommitted."""
    session.rollback()
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Dossier, DossierCharge, PaymentRequest, PaymentRequestEvent)}


def stored_request(session, reference):
    session.rollback()
    return session.scalar(select(PaymentRequest).where(PaymentRequest.reference == reference))


# --- reference data ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reference_data_for_any_role(api, role):
    for path in ("/agencies", "/procedures"):
        response = api.get(path, role=role)
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert len(response.get_json()["items"]) > 5


def test_agencies_carry_their_active_accounts(api, seeded):
    items = api.get("/agencies", role="finance").get_json()["items"]
    codes = [a["code"] for a in items]
    assert codes == sorted(codes) and "HN-VPDKDD-CN02" in codes
    for agency in items:
        assert set(agency) == {"code", "name", "name_en", "kind", "parent_code", "accounts"}
        for account in agency["accounts"]:
            assert set(account) == {"bin", "number", "name", "default"}
            assert re.fullmatch(r"\d{6}", account["bin"]) and isinstance(account["default"], bool)
    cn02 = next(a for a in items if a["code"] == "HN-VPDKDD-CN02")
    assert cn02["kind"] == "branch" and cn02["parent_code"] == "HN-VPDKDD"
    assert cn02["accounts"] == [{"bin": "970415", "number": "105415039595", "default": True,
                                 "name": "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI KHU VỰC ĐỐNG ĐA – CẦU GIẤY"}]
    hoankiem = next(a for a in items if a["code"] == "P-HOANKIEM")
    assert [a["number"] for a in hoankiem["accounts"]] == ["108405063352", "208415837832"]

    seeded.scalar(select(CollectionAccount).where(CollectionAccount.number == "208415837832")).active = False
    seeded.commit()
    hoankiem = next(a for a in api.get("/agencies").get_json()["items"] if a["code"] == "P-HOANKIEM")
    assert [a["number"] for a in hoankiem["accounts"]] == ["108405063352"]


def test_procedures_carry_their_fees(api):
    items = {p["code"]: p for p in api.get("/procedures", role="supervisor").get_json()["items"]}
    land = items["1.013831"]
    assert set(land) == {"code", "national_code", "name", "name_en", "field", "fees"}
    assert land["field"] == "land" and land["national_code"] == "1.013831"
    bd = [f for f in land["fees"] if f["code"] == "BD"]
    assert {(f["payer_class"], f["amount"]) for f in bd} == {
        ("individual_ward", 28000), ("individual_other", 14000), ("organisation", 30000)}
    assert all(is_money(f["amount"]) and "rate" not in f and "cap" not in f for f in bd)
    assert bd[0]["kind"] == "le_phi" and bd[0]["online_free_from"] == "2026-01-01"
    td = next(f for f in land["fees"] if f["code"] == "TD")
    assert td["rate"] == 1.5 and td["cap"] == 5_000_000 and "amount" not in td
    assert td["kind"] == "phi" and td["verified"] is False and td["legal_basis"].startswith("Thông tư 85/2019")
    assert td["budget_subitem"] == "2627" and td["retention_percent"] is None and td["treasury_verified"] is False
    assert bd[0]["budget_subitem"] == "2805" and bd[0]["retention_percent"] == 0
    assert "HN.LPTB" not in items  # the registration fee is a tax obligation, not a charge (docs/TREASURY.md)
    birth = items["1.001193"]
    assert birth["field"] == "civil_status"
    assert birth["fees"][0]["exempt"] is True and birth["fees"][0]["amount"] == 0
    for procedure in items.values():
        for fee in procedure["fees"]:
            assert {"code", "name", "kind", "payer_class", "legal_basis", "verified", "exempt"} <= set(fee)
            assert ("amount" in fee) != ("rate" in fee)


# --- authentication and roles ----------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/agencies", None),
    ("GET", "/procedures", None),
    ("POST", "/dossiers", LAND),
    ("GET", f"/dossiers/{LAND['code']}", None),
    ("POST", f"/dossiers/{LAND['code']}/payment-requests", {}),
    ("GET", "/payment-requests/HS7K2M9QXAS", None),
    ("POST", "/payment-requests/HS7K2M9QXAS/cancel", {"reason": "test"}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwdw==", "Bearer hnp_unknown",
                                    "Token {system}", "revoked"])
def test_without_a_valid_token_401(client, seeded, tokens, method, path, body, header):
    if header == "revoked":
        token = create_token(seeded, "old", "system")
        seeded.scalar(select(ApiToken).where(ApiToken.name == "old")).revoked_at = utcnow()
        seeded.commit()
        header = f"Bearer {token}"
    headers = {} if header is None else {"Authorization": header.format(**tokens)}
    before = counts(seeded)
    response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
    problem = assert_problem(response, 401)
    assert "token" in problem["detail"]
    assert counts(seeded) == before


def test_a_revoked_token_stops_working(api, seeded):
    assert api.get("/agencies", role="counter").status_code == 200
    seeded.scalar(select(ApiToken).where(ApiToken.name == "test-counter")).revoked_at = utcnow()
    seeded.commit()
    assert_problem(api.get("/agencies", role="counter"), 401)


def test_the_token_use_is_recorded(api, seeded):
    api.get("/agencies", role="finance")
    seeded.rollback()
    assert seeded.scalar(select(ApiToken).where(ApiToken.name == "test-finance")).last_used_at is not None


@pytest.mark.parametrize("role", READERS_ONLY)
def test_writes_are_refused_to_reading_roles_403(api, seeded, role):
    api.dossier()
    reference = api.request(amount=28_000)["reference"]
    before = counts(seeded)
    attempts = [
        api.post("/dossiers", {**LAND, "code": "000.12.03.H26-261125-0002"}, role=role),
        api.post(f"/dossiers/{LAND['code']}/payment-requests", {}, role=role),
        api.post(f"/payment-requests/{reference}/cancel", {"reason": "x"}, role=role),
        api.post("/dossiers", data="not even json", role=role),  # the role is checked before the body
    ]
    for response in attempts:
        problem = assert_problem(response, 403)
        assert role in problem["detail"]
    assert counts(seeded) == before
    assert stored_request(seeded, reference).status == "open"
    # They may still read.
    assert api.get(f"/dossiers/{LAND['code']}", role=role).status_code == 200
    assert api.get(f"/payment-requests/{reference}", role=role).status_code == 200


@pytest.mark.parametrize("role", WRITERS)
def test_writers_may_write(api, seeded, role):
    dossier = api.dossier(role=role)
    created = api.request(role=role)
    response = api.post(f"/payment-requests/{created['reference']}/cancel", {"reason": "in thử"}, role=role)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    seeded.rollback()
    stored = seeded.scalar(select(Dossier).where(Dossier.code == dossier["code"]))
    assert stored.created_by == f"token:test-{role}"
    assert [(e.action, e.actor) for e in stored.payment_requests[0].events] == [
        ("created", f"token:test-{role}"), ("cancelled", f"token:test-{role}")]


# --- dossiers -------------------------------------------------------------------------------


def check_dossier_shape(body):
    assert set(body) == DOSSIER_KEYS
    for key in ("amount_due", "amount_paid"):
        assert is_money(body[key])
    assert ICT_TIME.match(body["submitted_at"])
    for charge in body["charges"]:
        assert set(charge) == {"name", "amount", "kind", "fee_code", "legal_basis", "detail", "rule", "schedule_amount",
                               "city_support"} and is_money(charge["amount"])
    for summary in body["payment_requests"]:
        assert set(summary) == {"reference", "amount", "amount_paid", "status", "expires_at", "created_at"}
        assert is_money(summary["amount"]) and is_money(summary["amount_paid"])
        assert ICT_TIME.match(summary["expires_at"]) and ICT_TIME.match(summary["created_at"])
    assert body["payments"] == []


def test_register_a_dossier_from_the_catalogue(api, seeded):
    response = api.post("/dossiers", LAND)
    assert response.status_code == 201 and response.mimetype == "application/json"
    body = response.get_json()
    check_dossier_shape(body)
    assert response.headers["Location"] == f"http://localhost/api/v1/dossiers/{LAND['code']}"
    assert body["code"] == LAND["code"] and body["portal_code"] is None
    assert (body["procedure_code"], body["field"], body["agency_code"], body["channel"]) == (
        "1.013831", "land", "HN-VPDKDD-CN02", "counter")
    assert body["submitted_at"] == "2026-11-25T09:00:00+07:00" and body["applicant_name"] == "Nguyễn Văn A"
    assert (body["amount_due"], body["amount_paid"], body["payment_status"]) == (3_028_000, 0, "unpaid")
    assert [(c["fee_code"], c["kind"], c["amount"]) for c in body["charges"]] == [
        ("BD", "le_phi", 28_000), ("TD", "phi", 3_000_000)]
    assert body["payment_requests"] == [] and body["payments"] == []
    # Durable, and GET shows the same thing.
    assert counts(seeded)["dossiers"] == 1
    assert api.get(f"/dossiers/{LAND['code']}", role="finance").get_json() == body


def test_register_with_the_charges_given(api):
    body = api.dossier(role="counter", **BIRTH)
    check_dossier_shape(body)
    assert body["amount_due"] == 8000 and body["channel"] == "online" and body["field"] == "civil_status"
    assert body["charges"][0]["name"] == "Lệ phí đăng ký khai sinh" and body["charges"][0]["amount"] == 8000


def test_a_code_is_made_when_none_is_given(api):
    response = api.post("/dossiers", {**LAND, "code": None})
    assert response.status_code == 201
    code = response.get_json()["code"]
    assert code == "000.12.03.H26-261125-0001"
    assert response.headers["Location"].endswith(f"/api/v1/dossiers/{code}")


def test_the_same_code_again_409_changes_nothing(api, seeded):
    api.dossier(portal_code="H26.99-261125-000123")
    before = counts(seeded)
    assert_problem(api.post("/dossiers", {**LAND, "applicant_name": "Người khác"}), 409)
    assert_problem(api.post("/dossiers", {**LAND, "code": "000.12.03.H26-261125-0009",
                                          "portal_code": "H26.99-261125-000123"}), 409)
    assert counts(seeded) == before
    assert api.get(f"/dossiers/{LAND['code']}").get_json()["applicant_name"] == "Nguyễn Văn A"


@pytest.mark.parametrize(
    "changes, fields",
    [
        ({"procedure_code": "9.999999"}, ["procedure_code"]),
        ({"procedure_code": "1.012783"}, ["procedure_code"]),  # a national code with several variants
        ({"agency_code": "HN-NOWHERE"}, ["agency_code"]),
        ({"applicant_name": ""}, ["applicant_name"]),
        ({"applicant_name": None, "agency_code": None, "procedure_code": 5},
         ["applicant_name", "agency_code", "procedure_code"]),
        ({"channel": "fax"}, ["channel"]),
        ({"submitted_at": "2026-11-25 09:00"}, ["submitted_at"]),
        ({"code": "bad code with spaces"}, ["code"]),
        ({"parameters": {"payer_class": "individual_ward", "declared_value": -1}}, ["parameters.declared_value"]),
        ({"parameters": {"payer_class": "individual_ward"}}, ["parameters.declared_value"]),
        ({"parameters": {"payer_class": "alien", "declared_value": 1}}, ["parameters.payer_class"]),
        ({"parameters": "x"}, ["parameters"]),
        ({"charges": [{"name": "x", "amount": 1.5}]}, ["charges[0].amount"]),
        ({"charges": [{"name": "", "amount": -1}, "x"]}, ["charges[0].name", "charges[0].amount", "charges[1]"]),
        ({"charges": {"name": "x"}}, ["charges"]),
    ],
)
def test_invalid_dossiers_422_change_nothing(api, seeded, changes, fields):
    before = counts(seeded)
    assert_problem(api.post("/dossiers", {**LAND, **changes}, role="counter"), 422, fields)
    assert counts(seeded) == before


@pytest.mark.parametrize("kwargs, status", [
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"data": b"\xff\xfe\x00garbage", "content_type": "application/json"}, 400),
    ({"data": '{"amount": NaN}', "content_type": "application/json"}, 400),
    ({"data": "code=1&procedure_code=2", "content_type": "application/x-www-form-urlencoded"}, 400),
    ({"json": [LAND]}, 422),
    ({"json": "a string"}, 422),
    ({}, 422),
    ({"data": "   ", "content_type": "application/json"}, 422),
])
def test_bodies_that_are_not_a_json_object(api, seeded, kwargs, status):
    before = counts(seeded)
    problem = assert_problem(api.client.post("/api/v1/dossiers", headers=api.headers("system"), **kwargs), status)
    assert "JSON" in problem["detail"]
    if status == 422:
        assert [e["field"] for e in problem["errors"]] == ["body"]
    assert counts(seeded) == before


@pytest.mark.parametrize("raw, key", [
    ('{"amount": 8000, "amount": 8000000}', "amount"),
    ('{"reason": "x", "expires_in_minutes": 30, "expires_in_minutes": 60}', "expires_in_minutes"),
])
def test_a_body_with_a_key_twice_is_refused_422_naming_the_key(api, seeded, raw, key):
    api.dossier()
    before = counts(seeded)
    response = api.client.post(f"/api/v1/dossiers/{LAND['code']}/payment-requests", data=raw,
                               content_type="application/json", headers=api.headers("system"))
    problem = assert_problem(response, 422, [key])
    assert problem["code"] == "duplicate_key" and problem["params"] == {"key": key}
    assert f"“{key}”" in problem["detail"]
    assert counts(seeded) == before


def test_a_dossier_with_a_key_twice_even_nested_is_refused_and_registers_nothing(api, seeded):
    import json as _json

    before = counts(seeded)
    raw = _json.dumps({**BIRTH, "charges": []})[:-1] + ', "charges": [{"name": "x", "amount": 1, "amount": 2}]}'
    response = api.client.post("/api/v1/dossiers", data=raw, content_type="application/json",
                               headers=api.headers("counter"))
    problem = assert_problem(response, 422, ["amount"])
    assert problem["code"] == "duplicate_key"
    assert counts(seeded) == before
    # The same key in two different objects is fine.
    assert api.post("/dossiers", {**BIRTH, "charges": [{"name": "a", "amount": 1}, {"name": "b", "amount": 2}]}
                    ).status_code == 201


@pytest.mark.parametrize("charges", [
    [{"name": "a", "amount": 9_999_999_999_999}, {"name": "b", "amount": 1}],
    [{"name": f"l{i}", "amount": 5_000_000_000_000} for i in range(3)],
])
def test_a_dossier_whose_charges_total_over_the_limit_is_refused_422(api, seeded, charges):
    before = counts(seeded)
    problem = assert_problem(api.post("/dossiers", {**BIRTH, "charges": charges}), 422, ["charges"])
    assert problem["code"] == "invalid_dossier"
    assert counts(seeded) == before
    # At the limit exactly, it is registered and a payment request carries it.
    limit = [{"name": "a", "amount": 9_999_999_999_998}, {"name": "b", "amount": 1}]
    assert api.post("/dossiers", {**BIRTH, "charges": limit}).get_json()["amount_due"] == 9_999_999_999_999
    assert api.request(BIRTH["code"])["amount"] == 9_999_999_999_999


def test_a_payment_request_for_a_dossier_over_the_limit_is_422_not_500(api, seeded):
    """A dossier stored before the total was checked: refused naming its charges."""
    from sqlalchemy import update

    api.dossier(**BIRTH)
    seeded.execute(update(Dossier).where(Dossier.code == BIRTH["code"]).values(amount_due=10**13 + 5))
    seeded.commit()
    before = counts(seeded)
    for body in ({}, {"amount": 8000}):
        problem = assert_problem(api.post(f"/dossiers/{BIRTH['code']}/payment-requests", body), 422, ["charges"])
        assert problem["code"] == "invalid_dossier"
    assert counts(seeded) == before


def test_a_payment_request_amount_over_the_limit_is_422(api, seeded):
    api.dossier()
    before = counts(seeded)
    for amount in (10**13, 10**30):
        problem = assert_problem(api.post(f"/dossiers/{LAND['code']}/payment-requests", {"amount": amount}), 422,
                                 ["amount"])
        assert problem["code"] == "invalid_request"
    assert counts(seeded) == before


def test_bodies_over_one_megabyte_413(api, seeded):
    before = counts(seeded)
    big = {**LAND, "applicant_name": "A" * (1024 * 1024)}
    problem = assert_problem(api.post("/dossiers", big), 413)
    assert "1048576" in problem["detail"]
    api.dossier()
    assert_problem(api.post(f"/dossiers/{LAND['code']}/payment-requests", {"pad": "x" * 1_100_000}), 413)
    assert_problem(api.post("/payment-requests/HS7K2M9QXAS/cancel", {"reason": "x" * 1_100_000}), 413)
    assert counts(seeded) == {**before, "dossiers": 1, "dossier_charges": 2}


def test_a_body_just_under_the_limit_is_read(api):
    # 1 MB is about the body, not about a field: a long name is refused for its length (422), not its size.
    response = api.post("/dossiers", {**LAND, "applicant_name": "A" * 1_000_000})
    assert_problem(response, 422, ["applicant_name"])


def test_either_code_finds_the_dossier(api):
    created = api.dossier(portal_code="H26.99-261125-000123")
    by_portal = api.get("/dossiers/H26.99-261125-000123", role="supervisor")
    assert by_portal.status_code == 200 and by_portal.get_json() == created
    assert by_portal.get_json()["portal_code"] == "H26.99-261125-000123"


@pytest.mark.parametrize("code", ["000.20.01.H26/2026/0042", "abc/../../x", "000.20.01.H26-261125", "H26 261125 0001",
                                  "000.20.01.H26-261125-0001-"])
def test_codes_outside_the_national_format_are_refused(api, seeded, code):
    problem = assert_problem(api.post("/dossiers", {**BIRTH, "code": code}), 422)
    assert problem["code"] == "invalid_dossier" and [e["field"] for e in problem["errors"]] == ["code"]
    assert seeded.scalar(select(func.count()).select_from(Dossier)) == 0


def test_codes_in_the_national_format_are_taken(api):
    for code in ("000.20.01.H26-261125-0042", "G22.99.1-261125-0009", "P-HOANKIEM-261125-0001"):
        assert api.dossier(**{**BIRTH, "code": code})["code"] == code


def test_unknown_dossier_404(api):
    problem = assert_problem(api.get("/dossiers/000.12.03.H26-261125-0404", role="finance"), 404)
    assert "000.12.03.H26-261125-0404" in problem["detail"]


def test_the_dossier_shows_its_requests_and_expires_them_first(api, seeded):
    api.dossier()
    first = api.request(amount=28_000, expires_in_minutes=5)
    second = api.request()
    stored = stored_request(seeded, first["reference"])
    stored.expires_at = utcnow() - timedelta(seconds=1)
    seeded.commit()
    body = api.get(f"/dossiers/{LAND['code']}", role="finance").get_json()
    check_dossier_shape(body)
    assert [(r["reference"], r["amount"], r["status"]) for r in body["payment_requests"]] == [
        (first["reference"], 28_000, "expired"), (second["reference"], 3_000_000, "open")]
    # The expiry was committed, with its history.
    stored = stored_request(seeded, first["reference"])
    assert stored.status == "expired" and stored.events[-1].action == "expired"


def test_payment_status_follows_the_amounts(api, seeded):
    api.dossier()
    stored = seeded.scalar(select(Dossier).where(Dossier.code == LAND["code"]))
    for paid, status in ((1_000, "partially_paid"), (3_028_000, "paid"), (3_100_000, "overpaid")):
        stored.amount_paid = paid
        seeded.commit()
        body = api.get(f"/dossiers/{LAND['code']}").get_json()
        assert (body["amount_paid"], body["payment_status"]) == (paid, status)


# --- payment requests -------------------------------------------------------------------------


def check_request_shape(body):
    assert set(body) == REQUEST_KEYS
    assert is_money(body["amount"]) and is_money(body["amount_paid"])
    assert set(body["account"]) == {"bin", "number", "name"}
    assert ICT_TIME.match(body["expires_at"]) and ICT_TIME.match(body["created_at"])
    assert is_valid(body["reference"])
    fields = decode(body["qr_payload"])
    assert fields.purpose == body["purpose"]  # tag 62-08, exactly
    assert (fields.amount, fields.bin, fields.account) == (
        body["amount"], body["account"]["bin"], body["account"]["number"])


def test_create_a_payment_request_for_what_remains(api, seeded):
    api.dossier()
    response = api.post(f"/dossiers/{LAND['code']}/payment-requests", role="counter")  # no body at all
    assert response.status_code == 201
    body = response.get_json()
    check_request_shape(body)
    assert body["dossier_code"] == LAND["code"] and body["amount"] == 3_028_000 and body["amount_paid"] == 0
    assert body["status"] == "open" and body["cancel_reason"] is None
    assert body["account"] == {"bin": "970415", "number": "105415039595",
                               "name": "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI KHU VỰC ĐỐNG ĐA – CẦU GIẤY"}
    assert body["purpose"].startswith(body["reference"]) and len(body["purpose"]) <= 25
    token = stored_request(seeded, body["reference"]).token
    assert body["pay_url"] == f"http://localhost/pay/{token}"
    assert body["card_pdf_url"] == f"http://localhost/pay/{token}/card.pdf"
    assert body["qr_png_url"] == f"http://localhost/pay/{token}/qr.png"
    expires = datetime.fromisoformat(body["expires_at"])
    assert (expires.hour, expires.minute, expires.second) == (23, 59, 59) and expires > utcnow()
    assert response.headers["Location"] == f"http://localhost/api/v1/payment-requests/{body['reference']}"
    # Durable; the dossier lists it; GET answers the same object.
    assert counts(seeded)["payment_requests"] == 1
    summary = api.get(f"/dossiers/{LAND['code']}").get_json()["payment_requests"]
    assert summary == [{"reference": body["reference"], "amount": 3_028_000, "amount_paid": 0, "status": "open",
                        "expires_at": body["expires_at"], "created_at": body["created_at"]}]
    assert api.get(f"/payment-requests/{body['reference']}", role="finance").get_json() == body


def test_urls_use_the_public_base_url(api, app):
    app.config["PUBLIC_BASE_URL"] = "https://thanhtoan.hanoi.gov.vn/"
    api.dossier()
    response = api.post(f"/dossiers/{LAND['code']}/payment-requests", {})
    body = response.get_json()
    for key, tail in (("pay_url", ""), ("card_pdf_url", "/card.pdf"), ("qr_png_url", "/qr.png")):
        assert re.fullmatch(rf"https://thanhtoan\.hanoi\.gov\.vn/pay/[A-Za-z0-9_\-]{{32}}{re.escape(tail)}", body[key])
    assert response.headers["Location"] == f"https://thanhtoan.hanoi.gov.vn/api/v1/payment-requests/{body['reference']}"


def test_partial_requests_then_nothing_remains_409(api, seeded):
    api.dossier()
    before_request = utcnow()
    part = api.request(amount=28_000, expires_in_minutes=30)
    expires = datetime.fromisoformat(part["expires_at"])
    assert part["amount"] == 28_000
    assert timedelta(minutes=29) <= expires - before_request <= timedelta(minutes=31)
    rest = api.request()
    assert rest["amount"] == 3_000_000 and rest["reference"] != part["reference"]
    before = counts(seeded)
    problem = assert_problem(api.post(f"/dossiers/{LAND['code']}/payment-requests", {}), 409)
    assert problem["code"] == "nothing_due" and problem["detail"].startswith("Nothing remains due on dossier")
    assert_problem(api.post(f"/dossiers/{LAND['code']}/payment-requests", {"amount": 1}), 422, ["amount"])
    assert counts(seeded) == before


def test_nothing_due_at_all_409(api, seeded):
    api.dossier(**{**BIRTH, "charges": None, "parameters": {}})  # on-time birth registration is free
    before = counts(seeded)
    assert_problem(api.post(f"/dossiers/{BIRTH['code']}/payment-requests", {}), 409)
    assert_problem(api.post(f"/dossiers/{BIRTH['code']}/payment-requests", {"amount": 1000}), 409)
    assert counts(seeded) == before


@pytest.mark.parametrize("body, fields", [
    ({"amount": 0}, ["amount"]),
    ({"amount": -5}, ["amount"]),
    ({"amount": 1.5}, ["amount"]),
    ({"amount": "1000"}, ["amount"]),
    ({"amount": True}, ["amount"]),
    ({"amount": 3_028_001}, ["amount"]),
    ({"expires_in_minutes": 0}, ["expires_in_minutes"]),
    ({"expires_in_minutes": 43_201}, ["expires_in_minutes"]),
    ({"expires_in_minutes": "30"}, ["expires_in_minutes"]),
    ({"expires_in_minutes": 2.5}, ["expires_in_minutes"]),
    ({"amount": -1, "expires_in_minutes": -1}, ["amount", "expires_in_minutes"]),
])
def test_invalid_payment_requests_422_change_nothing(api, seeded, body, fields):
    api.dossier()
    before = counts(seeded)
    assert_problem(api.post(f"/dossiers/{LAND['code']}/payment-requests", body, role="counter"), 422, fields)
    assert counts(seeded) == before


def test_payment_request_bodies(api, seeded):
    api.dossier()
    path = f"/api/v1/dossiers/{LAND['code']}/payment-requests"
    headers = api.headers("system")
    assert_problem(api.client.post(path, data="{", content_type="application/json", headers=headers), 400)
    assert_problem(api.client.post(path, json=[1], headers=headers), 422, ["body"])
    assert counts(seeded)["payment_requests"] == 0
    empty = api.client.post(path, data="", content_type="application/json", headers=headers)
    assert empty.status_code == 201 and empty.get_json()["amount"] == 3_028_000


def test_payment_request_for_an_unknown_dossier_404(api, seeded):
    before = counts(seeded)
    assert_problem(api.post("/dossiers/000.12.03.H26-261125-0404/payment-requests", {}), 404)
    assert counts(seeded) == before


def test_payment_request_by_the_portal_code(api):
    api.dossier(portal_code="H26.99-261125-000123")
    assert api.request(code="H26.99-261125-000123")["dossier_code"] == LAND["code"]


def test_get_a_payment_request(api, seeded):
    api.dossier()
    created = api.request(amount=28_000)
    response = api.get(f"/payment-requests/{created['reference'].lower()}", role="supervisor")
    assert response.status_code == 200 and response.get_json() == created
    check_request_shape(response.get_json())
    stored = stored_request(seeded, created["reference"])
    stored.status, stored.amount_paid = "partially_paid", 10_000
    seeded.commit()
    body = api.get(f"/payment-requests/{created['reference']}").get_json()
    assert (body["status"], body["amount_paid"]) == ("partially_paid", 10_000)


def test_get_an_unknown_payment_request_404(api):
    problem = assert_problem(api.get("/payment-requests/HS7K2M9QXAS", role="finance"), 404)
    assert "HS7K2M9QXAS" in problem["detail"]


def test_get_a_payment_request_expires_it_first(api, seeded):
    api.dossier()
    created = api.request(expires_in_minutes=1)
    stored = stored_request(seeded, created["reference"])
    stored.expires_at = utcnow() - timedelta(seconds=1)
    seeded.commit()
    assert api.get(f"/payment-requests/{created['reference']}").get_json()["status"] == "expired"
    assert stored_request(seeded, created["reference"]).status == "expired"


# --- cancelling -------------------------------------------------------------------------------


def test_cancel_a_payment_request(api, seeded):
    api.dossier()
    created = api.request()
    response = api.post(f"/payment-requests/{created['reference']}/cancel", {"reason": "  sai số tiền "},
                        role="counter")
    assert response.status_code == 200
    body = response.get_json()
    check_request_shape(body)
    assert body == {**created, "status": "cancelled", "cancel_reason": "sai số tiền"}
    stored = stored_request(seeded, created["reference"])
    assert stored.status == "cancelled"
    assert (stored.events[-1].action, stored.events[-1].note, stored.events[-1].actor) == (
        "cancelled", "sai số tiền", "token:test-counter")
    # The amount is free again.
    assert api.request()["amount"] == 3_028_000
    # Cancelled already: 409, nothing changes.
    before = counts(seeded)
    problem = assert_problem(api.post(f"/payment-requests/{created['reference']}/cancel", {"reason": "again"}), 409)
    assert "cancelled" in problem["detail"]
    assert counts(seeded) == before


@pytest.mark.parametrize("body, fields", [
    (None, ["body"]),
    ({}, ["reason"]),
    ({"reason": ""}, ["reason"]),
    ({"reason": "   "}, ["reason"]),
    ({"reason": 5}, ["reason"]),
    ({"reason": "x" * 1001}, ["reason"]),
    ([{"reason": "x"}], ["body"]),
])
def test_cancel_needs_a_reason_422(api, seeded, body, fields):
    api.dossier()
    created = api.request()
    before = counts(seeded)
    assert_problem(api.post(f"/payment-requests/{created['reference']}/cancel", body), 422, fields)
    assert counts(seeded) == before
    assert stored_request(seeded, created["reference"]).status == "open"


@pytest.mark.parametrize("status", ["paid", "overpaid"])
def test_a_paid_request_cannot_be_cancelled_409(api, seeded, status):
    api.dossier()
    created = api.request()
    stored = stored_request(seeded, created["reference"])
    stored.status, stored.amount_paid = status, created["amount"]
    seeded.commit()
    before = counts(seeded)
    problem = assert_problem(api.post(f"/payment-requests/{created['reference']}/cancel", {"reason": "x"}), 409)
    assert problem["code"] == "request_paid" and problem["params"]["status"] == status
    assert created["reference"] in problem["detail"] and "cannot be cancelled" in problem["detail"]
    assert counts(seeded) == before
    assert stored_request(seeded, created["reference"]).status == status


def test_cancel_an_unknown_request_404(api, seeded):
    before = counts(seeded)
    assert_problem(api.post("/payment-requests/HS7K2M9QXAS/cancel", {"reason": "x"}), 404)
    assert counts(seeded) == before


def test_cancel_an_expired_request(api, seeded):
    api.dossier()
    created = api.request(expires_in_minutes=1)
    stored = stored_request(seeded, created["reference"])
    stored.expires_at = utcnow() - timedelta(seconds=1)
    seeded.commit()
    body = api.post(f"/payment-requests/{created['reference']}/cancel", {"reason": "hết hạn"}).get_json()
    assert body["status"] == "cancelled"
    actions = [e.action for e in stored_request(seeded, created["reference"]).events]
    assert actions == ["created", "expired", "cancelled"]


# --- other errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/dossiers"),
    ("DELETE", f"/dossiers/{LAND['code']}"),
    ("PUT", "/payment-requests/HS7K2M9QXAS"),
    ("GET", "/payment-requests/HS7K2M9QXAS/cancel"),
    ("POST", "/agencies"),
    ("DELETE", "/procedures"),
])
def test_wrong_methods_405(api, seeded, method, path):
    before = counts(seeded)
    response = api.client.open(f"/api/v1{path}", method=method, headers=api.headers("admin"), json={})
    assert_problem(response, 405)
    assert counts(seeded) == before


def test_unknown_api_paths_404(api):
    assert_problem(api.get("/nothing"), 404)
    assert_problem(api.get("/payment-requests"), 404)


def test_a_failed_request_leaves_the_next_one_working(api, seeded):
    """The session is rolled back after a refusal: the same session carries on cleanly."""
    api.dossier()
    assert_problem(api.post("/dossiers", LAND), 409)
    assert api.request()["amount"] == 3_028_000
    assert counts(seeded)["payment_requests"] == 1


def test_times_are_indochina_times(api):
    api.dossier(submitted_at="2026-11-25T02:00:00Z")
    body = api.get(f"/dossiers/{LAND['code']}").get_json()
    assert body["submitted_at"] == "2026-11-25T09:00:00+07:00"
    created = api.request()
    created_at = datetime.fromisoformat(created["created_at"])
    assert created_at.utcoffset() == timedelta(hours=7)
    assert abs(created_at - datetime.now(timezone.utc)) < timedelta(minutes=5)


# --- content no database would take ---------------------------------------------------------


@pytest.mark.parametrize("raw, field", [
    ('{"applicant_name": "Nguy\\u0000n"}', "applicant_name"),
    ('{"charges": [{"name": "L\\ud800", "amount": 1}]}', "charges[0].name"),
    ('{"parameters": {"declared_value": 10000000000000000000000000}, "procedure_code": "HN.LPTB"}',
     "parameters.declared_value"),
])
def test_content_the_database_cannot_hold_422(api, seeded, raw, field):
    import json as _json

    body = {**LAND, **_json.loads(raw)}
    data = _json.dumps(body, ensure_ascii=True)
    before = counts(seeded)
    response = api.client.post("/api/v1/dossiers", data=data, content_type="application/json",
                               headers=api.headers("system"))
    assert_problem(response, 422, [field])
    assert counts(seeded) == before


def test_a_nul_in_the_path_404(api):
    assert_problem(api.get("/dossiers/abc%00def"), 404)
    assert_problem(api.get("/payment-requests/HS%00"), 404)


def test_concurrent_requests_never_ask_for_more_than_is_due(app, api, seeded):
    """Several clerks press "print QR" at once: one request is made, the others are told why not."""
    import threading

    api.dossier()
    seeded.commit()  # nothing of the test's own may hold a lock while the threads work
    results, barrier = [], threading.Barrier(4)

    def press():
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/dossiers/{LAND['code']}/payment-requests", json={},
                               headers=api.headers("counter"))
        results.append(response.status_code)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [201, 409, 409, 409]
    seeded.rollback()
    assert seeded.scalar(select(func.sum(PaymentRequest.amount))) == 3_028_000
