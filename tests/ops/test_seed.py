"""``flask seed`` outside development and testing loads reference data only: banks' accounts,
agencies, the fee catalogue; no staff users, no demo dossiers. Idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from app import create_app
from core.db import db
from core.users import User
from payments.models import Agency, CollectionAccount, Dossier, FeeItem, PaymentRequest, Procedure


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Agency, CollectionAccount, Procedure, FeeItem, Dossier, PaymentRequest, User)}


def test_production_seed_is_reference_data_only(database_url, tmp_path, monkeypatch):
    for key in ("APP_ENV", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    production = create_app({"APP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "prod-secret",
                             "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        result = production.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 0, result.output
        assert "demo dossiers are for development and testing" in result.stdout
        seeded = counts(production)
        assert seeded["Agency"] > 0 and seeded["CollectionAccount"] > 0
        assert seeded["Procedure"] > 0 and seeded["FeeItem"] > 0
        assert (seeded["Dossier"], seeded["PaymentRequest"], seeded["User"]) == (0, 0, 0)
        again = production.test_cli_runner().invoke(args=["seed"])
        assert again.exit_code == 0 and counts(production) == seeded
    finally:
        production.extensions["database"].engine.dispose()


def test_development_and_testing_seed_has_the_demo_dossiers(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    seeded = counts(app)
    assert seeded["Dossier"] == 5 and seeded["PaymentRequest"] >= 4 and seeded["User"] == 5
