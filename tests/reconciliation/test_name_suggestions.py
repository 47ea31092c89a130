"""A transfer without a reference whose sender's name and amount fit one unpaid dossier is
offered to the finance officer, never allocated by itself; the same by one transfer at a
time (``SqlLookup``) and by the statement's bulk path (``bulk._Lookup``), on both databases."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from payments.models import Dossier
from payments.requests import create_payment_request
from reconciliation.inbound.transactions import record_transfer
from reconciliation.matching.bulk import match_many
from reconciliation.matching.matcher import name_candidates
from reconciliation.matching.reconcile import match_transaction
from reconciliation.models import Allocation, BankTransaction, ReconException

from .conftest import make_dossier, transfer_for

CONTENT = "LE MINH CHAU CHUYEN TIEN KET HON"


def test_name_candidates_are_runs_of_words():
    names = name_candidates("LE MINH CHAU - CHUYEN TIEN KET HON 2026", "")
    assert "le minh chau" in names and "minh chau" in names and "chuyen tien ket hon" in names
    assert not any("2026" in n for n in names) and all(2 <= len(n.split()) <= 5 for n in names)
    assert name_candidates("", "Lê Minh Châu") == ["le minh chau"]
    assert name_candidates("X", "") == []


def _chau(session, amount=1_000_000, name="Lê Minh Châu"):
    dossier = make_dossier(session, amount=amount)
    dossier.applicant_name = name
    request = create_payment_request(session, dossier, "test")
    session.flush()
    return dossier, request


def _suggested(session, transaction_id):
    exceptions = session.scalars(select(ReconException).where(ReconException.transaction_id == transaction_id)).all()
    return [(s["rule"], s["dossier_id"]) for e in exceptions for s in e.suggestions]


@pytest.mark.parametrize("path", ["one", "bulk"])
def test_the_name_and_amount_suggest_the_dossier(seeded, path):
    dossier, request = _chau(seeded)
    other, _ = _chau(seeded, amount=1_000_000, name="Trần Văn Bình")  # same amount, another name
    recorded = record_transfer(seeded, transfer_for(request, amount=1_000_000, content=CONTENT), "statement")
    seeded.commit()
    transaction = seeded.get(BankTransaction, recorded.transaction.id)
    if path == "one":
        decision = match_transaction(seeded, transaction)
        assert decision.allocations == [] and decision.outcome != "matched"
        assert [(s.rule, s.dossier_id) for s in decision.suggestions if s.rule == "name_amount"] == \
            [("name_amount", dossier.id)]
    else:
        match_many(seeded, [transaction.id])
    seeded.commit()
    assert ("name_amount", dossier.id) in _suggested(seeded, transaction.id)
    assert ("name_amount", other.id) not in _suggested(seeded, transaction.id)
    # never allocated by itself
    assert seeded.scalars(select(Allocation)).all() == []
    assert seeded.get(Dossier, dossier.id).amount_paid == 0


@pytest.mark.parametrize("path", ["one", "bulk"])
@pytest.mark.parametrize("content, amount", [("LE MINH CHI CHUYEN TIEN", 1_000_000), (CONTENT, 900_000)])
def test_no_suggestion_when_name_or_amount_differ(seeded, path, content, amount):
    dossier, request = _chau(seeded)
    recorded = record_transfer(seeded, transfer_for(request, amount=amount, content=content), "statement")
    seeded.commit()
    transaction_id = recorded.transaction.id
    if path == "one":
        match_transaction(seeded, seeded.get(BankTransaction, transaction_id))
    else:
        match_many(seeded, [transaction_id])
    seeded.commit()
    assert ("name_amount", dossier.id) not in _suggested(seeded, transaction_id)


def test_the_sender_name_alone_is_enough(seeded):
    dossier, request = _chau(seeded)
    transfer = transfer_for(request, amount=1_000_000, content="CHUYEN TIEN")
    transfer = replace(transfer, counter_name="LE MINH CHAU")
    recorded = record_transfer(seeded, transfer, "statement")
    seeded.commit()
    transaction_id = recorded.transaction.id
    match_many(seeded, [transaction_id])
    seeded.commit()
    assert ("name_amount", dossier.id) in _suggested(seeded, transaction_id)


def test_finance_search_ignores_diacritics_case_and_spacing(seeded):
    from reconciliation.web.finance_forms import TransactionFilters
    from reconciliation.web.finance_queries import search_transactions

    _, request = _chau(seeded)
    transfer = replace(transfer_for(request, amount=1_000_000, content=CONTENT), counter_name="LE MINH CHAU")
    recorded = record_transfer(seeded, transfer, "statement")
    seeded.commit()
    for payer in ("Lê Minh Châu", "le  minh chau", "LÊ MINH"):
        page = search_transactions(seeded, TransactionFilters(payer=payer), 1)
        assert [t.id for t in page.items] == [recorded.transaction.id], payer
    for content in ("kết hôn", "Ket Hon", "chau chuyen"):
        assert [t.id for t in search_transactions(seeded, TransactionFilters(content=content), 1).items] == \
            [recorded.transaction.id], content
    assert search_transactions(seeded, TransactionFilters(payer="Trần Văn Bình"), 1).items == []
