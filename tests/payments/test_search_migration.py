"""Migration 0014 on SQLite and PostgreSQL, down and up again: the applicants' search keys are
backfilled for the dossiers already there; the cards' print times come and go."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from core.cli import alembic_config
from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue
from payments.dossiers import parse_dossier_input, register_dossier, search_dossiers


def test_0014_backfills_the_search_keys(database_url):
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            seed_agencies(session, lambda _: None)
            seed_catalogue(session, lambda _: None)
            register_dossier(session, parse_dossier_input({
                "code": "000.20.01.H26-261125-0001", "procedure_code": "1.001193", "agency_code": "P-HOANKIEM",
                "applicant_name": "  Lê   Minh Châu ", "charges": [{"name": "Lệ phí", "amount": 8000}]}), "test")
            session.commit()
        command.downgrade(config, "0013")
        inspector = inspect(engine)
        assert "search_key" not in {c["name"] for c in inspector.get_columns("dossiers")}
        assert "printed_at" not in {c["name"] for c in inspector.get_columns("payment_requests")}
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT search_key FROM dossiers")).scalars().all() == ["le minh chau"]
        assert "printed_at" in {c["name"] for c in inspect(engine).get_columns("payment_requests")}
        with Session(engine) as session:
            assert [d.code for d in search_dossiers(session, "LE MINH CHAU")] == ["000.20.01.H26-261125-0001"]
    finally:
        engine.dispose()
