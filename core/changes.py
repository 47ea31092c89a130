"""What a transaction changed outside the ORM, for those who keep derived data in step.

Code that writes with plain SQL (the bulk and fast paths of reconciliation) names the
dossiers and receipts it changed here; ``reports.facts`` rewrites their report rows before
the transaction commits, as it does for what the ORM flushed. Nothing here depends on who
listens: the names are in the session's ``info``, for this transaction.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

DOSSIERS = "changes.dossiers"
RECEIPTS = "changes.receipts"


def note_dossiers(session: Session, ids: Iterable[int]) -> None:
    session.info.setdefault(DOSSIERS, set()).update(i for i in ids if i is not None)


def note_receipts(session: Session, ids: Iterable[int]) -> None:
    session.info.setdefault(RECEIPTS, set()).update(i for i in ids if i is not None)
