"""``flask audit verify``: OK on data the service made; exit 1 naming the problem when a row
is changed by hand."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from payments.models import Receipt
from reconciliation.invariants import verify_money
from reconciliation.models import Allocation, BankTransaction, JournalEntry, Refund


def test_verify_passes_on_data_the_service_made(exercised, seeded, runner):
    assert seeded.scalar(select(Refund.status)) == "paid"
    assert len(seeded.scalars(select(Receipt)).all()) >= 4
    assert verify_money(seeded) == []
    seeded.rollback()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "money invariants: OK" in result.stdout and result.stdout.rstrip().endswith("OK")


def _first(session, model, *where):
    return session.scalars(select(model).where(*where).order_by(model.id)).first()


def corrupt_allocation(session):
    row = _first(session, Allocation, Allocation.reversed_at.is_(None))
    session.execute(text("UPDATE allocations SET amount = amount + 1 WHERE id = :id"), {"id": row.id})
    return f"bank transaction {row.transaction_id}"


def corrupt_dossier(session):
    from payments.models import Dossier

    row = _first(session, Dossier, Dossier.amount_paid > 0)
    session.execute(text("UPDATE dossiers SET amount_paid = amount_paid - 1000 WHERE id = :id"), {"id": row.id})
    return f"dossier {row.code}"


def corrupt_request(session):
    from payments.models import PaymentRequest

    row = _first(session, PaymentRequest, PaymentRequest.amount_paid > 0)
    session.execute(text("UPDATE payment_requests SET amount_paid = amount_paid + 500 WHERE id = :id"), {"id": row.id})
    return f"payment request {row.reference}"


def corrupt_receipt_number(session):
    row = session.scalars(select(Receipt).order_by(Receipt.number.desc())).first()
    session.execute(text("UPDATE receipts SET number = number + 5 WHERE id = :id"), {"id": row.id})
    return f"{row.form}/{row.series} {row.year}"


def corrupt_refund(session):
    row = _first(session, Refund)
    session.execute(text("UPDATE refunds SET amount = 999999 WHERE id = :id"), {"id": row.id})
    return "refunds: dossier"


def corrupt_journal(session):
    row = _first(session, JournalEntry, JournalEntry.outcome == "accepted", JournalEntry.channel != "portal")
    session.execute(text("UPDATE journal_entries SET transaction_id = NULL WHERE id = :id"), {"id": row.id})
    return f"journal entry {row.id}"


def corrupt_transaction(session):
    row = _first(session, BankTransaction, BankTransaction.allocated > 0)
    session.execute(text("UPDATE bank_transactions SET allocated = allocated - 1 WHERE id = :id"), {"id": row.id})
    return f"bank transaction {row.id}"


@pytest.mark.parametrize("corrupt", [corrupt_allocation, corrupt_dossier, corrupt_request, corrupt_receipt_number,
                                     corrupt_refund, corrupt_journal, corrupt_transaction])
def test_verify_names_a_row_changed_by_hand(exercised, seeded, runner, corrupt):
    named = corrupt(seeded)
    seeded.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert named in result.stderr, result.stderr
    assert "money invariants: OK" not in result.stdout
