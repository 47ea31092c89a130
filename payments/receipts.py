"""E-receipts ("biên lai điện tử", DOMAIN.md): issued when a dossier's charges are paid.

- One receipt per kind: ``phí`` and ``lệ phí`` go to different treasury accounts and get
  separate receipts; a kind with nothing to pay gets none.
- The series carries the two last digits of the Indochina year of issue (DOMAIN.md,
  "Receipts"): an agency keeps a series *pattern* such as ``DD-YYE``, and a receipt issued in
  2027 is in series ``DD-27E``. Each year therefore opens a new series whose numbering starts
  at 1, and (form, series, number) never repeats; the database refuses a repeat.
- Issued and cancelled with the money by the one money writer (``reconciliation.matching.writer``),
  from the rule ``money_rules.receipts_to_issue``; this module holds the series, the numbering,
  which payments a receipt covers (``link_receipts``) and the withdrawal of a receipt whose
  money turned out to be receipted elsewhere.
- Numbered per form and series from 1, without gaps: the counter row is locked while a number
  is taken, in the same transaction that issues the receipt, so a rolled-back issue gives its
  number back. The series, the year and ``issued_at`` come from one instant, so a receipt is
  always in the series of the year it is dated.
- A cancelled receipt stays recorded, with who cancelled it and why; a new one (with a new
  number) replaces it if the dossier is paid again.
"""
from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.errors import Conflict, ValidationError
from core.rawsql import Raw

from .models import Agency, Dossier, Receipt
from .money_rules import receipted_elsewhere
from .references import normalise

DEFAULT_FORM = "01BLP0-001"
NUMBER_DIGITS = 8  # Nghị định 254/2026 allows 8 digits from 1 July 2026 (7 before)


YEAR_MARK = "YY"
# A fixed series as agencies were configured before it carried the year ("DD-26E"): the two
# digits before the last letter are the year.
_FIXED_SERIES = re.compile(r"^(?P<head>[A-Z0-9]+-)(?P<year>[0-9]{2})(?P<tail>[A-Z]*)$")
SERIES_MAX = 20  # the column's width


def series_pattern(value: str | None, agency_code: str) -> str:
    """An agency's series as a pattern with ``YY`` where the year goes. A fixed series of the
    form ``DD-26E`` becomes ``DD-YYE``; an agency without one gets ``<code>-YYE``. Raises
    ValueError on a series that says nowhere where its year goes."""
    value = (value or "").strip().upper()
    if not value:
        return f"{normalise(agency_code)[:SERIES_MAX - 4]}-{YEAR_MARK}E"
    if value.count(YEAR_MARK) == 1:
        pattern = value
    else:
        fixed = _FIXED_SERIES.match(value)
        if fixed is None:
            raise ValueError(f"receipt series {value!r} must show where the year goes, as in DD-YYE")
        pattern = f"{fixed['head']}{YEAR_MARK}{fixed['tail']}"
    if len(pattern) > SERIES_MAX:
        raise ValueError(f"receipt series {value!r} is longer than {SERIES_MAX} characters")
    return pattern


def series_in(pattern: str, year: int) -> str:
    """The series of a pattern in a year: ``series_in("DD-YYE", 2027) == "DD-27E"``."""
    return pattern.replace(YEAR_MARK, f"{year % 100:02d}", 1)


def series_of(agency: Agency, year: int) -> tuple[str, str]:
    """The form and series an agency's receipts issued in ``year`` (Indochina) carry."""
    try:
        pattern = series_pattern(agency.receipt_series, agency.code)
    except ValueError:  # never refuse a payment over a receipt setting: fall back to the default
        pattern = series_pattern(None, agency.code)
    return agency.receipt_form or DEFAULT_FORM, series_in(pattern, year)


_TAKE = text("INSERT INTO receipt_counters (form, series, year, last_number) VALUES (:f, :s, :y, :n) "
             "ON CONFLICT (form, series, year) DO UPDATE SET last_number = receipt_counters.last_number + :n "
             "RETURNING last_number")


