"""Matching many transactions at once: the callbacks' fast path and the statement's
transfers that no callback announced (a month of a busy account, after an outage).

The decisions are the matcher's (``matcher.decide``, the same rules and thresholds for every
path); this module records them and hands their money to the one writer. For each chunk:

1. the transactions, the payment requests their contents name and the dossiers behind
   them are read in a few set-based queries and locked (PostgreSQL; in the order every
   path locks: transactions, dossiers, requests, receipt counters, the audit head);
2. every transaction is decided against that state in memory, each decision seeing the
   allocations planned before it (two transfers paying one request are judged in order);
3. the decisions and the exceptions they open are written in bulk, and the plan's money
   (allocations, sums, states, history, receipts, events, stale requests) by
   ``writer.apply``; the audit trail is one record per chunk, listing every row;
4. the chunk commits.
"""
from __future__ import annotations

import logging
import threading
from array import array
from collections import defaultdict
from contextlib import nullcontext
from itertools import islice
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.rawsql import Raw, aware
from payments.models import PaymentRequest
from payments.money_rules import PART_PAYMENT_SETTLED, payment_channel, settles_part_payment
from payments.references import one_edit_away

from reconciliation.matching.matcher import Decision, MatchRules, RequestFacts, TransferFacts, decide, \
    forget_name_candidates, name_candidates, read_content
from reconciliation.matching.writer import (Paid, Rows, State, TransactionRow, apply, chunks, transaction_row)
from reconciliation.models import MatchDecision, ReconException

log = logging.getLogger(__name__)
CHUNK = 5000
_IN = 900

__all__ = ["match_many", "transaction_row", "CHUNK"]


class _Lookup:
    """What the matcher asks, from the chunk's state; what is not in it (look-alikes) is read on demand."""

    def __init__(self, state: State, asking: set[tuple[int, int]] = frozenset(),
                 named: dict[str, list[tuple[int, str, int, int]]] | None = None) -> None:
        self.state = state
        self.asking = asking  # the chunk's (account, amount) pairs, for the amount-only clues
        self.asked_amounts: dict[tuple[int, int], list[str]] | None = None
        self.named = named if named is not None else {}  # name → unpaid dossiers, read for the chunk

    def dossiers_named(self, names: list[str], amount: int, limit: int):
        from reconciliation.matching.matcher import DossierFacts

        found: dict[int, DossierFacts] = {}
        for name in names:
            for dossier_id, code, agency_id, remaining in self.named.get(name, ()):
                planned = self.state.dossiers.get(dossier_id)  # what this chunk planned before this line
                if planned is not None:
                    remaining = planned.amount_due - planned.amount_paid
                if remaining == amount and dossier_id not in found:
                    found[dossier_id] = DossierFacts(dossier_id=dossier_id, code=code, agency_id=agency_id,
                                                     remaining=remaining)
        return sorted(found.values(), key=lambda d: -d.dossier_id)[:limit]

    def requests(self, references: list[str]) -> dict[str, RequestFacts]:
        missing = {ref for ref in references if ref not in self.state.requests and ref not in self.state.asked}
        if missing:
            self.state.load(missing)
        return {ref: self._facts(self.state.requests[ref]) for ref in references if ref in self.state.requests}

    def _facts(self, request) -> RequestFacts:
        dossier = self.state.dossiers[request.dossier_id]
        return RequestFacts(request_id=request.id, reference=request.reference, dossier_id=dossier.id,
                            dossier_code=dossier.code, agency_id=dossier.agency_id, amount=request.amount,
                            amount_paid=request.amount_paid, status=request.status, expires_at=request.expires_at,
                            dossier_remaining=dossier.amount_due - dossier.amount_paid)

    def dossiers(self, code_keys: list[str]):
        from reconciliation.matching.matcher import DossierFacts

        found = {}
        for key in code_keys:
            dossier = self.state.by_key.get(key)
            if dossier is not None:
                found[key] = DossierFacts(dossier_id=dossier.id, code=dossier.code, agency_id=dossier.agency_id,
                                          remaining=dossier.amount_due - dossier.amount_paid,
                                          open_requests=tuple(self._facts(r) for r in dossier.requests
                                                              if r.status in ("open", "partially_paid")))
        return found

    def open_requests_asking(self, account_id: int, amount: int, limit: int) -> list[RequestFacts]:
        if limit <= AMOUNT_CLUES and (account_id, amount) in self.asking:
            if self.asked_amounts is None:  # the first line that asks: the chunk's pairs in a few statements
                self.asked_amounts = _open_requests_asking(self.state.session, sorted(self.asking), AMOUNT_CLUES)
            refs = self.asked_amounts.get((account_id, amount), [])[:limit]
        else:
            r = PaymentRequest.__table__.c
            refs = self.state.session.connection().scalars(select(r.reference).where(
                r.account_id == account_id, r.amount == amount, r.status.in_(("open", "expired")))
                .order_by(r.id.desc()).limit(limit)).all()
        return list(self.requests(list(refs)).values())

    def references_starting(self, prefix: str, limit: int) -> list[RequestFacts]:
        r = PaymentRequest.__table__.c
        refs = self.state.session.connection().scalars(select(r.reference).where(r.reference.startswith(prefix))
                                          .order_by(r.id.desc()).limit(limit)).all()
        return list(self.requests(list(refs)).values())


