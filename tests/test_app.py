"""The app as a whole: pages, health, language, errors, migrations and seed on both databases."""
from __future__ import annotations

from sqlalchemy import func, inspect, select

from core.db import db
from core.users import User, UserRole


def test_home_page_is_vietnamese_first(client):
    page = client.get("/").get_data(as_text=True)
    assert "Thanh toán không dùng tiền mặt phí, lệ phí thủ tục hành chính" in page
    assert 'lang="vi"' in page


def test_home_page_in_english(client):
    response = client.get("/lang/en?next=/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Cashless payment of the fees and charges of administrative procedures" in page
    assert 'lang="en"' in page
    assert "Thanh toán không dùng tiền mặt phí, lệ phí thủ tục hành chính" not in page


def test_language_switch_refuses_other_sites(client):
    response = client.get("/lang/en?next=//evil.example/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/lang/fr").status_code == 404


def test_healthz_answers_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_api_errors_are_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found" and body["detail"]


def test_page_errors_are_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.content_type
    assert "Về trang chủ" in response.get_data(as_text=True)


def test_seed_is_idempotent(app, runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert first.output.count("password:") == 5
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0 and "password:" not in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5
        roles = set(db.session.scalars(select(UserRole.role)))
        assert all(user.must_change_password for user in db.session.scalars(select(User)))
    assert roles == {"admin", "counter", "finance", "supervisor"}


def test_seeded_password_works(app, runner):
    output = runner.invoke(args=["seed"]).output
    line = next(line for line in output.splitlines() if "motcua" in line)
    password = line.rsplit("password: ", 1)[1].strip()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "motcua"))
        assert user.check_password(password) and not user.check_password(password + "x")


def test_migrations_go_down_and_up(app, runner):
    down = runner.invoke(args=["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    with app.app_context():
        assert "users" not in inspect(db.engine).get_table_names()
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    with app.app_context():
        assert "users" in inspect(db.engine).get_table_names()


def test_times_round_trip_as_utc(session):
    from datetime import datetime, timedelta, timezone

    from core.clock import ICT

    moment = datetime(2026, 11, 25, 9, 0, tzinfo=ICT)
    user = User(username="t", full_name="T", roles=["admin"], password_hash="x", last_login_at=moment)
    session.add(user)
    session.commit()
    session.expire_all()
    stored = session.get(User, user.id).last_login_at
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == moment and stored.hour == 2
    assert stored.astimezone(timezone.utc).hour == 2


def test_method_not_allowed_keeps_allow_header(client):
    response = client.delete("/api/v1/agencies")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]
