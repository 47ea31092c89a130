from __future__ import annotations

import pytest

from core.config import ConfigError, load_settings, normalise_database_url


def test_secret_key_required_outside_development(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    assert load_settings(str(tmp_path))["SECRET_KEY"] == "s3cret"


def test_development_gets_a_demo_key_and_sqlite_in_instance(tmp_path, monkeypatch):
    for key in ("SECRET_KEY", "APP_ENV", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(str(tmp_path))
    assert settings["SECRET_KEY"] and settings["APP_ENV"] == "development"
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path}/hanoi-payments.db"


def test_layers_instance_file_then_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "config.py").write_text('PORTAL_SECRET = "from-file"\nDATABASE_URL = "sqlite:///x.db"\n')
    monkeypatch.setenv("PORTAL_SECRET", "from-env")
    settings = load_settings(str(tmp_path))
    assert settings["PORTAL_SECRET"] == "from-env"
    assert settings["DATABASE_URL"] == "sqlite:///x.db"


def test_postgresql_urls_use_psycopg3():
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///a.db") == "sqlite:///a.db"


def test_the_group_commit_size_is_a_positive_whole_number(tmp_path, monkeypatch):
    assert load_settings(str(tmp_path))["CALLBACK_BATCH_MAX"] == 32
    monkeypatch.setenv("CALLBACK_BATCH_MAX", " 8 ")
    assert load_settings(str(tmp_path))["CALLBACK_BATCH_MAX"] == 8
    for wrong in ("0", "-3", "eight", "2.5"):
        monkeypatch.setenv("CALLBACK_BATCH_MAX", wrong)
        with pytest.raises(ConfigError, match="CALLBACK_BATCH_MAX must be a whole number"):
            load_settings(str(tmp_path))


def test_the_online_flag_setting_is_off_unless_turned_on(tmp_path, monkeypatch):
    assert load_settings(str(tmp_path))["ONLINE_FLAG_VIETQR_AS_GATEWAY"] is False
    for on in ("1", "true", "ON", " yes "):
        monkeypatch.setenv("ONLINE_FLAG_VIETQR_AS_GATEWAY", on)
        assert load_settings(str(tmp_path))["ONLINE_FLAG_VIETQR_AS_GATEWAY"] is True
    monkeypatch.setenv("ONLINE_FLAG_VIETQR_AS_GATEWAY", "off")
    assert load_settings(str(tmp_path))["ONLINE_FLAG_VIETQR_AS_GATEWAY"] is False
    monkeypatch.setenv("ONLINE_FLAG_VIETQR_AS_GATEWAY", "maybe")
    with pytest.raises(ConfigError, match="ONLINE_FLAG_VIETQR_AS_GATEWAY must be on or off"):
        load_settings(str(tmp_path))


def test_passwords_hash_with_full_scrypt_outside_tests(tmp_path, monkeypatch):
    from werkzeug.security import check_password_hash

    from app import create_app
    from core.users import User

    for key in ("APP_ENV", "PASSWORD_HASH_METHOD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    assert load_settings(str(tmp_path))["PASSWORD_HASH_METHOD"] == "scrypt"
    monkeypatch.setenv("APP_ENV", "production")
    assert load_settings(str(tmp_path))["PASSWORD_HASH_METHOD"] == "scrypt"
    user = User(username="a", full_name="A")
    user.set_password("mật khẩu đủ dài 1")  # outside an application: the default
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    # Tests hash at a lower scrypt cost; the hash says its cost, so a check reads it from there.
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        user.set_password("mật khẩu đủ dài 2")
    assert user.password_hash.startswith("scrypt:1024:8:1$") and user.check_password("mật khẩu đủ dài 2")
    assert not check_password_hash(user.password_hash, "mật khẩu đủ dài 1")
