"""Per-address throttling (core.ratelimit, Flask-Limiter), on SQLite and PostgreSQL: refused
callbacks, the citizen's page (and token guesses) and the public reports answer 429 with
Retry-After and the refusal ``too_many_requests`` once over their limits; a signed bank
callback is never throttled, even from an address that was; and the public PNG and CSV are
drawn once per data version and answer 304 to a client that has them."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app import create_app
from core.db import db
from reconciliation.models import BankTransaction, JournalEntry

from .conftest import make_request, ok, post, signed, transfer_for


@pytest.fixture
def limited(database_url, tmp_path, request):
    extra = getattr(request, "param", {})
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                              "INSTANCE_PATH": str(tmp_path / "instance"), "RATELIMIT_ENABLED": True, **extra,
                              "RATELIMIT_REFUSED_CALLBACKS": "5 per minute", "RATELIMIT_CITIZEN": "8 per minute",
                              "RATELIMIT_CITIZEN_MISSES": "3 per minute", "RATELIMIT_PUBLIC_REPORTS": "4 per minute"})
    with application.app_context():
        from payments.agencies import seed_agencies
        from payments.catalogue import seed_catalogue

        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        db.session.commit()
    yield application
    application.extensions["database"].engine.dispose()


def assert_throttled(response, *, problem: bool) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    if problem:
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["code"] == "too_many_requests" and body["params"]["wait"] >= 1
    else:
        page = response.get_data(as_text=True)
        assert "Quá nhiều yêu cầu từ địa chỉ của bạn" in page


def test_refused_callbacks_are_throttled_but_a_signed_one_never(limited):
    client = limited.test_client()
    junk = json.dumps({"id": 1, "content": "x"}).encode()
    answers = [client.post("/callbacks/sepay", data=junk, headers={"Authorization": "Apikey wrong"})
               for _ in range(8)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    for answer in answers[5:]:
        assert_throttled(answer, problem=True)
    with limited.app_context():
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 5  # 429s store nothing
        request = make_request(db.session, amount=8000)
        transfers = [transfer_for(request, amount=1000) for _ in range(12)]
    # From the same address, now throttled: a flood of valid, signed callbacks all go through.
    for via, transfer in zip(["sepay", "payos", "bankdirect"] * 4, transfers):
        assert ok(via, post(client, via, *signed(via, transfer))), via
    with limited.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 12
    # Another address is not throttled for this one's refusals.
    other = client.post("/callbacks/sepay", data=junk, headers={"Authorization": "Apikey wrong"},
                        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 401


def test_the_citizen_page_and_token_guesses_are_throttled(limited):
    client = limited.test_client()
    with limited.app_context():
        token = make_request(db.session, amount=8000).token
    misses = [client.get(f"/pay/guess{n}").status_code for n in range(3)]
    assert misses == [404, 404, 404]
    assert_throttled(client.get(f"/pay/{token}"), problem=False)  # three misses: this address waits
    other = {"REMOTE_ADDR": "198.51.100.8"}
    pages = [client.get(f"/pay/{token}", environ_base=other).status_code for _ in range(8)]
    assert pages == [200] * 8
    assert_throttled(client.get(f"/pay/{token}/status.json", environ_base=other), problem=False)
    english = client.get(f"/pay/{token}?lang=en", environ_base=other)
    assert english.status_code == 429 and "Too many requests from your address" in english.get_data(as_text=True)


def test_the_public_reports_are_throttled(limited):
    client = limited.test_client()
    statuses = [client.get("/reports/public/").status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert_throttled(client.get("/reports/public/"), problem=False)
    assert_throttled(client.get("/reports/public/2026-11.csv", headers={"Accept": "application/json"}),
                     problem=True)


@pytest.mark.parametrize("limited", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_behind_a_proxy_each_client_counts_alone(limited):
    """The address is the one core.throttle uses: X-Forwarded-For from the trusted proxy."""
    client = limited.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = [client.get("/reports/public/", environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.1"})
             for _ in range(5)]
    assert [r.status_code for r in first] == [200] * 4 + [429]
    second = client.get("/reports/public/", environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.2"})
    assert second.status_code == 200


@pytest.mark.parametrize("limited", [{"RATELIMIT_ENABLED": False}], indirect=True)
def test_limits_can_be_turned_off(limited):
    client = limited.test_client()
    assert {client.get("/reports/public/").status_code for _ in range(10)} == {200}
    junk = [client.post("/callbacks/sepay", data=b"{}", headers={"Authorization": "Apikey wrong"}).status_code
            for _ in range(10)]
    assert set(junk) == {401}
