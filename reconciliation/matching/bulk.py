"""Matching many transactions at once: the statement run's path for a day's transfers that
no callback announced (a month of a busy account, after an outage).

The decisions are the matcher's (``matcher.decide``, the same rules and thresholds as on
the fast path); what differs is how their consequences are written. For each chunk:

1. the transactions, the payment requests their contents name and the dossiers behind
   them are read in a few set-based queries and locked (PostgreSQL; in the order the
   single path locks: transactions, dossiers, requests, receipt counters, the audit head);
2. every transaction is decided against that state in memory, each decision seeing the
   allocations planned before it (two transfers paying one request are judged in order);
3. everything the single path writes is written in bulk: decisions, allocations, the
   transactions', requests' and dossiers' sums and states with the requests' history,
   exceptions, receipts numbered without gaps, outbound events, cancelled stale requests,
   and the audit trail, one record per kind of change per chunk (listing every row) rather
   than one per row;
4. the chunk commits.

``tests/reconciliation/test_bulk.py`` checks that this path and the one-at-a-time path
(``reconcile.match_transaction``) leave the same state for the same transfers.
"""
from __future__ import annotations

import json
import secrets
from collections import defaultdict, namedtuple
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import isoformat_ict, to_ict, utcnow
from core.changes import note_dossiers, note_receipts
from core.rawsql import Raw, aware
from payments.models import Dossier, PaymentRequest, PaymentRequestEvent, Receipt
from payments.money_rules import (PART_PAYMENT_SETTLED, STALE_REASON, became_paid, dossier_event_part,
                                  dossier_status, event_for_change, payment_channel, receipt_channel,
                                  receipts_to_issue, request_status, requests_to_cancel, settles_part_payment,
                                  transaction_status)
from payments.receipts import series_of, take_numbers

from reconciliation.matching.matcher import Decision, DossierFacts, MatchRules, RequestFacts, TransferFacts, decide, read_content
from reconciliation.models import Allocation, BankTransaction, MatchDecision, OutboxEvent, ReconException

CHUNK = 5000
_IN = 900  # bound parameters per IN list (SQLite's limit is 999 in older builds)


@dataclass
class _Request:
    id: int
    reference: str
    dossier_id: int
    account_id: int
    amount: int
    amount_paid: int
    status: str
    expires_at: datetime
    version: int
    cancel_reason: str | None = None
    changed: bool = False


@dataclass
class _Dossier:
    id: int
    code: str
    portal_code: str | None
    code_key: str
    portal_code_key: str | None
    agency_id: int
    procedure_id: int
    channel: str
    applicant_name: str
    amount_due: int
    amount_paid: int
    requests: list[_Request] = field(default_factory=list)
    status_before: str = ""
    paid_before: int = 0
    changed: bool = False

    def status(self) -> str:
        return dossier_status(self.amount_due, self.amount_paid)


