"""Money receipted by another issuer's document, per fee line (one receipt per payment,
docs/PAYMENTS.md): the money of a dossier paid in full whose every payment in force is
receipted elsewhere (``money_rules.receipted_only_elsewhere``: the national portal's platform,
cash against a paper receipt). Such a dossier gets no e-receipt, yet its money was collected
and is declared and remitted like any other: money collected (``reports.facts`` keeps these
lines in ``report_document_lines``) and the treasury's figures (``payments.treasury``) count
them beside the e-receipts' lines.

- the lines are ``money_rules.receipt_lines`` of each kind, less a kind that still has an
  e-receipt in force (issued before the money turned out to be receipted elsewhere, and not
  yet withdrawn: that e-receipt counts it, never both);
- dated at the last payment in force (bank booking time, when the cash was taken), the agency
  that of the dossier;
- ``issuer``: ``portal``, ``paper`` or ``mixed``; ``document``: the platform's reference (the
  portal payment's MaThamChieu, else the bank's reference) or the paper receipt's
  form/series/number, several joined by ", ".

Read with plain SQL over the tables of ``reconciliation`` (which this package may not import);
the selection by ``paid in full`` and ``every payment elsewhere`` repeats the rules in SQL, and
the rules are applied again to what is read.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from core.types import UTCDateTime

from .money_rules import RECEIPT_KINDS, paid_in_full, receipt_lines, receipted_elsewhere, receipted_only_elsewhere

DOCUMENT_MAX = 300  # the report table's column
_ELSEWHERE_SQL = "(a.payment_channel = 'portal' OR (a.payment_channel = 'cash' AND c.paper_series IS NOT NULL))"
_PAID_AT = "MAX(COALESCE(t.booked_at, c.received_at, a.created_at))"


@dataclass(frozen=True)
class DocumentLine:
    dossier_id: int
    line_no: int
    paid_at: datetime
    agency_id: int
    kind: str
    fee_code: str
    name: str
    amount: int
    issuer: str  # portal | paper | mixed
    document: str


def _candidates(session: Session, *, ids: list[int] | None, id_from: int | None, id_to: int | None,
                agency_id: int | None, utc_from: datetime | None, utc_to: datetime | None) -> list[tuple]:
    """(dossier id, agency id, amount due, amount paid, paid at) of the dossiers paid in full whose
    every payment in force is receipted elsewhere, with the given filters: one statement."""
    where, having, params = ["d.amount_due > 0", "d.amount_paid >= d.amount_due"], [], {}
    binds = []
    if ids is not None:
        where.append("d.id IN :ids")
        binds.append(bindparam("ids", expanding=True))
        params["ids"] = list(ids)
    if id_from is not None:
        where.append("d.id >= :id_from AND d.id < :id_to")
        params.update(id_from=id_from, id_to=id_to)
    if agency_id is not None:
        where.append("d.agency_id = :agency")
        params["agency"] = agency_id
    if utc_from is not None:
        having.append(f"{_PAID_AT} >= :utc_from AND {_PAID_AT} < :utc_to")
        binds += [bindparam("utc_from", type_=UTCDateTime()), bindparam("utc_to", type_=UTCDateTime())]
        params.update(utc_from=utc_from, utc_to=utc_to)
    statement = text(
        f"SELECT d.id, d.agency_id, d.amount_due, d.amount_paid, {_PAID_AT} AS paid_at FROM dossiers d "
        "JOIN allocations a ON a.dossier_id = d.id AND a.reversed_at IS NULL "
        "LEFT JOIN bank_transactions t ON t.id = a.transaction_id "
        "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id "
        f"WHERE {' AND '.join(where)} GROUP BY d.id, d.agency_id, d.amount_due, d.amount_paid "
        f"HAVING SUM(CASE WHEN {_ELSEWHERE_SQL} THEN 0 ELSE 1 END) = 0"
        + "".join(f" AND {h}" for h in having)).bindparams(*binds).columns(paid_at=UTCDateTime())
    return list(session.execute(statement, params))


def document_lines(session: Session, *, ids: Iterable[int] | None = None, id_from: int | None = None,
                   id_to: int | None = None, agency_id: int | None = None, utc_from: datetime | None = None,
                   utc_to: datetime | None = None) -> list[DocumentLine]:
    """The lines of money receipted elsewhere of the dossiers with the given ids (or ids in
    [id_from, id_to)), optionally of one agency and with their last payment in [utc_from, utc_to)."""
    chosen = None if ids is None else sorted(set(ids))
    out: list[DocumentLine] = []
    for part in ([None] if chosen is None else [chosen[i:i + 500] for i in range(0, len(chosen), 500)]):
        if part is not None and not part:
            continue
        found = _candidates(session, ids=part, id_from=id_from, id_to=id_to, agency_id=agency_id,
                            utc_from=utc_from, utc_to=utc_to)
        for start in range(0, len(found), 500):
            out += _lines(session, found[start:start + 500])
    return out


_CHARGES = text("SELECT dossier_id, fee_code, name, kind, amount, legal_basis FROM dossier_charges "
                "WHERE dossier_id IN :ids ORDER BY dossier_id, id").bindparams(bindparam("ids", expanding=True))
_PAYMENTS = text(
    "SELECT a.dossier_id, a.payment_channel, t.bank_ref, c.receipt_number, c.paper_form, c.paper_series, "
    "(SELECT p.ref FROM portal_payments p WHERE p.transaction_id = a.transaction_id ORDER BY p.id LIMIT 1) "
    "FROM allocations a LEFT JOIN bank_transactions t ON t.id = a.transaction_id "
    "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id "
    "WHERE a.dossier_id IN :ids AND a.reversed_at IS NULL ORDER BY a.id").bindparams(bindparam("ids", expanding=True))
_ISSUED = text("SELECT dossier_id, kind FROM receipts WHERE dossier_id IN :ids AND status = 'issued'") \
    .bindparams(bindparam("ids", expanding=True))


@dataclass(frozen=True)
class _Charge:
    fee_code: str | None
    name: str
    kind: str | None
    amount: int
    legal_basis: str | None


def _lines(session: Session, candidates: list[tuple]) -> list[DocumentLine]:
    if not candidates:
        return []
    ids = [row[0] for row in candidates]
    charges: dict[int, list[_Charge]] = defaultdict(list)
    for dossier_id, *values in session.execute(_CHARGES, {"ids": ids}):
        charges[dossier_id].append(_Charge(*values))
    elsewhere: dict[int, list[bool]] = defaultdict(list)
    documents: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for dossier_id, channel, bank_ref, number, form, series, portal_ref in session.execute(_PAYMENTS, {"ids": ids}):
        paper = series is not None
        elsewhere[dossier_id].append(receipted_elsewhere(channel, paper))
        if channel == "portal":
            documents[dossier_id].append(("portal", portal_ref or bank_ref or ""))
        elif channel == "cash" and paper:
            documents[dossier_id].append(("paper", "/".join(str(p) for p in (form, series, number) if p)))
    issued: dict[int, set[str]] = defaultdict(set)
    for dossier_id, kind in session.execute(_ISSUED, {"ids": ids}):
        issued[dossier_id].add(kind)
    out = []
    for dossier_id, agency, due, paid, paid_at in candidates:
        if not (paid_in_full(int(due), int(paid)) and receipted_only_elsewhere(elsewhere[dossier_id])):
            continue  # the rules, applied again to what was read
        issuers = {issuer for issuer, _ in documents[dossier_id]}
        issuer = issuers.pop() if len(issuers) == 1 else "mixed"
        document = ", ".join(dict.fromkeys(ref for _, ref in documents[dossier_id] if ref))[:DOCUMENT_MAX]
        number = 0
        for kind in RECEIPT_KINDS:
            if kind in issued[dossier_id]:
                continue  # an e-receipt in force still counts this kind
            for line in receipt_lines(charges[dossier_id], kind):
                number += 1
                out.append(DocumentLine(dossier_id, number, paid_at, agency, kind, str(line["fee_code"] or ""),
                                        str(line["name"] or ""), int(line["amount"]), issuer, document))
    return out


def agencies_with_documents(session: Session, utc_from: datetime, utc_to: datetime) -> set[int]:
    """The agencies with money receipted elsewhere whose last payment is in [utc_from, utc_to)."""
    return {row[1] for row in _candidates(session, ids=None, id_from=None, id_to=None, agency_id=None,
                                          utc_from=utc_from, utc_to=utc_to)}