AMOUNT_CLUES = 5  # the most open requests asking a line's amount that the matcher asks for


def _open_requests_asking(session: Session, pairs: list[tuple[int, int]], limit: int
                          ) -> dict[tuple[int, int], list[str]]:
    """(account, amount) → the newest open or expired requests asking it (up to ``limit``),
    for many pairs in one statement per 400: what the matcher's amount-only clue reads, asked
    once for a chunk rather than once a line. The requests are as the chunk found them, as
    the one-line query would see them (the chunk writes at its end)."""
    raw = Raw(session)
    found: dict[tuple[int, int], list[str]] = {}
    for part in chunks(pairs, 400):
        wanted = " OR ".join(f"(account_id = :a{i} AND amount = :m{i})" for i in range(len(part)))
        params = {**{f"a{i}": a for i, (a, _) in enumerate(part)}, **{f"m{i}": m for i, (_, m) in enumerate(part)}}
        for account_id, amount, reference in raw.execute(
                "SELECT account_id, amount, reference FROM (SELECT account_id, amount, reference, ROW_NUMBER() "
                "OVER (PARTITION BY account_id, amount ORDER BY id DESC) AS n FROM payment_requests "
                f"WHERE status IN ('open', 'expired') AND ({wanted})) ranked WHERE n <= {int(limit)} "
                "ORDER BY account_id, amount, n", params):
            found.setdefault((account_id, amount), []).append(reference)
    return found


def _transfer_facts(row, agencies: dict[int, int], counter_name: str = "") -> TransferFacts:
    return TransferFacts(amount=row.amount - row.allocated, direction=row.direction, account_id=row.account_id,
                         agency_id=agencies.get(row.account_id), content=row.content or "",
                         booked_at=aware(row.booked_at), counter_name=counter_name)


def _named_dossiers(raw: Raw, rows: list, read: dict, rules: MatchRules
                    ) -> tuple[dict[int, str], dict[str, list[tuple[int, str, int, int]]]]:
    """For the matcher's name rule, read for the whole chunk at once: the senders' names of the
    credits that name no reference nor dossier code, and the unpaid dossiers whose applicant's
    name is one of the runs of words their contents and senders hold (a statement per 900 names)."""
    if rules.of("name_amount") < rules.suggest_threshold:
        return {}, {}
    wanting = [row for row in rows if row.direction == "in" and not read[row.id][0] and not read[row.id][2]]
    senders: dict[int, str] = {}
    for part in chunks([row.id for row in wanting]):
        listed, params = raw.among("id", "s", part)
        senders.update((i, name or "") for i, name in raw.execute(
            f"SELECT id, counter_name FROM bank_transactions WHERE {listed}", params))
    names = sorted({n for row in wanting for n in name_candidates(row.content or "", senders.get(row.id, ""))})
    named: dict[str, list[tuple[int, str, int, int]]] = {}
    for part in chunks(names, _IN):
        listed, params = raw.among("search_key", "n", part)
        for key, dossier_id, code, agency_id, remaining in raw.execute(
                "SELECT search_key, id, code, agency_id, amount_due - amount_paid FROM dossiers "
                f"WHERE {listed} AND amount_due > amount_paid", params):
            named.setdefault(key, []).append((dossier_id, code, agency_id, remaining))
    return senders, named



