"""Migration 0007 on SQLite and PostgreSQL: every existing user keeps their one role, the
lock-out columns go, and going back picks the role that lets the person do the most."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from core.cli import alembic_config

USERS = [("quantri", "admin"), ("motcua", "counter"), ("ketoan", "finance"), ("giamsat", "supervisor")]


def test_existing_users_keep_their_role(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "0006")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for name, role in USERS:
                conn.execute(text("INSERT INTO users (username, full_name, role, password_hash, active, failed_logins, "
                                  "created_at) VALUES (:n, :n, :r, 'x', :a, 3, CURRENT_TIMESTAMP)"),
                             {"n": name, "r": role, "a": name != "giamsat"})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            roles = conn.execute(text("SELECT u.username, r.role FROM users u JOIN user_roles r ON r.user_id = u.id "
                                      "ORDER BY u.username")).all()
            users = conn.execute(text("SELECT username, active, session_version, must_change_password FROM users "
                                      "ORDER BY username")).all()
        assert sorted(roles) == sorted(USERS)
        assert [tuple(u) for u in users] == [("giamsat", False, 1, False), ("ketoan", True, 1, False),
                                             ("motcua", True, 1, False), ("quantri", True, 1, False)]
        columns = {c["name"] for c in inspect(engine).get_columns("users")}
        assert not columns & {"role", "failed_logins", "locked_until"}
        assert "login_throttles" in inspect(engine).get_table_names()

        with engine.begin() as conn:  # one person with two roles, then back to one role each
            conn.execute(text("INSERT INTO user_roles (user_id, role) SELECT id, 'admin' FROM users "
                              "WHERE username = 'ketoan'"))
        command.downgrade(config, "0006")
        with engine.connect() as conn:
            back = dict(conn.execute(text("SELECT username, role FROM users")).all())
        assert back == {"quantri": "admin", "motcua": "counter", "ketoan": "admin", "giamsat": "supervisor"}
        command.upgrade(config, "head")
    finally:
        engine.dispose()
