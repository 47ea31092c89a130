"""While the database does not answer, every request gets a quick "try again": 503 with
``Retry-After`` and the refusal ``database_unavailable`` (a problem document under ``/api/``,
a page in the reader's language elsewhere), and each callback its format's retry answer,
never a 500 and never an acknowledgement. When the database answers again, so does the app,
without a restart. (The same with real processes and a real restart:
``tests/ops/test_multi_instance.py``.)"""
from __future__ import annotations

import time

from core.db import _State, db
from core.tokens import create_token
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from tests.reconciliation.conftest import make_request, signed, transfer_for


def _unreachable(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return "sqlite:////nonexistent-directory/gone.db"
    return database_url.replace("host=", "host=/nonexistent-socket-dir", 1)


def test_every_answer_is_a_quick_try_again_while_the_database_is_away(app, client, database_url):
    with app.app_context():  # not the ``seeded`` fixture: its app context would outlive the swap below
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        request = make_request(db.session, amount=8000)
        token = create_token(db.session, "finance-bot", "finance")
        db.session.commit()
    working = app.extensions["database"]
    app.extensions["database"] = _State(_unreachable(database_url))
    try:
        started = time.monotonic()
        api = client.get("/api/v1/transactions", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        assert api.get_json()["code"] == "database_unavailable"
        assert api.headers["Retry-After"] == "5"
        english = client.get("/api/v1/transactions", headers={"Authorization": f"Bearer {token}",
                                                               "Accept-Language": "en"})
        assert "try again" in english.get_json()["detail"]
        page = client.get("/pay/sometoken")
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert "không kết nối được cơ sở dữ liệu" in page.get_data(as_text=True)
        transfer = transfer_for(request)
        sepay = client.post("/callbacks/sepay", data=signed("sepay", transfer)[1],
                            headers=signed("sepay", transfer)[0])
        assert sepay.status_code == 503 and sepay.get_json()["success"] is False  # SePay retries
        headers, body = signed("bankdirect", transfer)
        direct = client.post("/callbacks/bankdirect", data=body, headers=headers)
        assert direct.status_code == 200 and direct.get_json()["responseCode"] == "99"  # the bank retries
        assert client.get("/readyz").status_code == 503
        assert time.monotonic() - started < 5  # quick: no waiting on a database that is not there
    finally:
        app.extensions["database"].engine.dispose()
        app.extensions["database"] = working
    # Back: the same app serves again, and the bank's retry is acknowledged.
    assert client.get("/api/v1/transactions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    headers, body = signed("bankdirect", transfer)
    assert client.post("/callbacks/bankdirect", data=body, headers=headers).get_json()["responseCode"] == "00"


def test_a_real_defect_is_still_a_500_not_a_try_again(app, client):
    """Only a database that does not answer is a 503: an error of ours stays a 500 to be fixed."""
    from sqlalchemy import text

    @app.get("/_defect")
    def defect():
        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/_defect", headers={"Accept": "application/json"})
    assert response.status_code == 500
