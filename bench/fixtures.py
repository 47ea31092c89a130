"""Bench data made fast: dossiers with one open payment request each, bulk-inserted with the
service's own reference, purpose and VietQR functions (the API path is measured elsewhere)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select
from sqlalchemy.orm import Session


def open_requests(session: Session, count: int, *, agency_code: str = "HN-VPDKDD-CN02",
                  account_number: str = "105415039595", seed: int = 766, start: int = 0) -> list[dict]:
    """``count`` dossiers (civil-status fees) each with one open request; returns the requests'
    reference, amount, purpose, account and bank BIN. Commits."""
    from payments.models import Agency, CollectionAccount, Dossier, DossierCharge, PaymentRequest, Procedure
    from payments.references import new_reference, purpose_for
    from qr.vietqr import encode_transfer

    rng = random.Random(seed)
    agency = session.scalar(select(Agency).where(Agency.code == agency_code))
    account = session.scalar(select(CollectionAccount).where(CollectionAccount.number == account_number))
    procedure = session.scalar(select(Procedure).where(Procedure.code == "1.001193"))
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    expires = now + timedelta(days=30)
    made = []
    issued: set[str] = set()
    first_id = (session.scalar(select(Dossier.id).order_by(Dossier.id.desc()).limit(1)) or 0) + 1
    first_request = (session.scalar(select(PaymentRequest.id).order_by(PaymentRequest.id.desc()).limit(1)) or 0) + 1
    for offset in range(0, count, 20_000):
        size = min(20_000, count - offset)
        dossiers, charges, requests = [], [], []
        for n in range(offset, offset + size):
            i = start + n
            dossier_id, request_id = first_id + n, first_request + n
            code = f"000.12.03.H26-261124-{i:07d}"
            amount = rng.choice([8000, 28000, 100_000, 1_528_000])
            dossiers.append({"id": dossier_id, "code": code, "code_key": code.replace(".", "").replace("-", ""),
                             "procedure_id": procedure.id, "agency_id": agency.id, "applicant_name": "Nguyễn Văn An",
                             "channel": "counter", "submitted_at": now, "parameters": {}, "status": "accepted",
                             "amount_due": amount, "amount_paid": 0, "created_at": now, "created_by": "bench"})
            charges.append({"dossier_id": dossier_id, "name": "Lệ phí", "kind": "le_phi", "amount": amount,
                            "legal_basis": "bench", "detail": ""})
            reference = new_reference()
            while reference in issued:  # random references: rare at this size, but a collision fails the load
                reference = new_reference()
            issued.add(reference)
            purpose = purpose_for(reference)
            requests.append({"id": request_id, "reference": reference, "token": f"bench{i:012d}{rng.random()}",
                             "dossier_id": dossier_id, "account_id": account.id, "amount": amount, "amount_paid": 0,
                             "purpose": purpose, "qr_payload": encode_transfer(account.bank_bin, account.number,
                                                                               amount, purpose),
                             "status": "open", "expires_at": expires, "created_at": now, "created_by": "bench",
                             "version": 1})
            made.append({"reference": reference, "amount": amount, "purpose": purpose, "account": account.number,
                         "bank_bin": account.bank_bin})
        session.execute(insert(Dossier), dossiers)
        session.execute(insert(DossierCharge), charges)
        session.execute(insert(PaymentRequest), requests)
        session.commit()
    if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequences past them
        from sqlalchemy import text

        for table in ("dossiers", "payment_requests"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
        session.commit()
    return made


def fresh_database(server, name: str) -> str:
    """A new, empty database on the benchmark's PostgreSQL server; its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.url(name)


class MatchingClock:
    """Times the matching inside a statement import (``statement_import.match_new_lines``, which
    the import calls once its lines are stored), so a bench can show storing and matching apart.
    Wraps the module's function for the life of the process; measurement only."""

    def __init__(self) -> None:
        import time

        from reconciliation.inbound import statement_import

        self.seconds = 0.0
        inner = statement_import.match_new_lines

        def timed(session, import_id):
            started = time.perf_counter()
            try:
                return inner(session, import_id)
            finally:
                self.seconds += time.perf_counter() - started

        statement_import.match_new_lines = timed
