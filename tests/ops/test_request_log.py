"""Request ids and log lines: an id from ``X-Request-ID`` when sane (else a new one), answered
in the header, on the access log line and on the callback's journal entry; JSON lines with
``LOG_FORMAT=json``."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from core.requestlog import JsonFormatter, RequestIdFilter, configure_logging, request_id_from
from reconciliation.models import JournalEntry
from tests.core.web import PASSWORD, signed_in
from tests.staff import add_staff

from .conftest import make_request, post, signed, transfer_for


def access_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "access"]


@pytest.mark.parametrize("given, kept", [("abc-123", True), ("a.b_c:d-1", True), ("x" * 64, True),
                                         ("x" * 65, False), ("", False), ("bad id", False),
                                         ("id\r\nX-Evil: 1", False), ("ừ", False)])
def test_a_sane_request_id_is_kept_anything_else_replaced(given, kept):
    result = request_id_from(given)
    assert (result == given) is kept
    if not kept:
        assert len(result) == 32 and result.isalnum()


def test_the_id_is_answered_and_logged_with_the_request(client, caplog):
    caplog.set_level(logging.INFO, logger="access")
    response = client.get("/healthz", headers={"X-Request-ID": "nginx-abc123"})
    assert response.headers["X-Request-ID"] == "nginx-abc123"
    fresh = client.get("/healthz", headers={"X-Request-ID": "not sane!"})
    assert fresh.headers["X-Request-ID"] not in ("not sane!", "nginx-abc123")
    lines = access_lines(caplog)
    assert [line.request_id for line in lines] == ["nginx-abc123", fresh.headers["X-Request-ID"]]
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", "/healthz", 200)
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert not hasattr(line, "user")


def test_the_signed_in_user_is_on_the_line(app, caplog):
    with app.app_context():
        from core.db import db

        add_staff(db.session, {"motcua": "counter"}, PASSWORD)
        db.session.commit()
    client = signed_in(app, "motcua")
    caplog.set_level(logging.INFO, logger="access")
    client.get("/counter/")
    assert access_lines(caplog)[-1].user == "motcua"
    assert access_lines(caplog)[-1].status == 200


def test_a_callback_keeps_its_request_id_in_the_journal(client, seeded, caplog):
    caplog.set_level(logging.INFO, logger="access")
    request = make_request(seeded, amount=8000)
    headers, body = signed("sepay", transfer_for(request))
    response = client.post("/callbacks/sepay", data=body, headers={**dict(headers), "X-Request-ID": "bank-req-42"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "bank-req-42"
    headers, body = signed("bankdirect", transfer_for(request, amount=1))
    generated = post(client, "bankdirect", headers, body)
    seeded.rollback()
    entries = seeded.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()
    assert entries[0].request_id == "bank-req-42" and entries[0].channel == "sepay"
    assert entries[1].request_id and entries[1].request_id != "bank-req-42"
    line = [r for r in access_lines(caplog) if r.path == "/callbacks/bankdirect"][-1]
    assert line.request_id == entries[1].request_id and generated.status == 200
    assert seeded.scalar(select(JournalEntry.id).where(JournalEntry.request_id == "bank-req-42")) == entries[0].id


def test_json_lines_carry_the_fields_and_the_request_id(app, client):
    formatter = JsonFormatter()
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(formatter.format(record))

    keep = Keep()
    keep.addFilter(RequestIdFilter())
    logging.getLogger("access").addHandler(keep)
    logging.getLogger("access").setLevel(logging.INFO)
    try:
        client.get("/no-such-page", headers={"X-Request-ID": "r-1"})
    finally:
        logging.getLogger("access").removeHandler(keep)
    line = json.loads(records[-1])
    assert line["request_id"] == "r-1" and line["status"] == 404 and line["path"] == "/no-such-page"
    assert line["method"] == "GET" and line["level"] == "INFO" and line["logger"] == "access"
    assert line["time"].endswith("+00:00")
    with app.test_request_context("/x", headers={"X-Request-ID": "r-2"}):
        app.preprocess_request()
        record = logging.LogRecord("reconciliation", logging.ERROR, __file__, 1, "gone %s", ("wrong",), None)
        RequestIdFilter().filter(record)
    app_line = json.loads(formatter.format(record))
    assert (app_line["message"], app_line["request_id"], app_line["level"]) == ("gone wrong", "r-2", "ERROR")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failed))["exception"]


def test_log_format_setting(app, tmp_path, database_url):
    from app import create_app

    assert app.config["LOG_FORMAT"] == "text"  # testing
    production = create_app({"APP_ENV": "production", "SECRET_KEY": "s", "DATABASE_URL": database_url,
                             "INSTANCE_PATH": str(tmp_path / "p")})
    try:
        assert production.config["LOG_FORMAT"] == "json"
        handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
        assert handler is configure_logging("text") and not isinstance(handler.formatter, JsonFormatter)
    finally:
        production.extensions["database"].engine.dispose()
        configure_logging("text")
    from core.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings(str(tmp_path), {"LOG_FORMAT": "xml", "TESTING": True})
    assert load_settings(str(tmp_path), {"LOG_FORMAT": "JSON", "TESTING": True})["LOG_FORMAT"] == "json"


def test_a_citizens_payment_link_is_not_written_whole_in_the_log(client, caplog):
    """The token in ``/pay/<token>`` lets anyone see the citizen's payment: the log keeps only
    its first characters, whether the page exists or not."""
    caplog.set_level(logging.INFO, logger="access")
    token = "q3V0dq2m5Xk1cJ8yQm9pV4bN7sT2wZ6e"
    client.get(f"/pay/{token}")
    client.get(f"/pay/{token}/status.json")
    lines = access_lines(caplog)[-2:]
    assert [line.path for line in lines] == ["/pay/q3V0…", "/pay/q3V0…/status.json"]
    assert all(token not in line.getMessage() for line in lines)
