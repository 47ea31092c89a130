"""Creating a payment request (and its printable card), through the API, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_payment_requests.py [--requests 1000] [--backends sqlite,postgresql]

For each backend: a fresh database migrated by Alembic, the reference data seeded, 2 × N
dossiers registered beforehand (not timed). Then N times ``POST /api/v1/dossiers/{code}/
payment-requests`` (reference, QR payload, durable commit), and N times the same followed by
``GET`` of its A6 PDF card, each timed end to end through the Flask app (test client, one
thread). SQLite runs in WAL with synchronous=FULL; PostgreSQL with fsync on (durable).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import command  # noqa: E402

from app import create_app  # noqa: E402
from core.cli import alembic_config  # noqa: E402
from core.db import db  # noqa: E402
from core.tokens import create_token  # noqa: E402
from payments.agencies import seed_agencies  # noqa: E402
from payments.catalogue import seed_catalogue  # noqa: E402
from payments.dossiers import parse_dossier_input, register_dossier  # noqa: E402
from tests.pg import TempPostgres  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(url: str, n: int, workdir: str) -> dict[str, list[float]]:
    command.upgrade(alembic_config(url), "head")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": workdir})
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        seed_catalogue(session, lambda _: None)
        for i in range(2 * n):
            register_dossier(session, parse_dossier_input({
                "code": f"BENCH-261125-{i:06d}", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
                "applicant_name": "Nguyễn Văn Bench", "channel": "counter",
                "parameters": {"payer_class": "individual_ward", "declared_value": 1_000_000_000 + i * 1000}}), "bench")
        token = create_token(session, "bench", "system")
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, list[float]] = {"request": [], "request + A6 PDF": []}
    for i in range(2 * n):
        with_pdf = i >= n
        start = time.perf_counter()
        response = client.post(f"/api/v1/dossiers/BENCH-261125-{i:06d}/payment-requests", headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        if with_pdf:
            card = client.get(urlparse(response.get_json()["card_pdf_url"]).path)
            assert card.status_code == 200 and card.data.startswith(b"%PDF")
        elapsed = (time.perf_counter() - start) * 1000
        results["request + A6 PDF" if with_pdf else "request"].append(elapsed)
    app.extensions["database"].engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"# Payment request creation through the API — {args.requests} each, one thread")
    print(f"# Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print()
    print("| backend | what | p50 ms | p95 ms | max ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-requests-") as workdir:
            server = None
            if backend == "sqlite":
                url = f"sqlite:///{workdir}/bench.db"
            else:
                server = TempPostgres(durable=True)
                server.start()
                url = server.url("postgres")
            try:
                results = run(url, args.requests, workdir)
            finally:
                if server:
                    server.stop()
        for what, values in results.items():
            print(f"| {backend} | {what} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | "
                  f"{max(values):.1f} |")


if __name__ == "__main__":
    main()
