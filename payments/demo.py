"""Demo dossiers for ``make run``: a few of each kind, each with an open payment request.
Development and testing only: a production's dossiers come from the one-stop system."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from core.config import DEV_ENVS
from core.money import format_vnd

from .dossiers import find_dossier, parse_dossier_input, register_dossier
from .requests import create_payment_request

DEMO = [
    {"code": "000.12.03.H26-261120-0001", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
     "applicant_name": "Nguyễn Văn An", "submitted_at": "2026-11-20T09:15:00+07:00", "channel": "counter",
     "parameters": {"payer_class": "individual_ward", "declared_value": 3_200_000_000}},
    {"code": "000.12.02.H26-261120-0002", "procedure_code": "HN.GCN-DOI-DAT", "agency_code": "HN-VPDKDD-CN01",
     "applicant_name": "Trần Thị Bích", "submitted_at": "2026-11-20T10:02:00+07:00", "channel": "counter",
     "parameters": {"payer_class": "individual_ward"}},
    {"code": "000.20.01.H26-261121-0001", "procedure_code": "2.000806", "agency_code": "P-HOANKIEM",
     "applicant_name": "Lê Minh Châu", "submitted_at": "2026-11-21T08:40:00+07:00", "channel": "counter",
     "parameters": {}},
    {"code": "000.20.05.H26-261121-0002", "procedure_code": "HN.TLHT", "agency_code": "P-DONGDA",
     "applicant_name": "Phạm Quốc Dũng", "submitted_at": "2026-11-21T14:20:00+07:00", "channel": "counter",
     "parameters": {"copies": 3}},
    {"code": "000.20.07.H26-261122-0001", "procedure_code": "1.001193", "agency_code": "P-CAUGIAY",
     "applicant_name": "Hoàng Thu Hà", "submitted_at": "2026-11-22T09:00:00+07:00", "channel": "online",
     "parameters": {}},
]


def seed_demo_dossiers(session: Session, echo) -> None:
    env = current_app.config["APP_ENV"]
    if env not in DEV_ENVS:
        echo(f"  none: APP_ENV={env} (demo dossiers are for development and testing)")
        return
    created = 0
    for body in DEMO:
        if find_dossier(session, body["code"]) is not None:
            continue
        dossier = register_dossier(session, parse_dossier_input(body), actor="seed")
        created += 1
        if dossier.amount_due > 0:
            request = create_payment_request(session, dossier, actor="seed")
            echo(f"  {dossier.code}: {format_vnd(dossier.amount_due)} due, request {request.reference} "
                 f"(citizen page /pay/{request.token})")
        else:
            echo(f"  {dossier.code}: nothing due")
    echo(f"  demo dossiers: {created} new")
