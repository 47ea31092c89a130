"""Sign-in throttling instead of the lock-out, on SQLite and PostgreSQL: waits that grow per
account and address, a short bound on what anyone can make the owner wait from elsewhere, no
wait at all from the owner's own address, attempts sent at once counted at once, and the
login page saying in Vietnamese how long to wait. Times are given to ``core.throttle``
explicitly (or moved in the database), so nothing here depends on how fast the machine is."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core import throttle
from core.throttle import ACCOUNT, ADDRESS, PAIR, LoginThrottle, Rule, address_key
from core.users import User

from .web import in_db, login, signed_in, text

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
ATTACKER, OWNER, OFFICE = "203.0.113.66", "198.51.100.7", "192.0.2.10"


def test_a_wait_doubles_after_the_free_failures_up_to_its_cap():
    rule = Rule(free=3, cap=60)
    assert [rule.wait_after(n) for n in range(1, 11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert rule.wait_after(10_000) == 60
    assert ACCOUNT.cap <= 30 < PAIR.cap and ACCOUNT.free > PAIR.free


def test_addresses_are_counted_by_subscriber():
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.66") == "203.0.113.66"
    assert address_key("203.0.113.66") == "203.0.113.66" and address_key(None) == "unknown"


def fail(session, username: str, address: str, start: datetime, times: int) -> tuple[datetime, list]:
    """``times`` wrong passwords, each as soon as it is allowed: when the last one was made, and
    the wait each one left."""
    now, waits = start, []
    for _ in range(times):
        last = now
        attempt = throttle.begin(session, username, address, now=now)
        assert attempt.allowed
        waits.append(throttle.wait_now(session, attempt, now=now))
        now += timedelta(seconds=waits[-1])
    return last, waits


def test_one_address_guessing_one_account_waits_longer_and_longer(session):
    last, waits = fail(session, "motcua", ATTACKER, T0, 15)
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    # An attempt during the wait is refused without a look at the password, and not counted.
    early = throttle.begin(session, "motcua", ATTACKER, now=last + timedelta(seconds=800))
    assert not early.allowed and early.wait == 100
    assert session.get(LoginThrottle, f"p:{ATTACKER}|motcua").failures == 15


def test_the_owner_elsewhere_waits_at_most_the_short_account_bound(session):
    now, _ = fail(session, "motcua", ATTACKER, T0, 15)
    # Right after the attacker's last failure the account's own wait is at most 30 s ...
    owner = throttle.begin(session, "motcua", OWNER, now=now)
    assert not owner.allowed and 0 < owner.wait <= ACCOUNT.cap
    # ... after which the owner's right password goes through, while the attacker still waits.
    later = now + timedelta(seconds=ACCOUNT.cap)
    owner = throttle.begin(session, "motcua", OWNER, now=later)
    assert owner.allowed
    throttle.succeeded(session, owner, now=later)
    session.commit()
    assert not throttle.begin(session, "motcua", ATTACKER, now=later).allowed
    # From an address where the owner signed in, the account's wait does not apply at all.
    now, _ = fail(session, "motcua", ATTACKER, later + timedelta(minutes=15), 1)
    assert throttle.begin(session, "motcua", OWNER, now=now).allowed


def test_many_addresses_cannot_make_the_owner_wait_more_than_the_bound(session):
    now = T0
    for n in range(40):  # a botnet: the three free guesses of each of forty addresses
        for _ in range(PAIR.free):
            attempt = throttle.begin(session, "ketoan", f"203.0.113.{n}", now=now)
            while not attempt.allowed:  # only the account's wait holds them back
                assert attempt.wait <= ACCOUNT.cap
                now += timedelta(seconds=attempt.wait)
                attempt = throttle.begin(session, "ketoan", f"203.0.113.{n}", now=now)
    assert session.get(LoginThrottle, "u:ketoan").failures == 40 * PAIR.free
    waited = throttle.begin(session, "ketoan", OWNER, now=now)
    assert 0 < waited.wait <= ACCOUNT.cap
    assert throttle.begin(session, "ketoan", OWNER, now=now + timedelta(seconds=ACCOUNT.cap)).allowed


def test_attempts_sent_at_once_are_counted_before_their_passwords_are_checked(session):
    fail(session, "motcua", ATTACKER, T0, PAIR.free)  # the free ones, all at T0
    first = throttle.begin(session, "motcua", ATTACKER, now=T0)
    second = throttle.begin(session, "motcua", ATTACKER, now=T0)  # before the first is finished
    assert first.allowed and not second.allowed and second.wait == 1


def test_a_right_password_takes_its_own_attempt_back(session):
    fail(session, "motcua", OFFICE, T0, 3)
    attempt = throttle.begin(session, "motcua", OFFICE, now=T0)
    throttle.succeeded(session, attempt, now=T0)
    session.commit()
    counts = {row.key: row.failures for row in session.scalars(select(LoginThrottle))}
    assert counts == {f"a:{OFFICE}": 3, f"p:{OFFICE}|motcua": 0, "u:motcua": 3}
    assert session.get(LoginThrottle, f"p:{OFFICE}|motcua").last_success_at == T0


def test_failures_are_forgotten_after_a_quiet_hour_and_old_rows_go(session):
    fail(session, "motcua", ATTACKER, T0, 6)
    quiet = T0 + timedelta(hours=2)
    assert throttle.begin(session, "motcua", ATTACKER, now=quiet).allowed
    assert session.get(LoginThrottle, f"p:{ATTACKER}|motcua").failures == 1
    next_day = T0 + timedelta(days=2)
    attempt = throttle.begin(session, "giamsat", OFFICE, now=next_day)
    throttle.succeeded(session, attempt, now=next_day)
    session.commit()
    assert session.get(LoginThrottle, f"p:{ATTACKER}|motcua") is None
    assert session.get(LoginThrottle, f"p:{OFFICE}|giamsat") is not None


def test_one_address_guessing_many_accounts_is_slowed_too(session):
    now = T0
    for n in range(ADDRESS.free):
        attempt = throttle.begin(session, f"user{n}", ATTACKER, now=now)
        assert attempt.allowed
    assert throttle.wait_now(session, attempt, now=now) == 0
    attempt = throttle.begin(session, "one-more", ATTACKER, now=now)
    assert attempt.allowed and throttle.wait_now(session, attempt, now=now) == 1
    assert not throttle.begin(session, "yet-another", ATTACKER, now=now).allowed
    assert throttle.begin(session, "yet-another", OFFICE, now=now).allowed  # others are not slowed


# ---------------------------------------------------------------------------------------------
# Through the login page


def hold(app, key: str, failures: int, seconds: int) -> None:
    """A wait ``seconds`` long on ``key``, as ``failures`` earlier failures left it."""
    from core.clock import utcnow

    def run(session):
        session.merge(LoginThrottle(key=key, failures=failures, last_failure_at=utcnow(),
                                    wait_until=utcnow() + timedelta(seconds=seconds)))
        session.commit()

    in_db(app, run)


def test_the_page_says_in_vietnamese_how_long_to_wait(staff):
    client = staff.test_client()
    hold(staff, f"p:{ATTACKER}|motcua", 14, 600)
    refused = login(client, "motcua", address=ATTACKER)  # even the right password waits
    assert refused.status_code == 429 and 540 <= int(refused.headers["Retry-After"]) <= 600
    page = text(refused)
    assert "Đã nhập sai nhiều lần: vui lòng chờ 10 phút rồi thử lại." in page
    assert "Tài khoản không bị khóa" in page
    assert client.get("/counter/").status_code == 302
    client.get("/lang/en")
    english = text(login(client, "motcua", address=ATTACKER))
    assert "please wait 10 minutes, then try again" in english


def test_a_failure_that_starts_a_wait_says_so(staff):
    client = staff.test_client()
    hold(staff, f"p:{ATTACKER}|motcua", PAIR.free, 0)
    failed = login(client, "motcua", "sai-mật-khẩu", address=ATTACKER)
    assert failed.status_code == 200
    assert "Đăng nhập không thành công: tên đăng nhập hoặc mật khẩu không đúng. Đã nhập sai nhiều lần: vui lòng " \
           "chờ 1 giây rồi thử lại." in text(failed)


def test_an_attacker_does_not_lock_the_owner_out(staff):
    attacker = staff.test_client()
    for _ in range(PAIR.free + 1):
        assert login(attacker, "motcua", "đoán-bừa", address=ATTACKER).status_code == 200
    hold(staff, f"p:{ATTACKER}|motcua", 40, 900)  # and many more guesses since
    assert login(attacker, "motcua", address=ATTACKER).status_code == 429
    # The owner, at the counter, signs in at once: five old lock-out failures would have locked them.
    assert signed_in(staff, "motcua", address=OFFICE).get("/counter/").status_code == 200
    # Spread over many addresses, the attack makes the account wait at most 30 s elsewhere ...
    hold(staff, "u:motcua", 60, ACCOUNT.cap)
    elsewhere = login(staff.test_client(), "motcua", address=OWNER)
    assert elsewhere.status_code == 429 and int(elsewhere.headers["Retry-After"]) <= ACCOUNT.cap
    assert "vui lòng chờ 30 giây" in text(elsewhere)
    # ... and not at all from the counter, where the owner signed in before.
    assert signed_in(staff, "motcua", address=OFFICE).get("/counter/").status_code == 200
    assert in_db(staff, lambda s: s.scalar(select(User.active).where(User.username == "motcua")))


def test_a_forged_forwarded_for_does_not_escape_the_count(staff):
    client = staff.test_client()
    for n in range(PAIR.free + 1):
        client.post("/login", data={"csrf_token": _token(client), "username": "motcua", "password": "x"},
                    headers={"X-Forwarded-For": f"10.9.8.{n}"}, environ_base={"REMOTE_ADDR": ATTACKER})
    assert in_db(staff, lambda s: s.get(LoginThrottle, f"p:{ATTACKER}|motcua").failures) == PAIR.free + 1


@pytest.fixture
def behind_proxy(database_url, tmp_path):
    from app import create_app
    from core.db import db
    from tests.staff import add_staff

    from .web import PASSWORD

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t", "TRUSTED_PROXIES": "1",
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        add_staff(db.session, {"motcua": "counter"}, PASSWORD)
        db.session.commit()
    yield app
    app.extensions["database"].engine.dispose()


def test_behind_a_trusted_proxy_the_forwarded_address_counts(behind_proxy):
    client = behind_proxy.test_client()
    client.post("/login", data={"csrf_token": _token(client), "username": "motcua", "password": "x"},
                headers={"X-Forwarded-For": ATTACKER}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    keys = in_db(behind_proxy, lambda s: set(s.scalars(select(LoginThrottle.key))))
    assert keys == {f"a:{ATTACKER}", f"p:{ATTACKER}|motcua", "u:motcua"}


def _token(client) -> str:
    from .web import csrf_token

    return csrf_token(client)