def take_numbers(session: Session, form: str, series: str, year: int, count: int = 1) -> int:
    """Take ``count`` consecutive numbers of a series and return the first. One statement takes
    them and locks the counter row until the transaction ends (PostgreSQL; SQLite serialises
    writers), so numbers have no gaps and a rolled-back issue gives its numbers back. Both the
    ORM path and the set-based one number through here."""
    last = session.execute(_TAKE, {"f": form, "s": series, "y": year, "n": count}).scalar_one()
    if last >= 10 ** NUMBER_DIGITS:
        raise Conflict(f"receipt series {form}/{series} has used every number of {year}")
    return last - count + 1


def next_number(session: Session, form: str, series: str, year: int) -> int:
    return take_numbers(session, form, series, year)


_PAYMENTS = text("SELECT a.id, a.payment_channel, c.paper_series FROM allocations a "
                 "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id "
                 "WHERE a.dossier_id = :d AND a.reversed_at IS NULL ORDER BY a.id")


def payments_in_force(session: Session, dossier_id: int) -> list[tuple[int, str, bool]]:
    """(allocation id, payment channel, taken against a paper receipt) of a dossier's payments."""
    return [(row[0], row[1], row[2] is not None) for row in session.execute(_PAYMENTS, {"d": dossier_id})]


def link_receipts(session: Session, receipt_ids: list[int]) -> None:
    """Record which payments the new receipts ``receipt_ids`` cover: their dossier's payments in
    force that no one else receipted (``money_rules.receipted_elsewhere``, written again here
    in SQL). One statement; both writers call it once their receipts and allocations are in."""
    ids = [int(i) for i in receipt_ids if i is not None]
    session.flush()  # plain SQL below: what the ORM holds (a reversal, a cash payment) must be in first
    raw = Raw(session)
    step = 20000 if raw.postgresql else 500  # PostgreSQL: one array parameter; SQLite: a list of placeholders
    for start in range(0, len(ids), step):
        listed, params = raw.among("r.id", "r", ids[start:start + step])
        raw.run(
            "INSERT INTO receipt_links (receipt_id, allocation_id) "
            "SELECT r.id, a.id FROM receipts r JOIN allocations a ON a.dossier_id = r.dossier_id "
            "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id "
            f"WHERE {listed} AND a.reversed_at IS NULL AND a.payment_channel <> 'portal' "
            "AND NOT (a.payment_channel = 'cash' AND c.paper_series IS NOT NULL)", params)


def withdraw_receipted_elsewhere(session: Session, dossier: Dossier, actor: str) -> list[Receipt]:
    """Once every payment of a dossier turns out to be receipted elsewhere (the bank's report
    came before the portal's confirmation, and the platform receipts that money), its
    e-receipts would be a second receipt for the same money: they are cancelled, saying why."""
    flags = [receipted_elsewhere(channel, paper) for _, channel, paper in payments_in_force(session, dossier.id)]
    if not flags or not all(flags):
        return []
    return cancel_receipts(session, dossier, RECEIPTED_ELSEWHERE_REASON, actor)


RECEIPTED_ELSEWHERE_REASON = "Khoản tiền đã có biên lai của nơi khác (receipted elsewhere: paper or the national platform)"


def cancel_receipts(session: Session, dossier: Dossier, reason: str, actor: str) -> list[Receipt]:
    if not reason or not reason.strip():
        raise ValidationError("say why the receipts are cancelled")
    receipts = session.scalars(select(Receipt).where(Receipt.dossier_id == dossier.id,
                                                     Receipt.status == "issued")).all()
    for receipt in receipts:
        receipt.status = "cancelled"
        receipt.cancelled_at = utcnow()
        receipt.cancelled_by = actor
        receipt.cancel_reason = reason.strip()[:500]
        audit.record(session, actor, "receipt.cancelled", "receipt", receipt.id,
                     {"dossier": dossier.code, "number": receipt_number(receipt), "reason": receipt.cancel_reason})
    session.flush()
    return list(receipts)


def receipt_number(receipt: Receipt) -> str:
    return f"{receipt.number:0{NUMBER_DIGITS}d}"


def dossier_receipts(session: Session, dossier_id: int) -> list[Receipt]:
    return list(session.scalars(select(Receipt).where(Receipt.dossier_id == dossier_id).order_by(Receipt.id)))
