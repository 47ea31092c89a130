"""Which document receipts which payment: one receipt per payment (DOMAIN.md, "Receipts").

- an e-receipt covers the payments linked to it (``receipt_links``, written when it is issued);
- cash taken against a paper receipt is covered by that paper (form, series, number on the
  cash payment);
- a payment on the national portal's platform is covered by the platform's receipt (the
  portal payment's reference, MaThamChieu).

Read with plain SQL over the tables of ``reconciliation`` (which this package may not import).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .receipts import NUMBER_DIGITS

_ROWS = text(
    "SELECT a.id, a.amount, a.payment_channel, t.bank_ref, c.receipt_number, c.paper_form, c.paper_series, "
    "(SELECT p.ref FROM portal_payments p WHERE p.transaction_id = a.transaction_id ORDER BY p.id LIMIT 1) "
    "FROM allocations a LEFT JOIN bank_transactions t ON t.id = a.transaction_id "
    "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id "
    "WHERE a.dossier_id = :d AND a.reversed_at IS NULL ORDER BY a.id")
_LINKS = text(
    "SELECT l.allocation_id, r.id, r.form, r.series, r.number, r.status FROM receipt_links l "
    "JOIN receipts r ON r.id = l.receipt_id WHERE r.dossier_id = :d ORDER BY r.id")


def _number(number: int) -> str:
    return f"{number:0{NUMBER_DIGITS}d}"


def dossier_documents(session: Session, dossier_id: int) -> tuple[dict[int, list[dict]], dict[int, list[dict]]]:
    """(receipt id → the payments it covers, allocation id → the documents that receipt it),
    for the payments in force of a dossier. A payment's documents: its paper or platform receipt,
    or its e-receipts (those in force first)."""
    payments: dict[int, dict[str, Any]] = {}
    by_payment: dict[int, list[dict]] = defaultdict(list)
    for allocation_id, amount, channel, bank_ref, cash_number, paper_form, paper_series, portal_ref in \
            session.execute(_ROWS, {"d": dossier_id}):
        ref = bank_ref if bank_ref is not None else f"CASH-{cash_number}"
        payments[allocation_id] = {"transaction_ref": ref, "amount": int(amount), "payment_channel": channel}
        if channel == "cash" and paper_series is not None:
            by_payment[allocation_id].append({"document": "paper", "form": paper_form, "series": paper_series,
                                              "number": cash_number, "status": "issued"})
        elif channel == "portal":
            by_payment[allocation_id].append({"document": "portal", "reference": portal_ref or bank_ref,
                                              "status": "issued"})
    by_receipt: dict[int, list[dict]] = defaultdict(list)
    for allocation_id, receipt_id, form, series, number, status in session.execute(_LINKS, {"d": dossier_id}):
        if allocation_id not in payments:
            continue  # a payment since undone
        by_receipt[receipt_id].append(payments[allocation_id])
        by_payment[allocation_id].append({"document": "e_receipt", "form": form, "series": series,
                                          "number": _number(number), "status": status})
    for documents in by_payment.values():
        documents.sort(key=lambda d: d["status"] != "issued")
    return dict(by_receipt), dict(by_payment)


def payment_documents(session: Session, dossier_id: int) -> list[dict[str, Any]]:
    """Every payment in force with the documents that receipt it (for the counter and finance pages)."""
    rows = []
    _, by_payment = dossier_documents(session, dossier_id)
    for allocation_id, amount, channel, bank_ref, cash_number, *_ in session.execute(_ROWS, {"d": dossier_id}):
        rows.append({"allocation_id": allocation_id, "amount": int(amount), "payment_channel": channel,
                     "transaction_ref": bank_ref if bank_ref is not None else f"CASH-{cash_number}",
                     "documents": by_payment.get(allocation_id, [])})
    return rows


def document_text(document: dict[str, Any]) -> str:
    """A document as a line of a page: ``01BLP0-001 DD-26E 00000001`` or the platform's reference."""
    if document["document"] == "portal":
        return f"{document.get('reference') or ''}".strip()
    return " ".join(str(part) for part in (document.get("form"), document.get("series"), document.get("number"))
                    if part)
