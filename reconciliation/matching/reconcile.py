"""Matching a bank transaction: ask the matcher, record its decision, carry it out.

``match_transaction`` is called on the fast path (in the same database transaction that
stores a callback's transfer, so "paid" is visible as soon as the bank is answered) and by
the statement run for transfers no callback announced. Every decision is kept
(``MatchDecision``) with its rule, evidence and confidence; allocations are made only when
the decision's confidence reaches the ``auto`` threshold; anything else goes to the
exceptions queue with the reason and the suggestions.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Setting, get_setting, set_setting
from core.versions import changed_here, mark_changed, version
from payments.models import CollectionAccount

from reconciliation.matching.allocation import allocate
from reconciliation.workflow.exceptions import open_exception
from reconciliation.matching.lookup import SqlLookup
from reconciliation.matching.matcher import Decision, MatchRules, TransferFacts, decide
from reconciliation.models import BankTransaction, MatchDecision

RULES_KEY = "matching.rules"


_rules_cache: dict = {"version": None, "url": None, "rules": None}


def load_rules(session: Session) -> MatchRules:
    """The rules in force, cached per process and read again when ``settings`` changed
    (``core.versions``: every callback asks, so a change is used by the next one everywhere)."""
    if changed_here(session, Setting.__tablename__):  # saved by this transaction, maybe never committed
        return MatchRules.from_data(get_setting(session, RULES_KEY))
    url = str(session.get_bind().engine.url)  # a Session may be bound to a Connection
    current = version(session, Setting.__tablename__)  # before the rules: see core.versions
    if current is None or _rules_cache["url"] != url or _rules_cache["version"] != current:
        _rules_cache.update(version=current, url=url, rules=MatchRules.from_data(get_setting(session, RULES_KEY)))
    return _rules_cache["rules"]


def save_rules(session: Session, rules: MatchRules, actor: str) -> None:
    from core import audit

    set_setting(session, RULES_KEY, rules.as_data(), actor)
    audit.record(session, actor, "settings.matching_rules", "setting", RULES_KEY, rules.as_data())
    mark_changed(session, Setting.__tablename__)


def _agency_of(session: Session, account_id: int | None) -> int | None:
    if account_id is None:
        return None
    return session.scalar(select(CollectionAccount.agency_id).where(CollectionAccount.id == account_id))


def facts_of(session: Session, transaction: BankTransaction) -> TransferFacts:
    return TransferFacts(amount=transaction.amount - transaction.allocated, direction=transaction.direction,
                         account_id=transaction.account_id, agency_id=_agency_of(session, transaction.account_id),
                         content=transaction.content or "", booked_at=transaction.booked_at,
                         counter_name=transaction.counter_name or "")


def record_decision(session: Session, transaction: BankTransaction | None, decision: Decision,
                    actor: str) -> MatchDecision:
    row = MatchDecision(transaction_id=transaction.id if transaction else None, actor=actor, rule=decision.rule,
                        outcome=decision.outcome, confidence=decision.confidence, evidence=decision.evidence,
                        suggestions=[asdict(s) for s in decision.suggestions])
    session.add(row)
    session.flush()
    return row


def match_transaction(session: Session, transaction: BankTransaction, *, rules: MatchRules | None = None,
                      actor: str = "rule:matcher", note: str | None = None) -> Decision:
    """Decide and act for one transaction with money left to allocate. Flushes."""
    if transaction.direction != "in":
        transaction.status = "ignored"
        session.flush()
        return Decision("money_out", 1.0, "ignored", {"direction": transaction.direction})
    if transaction.allocated >= transaction.amount:
        return Decision("already_allocated", 1.0, "matched", {})
    rules = rules or load_rules(session)
    decision = decide(facts_of(session, transaction), SqlLookup(session), rules)
    recorded = record_decision(session, transaction, decision, actor)
    for allocation in decision.allocations:
        allocate(session, dossier_id=allocation.dossier_id, amount=allocation.amount, actor=f"rule:{decision.rule}",
                 rule=decision.rule, confidence=decision.confidence, transaction=transaction,
                 request_id=allocation.request_id, decision_id=recorded.id, note=note)
    if decision.exception:
        first = decision.allocations[0] if decision.allocations else None
        suggestion = decision.suggestions[0] if decision.suggestions else None
        open_exception(
            session, decision.exception, transaction_id=transaction.id,
            dossier_id=(first.dossier_id if first else suggestion.dossier_id if suggestion else None),
            payment_request_id=(first.request_id if first else suggestion.request_id if suggestion else None),
            account_id=transaction.account_id,
            amount=decision.excess or (transaction.amount - transaction.allocated if not decision.allocations else 0),
            detail=_explain(decision), decision_id=recorded.id, suggestions=[asdict(s) for s in decision.suggestions],
            actor=actor)
    if not decision.allocations and transaction.status != "ignored":
        transaction.status = "unmatched"
    session.flush()
    return decision


def _explain(decision: Decision) -> str:
    """One line a finance officer reads first (the evidence is kept in full beside it)."""
    e = decision.evidence
    if decision.rule == "closed_day":
        return (f"booked on {e.get('day')}, a day of account {e.get('account')} already closed: held until the day "
                "is reopened (with a reason) and run again")
    parts: list[str] = [f"rule {decision.rule} ({decision.confidence:.2f})"]
    if e.get("reference"):
        parts.append(f"reference {e['reference']} of dossier {e.get('dossier_code', '?')}")
    elif e.get("references"):
        parts.append("references " + ", ".join(e["references"]))
    if e.get("damaged_references"):
        parts.append("damaged " + ", ".join(e["damaged_references"]))
    if e.get("dossier_codes") and not e.get("reference"):
        parts.append("dossier code " + (e.get("dossier_code") or e["dossier_codes"][0]))
    if "request_remaining" in e:
        parts.append(f"request asks {e['request_remaining']}, paid {e.get('amount')}")
    if decision.excess:
        parts.append(f"excess {decision.excess} held for refund")
    return "; ".join(parts)


def _never_decided(session: Session, transaction: BankTransaction) -> bool:
    if transaction.direction != "in" or transaction.allocated or transaction.reversal or transaction.pending:
        return False
    return session.scalar(select(MatchDecision.id).where(MatchDecision.transaction_id == transaction.id)
                          .limit(1)) is None


def on_new_transfers(session: Session, seen: list[tuple[Any, Any]]) -> None:
    """The fast path (an ``ingest`` hook): match new credits at once, all of one transaction's
    in one set-based pass (the same decisions as match_transaction, fewer statements); flag
    reports that contradict what was stored."""
    from reconciliation.matching.bulk import match_many, transaction_row

    known, again = {}, set()
    for recorded, event in seen:
        transaction = recorded.transaction
        if recorded.created:
            known[transaction.id] = transaction_row(transaction)
        elif transaction.id not in known and transaction.id not in again and _never_decided(session, transaction):
            again.add(transaction.id)  # stored by a statement that came first, not yet through a run
        elif recorded.differences:
            open_exception(session, "conflicting_report", transaction_id=transaction.id,
                           account_id=transaction.account_id, amount=transaction.amount,
                           detail=f"{event.channel} reported {recorded.differences}", actor=f"channel:{event.channel}")
    if known or again:
        match_many(session, [*known, *again], actor="rule:matcher", commit=False, known=known)
