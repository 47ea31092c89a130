"""Staff sessions end after ``SESSION_IDLE_MINUTES`` without a request and ``SESSION_MAX_HOURS``
after sign-in, checked by the server on each request (a frozen clock moves by hand)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core import login as login_module
from core.db import db
from tests.core.web import PASSWORD, STAFF, signed_in, text
from tests.staff import add_staff


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr(login_module, "utcnow", frozen)
    return frozen


@pytest.fixture
def staff(app):
    with app.app_context():
        add_staff(db.session, STAFF, PASSWORD)
        db.session.commit()
    return app


def opens(client, url="/counter/") -> bool:
    response = client.get(url)
    return response.status_code == 200


def test_an_idle_session_ends(staff, clock):
    client = signed_in(staff, "motcua")
    assert opens(client)
    clock.advance(minutes=29)
    assert opens(client)  # each request restarts the idle clock
    clock.advance(minutes=29)
    assert opens(client)
    clock.advance(minutes=31)
    response = client.get("/counter/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"])
    assert "Phiên đăng nhập đã hết hạn" in text(page)
    clock.advance(minutes=1)
    assert not opens(client)  # it stays ended: the session was emptied


def test_the_idle_limit_is_a_setting(staff, clock):
    staff.config["SESSION_IDLE_MINUTES"] = 5
    client = signed_in(staff, "ketoan")
    clock.advance(minutes=4)
    assert opens(client, "/finance/exceptions")
    clock.advance(minutes=6)
    assert not opens(client, "/finance/exceptions")


def test_a_busy_session_ends_at_the_absolute_limit(staff, clock):
    client = signed_in(staff, "motcua")
    for _ in range(11 * 4 + 3):  # a request every quarter of an hour for 11 h 45 min
        clock.advance(minutes=15)
        assert opens(client)
    clock.advance(minutes=16)  # 12 h 1 min after signing in
    assert not opens(client)
    again = signed_in(staff, "motcua")  # signing in again starts a new session
    assert opens(again)


def test_the_absolute_limit_is_a_setting(staff, clock):
    staff.config["SESSION_MAX_HOURS"] = 1
    client = signed_in(staff, "motcua")
    clock.advance(minutes=25)
    assert opens(client)
    clock.advance(minutes=25)
    assert opens(client)
    clock.advance(minutes=11)
    assert not opens(client)


def test_a_session_without_its_times_is_not_accepted(staff, clock):
    """A cookie signed before the limits existed (or one missing the times) is refused."""
    client = signed_in(staff, "motcua")
    with client.session_transaction() as session:
        del session[login_module.SIGNED_IN_AT]
    assert not opens(client)