def match_many(session: Session, transaction_ids: list[int], *, actor: str = "rule:statement_run",
               rules: MatchRules | None = None, missing_callback: bool = False, chunk: int = CHUNK,
               commit: bool = True, known: dict[int, TransactionRow] | None = None,
               decided_again: bool = False) -> dict[str, int]:
    """Decide and act for many transactions (statement credits never decided before). Commits
    after every chunk (``commit=False``: only flushes, for a dry run). ``missing_callback``:
    these are transfers no callback announced; one left unmatched opens a ``missing_callback`` item. Returns
    counts by outcome. ``known``: transactions this transaction inserted itself (the fast path),
    not read again. A transaction decided meanwhile by another process (a callback and a
    statement import of the same transfer at once) is left alone, as seen under its row lock;
    ``decided_again``: decide them anyway (credits held while their day was closed)."""
    from reconciliation.matching.reconcile import load_rules

    rules = rules or load_rules(session)
    from reconciliation.inbound.transactions import agency_of_accounts

    agencies = agency_of_accounts(session)
    parts = _Parts(transaction_ids, chunk)

    def one(worker: Session, part: list[int], decided=None) -> dict[str, int]:
        return _chunk(worker, part, rules, actor, agencies, missing_callback, known or {}, decided_again,
                      decided=decided)

    if commit and not known and len(parts) >= PARALLEL_FROM and session.get_bind().dialect.name == "postgresql":
        return _in_parallel(session, parts, one)
    outcomes: dict[str, int] = defaultdict(int)
    planned, since = (_planned_rows(session) if commit else None), 0
    for part in parts:
        if commit:
            counts = _committed(session, part, one)
            since += len(part)
            if planned is not None and since >= max(planned, 1):  # the tables doubled since the planner looked
                planned, since = _analyse(session), 0
        else:
            counts = one(session, part)
            session.flush()
            session.expire_all()  # the rows were written with SQL: what the session holds is stale
        for outcome, count in counts.items():
            outcomes[outcome] += count
    return dict(outcomes)