def _chunks(items: list, size: int = _IN) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _State:
    """The chunk's records in memory, and the ``matcher.Lookup`` over them."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.requests: dict[str, _Request] = {}
        self.requests_by_id: dict[int, _Request] = {}
        self.dossiers: dict[int, _Dossier] = {}
        self.by_key: dict[str, _Dossier] = {}
        self.pg = session.get_bind().dialect.name == "postgresql"

    # -- loading -----------------------------------------------------------------------------
    def load(self, references: set[str], code_keys: set[str]) -> None:
        """The dossiers the references and codes name, with all their requests (locked on
        PostgreSQL, dossiers before requests), in two statements per 900 names."""
        raw = Raw(self.session)
        lock = " FOR UPDATE" if self.pg else ""
        found: set[int] = set()
        names = sorted(references)
        keys = sorted(code_keys)
        for start in range(0, max(len(names), len(keys), 1), _IN):
            refs, keys_part = names[start:start + _IN], keys[start:start + _IN]
            if not refs and not keys_part:
                break
            clauses, params = [], {}
            if refs:
                listed, more = raw.in_list("r", refs)
                clauses.append(f"id IN (SELECT dossier_id FROM payment_requests WHERE reference IN ({listed}))")
                params.update(more)
            if keys_part:
                listed, more = raw.in_list("k", keys_part)
                clauses.append(f"code_key IN ({listed}) OR portal_code_key IN ({listed})")
                params.update(more)
            rows = raw.execute(
                "SELECT id, code, portal_code, code_key, portal_code_key, agency_id, procedure_id, channel, "
                "applicant_name, amount_due, amount_paid FROM dossiers WHERE " + " OR ".join(clauses)
                + " ORDER BY id" + lock, params)
            for row in rows:
                if row[0] in self.dossiers:
                    continue
                dossier = _Dossier(*row)
                dossier.status_before = dossier.status()
                dossier.paid_before = dossier.amount_paid
                self.dossiers[dossier.id] = dossier
                self.by_key[dossier.code_key] = dossier
                if dossier.portal_code_key:
                    self.by_key[dossier.portal_code_key] = dossier
                found.add(dossier.id)
        ordered = sorted(found)
        for part in _chunks(ordered):
            listed, params = raw.in_list("d", part)
            for row in raw.execute(
                    "SELECT id, reference, dossier_id, account_id, amount, amount_paid, status, expires_at, version "
                    f"FROM payment_requests WHERE dossier_id IN ({listed}) ORDER BY id" + lock, params):
                request = _Request(*row[:7], aware(row[7]), row[8])
                self.requests[request.reference] = request
                self.requests_by_id[request.id] = request
                self.dossiers[request.dossier_id].requests.append(request)

    # -- matcher.Lookup ----------------------------------------------------------------------
    def facts(self, request: _Request) -> RequestFacts:
        dossier = self.dossiers[request.dossier_id]
        return RequestFacts(request_id=request.id, reference=request.reference, dossier_id=dossier.id,
                            dossier_code=dossier.code, agency_id=dossier.agency_id, amount=request.amount,
                            amount_paid=request.amount_paid, status=request.status, expires_at=request.expires_at,
                            dossier_remaining=dossier.amount_due - dossier.amount_paid)

    def requests_facts(self, references: list[str]) -> dict[str, RequestFacts]:
        return {ref: self.facts(self.requests[ref]) for ref in references if ref in self.requests}

    def dossiers_facts(self, code_keys: list[str]) -> dict[str, DossierFacts]:
        found = {}
        for key in code_keys:
            dossier = self.by_key.get(key)
            if dossier is not None:
                found[key] = DossierFacts(dossier_id=dossier.id, code=dossier.code, agency_id=dossier.agency_id,
                                          remaining=dossier.amount_due - dossier.amount_paid,
                                          open_requests=tuple(self.facts(r) for r in dossier.requests
                                                              if r.status in ("open", "partially_paid")))
        return found


class _Lookup:
    """What the matcher asks; what is not in the chunk's state (look-alikes) is read on demand."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def requests(self, references: list[str]) -> dict[str, RequestFacts]:
        missing = {ref for ref in references if ref not in self.state.requests}
        if missing:
            self.state.load(missing, set())
        return self.state.requests_facts(references)

    def dossiers(self, code_keys: list[str]) -> dict[str, DossierFacts]:
        return self.state.dossiers_facts(code_keys)

    def open_requests_asking(self, account_id: int, amount: int, limit: int) -> list[RequestFacts]:
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


def _request_status(request: _Request, now: datetime) -> str:
    return request_status(request.status, request.amount, request.amount_paid, request.expires_at, now)


