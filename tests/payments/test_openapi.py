"""The OpenAPI document and the docs page are in step with the service.

- every /api/v1 route is described, and every described operation is a route;
- the roles it names are the roles the service lets through, and no others;
- every status it describes for an operation is one the service gives, with a body of the
  described schema, and the service gives no status it does not describe;
- its examples have the shapes of its schemas, and the main ones are what the service answers;
- /api/docs shows all of it, server-side, with no script.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from core.tokens import create_token
from app import register_api_docs
from payments.openapi import (DOCUMENT, EXAMPLE_AGENCIES, EXAMPLE_DOSSIER, EXAMPLE_DOSSIER_INPUT,
                              EXAMPLE_PAYMENT_REQUEST, EXAMPLE_PROCEDURES, HTTP_METHODS, resolve)
from payments.references import is_valid
from qr.vietqr import decode

register_api_docs()  # the document is whole (every package's operations) before any test reads it

ROLES = ("system", "counter", "finance", "supervisor", "admin")
# The operations of the payments package; the other packages' are exercised in their own tests.
PAYMENTS_OPERATIONS = {"listAgencies", "listProcedures", "createDossier", "getDossier", "createPaymentRequest",
                       "getPaymentRequest", "cancelPaymentRequest", "getOpenAPI"}
PROBLEM = "application/problem+json"


# --- a small JSON Schema checker for the keywords the document uses ---------------------------

_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def violations(schema, value, where="$"):
    """What is wrong with ``value`` under ``schema``; objects are closed unless
    ``additionalProperties`` is true, so an undocumented key is a violation too."""
    schema = resolve(DOCUMENT, schema)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES[k](value) for k in kinds):
            return [f"{where}: {value!r:.60} is not {'/'.join(kinds)}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{where}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{where}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time" and datetime.fromisoformat(value).tzinfo is None:
            found.append(f"{where}: {value!r} has no offset")
        if schema.get("format") == "uri" and not re.match(r"^https?://[^/]+/", value):
            found.append(f"{where}: {value!r} is not an absolute URL")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                found.append(f"{where}: missing {name}")
        for name, item in value.items():
            if name in properties:
                found.extend(violations(properties[name], item, f"{where}.{name}"))
            elif schema.get("additionalProperties") is not True:
                found.append(f"{where}: undocumented key {name!r}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found.extend(violations(schema["items"], item, f"{where}[{index}]"))
    return found


def test_the_checker_catches_what_it_should():
    dossier = DOCUMENT["components"]["schemas"]["Dossier"]
    assert violations(dossier, EXAMPLE_DOSSIER) == []
    assert violations(dossier, {**EXAMPLE_DOSSIER, "amount_due": 1.5})
    assert violations(dossier, {**EXAMPLE_DOSSIER, "surprise": 1})
    assert violations(dossier, {k: v for k, v in EXAMPLE_DOSSIER.items() if k != "charges"})
    assert violations(dossier, {**EXAMPLE_DOSSIER, "submitted_at": "2026-11-25T09:00:00"})
    assert violations(dossier, {**EXAMPLE_DOSSIER, "payment_status": "lost"})


# --- the document itself ----------------------------------------------------------------------


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def walk(node, where="$"):
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}[{index}]")


def test_the_document_is_openapi_3_1_with_bearer_security():
    assert DOCUMENT["openapi"].startswith("3.1.")
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        **DOCUMENT["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    json.dumps(DOCUMENT)  # plain JSON all the way down


def test_every_reference_resolves():
    refs = [(where, node["$ref"]) for where, node in walk(DOCUMENT) if isinstance(node, dict) and "$ref" in node]
    assert len(refs) > 30
    for where, ref in refs:
        assert ref.startswith("#/components/"), where
        assert isinstance(resolve(DOCUMENT, {"$ref": ref}), dict), where


def test_path_parameters_are_declared():
    for method, path, op in operations():
        in_path = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert in_path == declared, (method, path)
        assert all(p["required"] for p in op.get("parameters", []) if p["in"] == "path")


def test_every_operation_describes_its_errors():
    for method, path, op in operations():
        statuses = set(op["responses"])
        secured = op.get("security", DOCUMENT["security"]) != []
        assert any(s.startswith("2") for s in statuses), (method, path)
        if secured:
            assert "401" in statuses and op["x-roles"], (method, path)
            assert ("403" in statuses) == (set(op["x-roles"]) != set(ROLES)), (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if "requestBody" in op:
            json_body = "application/json" in op["requestBody"]["content"]  # a file upload has no 400
            assert ({"400", "413", "422"} if json_body else {"413", "422"}) <= statuses, (method, path)
        for status, response in op["responses"].items():
            response = resolve(DOCUMENT, response)
            if status.startswith(("4", "5")):
                media = response["content"][PROBLEM]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
                assert media["example"]["status"] == int(status)


def test_every_example_fits_its_schema():
    checked = 0
    for where, node in walk(DOCUMENT):
        if isinstance(node, dict) and "schema" in node and ("example" in node or "examples" in node):
            examples = [node["example"]] if "example" in node else []
            examples += [e["value"] for e in node.get("examples", {}).values()]
            for example in examples:
                assert violations(node["schema"], example) == [], where
                checked += 1
    assert checked >= 15


def rule_to_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule)


def test_every_route_is_documented_and_nothing_else(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method, rule_to_path(rule.rule)))
    documented = {(method, path) for method, path, _ in operations()}
    assert routes == documented
    assert {op["operationId"] for _, _, op in operations()} >= PAYMENTS_OPERATIONS


# --- the document against the running service ---------------------------------------------------


@pytest.fixture
def tokens(seeded):
    made = {role: create_token(seeded, f"doc-{role}", role) for role in ROLES}
    seeded.commit()
    return made


def _example_path(path: str, op: dict) -> str:
    for param in op.get("parameters", []):
        path = path.replace("{" + param["name"] + "}", str(param["example"]))
    return path


def _example_body(op: dict):
    if "requestBody" not in op or "application/json" not in op["requestBody"]["content"]:
        return None
    media = op["requestBody"]["content"]["application/json"]
    return media["example"] if "example" in media else next(iter(media["examples"].values()))["value"]


def test_the_served_document_is_this_document(client, app):
    response = client.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = response.get_json()
    assert served["servers"] == [{"url": "http://localhost"}]
    assert {k: v for k, v in served.items() if k != "servers"} == json.loads(json.dumps(DOCUMENT))
    app.config["PUBLIC_BASE_URL"] = "https://thanhtoan.hanoi.gov.vn"
    assert client.get("/api/v1/openapi.json").get_json()["servers"] == [{"url": "https://thanhtoan.hanoi.gov.vn"}]


def test_the_roles_described_are_the_roles_let_through(client, tokens):
    for method, path, op in operations():
        url = _example_path(path, op)
        if op.get("security") == []:
            assert client.open(url, method=method).status_code == 200, (method, path)
            continue
        for role in ROLES:
            response = client.open(url, method=method, json=_example_body(op),
                                   headers={"Authorization": f"Bearer {tokens[role]}"})
            if role in op["x-roles"]:
                assert response.status_code not in (401, 403), (method, path, role, response.get_json())
            else:
                assert response.status_code == 403, (method, path, role)


class Recorder:
    """Checks each answer against the operation's description and notes which statuses were seen."""

    def __init__(self, client, tokens):
        self.client, self.tokens, self.seen = client, tokens, set()
        self.ops = {op["operationId"]: (method, path, op) for method, path, op in operations()}

    def call(self, op_id, role="system", params=None, **kwargs):
        method, path, op = self.ops[op_id]
        for name, value in (params or {}).items():
            path = path.replace("{" + name + "}", value)
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        status = str(response.status_code)
        assert status in op["responses"], (op_id, status, response.get_data(as_text=True)[:300])
        described = resolve(DOCUMENT, op["responses"][status])
        media_type = response.mimetype
        assert media_type in described["content"], (op_id, status, media_type)
        schema = described["content"][media_type]["schema"]
        assert violations(schema, response.get_json()) == [], (op_id, status)
        for header in described.get("headers", {}):
            assert header in response.headers, (op_id, status, header)
        self.seen.add((op_id, status))
        return response