class _Parts:
    """The ids in order, cut into chunks as they are asked for: a million ids are held as 8 MB
    of 8-byte integers, not as Python ints in lists (``match_new_lines`` gives them in order)."""

    def __init__(self, ids, size: int) -> None:
        ordered = ids if isinstance(ids, array) else array("q", ids)
        if any(a > b for a, b in zip(ordered, islice(ordered, 1, None))):
            ordered = array("q", sorted(ordered))
        self.ids, self.size = ordered, size

    def __len__(self) -> int:
        return -(-len(self.ids) // self.size)

    def __getitem__(self, k: int) -> list[int]:
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self.ids[k * self.size:(k + 1) * self.size].tolist()


PARALLEL_FROM = 3  # chunks from which a run on PostgreSQL is matched by two connections at once
RETRIES = 3  # a chunk that lost a deadlock is decided again, from the state it then finds


def _committed(session: Session, part: list[int], one, decided=None, undone=None) -> dict[str, int]:
    """One chunk decided, written and committed (rolled back if anything fails). A chunk chosen
    as a deadlock's victim (two connections locking the same dossier from two sides: a run and
    the callbacks) is rolled back whole and decided again: its transactions are still undecided.
    ``undone``: called after such a rollback, before the chunk is decided again."""
    for attempt in range(RETRIES):
        try:
            counts = one(session, part, decided)
            session.commit()
            return counts
        except DBAPIError as exc:
            session.rollback()
            if attempt == RETRIES - 1 or getattr(getattr(exc, "orig", None), "sqlstate", None) not in _RETRIED:
                raise
            if undone is not None:
                undone()
            log.warning("a chunk of %d transactions lost a deadlock (%s); deciding it again", len(part), exc.orig)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.expire_all()  # the rows were written with SQL: what the session holds is stale
    raise AssertionError("unreachable")


_RETRIED = ("40P01", "40001")  # deadlock detected, serialization failure


def _in_parallel(session: Session, parts: _Parts, one) -> dict[str, int]:
    """PostgreSQL: the chunks matched by two connections, this thread's and one more, taking
    turns (chunks 0, 2, 4... and 1, 3, 5...), as a pipeline: a chunk starts reading and deciding
    once the chunk before it has decided, and so holds the locks on every transaction, dossier
    and request it acts on (a chunk that meets those rows waits for that chunk's commit and
    reads what it wrote), and it writes once the chunk before it has committed. What overlaps
    is one chunk's writing (half of it the server's time) with the next one's reading and
    deciding; the decisions, receipt numbers and audit records come in the order one
    connection gives them.

    A chunk that has decided and is then rolled back (a deadlock's victim, decided again) would
    need rows the next chunk has meanwhile locked, while that one waits for its commit: so it
    marks itself ``redone``, and the next chunk, waiting for that commit, lets go of its rows
    (rolls back) and decides again once the commit has come."""
    from flask import current_app, has_app_context

    app = current_app._get_current_object() if has_app_context() else None
    lock = threading.Lock()
    decided = [threading.Event() for _ in range(len(parts))]
    committed = [threading.Event() for _ in range(len(parts))]
    redone = [threading.Event() for _ in range(len(parts))]
    outcomes: dict[str, int] = defaultdict(int)
    errors: list[BaseException] = []
    growth = {"planned": _planned_rows(session), "since": 0}

    def wait(event: threading.Event, unless: threading.Event | None = None) -> None:
        while not event.wait(0.2):
            if errors:
                raise _Abandoned()
            if unless is not None and unless.is_set():
                raise _Redo()

    def work(worker: Session, first: int) -> None:
        for k in range(first, len(parts), 2):
            if k:
                wait(decided[k - 1])  # its rows are locked: this chunk reads after its commit

            def turn(k: int = k) -> None:  # decided: writing waits for the chunk before
                decided[k].set()
                if k:
                    wait(committed[k - 1], unless=redone[k - 1])

            part = parts[k]
            while True:
                try:
                    counts = _committed(worker, part, one, turn, undone=redone[k].set)
                    break
                except _Redo:  # rolled back: decided again from what the chunk before writes
                    redone[k].set()
                    wait(committed[k - 1])
            decided[k].set()
            committed[k].set()
            with lock:
                for outcome, count in counts.items():
                    outcomes[outcome] += count
                growth["since"] += len(part)
                grown = growth["planned"] is not None and growth["since"] >= max(growth["planned"], 1)
                if grown:
                    growth["since"] = 0
            if grown:
                growth["planned"] = _analyse(worker)

    def second() -> None:
        with app.app_context() if app is not None else nullcontext():
            worker = Session(bind=session.get_bind().engine, expire_on_commit=False)
            try:
                work(worker, 1)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                errors.append(exc)
            finally:
                worker.close()

    helper = threading.Thread(target=second, name="statement-match", daemon=True)
    helper.start()
    try:
        work(session, 0)
    except BaseException as exc:
        errors.append(exc)
    helper.join()
    if errors:
        raise next((e for e in errors if not isinstance(e, _Abandoned)), errors[0])
    return dict(outcomes)


class _Abandoned(Exception):
    """The other connection of a parallel run failed: this one stops at its next turn."""


class _Redo(Exception):
    """The chunk before this one was rolled back after it decided: this one lets go and waits."""


# The tables a run grows. PostgreSQL plans from statistics that autovacuum refreshes a minute
# or more later: a run that doubles them meanwhile is planned as if they were small (a nested
# loop over a sequential scan of allocations per receipt), and slows down as it goes. So a run
# refreshes them each time it has decided as many lines as the planner knew decisions (every
# decided line writes one; allocations would not do: a run of unmatched lines writes none, and
# was analysed after every chunk, 200 times at a million lines).
_GROWN = ("bank_transactions", "allocations", "receipts", "receipt_links", "payment_requests",
          "payment_request_events", "dossiers", "exceptions", "match_decisions", "outbox_events")


def _planned_rows(session: Session) -> float | None:
    """How many match decisions PostgreSQL's planner believes there are (None: not PostgreSQL).
    A run that adds as many again gets the statistics refreshed (``_analyse``); a small
    statement on a large table never does."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    found = session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'match_decisions'")).scalar()
    return max(float(found or 0), 0.0)  # -1: never analysed


def _analyse(session: Session) -> float:
    from sqlalchemy import text

    session.execute(text("ANALYZE " + ", ".join(_GROWN)))
    session.commit()
    return _planned_rows(session) or 0.0


def _chunk(session: Session, ids: list[int], rules: MatchRules, actor: str, agencies: dict[int, int],
           missing_callback: bool, known: dict[int, TransactionRow], decided_again: bool = False,
           decided=None) -> dict[str, int]:
    """``decided``: called once every decision is taken (its rows locked), before writing."""
    now = utcnow()
    state = State(session, now)
    raw = Raw(session)
    transactions = [known[i] for i in ids if i in known]
    for part in chunks([i for i in ids if i not in known]):
        listed, params = raw.among("id", "t", part)
        transactions += [TransactionRow(*row[:6], aware(row[6]), *row[7:]) for row in raw.execute(
            "SELECT id, amount, allocated, direction, account_id, content, booked_at, bank_ref, channels, "
            f"first_channel, status FROM bank_transactions WHERE {listed} ORDER BY id"
            + (" FOR UPDATE" if state.pg else ""), params)]
    if not decided_again:  # under the row locks: what another process decided meanwhile stays decided
        read_here = [row.id for row in transactions if row.id not in known]
        done: set[int] = set()
        for part in chunks(read_here):
            listed, params = raw.among("transaction_id", "d", part)
            done.update(row[0] for row in raw.execute(
                f"SELECT DISTINCT transaction_id FROM match_decisions WHERE {listed}", params))
        transactions = [row for row in transactions if row.id not in done]
    if not transactions:
        return {}
    references, keys = set(), set()
    read = {}
    for row in transactions:
        read[row.id] = read_content(row.content or "")
        references.update(read[row.id][0])
        keys.update(read[row.id][2])
    state.load(references, keys)
    # The clues for a person (references one typo away) are read for the whole chunk at once.
    near = {n for row in transactions for token in (*read[row.id][1], *(r for r in read[row.id][0]
                                                                        if r not in state.requests))
            for n in one_edit_away(token)}
    if near - state.asked:
        state.load(near - state.asked)
    senders, named = _named_dossiers(raw, transactions, read, rules)
    lookup = _Lookup(state, {(row.account_id, row.amount - row.allocated) for row in transactions
                             if row.account_id is not None and row.direction == "in"}, named)
    held = _on_closed_days(raw, [row.id for row in transactions if row.direction == "in"])
    decisions: list[tuple[Any, Decision]] = []
    paid: list[Paid] = []
    for row in transactions:
        if row.id in held:  # a closed day changes only through a recorded reopen (close.py)
            day, account = held[row.id]
            decisions.append((row, Decision(HELD_RULE, 1.0, "held", {"day": day, "account": account},
                                            exception=HELD_REASON)))
            continue
        decision = decide(_transfer_facts(row, agencies, senders.get(row.id, "")), lookup, rules, read[row.id])
        decisions.append((row, decision))
        for allocation in decision.allocations:  # carried out in memory, in order: the next decision sees it
            dossier = state.dossiers[allocation.dossier_id]
            paid.append(state.pay(
                dossier=dossier, request=(state.requests_by_id[allocation.request_id]
                                          if allocation.request_id is not None else None),
                amount=allocation.amount, channel=payment_channel((row.channels or "").split(","), dossier.channel),
                rule=decision.rule, actor=f"rule:{decision.rule}", transaction=row,
                confidence=decision.confidence))
    forget_name_candidates()
    if decided is not None:
        decided()
    return _write(session, state, decisions, paid, actor, missing_callback)


HELD_RULE = "closed_day"
HELD_REASON = "booked_on_closed_day"


def _on_closed_days(raw: Raw, ids: list[int]) -> dict[int, tuple[str, str]]:
    """The credits among ``ids`` booked on a day already closed: transaction id → (day, account)."""
    held: dict[int, tuple[str, str]] = {}
    for part in chunks(ids):
        if not part:
            continue
        listed, params = raw.among("t.id", "h", part)
        for transaction_id, day, account in raw.execute(
                "SELECT t.id, t.booked_on, t.account_number FROM bank_transactions t JOIN daily_closes c "
                "ON c.account_id = t.account_id AND c.day = t.booked_on AND c.status = 'closed' "
                f"WHERE {listed}", params):
            held[transaction_id] = (str(day), account)
    return held


def _write(session: Session, state: State, decisions: list, paid: list[Paid], actor: str,
           missing_callback: bool) -> dict[str, int]:
    now = state.now
    rows = Rows(session, now)
    outcomes: dict[str, int] = defaultdict(int)
    exception_count = sum(1 for _, d in decisions if d.exception) + \
        (sum(1 for _, d in decisions if _unexplained(d)) if missing_callback else 0)
    taken = rows.take_many({"match_decisions": len(decisions), "exceptions": exception_count})
    decision_ids = taken.get("match_decisions", [])
    decision_id_of = {row.id: decision_id for (row, _), decision_id in zip(decisions, decision_ids)}
    for entry in paid:
        entry.decision_id = decision_id_of[entry.transaction.id]
    exceptions_rows = []
    for (row, decision), decision_id in zip(decisions, decision_ids):
        outcomes[decision.outcome] += 1
        rows.rows["match_decisions"].append({
            "id": decision_id, "transaction_id": row.id, "at": now, "actor": actor, "rule": decision.rule,
            "outcome": decision.outcome, "confidence": decision.confidence, "evidence": decision.evidence,
            "suggestions": [asdict(s) for s in decision.suggestions]})
        if decision.exception:
            first = decision.allocations[0] if decision.allocations else None
            suggestion = decision.suggestions[0] if decision.suggestions else None
            exceptions_rows.append(_exception(
                decision.exception, row, decision_id, now, actor,
                dossier_id=first.dossier_id if first else (suggestion.dossier_id if suggestion else None),
                request_id=first.request_id if first else (suggestion.request_id if suggestion else None),
                amount=decision.excess or (row.amount - row.allocated if not decision.allocations else 0),
                detail=_explain(decision), suggestions=[asdict(s) for s in decision.suggestions]))
        if missing_callback and _unexplained(decision):
            exceptions_rows.append(_exception(
                "missing_callback", row, None, now, "rule:statement_run", amount=row.amount,
                detail="no callback announced it; not matched"))
    # A part payment and the rest in the same chunk: its item is settled as it is written.
    for exception in exceptions_rows:
        request = state.requests_by_id.get(exception["payment_request_id"])
        if exception["reason"] == "amount_mismatch" and exception["status"] == "open" and request is not None \
                and settles_part_payment(request.status):
            exception.update(status="resolved", resolved_at=now, resolved_by=actor, resolution=PART_PAYMENT_SETTLED)
    for exception, exception_id in zip(exceptions_rows, taken.get("exceptions", [])):
        exception["id"] = exception_id
    rows.insert(MatchDecision.__table__, rows.rows["match_decisions"])  # the allocations refer to them
    written = apply(session, state, paid, actor=actor, touched=[row for row, _ in decisions])
    rows.insert(ReconException.__table__, exceptions_rows)
    # The audit trail: one record for the chunk, naming every row it changed.
    receipts, resolved = written.receipts, written.exceptions_resolved
    if paid or exceptions_rows or receipts or resolved:
        audit.record(session, actor, "reconciliation.batch", "bank_transaction",
                     f"{decisions[0][0].id}..{decisions[-1][0].id}", {
                         "allocations": [[e.allocation_id, e.dossier.code,
                                          e.request.reference if e.request else None, e.amount, e.rule,
                                          e.transaction.id] for e in paid],
                         "exceptions": [[e["id"], e["reason"], e["transaction_id"], e["amount"], e["status"]]
                                        for e in exceptions_rows],
                         "receipts": [[r["id"], r["dossier_id"], r["series"], r["year"], r["number"], r["kind"],
                                       r["amount"]] for r in receipts],
                         "exceptions_resolved": resolved})
    return outcomes


def _unexplained(decision: Decision) -> bool:
    """A credit only the statement showed is a question for the queue when it was not matched.
    Matched, it needs no item: its channels (``statement`` alone) already say no callback came.
    A held credit's one question is its closed day."""
    return decision.outcome != "held" and not (decision.allocations and not decision.exception)


def _exception(reason: str, row, decision_id: int | None, now: datetime, actor: str, *, amount: int,
               detail: str, dossier_id: int | None = None, request_id: int | None = None,
               suggestions: list | None = None, status: str = "open") -> dict[str, Any]:
    from core.clock import ict_day

    from reconciliation.workflow.exceptions import _deadline

    return {"id": None, "reason": reason, "status": status, "transaction_id": row.id, "dossier_id": dossier_id,
            "payment_request_id": request_id, "statement_id": None, "account_id": row.account_id, "amount": amount,
            "detail": detail, "decision_id": decision_id, "suggestions": suggestions or [], "owner": None,
            "deadline": _deadline(reason, ict_day(now)), "created_at": now,
            "resolved_at": now if status != "open" else None, "resolved_by": actor if status != "open" else None,
            "resolution": detail if status != "open" else None}


def _explain(decision: Decision) -> str:
    from reconciliation.matching.reconcile import _explain as explain

    return explain(decision)


