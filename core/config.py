"""Settings: defaults, then ``instance/config.py``, then the environment, then test overrides.

Demo secrets exist only in development and testing; anywhere else a missing ``SECRET_KEY``
stops the app at start-up rather than running with a guessable key.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

ENV_KEYS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PAYOS_CHECKSUM_KEY",
    "SEPAY_API_KEY",
    "SEPAY_HMAC_SECRET",
    "BANKDIRECT_BANK_PUBLIC_KEY",
    "BANKDIRECT_SERVICE_PRIVATE_KEY",
    "PORTAL_SECRET",
    "APP_ENV",
    "PUBLIC_BASE_URL",
    "DOSSIER_EVENTS_URL",      # where outbound events go (the one-stop dossier system)
    "DOSSIER_EVENTS_SECRET",   # their HMAC key
    "PORTAL_QUERY_URL",        # the portal payment platform's status query
    "STATEMENT_DROP_DIR",      # statements dropped here are imported by the scheduler
    "SIMBANK_DIR",             # the bank simulator's books (default instance/simbank)
    "SIMPORTAL_DIR",           # the simulated portal platform's records (default instance/simportal)
    "SIMULATOR_TARGET_URL",    # where the simulator delivers callbacks (default http://127.0.0.1:5000)
    "CALLBACK_BATCH_MAX",      # most callbacks one group commit takes (default 32; 1 = one by one)
    "TRUSTED_PROXIES",         # how many reverse proxies in front set X-Forwarded-For/-Proto (default 0)
    "LOG_FORMAT",              # json | text (default json, text in development and testing)
    "METRICS_TOKEN",           # the bearer token /metrics asks for (unset: /metrics answers 404)
    "SESSION_IDLE_MINUTES",    # a staff session ends after this long without a request (default 30)
    "SESSION_MAX_HOURS",       # and this long after sign-in, whatever happens (default 12)
    "SCHEDULER_STALE_MINUTES", # /readyz fails when the leading scheduler was not seen for this long (default 5)
    "CALLBACK_REFUSED_RETENTION_DAYS",  # refused callbacks' journal entries are purged after this (default 90)
    "RATELIMIT_ENABLED",       # per-address throttling of public pages and refused callbacks (default on)
    "RATELIMIT_STORAGE_URI",   # where the throttle counts live (default memory://, per process)
    "RATELIMIT_REFUSED_CALLBACKS", "RATELIMIT_CITIZEN", "RATELIMIT_CITIZEN_MISSES", "RATELIMIT_PUBLIC_REPORTS",
    "ONLINE_FLAG_VIETQR_AS_GATEWAY",  # a VietQR transfer for an online dossier is flag 2 (default off)
    "PASSWORD_HASH_METHOD",    # werkzeug's method for new password hashes (default scrypt; a cheaper scrypt in tests)
)

DEV_ENVS = {"development", "testing"}


class ConfigError(RuntimeError):
    pass


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "hanoi-payments.db")


def load_settings(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge the layers and check what must be set."""
    settings: dict[str, Any] = {
        "APP_ENV": "development",
        "DATABASE_URL": default_sqlite_url(instance_path),
        "SECRET_KEY": None,
        "BABEL_DEFAULT_LOCALE": "vi",
        "LANGUAGES": ("vi", "en"),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "PUBLIC_BASE_URL": None,
        "CALLBACK_BATCH_MAX": 32,
        "TRUSTED_PROXIES": 0,
        "METRICS_TOKEN": None,
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_HOURS": 12,
        "SCHEDULER_STALE_MINUTES": 5,
        "CALLBACK_REFUSED_RETENTION_DAYS": 90,
        "ONLINE_FLAG_VIETQR_AS_GATEWAY": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
    }
    instance_file = Path(instance_path) / "config.py"
    if instance_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(instance_file.read_text(encoding="utf-8"), str(instance_file), "exec"), namespace)
        settings.update({k: v for k, v in namespace.items() if k.isupper()})
    for key in ENV_KEYS:
        if os.environ.get(key):
            settings[key] = os.environ[key]
    if overrides:
        settings.update(overrides)
    if settings.get("TESTING"):
        settings["APP_ENV"] = "testing"
    # scrypt's default cost (N=32768) is ~90 ms a hash and as much a sign-in check: a test run makes
    # thousands. Tests hash with scrypt still, at N=1024; a hash records its own cost, so checks follow.
    settings.setdefault("PASSWORD_HASH_METHOD", "scrypt:1024:8:1" if settings["APP_ENV"] == "testing" else "scrypt")
    settings["DATABASE_URL"] = normalise_database_url(settings["DATABASE_URL"])
    settings["CALLBACK_BATCH_MAX"] = _positive_int("CALLBACK_BATCH_MAX", settings["CALLBACK_BATCH_MAX"])
    settings["TRUSTED_PROXIES"] = _positive_int("TRUSTED_PROXIES", settings["TRUSTED_PROXIES"], least=0)
    for key in ("SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "SCHEDULER_STALE_MINUTES"):
        settings[key] = _positive_int(key, settings[key])
    log_format = str(settings.get("LOG_FORMAT") or ("text" if settings["APP_ENV"] in DEV_ENVS else "json"))
    if log_format.strip().lower() not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    settings["LOG_FORMAT"] = log_format.strip().lower()
    settings["CALLBACK_REFUSED_RETENTION_DAYS"] = _positive_int("CALLBACK_REFUSED_RETENTION_DAYS",
                                                                settings["CALLBACK_REFUSED_RETENTION_DAYS"])
    settings["ONLINE_FLAG_VIETQR_AS_GATEWAY"] = _boolean("ONLINE_FLAG_VIETQR_AS_GATEWAY",
                                                         settings["ONLINE_FLAG_VIETQR_AS_GATEWAY"])
    if "SESSION_COOKIE_SECURE" not in settings:
        # Sent over https only: when the public address is https, and always outside development
        # and tests (a production behind plain http would otherwise carry sessions in clear).
        https = str(settings.get("PUBLIC_BASE_URL") or "").strip().lower().startswith("https://")
        settings["SESSION_COOKIE_SECURE"] = https or settings["APP_ENV"] not in DEV_ENVS
    settings.setdefault("REMEMBER_COOKIE_SECURE", settings["SESSION_COOKIE_SECURE"])
    if not settings.get("SECRET_KEY"):
        if settings["APP_ENV"] not in DEV_ENVS:
            raise ConfigError(
                f"SECRET_KEY must be set when APP_ENV={settings['APP_ENV']!r} "
                "(in the environment or instance/config.py)"
            )
        settings["SECRET_KEY"] = "dev-only-not-secret"
    if settings["APP_ENV"] == "development" and not settings.get("PORTAL_QUERY_URL"):
        # The demo's platform is the simulator, served by the app itself (simulator.views).
        settings["PORTAL_QUERY_URL"] = "http://127.0.0.1:5000/simulator/portal/query"
    return settings


def _positive_int(key: str, value: Any, least: int = 1) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = least - 1
    if number < least:
        raise ConfigError(f"{key} must be a whole number of at least {least}, not {value!r}")
    return number


def _boolean(key: str, value: Any) -> bool:
    """``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off`` (any case), or a bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{key} must be on or off (1/0, true/false), not {value!r}")


def normalise_database_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the only PostgreSQL driver installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
