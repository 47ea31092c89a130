"""The reports' scheduled job: rewrite the rows the plain-SQL writers queued, so that even a
page nobody opens is current within a minute (pages drain the queue themselves anyway)."""
from __future__ import annotations

from flask import Flask

from core.db import db
from reconciliation.scheduler import Job


def job_report_facts(app: Flask) -> str:
    from .facts import drain

    with db.transaction() as session:
        count = drain(session)
    return f"{count} report row(s) rewritten"


REPORT_FACTS = Job("report_facts", job_report_facts, seconds=30,
                   description="report rows of dossiers changed by the fast path are rewritten")
