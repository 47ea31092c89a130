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
# A few rows changed by one person's act: rewritten before the commit itself, as the ORM's
# flushes are, rather than queued (a report read just after the act sees it without a drain).
DOSSIERS_AT_ONCE = "changes.dossiers.at_once"
RECEIPTS_AT_ONCE = "changes.receipts.at_once"


def note_dossiers(session: Session, ids: Iterable[int], *, at_once: bool = False) -> None:
    key = DOSSIERS_AT_ONCE if at_once else DOSSIERS
    session.info.setdefault(key, set()).update(i for i in ids if i is not None)


def note_receipts(session: Session, ids: Iterable[int], *, at_once: bool = False) -> None:
    key = RECEIPTS_AT_ONCE if at_once else RECEIPTS
    session.info.setdefault(key, set()).update(i for i in ids if i is not None)
