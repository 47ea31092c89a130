"""Statements dropped in a folder (``STATEMENT_DROP_DIR``): each new file is imported, the
days it covers are run and closed where all is explained, and the file is moved to
``done/`` (or ``failed/`` with a ``.error.txt`` beside it saying why)."""
from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from core.db import db
from core.errors import ServiceError
from payments.models import CollectionAccount

from reconciliation.workflow.close import days_of_statement, get_close, run_day
from reconciliation.models import Statement
from reconciliation.inbound.statement_import import import_statement


def process_folder(folder: Path, actor: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    done, failed = folder / "done", folder / "failed"
    done.mkdir(exist_ok=True)
    failed.mkdir(exist_ok=True)
    report = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        session = db.Session()
        try:
            with path.open("rb") as handle:
                summary = import_statement(session, handle, filename=path.name, actor=actor)
            runs = []
            for section in summary.sections:
                statement = session.get(Statement, section.statement_id)
                account = session.scalar(select(CollectionAccount).where(CollectionAccount.id == statement.account_id))
                if account is None:
                    continue
                for day in days_of_statement(session, statement):
                    record = get_close(session, account.id, day)
                    session.commit()
                    if record.status != "closed":
                        runs.append(f"{day}:{run_day(session, account, day, actor).status}")
            shutil.move(str(path), done / path.name)
            report.append(f"{path.name}: {summary.entries} entries, {summary.new_transactions} new; "
                          + ", ".join(runs))
        except (ServiceError, OSError, ValueError) as exc:
            session.rollback()
            shutil.move(str(path), failed / path.name)
            (failed / (path.name + ".error.txt")).write_text(str(getattr(exc, "detail", exc)), encoding="utf-8")
            report.append(f"{path.name}: failed ({getattr(exc, 'detail', exc)})")
        finally:
            session.close()
    return "; ".join(report) or "no new statement"
