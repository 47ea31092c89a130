"""``flask user ...`` exactly as CONTRACT.md's "Staff accounts" says (stdout, stderr, exit codes),
and ``flask seed`` without demo users outside development and testing; on both databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app import create_app
from core.audit import AuditRecord
from core.passwords import MIN_LENGTH
from core.users import User

from .web import in_db


def user(app, name: str) -> User | None:
    return in_db(app, lambda s: s.scalar(select(User).where(User.username == name)))


def test_create_prints_the_generated_password_and_nothing_else(app, runner):
    result = runner.invoke(args=["user", "create", "lan.nguyen", "--role", "counter", "--role", "finance",
                                 "--full-name", "Nguyễn Thị Lan"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    password = lines[0]
    assert len(password) >= MIN_LENGTH
    made = user(app, "lan.nguyen")
    assert made.check_password(password) and made.roles == ["counter", "finance"]
    assert made.full_name == "Nguyễn Thị Lan" and made.active and made.must_change_password
    audit = in_db(app, lambda s: s.scalars(select(AuditRecord.action).where(AuditRecord.entity == "user")).all())
    assert audit == ["user.created"]


def test_create_reads_the_password_from_stdin_and_prints_nothing(app, runner):
    result = runner.invoke(args=["user", "create", "minh", "--role", "supervisor", "--password-stdin"],
                           input="một câu dài dễ nhớ 2026\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    made = user(app, "minh")
    assert made.check_password("một câu dài dễ nhớ 2026") and made.roles == ["supervisor"]
    assert made.full_name == "minh" and not made.must_change_password  # chosen, not generated


@pytest.mark.parametrize("password, code", [
    ("ngắn-quá", "password_length"),
    ("", "password_length"),
    ("Password2026!", "password_common"),
    ("matkhau@123456", "password_common"),
    ("hoa.tran-2026", "password_common"),  # the username with digits after it
    ("aaaaaaaaaaaaaaaa", "password_common"),
])
def test_a_weak_password_on_stdin_is_refused(app, runner, password, code):
    result = runner.invoke(args=["user", "create", "hoa.tran", "--role", "counter", "--password-stdin"],
                           input=password + "\n")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error [{code}]: ") and result.stderr.count("\n") == 1
    assert user(app, "hoa.tran") is None


def test_create_refuses_an_existing_name_and_unknown_roles(app, runner):
    assert runner.invoke(args=["user", "create", "motcua", "--role", "counter"]).exit_code == 0
    again = runner.invoke(args=["user", "create", "motcua", "--role", "finance"])
    assert again.exit_code == 1 and again.stdout == ""
    assert again.stderr.strip() == 'error [user_exists]: A user named “motcua” exists already.'
    unknown = runner.invoke(args=["user", "create", "ketoan", "--role", "finance", "--role", "cashier"])
    assert unknown.exit_code == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("error [unknown_role]: There is no role “cashier”")
    system = runner.invoke(args=["user", "create", "ketoan", "--role", "system"])  # tokens only
    assert system.exit_code == 1 and "unknown_role" in system.stderr
    no_role = runner.invoke(args=["user", "create", "ketoan"])
    assert no_role.exit_code != 0 and no_role.stdout == ""
    bad_name = runner.invoke(args=["user", "create", "Kế Toán", "--role", "finance"])
    assert bad_name.exit_code == 1 and "invalid_username" in bad_name.stderr
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(User))) == 1


def test_cli_messages_follow_a_vietnamese_shell(app, runner, monkeypatch):
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    runner.invoke(args=["user", "create", "motcua", "--role", "counter"])
    again = runner.invoke(args=["user", "create", "motcua", "--role", "counter"])
    assert again.stderr.strip() == "error [user_exists]: Đã có tài khoản mang tên đăng nhập “motcua”."


def test_disable_enable_reset_and_list(app, runner):
    first = runner.invoke(args=["user", "create", "motcua", "--role", "counter"]).stdout.strip()
    runner.invoke(args=["user", "create", "ketoan", "--role", "finance", "--role", "supervisor"])
    disabled = runner.invoke(args=["user", "disable", "motcua"])
    assert disabled.exit_code == 0 and disabled.stdout == ""
    assert not user(app, "motcua").active
    listed = runner.invoke(args=["user", "list"])
    assert listed.exit_code == 0 and listed.stderr == ""
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"name": "ketoan", "roles": ["finance", "supervisor"], "active": True},
        {"name": "motcua", "roles": ["counter"], "active": False},
    ]
    assert runner.invoke(args=["user", "enable", "motcua"]).exit_code == 0
    assert user(app, "motcua").active
    version = user(app, "motcua").session_version
    reset = runner.invoke(args=["user", "reset-password", "motcua"])
    assert reset.exit_code == 0 and reset.stderr == ""
    second = reset.stdout.strip()
    assert reset.stdout == second + "\n" and second != first and len(second) >= MIN_LENGTH
    after = user(app, "motcua")
    assert after.check_password(second) and not after.check_password(first)
    assert after.must_change_password and after.session_version == version + 1
    for command in ("disable", "enable", "reset-password"):
        unknown = runner.invoke(args=["user", command, "không-có"])
        assert unknown.exit_code == 1 and unknown.stdout == ""
        assert unknown.stderr.strip() == "error [unknown_user]: There is no user named “không-có”."


def test_disabling_the_last_admin_is_refused(app, runner):
    runner.invoke(args=["user", "create", "quantri", "--role", "admin"])
    refused = runner.invoke(args=["user", "disable", "quantri"])
    assert refused.exit_code == 1 and "last_admin" in refused.stderr and user(app, "quantri").active
    runner.invoke(args=["user", "create", "quantri2", "--role", "admin"])
    assert runner.invoke(args=["user", "disable", "quantri"]).exit_code == 0


def test_seed_makes_demo_users_in_testing(app, runner):
    output = runner.invoke(args=["seed"]).stdout
    assert output.count("password:") == 5
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(User))) == 5


def test_seed_in_production_creates_no_user_and_prints_no_password(database_url, tmp_path, monkeypatch):
    for key in ("APP_ENV", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    production = create_app({"APP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "prod-secret",
                             "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        assert production.config["APP_ENV"] == "production"
        result = production.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 0, result.output
        assert "password" not in result.output.lower()
        assert "user create" in result.stdout  # says how staff accounts are made instead
        assert in_db(production, lambda s: s.scalar(select(func.count()).select_from(User))) == 0
    finally:
        production.extensions["database"].engine.dispose()