def test_every_described_status_is_given_and_no_other(client, tokens, seeded):
    rec = Recorder(client, tokens)
    code = EXAMPLE_DOSSIER_INPUT["code"]
    big = {"data": json.dumps({"x": "y" * 1_100_000}), "content_type": "application/json"}
    not_json = {"data": "{", "content_type": "application/json"}

    for op_id in ("listAgencies", "listProcedures"):
        rec.call(op_id, role="finance")
        rec.call(op_id, role=None)
    rec.call("getOpenAPI", role=None)

    rec.call("createDossier", json=EXAMPLE_DOSSIER_INPUT)
    rec.call("createDossier", json=EXAMPLE_DOSSIER_INPUT)  # 409
    rec.call("createDossier", json={**EXAMPLE_DOSSIER_INPUT, "code": None, "applicant_name": ""})  # 422
    rec.call("createDossier", **not_json)
    rec.call("createDossier", **big)
    rec.call("createDossier", role=None, json=EXAMPLE_DOSSIER_INPUT)
    rec.call("createDossier", role="supervisor", json=EXAMPLE_DOSSIER_INPUT)

    rec.call("getDossier", params={"code": code})
    rec.call("getDossier", params={"code": "nope-404"})
    rec.call("getDossier", role=None, params={"code": code})

    where = {"code": code}
    rec.call("createPaymentRequest", params=where, json={"amount": 0})  # 422
    rec.call("createPaymentRequest", params=where, **not_json)
    rec.call("createPaymentRequest", params=where, **big)
    rec.call("createPaymentRequest", params={"code": "nope-404"}, json={})
    rec.call("createPaymentRequest", role=None, params=where, json={})
    rec.call("createPaymentRequest", role="finance", params=where, json={})
    reference = rec.call("createPaymentRequest", params=where, json={}).get_json()["reference"]
    rec.call("createPaymentRequest", params=where, json={})  # 409: all of it is asked for

    ref = {"reference": reference}
    rec.call("getPaymentRequest", params=ref)
    rec.call("getPaymentRequest", params={"reference": "HS0000"})
    rec.call("getPaymentRequest", role=None, params=ref)

    rec.call("cancelPaymentRequest", params=ref, json={})  # 422
    rec.call("cancelPaymentRequest", params=ref, **not_json)
    rec.call("cancelPaymentRequest", params=ref, **big)
    rec.call("cancelPaymentRequest", params={"reference": "HS0000"}, json={"reason": "x"})
    rec.call("cancelPaymentRequest", role=None, params=ref, json={"reason": "x"})
    rec.call("cancelPaymentRequest", role="supervisor", params=ref, json={"reason": "x"})
    rec.call("cancelPaymentRequest", params=ref, json={"reason": "x"})
    rec.call("cancelPaymentRequest", params=ref, json={"reason": "x"})  # 409: cancelled already

    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] in PAYMENTS_OPERATIONS}
    assert rec.seen == described