class _Writer:
    """Rows planned for one chunk, and their bulk writing."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.dialect = session.get_bind().dialect.name
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ids: dict[str, list[int]] = {}

    def take_many(self, counts: dict[str, int]) -> dict[str, list[int]]:
        """Ids for rows inserted with their id (so that others can refer to them before the
        insert), for several tables in one statement. PostgreSQL: from the tables' sequences;
        SQLite: after the largest id, the write lock being held from the transaction's first
        statement (BEGIN IMMEDIATE)."""
        counts = {table: n for table, n in counts.items() if n}
        if not counts:
            return {}
        raw = Raw(self.session)
        tables = sorted(counts)
        taken: dict[str, list[int]] = {}
        if self.dialect == "postgresql":
            rows = raw.execute(" UNION ALL ".join(
                f"(SELECT {i}, nextval(pg_get_serial_sequence('{t}', 'id')) FROM generate_series(1, :n{i}))"
                for i, t in enumerate(tables)), {f"n{i}": counts[t] for i, t in enumerate(tables)})
            for index, table in enumerate(tables):
                taken[table] = sorted(value for i, value in rows if i == index)
            return taken
        starts = raw.one("SELECT " + ", ".join(f"(SELECT COALESCE(MAX(id), 0) FROM {t})" for t in tables))
        for table, start in zip(tables, starts):
            used = self.ids.get(table)
            start = max(start, used[-1] if used else 0)
            taken[table] = list(range(start + 1, start + 1 + counts[table]))
            self.ids[table] = taken[table]
        return taken

    def take_ids(self, table: str, count: int) -> list[int]:
        return self.take_many({table: count}).get(table, [])

    def converter(self, column):
        """How a Python value of ``column`` is handed to the driver directly (no ORM types)."""
        kind = type(column.type).__name__
        if kind == "JSON":
            return lambda v: None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"),
                                                               default=str)
        if kind == "UTCDateTime" and self.dialect != "postgresql":
            return lambda v: None if v is None else v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
        return None

    def value(self, column, value: Any) -> Any:
        convert = self.converter(column)
        return convert(value) if convert else value

    def insert(self, table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        converted = [(i, convert) for i, name in enumerate(columns) if (convert := self.converter(table.c[name]))]
        data = [list(row.values()) for row in rows]
        for i, convert in converted:  # column by column: only the few columns that need it
            for values in data:
                values[i] = convert(values[i])
        Raw(self.session).copy_rows(table.name, columns, data)

    def update(self, table, rows: list[dict[str, Any]], *, version: bool = False) -> None:
        """``UPDATE table SET <columns> WHERE id = :id`` for every row (``version``: also add 1 to it)."""
        if not rows:
            return
        columns = [name for name in rows[0] if name != "id"]
        sets = ", ".join(f"{name} = :{name}" for name in columns) + (", version = version + 1" if version else "")
        Raw(self.session).executemany(f"UPDATE {table.name} SET {sets} WHERE id = :id", rows)


def _transfer_facts(row, agencies: dict[int, int]) -> TransferFacts:
    return TransferFacts(amount=row.amount - row.allocated, direction=row.direction, account_id=row.account_id,
                         agency_id=agencies.get(row.account_id), content=row.content or "",
                         booked_at=aware(row.booked_at))


_Transaction = namedtuple("_Transaction", "id amount allocated direction account_id content booked_at bank_ref "
                                         "channels first_channel status")


def transaction_row(transaction) -> _Transaction:
    """A transaction as the bulk path reads it, from an object that has its columns."""
    return _Transaction(transaction.id, transaction.amount, transaction.allocated, transaction.direction,
                        transaction.account_id, transaction.content, aware(transaction.booked_at),
                        transaction.bank_ref, transaction.channels, transaction.first_channel, transaction.status)


@dataclass
class _Paid:
    """One planned allocation, with the states it left (for the history and the events)."""

    allocation_id: int | None
    transaction: Any
    decision: Decision
    dossier: _Dossier
    request: _Request | None
    amount: int
    channel: str
    dossier_paid: int
    dossier_status: str
    dossier_status_before: str
    request_paid: int | None = None
    request_status: str | None = None
    request_status_before: str | None = None


def match_many(session: Session, transaction_ids: list[int], *, actor: str = "rule:statement_run",
               rules: MatchRules | None = None, missing_callback: bool = False, chunk: int = CHUNK,
               commit: bool = True, known: dict[int, _Transaction] | None = None,
               decided_again: bool = False) -> dict[str, int]:
    """Decide and act for many transactions (statement credits never decided before). Commits
    after every chunk (``commit=False``: only flushes, for a dry run). ``missing_callback``:
    also record each one as a transfer no callback announced (settled when matched). Returns
    counts by outcome. ``known``: transactions this transaction inserted itself (the fast path),
    not read again. A transaction decided meanwhile by another process (a callback and a
    statement import of the same transfer at once) is left alone, as seen under its row lock;
    ``decided_again``: decide them anyway (credits held while their day was closed)."""
    from reconciliation.matching.reconcile import load_rules

    rules = rules or load_rules(session)
    outcomes: dict[str, int] = defaultdict(int)
    from reconciliation.inbound.transactions import agency_of_accounts

    agencies = agency_of_accounts(session)
    for part in _chunks(sorted(transaction_ids), chunk):
        for outcome, count in _chunk(session, part, rules, actor, agencies, missing_callback, known or {},
                                     decided_again).items():
            outcomes[outcome] += count
        if commit:
            session.commit()
        else:
            session.flush()
        session.expire_all()  # the rows were written with SQL: what the session holds is stale
    return dict(outcomes)


def _chunk(session: Session, ids: list[int], rules: MatchRules, actor: str, agencies: dict[int, int],
           missing_callback: bool, known: dict[int, _Transaction], decided_again: bool = False) -> dict[str, int]:
    now = utcnow()
    state = _State(session, now)
    raw = Raw(session)
    transactions = [known[i] for i in ids if i in known]
    for part in _chunks([i for i in ids if i not in known]):
        listed, params = raw.in_list("t", part)
        transactions += [_Transaction(*row[:6], aware(row[6]), *row[7:]) for row in raw.execute(
            "SELECT id, amount, allocated, direction, account_id, content, booked_at, bank_ref, channels, "
            f"first_channel, status FROM bank_transactions WHERE id IN ({listed}) ORDER BY id"
            + (" FOR UPDATE" if state.pg else ""), params)]
    if not decided_again:  # under the row locks: what another process decided meanwhile stays decided
        read_here = [row.id for row in transactions if row.id not in known]
        decided: set[int] = set()
        for part in _chunks(read_here):
            listed, params = raw.in_list("d", part)
            decided.update(row[0] for row in raw.execute(
                f"SELECT DISTINCT transaction_id FROM match_decisions WHERE transaction_id IN ({listed})", params))
        transactions = [row for row in transactions if row.id not in decided]
    if not transactions:
        return {}
    references, keys = set(), set()
    read = {}
    for row in transactions:
        read[row.id] = read_content(row.content or "")
        references.update(read[row.id][0])
        keys.update(read[row.id][2])
    state.load(references, keys)
    lookup = _Lookup(state)
    held = _on_closed_days(raw, [row.id for row in transactions if row.direction == "in"])
    decisions: list[tuple[Any, Decision]] = []
    paid: list[_Paid] = []
    for row in transactions:
        if row.id in held:  # a closed day changes only through a recorded reopen (close.py)
            day, account = held[row.id]
            decisions.append((row, Decision(HELD_RULE, 1.0, "held", {"day": day, "account": account},
                                            exception=HELD_REASON)))
            continue
        decision = decide(_transfer_facts(row, agencies), lookup, rules, read[row.id])
        decisions.append((row, decision))
        for allocation in decision.allocations:  # carried out in memory, in order: the next decision sees it
            dossier = state.dossiers[allocation.dossier_id]
            before = dossier.status()
            dossier.amount_paid += allocation.amount
            dossier.changed = True
            channel = payment_channel((row.channels or "").split(","), dossier.channel)
            entry = _Paid(None, row, decision, dossier, None, allocation.amount, channel, dossier.amount_paid,
                          dossier.status(), before)
            if allocation.request_id is not None:
                request = state.requests_by_id[allocation.request_id]
                entry.request, entry.request_status_before = request, request.status
                request.amount_paid += allocation.amount
                request.status = _request_status(request, now)
                request.changed = True
                entry.request_paid, entry.request_status = request.amount_paid, request.status
            paid.append(entry)
    return _write(session, state, decisions, paid, actor, missing_callback)


HELD_RULE = "closed_day"
HELD_REASON = "booked_on_closed_day"


def _on_closed_days(raw: Raw, ids: list[int]) -> dict[int, tuple[str, str]]:
    """The credits among ``ids`` booked on a day already closed: transaction id → (day, account)."""
    held: dict[int, tuple[str, str]] = {}
    for part in _chunks(ids):
        if not part:
            continue
        listed, params = raw.in_list("h", part)
        for transaction_id, day, account in raw.execute(
                "SELECT t.id, t.booked_on, t.account_number FROM bank_transactions t JOIN daily_closes c "
                "ON c.account_id = t.account_id AND c.day = t.booked_on AND c.status = 'closed' "
                f"WHERE t.id IN ({listed})", params):
            held[transaction_id] = (str(day), account)
    return held


def _write(session: Session, state: _State, decisions: list, paid: list[_Paid], actor: str,
           missing_callback: bool) -> dict[str, int]:
    now = state.now
    writer = _Writer(session, now)
    outcomes: dict[str, int] = defaultdict(int)
    newly_paid = [d for d in state.dossiers.values() if d.changed and became_paid(d.status_before, d.status())]
    resolved = _settle_part_payments(session, state, actor)
    extras = _extras(session, state, list({e.dossier.id for e in paid} | {d.id for d in newly_paid}))
    receipts = _receipts(session, writer, newly_paid, paid, extras, now)
    exception_count = sum(1 for _, d in decisions if d.exception) + \
        (sum(1 for _, d in decisions if d.outcome != "held") if missing_callback else 0)
    taken = writer.take_many({"match_decisions": len(decisions), "allocations": len(paid),
                              "exceptions": exception_count, "receipts": len(receipts)})
    for receipt, receipt_id in zip(receipts, taken.get("receipts", [])):
        receipt["id"] = receipt_id
    decision_ids = taken.get("match_decisions", [])
    decision_id_of = {row.id: decision_id for (row, _), decision_id in zip(decisions, decision_ids)}
    for entry, allocation_id in zip(paid, taken.get("allocations", [])):
        entry.allocation_id = allocation_id
    allocated: dict[int, int] = defaultdict(int)
    for entry in paid:
        allocated[entry.transaction.id] += entry.amount
        writer.rows["allocations"].append({
            "id": entry.allocation_id, "transaction_id": entry.transaction.id, "cash_payment_id": None,
            "dossier_id": entry.dossier.id, "payment_request_id": entry.request.id if entry.request else None,
            "amount": entry.amount, "payment_channel": entry.channel,
            "decision_id": decision_id_of[entry.transaction.id], "rule": entry.decision.rule,
            "confidence": entry.decision.confidence, "created_at": now, "created_by": f"rule:{entry.decision.rule}",
            "reversed_at": None, "reversed_by": None, "reverse_reason": None})
        if entry.request is not None:
            writer.rows["payment_request_events"].append({
                "request_id": entry.request.id, "at": now, "actor": f"rule:{entry.decision.rule}",
                "action": "payment", "from_status": entry.request_status_before, "to_status": entry.request_status,
                "note": None, "data": {"amount": entry.amount, "allocation_rule": entry.decision.rule,
                                       "channel": entry.channel, "transaction_ref": entry.transaction.bank_ref,
                                       "cash_receipt": None}})
    exceptions_rows = []
    for (row, decision), decision_id in zip(decisions, decision_ids):
        outcomes[decision.outcome] += 1
        writer.rows["match_decisions"].append({
            "id": decision_id, "transaction_id": row.id, "at": now, "actor": actor, "rule": decision.rule,
            "outcome": decision.outcome, "confidence": decision.confidence, "evidence": decision.evidence,
            "suggestions": [asdict(s) for s in decision.suggestions]})
        status = row.status
        if row.direction == "in":
            status = transaction_status(row.direction, row.amount, row.allocated + allocated[row.id])
        writer.rows["bank_transactions"].append({"id": row.id, "allocated": row.allocated + allocated[row.id],
                                                 "status": status})
        if decision.exception:
            first = decision.allocations[0] if decision.allocations else None
            suggestion = decision.suggestions[0] if decision.suggestions else None
            exceptions_rows.append(_exception(
                decision.exception, row, decision_id, now, actor,
                dossier_id=first.dossier_id if first else (suggestion.dossier_id if suggestion else None),
                request_id=first.request_id if first else (suggestion.request_id if suggestion else None),
                amount=decision.excess or (row.amount - row.allocated if not decision.allocations else 0),
                detail=_explain(decision), suggestions=[asdict(s) for s in decision.suggestions]))
        if missing_callback and decision.outcome != "held":  # a held credit's one question is its closed day
            settled = bool(decision.allocations) and not decision.exception
            exceptions_rows.append(_exception(
                "missing_callback", row, None, now, "rule:statement_run", amount=row.amount,
                status="resolved" if settled else "open",
                detail=("no callback announced it; matched from the statement" if settled
                        else "no callback announced it; not matched")))
    # A part payment and the rest in the same chunk: its item is settled as it is written.
    for exception in exceptions_rows:
        request = state.requests_by_id.get(exception["payment_request_id"])
        if exception["reason"] == "amount_mismatch" and exception["status"] == "open" and request is not None \
                and settles_part_payment(request.status):
            exception.update(status="resolved", resolved_at=now, resolved_by=actor, resolution=PART_PAYMENT_SETTLED)
    cancelled = _stale_requests(state, writer, newly_paid, paid, now)
    _events(state, writer, paid, cancelled, extras, now)
    for exception, exception_id in zip(exceptions_rows, taken.get("exceptions", [])):
        exception["id"] = exception_id
    # Written parents first.
    writer.insert(MatchDecision.__table__, writer.rows["match_decisions"])
    writer.insert(Allocation.__table__, writer.rows["allocations"])
    writer.update(BankTransaction.__table__, writer.rows["bank_transactions"])
    writer.update(PaymentRequest.__table__, [
        {"id": r.id, "amount_paid": r.amount_paid, "status": r.status, "cancel_reason": r.cancel_reason}
        for r in state.requests_by_id.values() if r.changed], version=True)
    writer.insert(PaymentRequestEvent.__table__, writer.rows["payment_request_events"])
    writer.update(Dossier.__table__, [{"id": d.id, "amount_paid": d.amount_paid}
                                      for d in state.dossiers.values() if d.changed])
    writer.insert(ReconException.__table__, exceptions_rows)
    writer.insert(Receipt.__table__, receipts)
    writer.insert(OutboxEvent.__table__, writer.rows["outbox_events"])
    # Derived data (the reports' rows) is rewritten for what changed, before the commit.
    note_dossiers(session, [d.id for d in state.dossiers.values() if d.changed])
    note_receipts(session, [r["id"] for r in receipts])
    # The audit trail: one record for the chunk, naming every row it changed.
    if paid or exceptions_rows or receipts or resolved:
        audit.record(session, actor, "reconciliation.batch", "bank_transaction",
                     f"{decisions[0][0].id}..{decisions[-1][0].id}", {
                         "allocations": [[e.allocation_id, e.dossier.code,
                                          e.request.reference if e.request else None, e.amount, e.decision.rule,
                                          e.transaction.id] for e in paid],
                         "exceptions": [[e["id"], e["reason"], e["transaction_id"], e["amount"], e["status"]]
                                        for e in exceptions_rows],
                         "receipts": [[r["id"], r["dossier_id"], r["series"], r["year"], r["number"], r["kind"],
                                       r["amount"]] for r in receipts],
                         "exceptions_resolved": resolved})
    return outcomes


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


def _settle_part_payments(session: Session, state: _State, actor: str) -> list[int]:
    """Open ``amount_mismatch`` items of requests now paid in full are settled (``money_rules``;
    a part payment that was undone since may have left one, so every request paid now is asked,
    through the small open-items index)."""
    paid = [r.id for r in state.requests_by_id.values() if r.changed and settles_part_payment(r.status)]
    resolved: list[int] = []
    table = ReconException.__table__
    for part in _chunks(paid):
        ids = list(session.connection().scalars(select(table.c.id).where(
            table.c.payment_request_id.in_(part), table.c.status == "open", table.c.reason == "amount_mismatch")))
        if ids:
            session.connection().execute(table.update().where(table.c.id.in_(ids)).values(
                status="resolved", resolved_at=state.now, resolved_by=actor,
                resolution=PART_PAYMENT_SETTLED))
            resolved += ids
    return resolved


@dataclass
class _Extras:
    """What receipts and events need of the dossiers a chunk touched, read once."""

    charges: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    channels: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # allocations before the chunk
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # procedure code, agency code
    agencies: dict[int, Any] = field(default_factory=dict)  # id → code, receipt form and series


_Charge = namedtuple("_Charge", "fee_code name kind amount legal_basis")


def _extras(session: Session, state: _State, dossier_ids: list[int]) -> _Extras:
    from types import SimpleNamespace

    extras = _Extras()
    raw = Raw(session)
    for part in _chunks(sorted(dossier_ids)):
        listed, params = raw.in_list("d", part)
        for row in raw.execute(
                "SELECT d.id, p.code, a.id, a.code, a.receipt_form, a.receipt_series, c.fee_code, c.name, c.kind, "
                "c.amount, c.legal_basis FROM dossiers d JOIN procedures p ON p.id = d.procedure_id "
                "JOIN agencies a ON a.id = d.agency_id LEFT JOIN dossier_charges c ON c.dossier_id = d.id "
                f"WHERE d.id IN ({listed}) ORDER BY d.id, c.id", params):
            dossier_id, procedure, agency_id, agency_code, form, series = row[:6]
            extras.names[dossier_id] = (procedure, agency_code)
            extras.agencies[agency_id] = SimpleNamespace(id=agency_id, code=agency_code, receipt_form=form,
                                                         receipt_series=series)
            if row[7] is not None:
                extras.charges[dossier_id].append(_Charge(*row[6:]))
        # Only a dossier that had received money before has allocations to read.
        before = [i for i in part if state.dossiers[i].paid_before > 0] if state else part
        if before:
            listed, params = raw.in_list("b", before)
            for dossier_id, channel in raw.execute(
                    "SELECT dossier_id, payment_channel FROM allocations WHERE reversed_at IS NULL AND dossier_id "
                    f"IN ({listed})", params):
                extras.channels[dossier_id].append(channel)
    return extras


def _receipts(session: Session, writer: _Writer, dossiers: list[_Dossier], paid: list[_Paid], extras: _Extras,
              now: datetime) -> list[dict[str, Any]]:
    """The receipts of the dossiers this chunk paid in full, numbered without gaps (their ids
    are given by the caller)."""
    if not dossiers:
        return []
    raw = Raw(session)
    ids = [d.id for d in dossiers]
    issued: dict[int, set[str]] = defaultdict(set)  # dossier → kinds with a receipt in force
    replaced: dict[tuple[int, str], int] = {}  # the last cancelled receipt of a kind, which a new one replaces
    for part in _chunks(ids):
        listed, params = raw.in_list("d", part)
        for receipt_id, dossier_id, kind, status in raw.execute(
                f"SELECT id, dossier_id, kind, status FROM receipts WHERE dossier_id IN ({listed}) ORDER BY id",
                params):
            if status == "issued":
                issued[dossier_id].add(kind)
            else:
                replaced[(dossier_id, kind)] = receipt_id
    channels: dict[int, set[str]] = defaultdict(set)
    for dossier_id in ids:
        channels[dossier_id].update(extras.channels[dossier_id])
    for entry in paid:
        channels[entry.dossier.id].add(entry.channel)
    year = to_ict(now).year
    wanted: list[tuple[_Dossier, str, list[dict]]] = []
    for dossier in dossiers:
        for kind, lines in receipts_to_issue(extras.charges[dossier.id], issued[dossier.id]):
            wanted.append((dossier, kind, lines))
    if not wanted:
        return []
    needed: dict[tuple[str, str], int] = defaultdict(int)
    for dossier, _, _ in wanted:
        needed[series_of(extras.agencies[dossier.agency_id], year)] += 1
    next_number: dict[tuple[str, str], int] = {}
    for (form, serie), count in sorted(needed.items()):  # counters locked in a fixed order
        next_number[(form, serie)] = take_numbers(session, form, serie, year, count)
    rows = []
    for dossier, kind, lines in wanted:
        form, serie = series_of(extras.agencies[dossier.agency_id], year)
        number = next_number[(form, serie)]
        next_number[(form, serie)] += 1
        used = channels[dossier.id]
        rows.append({"id": None, "agency_id": dossier.agency_id, "dossier_id": dossier.id, "form": form,
                     "series": serie, "year": year, "number": number, "kind": kind,
                     "payer_name": dossier.applicant_name, "lines": lines,
                     "amount": sum(line["amount"] for line in lines),
                     "payment_channel": receipt_channel(used),
                     "lookup_token": secrets.token_urlsafe(18), "issued_at": now, "issued_by": "system",
                     "status": "issued", "cancelled_at": None, "cancelled_by": None, "cancel_reason": None,
                     "replaces_id": replaced.get((dossier.id, kind))})
    return rows


def _stale_requests(state: _State, writer: _Writer, dossiers: list[_Dossier], paid: list[_Paid],
                    now: datetime) -> list[_Request]:
    """Once a dossier is paid, its other open requests are cancelled (``money_rules``)."""
    reason = STALE_REASON
    paying = {e.request.id for e in paid if e.request is not None}
    cancelled = []
    for dossier in dossiers:
        by_id = {r.id: r for r in dossier.requests}
        for request_id in requests_to_cancel([(r.id, r.status) for r in dossier.requests], paying):
            request = by_id[request_id]
            request.status, request.cancel_reason, request.changed = "cancelled", reason, True
            writer.rows["payment_request_events"].append({
                "request_id": request.id, "at": now, "actor": "system", "action": "cancelled",
                "from_status": "open", "to_status": "cancelled", "note": reason, "data": None})
            cancelled.append(request)
    return cancelled


def _events(state: _State, writer: _Writer, paid: list[_Paid], cancelled: list[_Request], extras: _Extras,
            now: datetime) -> None:
    """The outbound events the single path would write: one per payment, one per cancellation."""
    from payments.portal_sync import fee_codes, vietqr_as_gateway
    from reconciliation.channels.outbox import fee_list

    as_gateway, codes = vietqr_as_gateway(), fee_codes()
    fees = {dossier_id: fee_list(charges) for dossier_id, charges in extras.charges.items()}
    channels: dict[int, list[str]] = defaultdict(list, {k: list(v) for k, v in extras.channels.items()})
    names = extras.names

    def payload(dossier: _Dossier, amount_paid: int) -> dict[str, Any]:
        return dossier_event_part(
            code=dossier.code, portal_code=dossier.portal_code, procedure_code=names[dossier.id][0],
            agency_code=names[dossier.id][1], channel=dossier.channel, amount_due=dossier.amount_due,
            amount_paid=amount_paid, fees=fees.get(dossier.id, []), payment_channels=channels[dossier.id],
            vietqr_as_gateway=as_gateway, fee_codes=codes)

    def add(event_type: str, dossier: _Dossier, body: dict[str, Any]) -> None:
        event_id = "evt_" + secrets.token_hex(12)
        writer.rows["outbox_events"].append({
            "event_id": event_id, "event_type": event_type, "dossier_code": dossier.code,
            "payload": {"id": event_id, "type": event_type, "created_at": isoformat_ict(now), **body},
            "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now, "delivered_at": None,
            "last_error": None})

    for entry in paid:
        channels[entry.dossier.id].append(entry.channel)
        row = entry.transaction
        body: dict[str, Any] = {
            "dossier": payload(entry.dossier, entry.dossier_paid),
            "payment": {"amount": entry.amount, "payment_channel": entry.channel, "channel": row.first_channel,
                        "transaction_ref": row.bank_ref, "cash_receipt": None,
                        "received_at": isoformat_ict(aware(row.booked_at))}}
        if entry.request is not None:
            body["payment_request"] = {"reference": entry.request.reference, "amount": entry.request.amount,
                                       "amount_paid": entry.request_paid, "status": entry.request_status}
        event = event_for_change(entry.request_status if entry.request is not None else None, entry.dossier_status)
        if event is not None:
            add(event, entry.dossier, body)
    for request in cancelled:
        dossier = state.dossiers[request.dossier_id]
        add("payment_request.cancelled", dossier, {
            "dossier": payload(dossier, dossier.amount_paid),
            "payment_request": {"reference": request.reference, "amount": request.amount,
                                "amount_paid": request.amount_paid, "status": "cancelled"},
            "reason": request.cancel_reason})