def test_the_main_examples_are_what_the_service_answers(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['system']}"}
    created = client.post("/api/v1/dossiers", json=EXAMPLE_DOSSIER_INPUT, headers=headers).get_json()

    assert created == {**EXAMPLE_DOSSIER, "payment_requests": []}
    assert created["charges"][1]["detail"] == "1,5 ‰ × 2.000.000.000 ₫"

    request = client.post(f"/api/v1/dossiers/{created['code']}/payment-requests", json={}, headers=headers).get_json()
    assert set(request) == set(EXAMPLE_PAYMENT_REQUEST)
    same = ("dossier_code", "amount", "amount_paid", "account", "status", "cancel_reason")
    assert {k: request[k] for k in same} == {k: EXAMPLE_PAYMENT_REQUEST[k] for k in same}
    example = decode(EXAMPLE_PAYMENT_REQUEST["qr_payload"])
    assert is_valid(EXAMPLE_PAYMENT_REQUEST["reference"])
    assert example.purpose == EXAMPLE_PAYMENT_REQUEST["purpose"]
    assert (example.amount, example.bin, example.account) == (3_028_000, "970415", "105415039595")
    assert request["purpose"].replace(request["reference"], "") == \
        EXAMPLE_PAYMENT_REQUEST["purpose"].replace(EXAMPLE_PAYMENT_REQUEST["reference"], "")

    agencies = client.get("/api/v1/agencies", headers=headers).get_json()["items"]
    assert EXAMPLE_AGENCIES["items"][0] in agencies
    procedures = {p["code"]: p for p in client.get("/api/v1/procedures", headers=headers).get_json()["items"]}
    example_procedure = EXAMPLE_PROCEDURES["items"][0]
    actual = procedures[example_procedure["code"]]
    assert {k: v for k, v in actual.items() if k != "fees"} == {k: v for k, v in example_procedure.items()
                                                                if k != "fees"}
    assert all(fee in actual["fees"] for fee in example_procedure["fees"])


# --- the docs page ------------------------------------------------------------------------------


def test_the_docs_page_shows_every_operation(client):
    response = client.get("/api/docs")  # no token needed
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)=["']https?://""", page)  # nothing from elsewhere: works offline
    assert 'class="topbar"' in page  # the site's layout
    for method, path, op in operations():
        section = re.search(rf'<section class="op" id="{op["operationId"]}">(.*?)</section>', page, re.S)
        assert section, op["operationId"]
        text = section.group(1)
        assert f'<span class="method {method}">{method}</span>' in text
        assert f'<span class="path">{path}</span>' in text
        for status in op["responses"]:
            assert f'<td class="mono">{status}</td>' in text, (path, status)
        if op.get("security") == []:
            assert "<strong>Authentication:</strong>\n      none" in text
        else:
            assert f'<span class="roles">{", ".join(op["x-roles"])}</span>' in text
        for param in op.get("parameters", []):
            assert f'<td class="mono">{param["name"]}</td>' in text
        if "requestBody" in op:
            schema = resolve(DOCUMENT, next(iter(op["requestBody"]["content"].values()))["schema"])
            for name in schema["properties"]:
                assert f'<td class="mono">{name}</td>' in text, (path, name)
    # Nested fields, examples (unescaped Vietnamese, escaped HTML), error bodies.
    assert '<td class="mono">charges[].amount</td>' in page
    assert '<td class="mono">account.bin</td>' in page
    assert "Nguyễn Văn A" in page and "&#34;qr_payload&#34;" in page
    assert "application/problem+json" in page


def test_the_docs_page_in_english_too(client):
    page = client.get("/api/docs?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "createPaymentRequest" in page


def test_the_docs_render_their_markdown(client):
    """The descriptions' Markdown is rendered (a list is a list, not "- " text); HTML in a
    description is shown as text, never run."""
    from payments.openapi import inline_markdown

    page = client.get("/api/docs").get_data(as_text=True)
    intro = re.search(r'<div class="desc">(.*?)</div>', page, re.S).group(1)
    assert "<ul>" in intro and "<li>Send <code>Authorization: Bearer &lt;token&gt;</code>" in intro
    assert "\n- " not in intro and "<p>- " not in intro
    assert str(inline_markdown("a <script>x</script> `b`")) == "<p>a &lt;script&gt;x&lt;/script&gt; <code>b</code></p>"
