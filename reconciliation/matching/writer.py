"""The one writer of money: it applies a plan, set-based.

A plan is what the money rules (``payments.money_rules``) say follows from payments made
and undone: allocations to create (``Paid``) or reverse (``Reversed``), carried out first on
the records in memory (``State``: the dossiers and their requests, locked), then written
here, for one payment as for a statement's thousands:

- the allocations, and the reversals' marks on them;
- the transactions', requests' and dossiers' sums and states, with the requests' history;
- the part payments a full payment settles;
- receipts issued for dossiers now paid (numbered without gaps), cancelled for dossiers no
  longer paid;
- the outbound events, one per payment or reversal, and one per stale request cancelled;
- the requests a paid dossier no longer needs, cancelled;
- the audit trail: one record per act (``audit_each``: a person's or the portal's act) or
  the caller's one record per chunk (the statement run, the fast path).

Every path goes through ``apply``: the fast path and statement runs (``bulk``), a manual
match, a cash payment, the portal's confirmation (``allocation.allocate``), an unmatch and a
bank's reversal (``allocation.reverse``). The rows are written with plain SQL: the session's
objects of what changed are stale afterwards, and the callers expire them.
"""
from __future__ import annotations

import secrets
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterable

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.changes import note_dossiers, note_receipts
from core.clock import isoformat_ict, to_ict
from core.rawsql import Raw, aware
from payments.models import Dossier, PaymentRequest, PaymentRequestEvent, Receipt
from payments.money_rules import (PART_PAYMENT_SETTLED, STALE_REASON, became_paid, became_unpaid,
                                  dossier_event_part, dossier_status, event_for_change, receipt_channel,
                                  receipted_elsewhere, receipts_to_issue, request_status, requests_to_cancel,
                                  settles_part_payment, transaction_status)
from payments.receipts import link_receipts, receipt_number, series_of, take_numbers

from reconciliation.models import Allocation, BankTransaction, OutboxEvent, ReconException

# orjson writes what json.dumps(..., ensure_ascii=False, separators=(",", ":"), default=str) writes (datetimes and
# dataclasses through ``str``, int keys as strings), five times faster: about six documents a matched line.
_dumps = orjson.dumps
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS

_IN = 900  # bound parameters per IN list (SQLite's limit is 999 in older builds)
RECEIPTS_CANCELLED = "Khoản thanh toán bị hoàn trả (payment reversed)"


def chunks(items: list, size: int = _IN) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the records in memory ----------------------------------------------------------------------

@dataclass
class RequestRow:
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
class DossierRow:
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
    requests: list[RequestRow] = field(default_factory=list)
    status_before: str = ""
    paid_before: int = 0
    changed: bool = False

    def status(self) -> str:
        return dossier_status(self.amount_due, self.amount_paid)


TransactionRow = namedtuple("TransactionRow", "id amount allocated direction account_id content booked_at bank_ref "
                                              "channels first_channel status")
CashRow = namedtuple("CashRow", "id receipt_number received_at paper")  # paper: taken against a paper receipt


def transaction_row(transaction) -> TransactionRow:
    """A transaction as the writer reads it, from an object that has its columns."""
    return TransactionRow(transaction.id, transaction.amount, transaction.allocated, transaction.direction,
                          transaction.account_id, transaction.content, aware(transaction.booked_at),
                          transaction.bank_ref, transaction.channels, transaction.first_channel, transaction.status)


@dataclass
class Paid:
    """One planned allocation, with the states it left (for the history and the events)."""

    transaction: TransactionRow | None
    cash: CashRow | None
    dossier: DossierRow
    request: RequestRow | None
    amount: int
    channel: str
    rule: str
    actor: str
    dossier_paid: int
    dossier_status: str
    dossier_status_before: str
    confidence: float = 1.0
    decision_id: int | None = None
    note: str | None = None
    request_paid: int | None = None
    request_status: str | None = None
    request_status_before: str | None = None
    allocation_id: int | None = None


@dataclass
class Reversed:
    """One planned reversal of an allocation."""

    allocation_id: int
    transaction: TransactionRow | None
    dossier: DossierRow
    request: RequestRow | None
    amount: int
    actor: str
    reason: str
    dossier_paid: int
    dossier_status: str
    dossier_status_before: str
    request_status_before: str | None = None
    request_paid: int | None = None
    request_status: str | None = None


class State:
    """The dossiers and requests a plan touches, read (and locked on PostgreSQL, dossiers
    before requests) in a few set-based statements, and changed in memory as the plan is
    made: the next decision sees what the one before it planned."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.requests: dict[str, RequestRow] = {}
        self.requests_by_id: dict[int, RequestRow] = {}
        self.dossiers: dict[int, DossierRow] = {}
        self.by_key: dict[str, DossierRow] = {}
        self.asked: set[str] = set()  # references looked for, found or not: never asked again
        self.pg = session.get_bind().dialect.name == "postgresql"

    def load(self, references: Iterable[str] = (), code_keys: Iterable[str] = (),
             dossier_ids: Iterable[int] = ()) -> None:
        """The dossiers the references, codes and ids name, with all their requests, in two
        statements per 900 names."""
        raw = Raw(self.session)
        lock = " FOR UPDATE" if self.pg else ""
        found: set[int] = set()
        names, keys, ids = sorted(set(references)), sorted(set(code_keys)), sorted(set(dossier_ids))
        self.asked.update(names)
        for start in range(0, max(len(names), len(keys), len(ids), 1), _IN):
            refs, keys_part, ids_part = names[start:start + _IN], keys[start:start + _IN], ids[start:start + _IN]
            if not refs and not keys_part and not ids_part:
                break
            clauses, params = [], {}
            if refs:
                listed, more = raw.among("reference", "r", refs)
                clauses.append(f"id IN (SELECT dossier_id FROM payment_requests WHERE {listed})")
                params.update(more)
            if keys_part:
                listed, more = raw.among("code_key", "k", keys_part)
                portal, _ = raw.among("portal_code_key", "k", keys_part)
                clauses.append(f"{listed} OR {portal}")
                params.update(more)
            if ids_part:
                listed, more = raw.among("id", "i", ids_part)
                clauses.append(listed)
                params.update(more)
            rows = raw.execute(
                "SELECT id, code, portal_code, code_key, portal_code_key, agency_id, procedure_id, channel, "
                "applicant_name, amount_due, amount_paid FROM dossiers WHERE " + " OR ".join(clauses)
                + " ORDER BY id" + lock, params)
            for row in rows:
                if row[0] in self.dossiers:
                    continue
                dossier = DossierRow(*row)
                dossier.status_before = dossier.status()
                dossier.paid_before = dossier.amount_paid
                self.dossiers[dossier.id] = dossier
                self.by_key[dossier.code_key] = dossier
                if dossier.portal_code_key:
                    self.by_key[dossier.portal_code_key] = dossier
                found.add(dossier.id)
        for part in chunks(sorted(found)):
            listed, params = raw.among("dossier_id", "d", part)
            for row in raw.execute(
                    "SELECT id, reference, dossier_id, account_id, amount, amount_paid, status, expires_at, version "
                    f"FROM payment_requests WHERE {listed} ORDER BY id" + lock, params):
                request = RequestRow(*row[:7], aware(row[7]), row[8])
                self.requests[request.reference] = request
                self.requests_by_id[request.id] = request
                self.dossiers[request.dossier_id].requests.append(request)

    def _request_status(self, request: RequestRow) -> str:
        return request_status(request.status, request.amount, request.amount_paid, request.expires_at, self.now)

    def pay(self, *, dossier: DossierRow, request: RequestRow | None, amount: int, channel: str, rule: str,
            actor: str, transaction: TransactionRow | None = None, cash: CashRow | None = None,
            confidence: float = 1.0, decision_id: int | None = None, note: str | None = None) -> Paid:
        """Plan an allocation: the dossier's and the request's sums and states change here."""
        before = dossier.status()
        dossier.amount_paid += amount
        dossier.changed = True
        entry = Paid(transaction, cash, dossier, None, amount, channel, rule, actor, dossier.amount_paid,
                     dossier.status(), before, confidence=confidence, decision_id=decision_id, note=note)
        if request is not None:
            entry.request, entry.request_status_before = request, request.status
            request.amount_paid += amount
            request.status = self._request_status(request)
            request.changed = True
            entry.request_paid, entry.request_status = request.amount_paid, request.status
        return entry

    def unpay(self, *, allocation_id: int, dossier: DossierRow, request: RequestRow | None, amount: int,
              transaction: TransactionRow | None, actor: str, reason: str) -> Reversed:
        """Plan a reversal: what the allocation paid is taken back from the dossier and the request."""
        before = dossier.status()
        dossier.amount_paid -= amount
        dossier.changed = True
        entry = Reversed(allocation_id, transaction, dossier, None, amount, actor, reason, dossier.amount_paid,
                         dossier.status(), before)
        if request is not None:
            entry.request, entry.request_status_before = request, request.status
            request.amount_paid -= amount
            request.status = self._request_status(request)
            request.changed = True
            entry.request_paid, entry.request_status = request.amount_paid, request.status
        return entry


# --- rows -------------------------------------------------------------------------------------

class Rows:
    """Rows planned for one write, and their bulk writing."""

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

    def converter(self, column):
        """How a Python value of ``column`` is handed to the driver directly (no ORM types)."""
        kind = type(column.type).__name__
        if kind == "JSON":
            return lambda v: None if v is None else _dumps(v, default=str, option=_JSON_OPTIONS).decode()
        if kind == "UTCDateTime" and self.dialect != "postgresql":
            texts: dict[datetime, str] = {}  # most rows of a batch carry the same few instants (``now``)

            def utc_text(v: datetime | None) -> str | None:
                if v is None:
                    return None
                text = texts.get(v)
                if text is None:
                    text = texts[v] = v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
                return text
            return utc_text
        return None

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
        """``UPDATE table SET <columns> WHERE id = :id`` for every row (``version``: also add 1 to it).
        An id given twice is updated once, with its last row."""
        if not rows:
            return
        rows = list({row["id"]: row for row in rows}.values())
        columns = [name for name in rows[0] if name != "id"]
        converted = {name: convert for name in columns if (convert := self.converter(table.c[name]))}
        if converted:
            rows = [{k: (converted[k](v) if k in converted else v) for k, v in row.items()} for row in rows]
        raw = Raw(self.session)
        if raw.postgresql and len(rows) > _STAGED_FROM:
            self._update_from_stage(raw, table.name, columns, rows, version)
            return
        sets = ", ".join(f"{name} = :{name}" for name in columns) + (", version = version + 1" if version else "")
        raw.executemany(f"UPDATE {table.name} SET {sets} WHERE id = :id", rows)

    @staticmethod
    def _update_from_stage(raw: Raw, table: str, columns: list[str], rows: list[dict[str, Any]],
                           version: bool) -> None:
        """PostgreSQL, many rows: COPY them into a staged table and ``UPDATE … FROM`` it, one
        statement instead of one per row."""
        names = ["id", *columns]
        stage = f"stage_{table}"
        raw.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {', '.join(names)} FROM {table} WITH NO DATA")
        raw.copy_rows(stage, names, ([row[name] for name in names] for row in rows))
        sets = ", ".join(f"{name} = s.{name}" for name in columns) + (", version = t.version + 1" if version else "")
        raw.execute(f"UPDATE {table} t SET {sets} FROM {stage} s WHERE t.id = s.id")
        raw.execute(f"DROP TABLE {stage}")


_STAGED_FROM = 200  # rows from which a staged UPDATE … FROM beats a pipelined statement per row


# --- applying a plan ------------------------------------------------------------------------------

@dataclass
class Written:
    """What ``apply`` wrote, for the caller's audit record and answer."""

    allocation_ids: list[int]
    receipts: list[dict[str, Any]]
    receipts_cancelled: list[int]
    exceptions_resolved: list[int]
    requests_cancelled: list[int]


def apply(session: Session, state: State, paid: list[Paid], reversed_: list[Reversed] = (), *, actor: str,
          touched: Iterable[TransactionRow] = (), audit_each: bool = False) -> Written:
    """Write everything that follows from ``paid`` and ``reversed_`` (already carried out on
    ``state``). ``touched``: transactions decided without money moving, whose state is set too.
    ``audit_each``: one audit record per act (a person's act); otherwise the caller records
    the chunk."""
    now = state.now
    rows = Rows(session, now)
    reversed_ = list(reversed_)
    changed = [d for d in state.dossiers.values() if d.changed]
    newly_paid = [d for d in changed if became_paid(d.status_before, d.status())]
    newly_unpaid = [d for d in changed if became_unpaid(d.status_before, d.status())]
    resolved = _settle_part_payments(session, state, actor)
    extras = _extras(session, state, sorted({d.id for d in changed}), {e.allocation_id for e in reversed_})
    receipts = _receipts(session, newly_paid, paid, extras, now)
    taken = rows.take_many({"allocations": len(paid), "receipts": len(receipts)})
    for receipt, receipt_id in zip(receipts, taken.get("receipts", [])):
        receipt["id"] = receipt_id
    for entry, allocation_id in zip(paid, taken.get("allocations", [])):
        entry.allocation_id = allocation_id
    _allocation_rows(rows, paid, reversed_, now)
    _transaction_rows(rows, paid, reversed_, touched)
    cancelled_receipts = _cancel_receipts(session, newly_unpaid, now)
    cancelled = _stale_requests(state, rows, newly_paid, paid, now)
    _events(state, rows, paid, reversed_, cancelled, extras, now)
    # Parents first.
    rows.insert(Allocation.__table__, rows.rows["allocations"])
    rows.update(Allocation.__table__, rows.rows["allocations_reversed"])
    rows.update(BankTransaction.__table__, rows.rows["bank_transactions"])
    rows.update(PaymentRequest.__table__, [
        {"id": r.id, "amount_paid": r.amount_paid, "status": r.status, "cancel_reason": r.cancel_reason}
        for r in state.requests_by_id.values() if r.changed], version=True)
    rows.insert(PaymentRequestEvent.__table__, rows.rows["payment_request_events"])
    rows.update(Dossier.__table__, [{"id": d.id, "amount_paid": d.amount_paid} for d in changed])
    _number(session, receipts)
    rows.insert(Receipt.__table__, receipts)
    link_receipts(session, [r["id"] for r in receipts])  # which payments they cover
    rows.insert(OutboxEvent.__table__, rows.rows["outbox_events"])
    # Derived data (the reports' rows) is rewritten for what changed, before the commit.
    # A person's act rewrites its few rows before its commit; a batch queues them.
    note_dossiers(session, [d.id for d in changed], at_once=audit_each)
    note_receipts(session, [r["id"] for r in receipts] + [r[0] for r in cancelled_receipts], at_once=audit_each)
    written = Written([e.allocation_id for e in paid], receipts, [r[0] for r in cancelled_receipts], resolved,
                      [r.id for r in cancelled])
    if audit_each:
        _audit_each(session, paid, reversed_, receipts, cancelled_receipts, resolved, actor)
    return written


def _allocation_rows(rows: Rows, paid: list[Paid], reversed_: list[Reversed], now: datetime) -> None:
    for entry in paid:
        row, cash = entry.transaction, entry.cash
        rows.rows["allocations"].append({
            "id": entry.allocation_id, "transaction_id": row.id if row else None,
            "cash_payment_id": cash.id if cash else None, "dossier_id": entry.dossier.id,
            "payment_request_id": entry.request.id if entry.request else None, "amount": entry.amount,
            "payment_channel": entry.channel, "decision_id": entry.decision_id, "rule": entry.rule,
            "confidence": entry.confidence, "created_at": now, "created_by": entry.actor,
            "reversed_at": None, "reversed_by": None, "reverse_reason": None})
        if entry.request is not None:
            rows.rows["payment_request_events"].append({
                "request_id": entry.request.id, "at": now, "actor": entry.actor, "action": "payment",
                "from_status": entry.request_status_before, "to_status": entry.request_status, "note": entry.note,
                "data": {"amount": entry.amount, "allocation_rule": entry.rule, "channel": entry.channel,
                         "transaction_ref": row.bank_ref if row else None,
                         "cash_receipt": cash.receipt_number if cash else None}})
    for entry in reversed_:
        rows.rows["allocations_reversed"].append({"id": entry.allocation_id, "reversed_at": now,
                                                  "reversed_by": entry.actor, "reverse_reason": entry.reason})
        if entry.request is not None:
            rows.rows["payment_request_events"].append({
                "request_id": entry.request.id, "at": now, "actor": entry.actor, "action": "payment_reversed",
                "from_status": entry.request_status_before, "to_status": entry.request_status,
                "note": entry.reason[:500], "data": {"amount": entry.amount, "allocation_id": entry.allocation_id}})


def _transaction_rows(rows: Rows, paid: list[Paid], reversed_: list[Reversed],
                      touched: Iterable[TransactionRow]) -> None:
    """Each transaction's allocated sum and state, once per transaction."""
    delta: dict[int, int] = defaultdict(int)
    seen: dict[int, TransactionRow] = {}
    for row in touched:
        seen[row.id] = row
    for entry in paid:
        if entry.transaction is not None:
            seen.setdefault(entry.transaction.id, entry.transaction)
            delta[entry.transaction.id] += entry.amount
    for entry in reversed_:
        if entry.transaction is not None:
            seen.setdefault(entry.transaction.id, entry.transaction)
            delta[entry.transaction.id] -= entry.amount
    for transaction_id, row in sorted(seen.items()):
        allocated = row.allocated + delta[transaction_id]
        rows.rows["bank_transactions"].append({
            "id": transaction_id, "allocated": allocated,
            "status": transaction_status(row.direction, row.amount, allocated, row.status)})


def _settle_part_payments(session: Session, state: State, actor: str) -> list[int]:
    """Open ``amount_mismatch`` items of requests now paid in full are settled (``money_rules``;
    a part payment that was undone since may have left one, so every request paid now is asked,
    through the small open-items index)."""
    paid = [r.id for r in state.requests_by_id.values() if r.changed and settles_part_payment(r.status)]
    resolved: list[int] = []
    if not paid:
        return resolved
    raw = Raw(session)  # plain SQL: a callback pays one request, and SQLAlchemy's statement path cost 0.5 ms here
    for part in chunks(paid):
        names, params = raw.among("payment_request_id", "r", part)
        ids = [row[0] for row in raw.execute(
            f"SELECT id FROM exceptions WHERE {names} AND status = 'open' "
            "AND reason = 'amount_mismatch'", params)]
        if ids:
            names, params = raw.among("id", "e", ids)
            raw.execute(f"UPDATE exceptions SET status = 'resolved', resolved_at = :at, resolved_by = :actor, "
                        f"resolution = :resolution WHERE {names}",
                        {**params, "at": state.now, "actor": actor, "resolution": PART_PAYMENT_SETTLED})
            resolved += ids
    return resolved


@dataclass
class _Extras:
    """What receipts and events need of the dossiers a plan touched, read once."""

    charges: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    channels: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # allocations before the plan
    elsewhere: dict[int, list[bool]] = field(default_factory=lambda: defaultdict(list))  # theirs receipted elsewhere
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # procedure code, agency code
    agencies: dict[int, Any] = field(default_factory=dict)  # id → code, receipt form and series


_Charge = namedtuple("_Charge", "fee_code name kind amount legal_basis")


def _extras(session: Session, state: State, dossier_ids: list[int], reversing: set[int]) -> _Extras:
    extras = _Extras()
    raw = Raw(session)
    for part in chunks(dossier_ids):
        listed, params = raw.among("d.id", "d", part)
        for row in raw.execute(
                "SELECT d.id, p.code, a.id, a.code, a.receipt_form, a.receipt_series, c.fee_code, c.name, c.kind, "
                "c.amount, c.legal_basis FROM dossiers d JOIN procedures p ON p.id = d.procedure_id "
                "JOIN agencies a ON a.id = d.agency_id LEFT JOIN dossier_charges c ON c.dossier_id = d.id "
                f"WHERE {listed} ORDER BY d.id, c.id", params):
            dossier_id, procedure, agency_id, agency_code, form, series = row[:6]
            extras.names[dossier_id] = (procedure, agency_code)
            extras.agencies[agency_id] = SimpleNamespace(id=agency_id, code=agency_code, receipt_form=form,
                                                         receipt_series=series)
            if row[7] is not None:
                extras.charges[dossier_id].append(_Charge(*row[6:]))
        # Only a dossier that had received money before has allocations to read.
        before = [i for i in part if state.dossiers[i].paid_before > 0]
        if before:
            listed, params = raw.among("a.dossier_id", "b", before)
            for allocation_id, dossier_id, channel, paper in raw.execute(
                    "SELECT a.id, a.dossier_id, a.payment_channel, c.paper_series FROM allocations a "
                    "LEFT JOIN cash_payments c ON c.id = a.cash_payment_id WHERE a.reversed_at IS NULL AND "
                    f"{listed} ORDER BY a.id", params):
                if allocation_id not in reversing:
                    extras.channels[dossier_id].append(channel)
                    extras.elsewhere[dossier_id].append(receipted_elsewhere(channel, paper is not None))
    return extras


def _receipts(session: Session, dossiers: list[DossierRow], paid: list[Paid], extras: _Extras,
              now: datetime) -> list[dict[str, Any]]:
    """The receipts of the dossiers now paid in full (their ids are given by the caller, their
    numbers by ``_number`` just before they are written)."""
    if not dossiers:
        return []
    raw = Raw(session)
    ids = [d.id for d in dossiers]
    issued: dict[int, set[str]] = defaultdict(set)  # dossier → kinds with a receipt in force
    replaced: dict[tuple[int, str], int] = {}  # the last cancelled receipt of a kind, which a new one replaces
    for part in chunks(ids):
        listed, params = raw.among("dossier_id", "d", part)
        for receipt_id, dossier_id, kind, status in raw.execute(
                f"SELECT id, dossier_id, kind, status FROM receipts WHERE {listed} ORDER BY id",
                params):
            if status == "issued":
                issued[dossier_id].add(kind)
            else:
                replaced[(dossier_id, kind)] = receipt_id
    channels: dict[int, set[str]] = defaultdict(set)
    elsewhere: dict[int, list[bool]] = defaultdict(list)  # one receipt per payment (money_rules)
    for dossier_id in ids:
        channels[dossier_id].update(extras.channels[dossier_id])
        elsewhere[dossier_id] += extras.elsewhere[dossier_id]
    for entry in paid:
        channels[entry.dossier.id].add(entry.channel)
        elsewhere[entry.dossier.id].append(receipted_elsewhere(entry.channel, bool(entry.cash and entry.cash.paper)))
    year = to_ict(now).year
    wanted: list[tuple[DossierRow, str, list[dict]]] = []
    for dossier in dossiers:
        for kind, lines in receipts_to_issue(extras.charges[dossier.id], issued[dossier.id], elsewhere[dossier.id]):
            wanted.append((dossier, kind, lines))
    if not wanted:
        return []
    rows = []
    for dossier, kind, lines in wanted:
        form, serie = series_of(extras.agencies[dossier.agency_id], year)
        rows.append({"id": None, "agency_id": dossier.agency_id, "dossier_id": dossier.id, "form": form,
                     "series": serie, "year": year, "number": None, "kind": kind,
                     "payer_name": dossier.applicant_name, "lines": lines,
                     "amount": sum(line["amount"] for line in lines),
                     "payment_channel": receipt_channel(channels[dossier.id]),
                     "lookup_token": secrets.token_urlsafe(18), "issued_at": now, "issued_by": "system",
                     "status": "issued", "cancelled_at": None, "cancelled_by": None, "cancel_reason": None,
                     "replaces_id": replaced.get((dossier.id, kind))})
    return rows


def _number(session: Session, receipts: list[dict[str, Any]]) -> None:
    """Number the receipts without gaps. Taking numbers locks the series' counter rows until the
    commit, so it is the writer's last step before the receipts go in: a writer beside this one
    (two workers of a statement run, callbacks) waits on the counter only for the writing, not
    for the planning and the rows built before it."""
    needed: dict[tuple[str, str, int], int] = defaultdict(int)
    for receipt in receipts:
        needed[(receipt["form"], receipt["series"], receipt["year"])] += 1
    next_number: dict[tuple[str, str, int], int] = {}
    for (form, serie, year), count in sorted(needed.items()):  # counters locked in a fixed order
        next_number[(form, serie, year)] = take_numbers(session, form, serie, year, count)
    for receipt in receipts:
        key = (receipt["form"], receipt["series"], receipt["year"])
        receipt["number"] = next_number[key]
        next_number[key] += 1


def _cancel_receipts(session: Session, dossiers: list[DossierRow], now: datetime) -> list[tuple]:
    """The receipts in force of dossiers no longer paid are cancelled: (id, dossier code, series, number)."""
    if not dossiers:
        return []
    raw = Raw(session)
    by_id = {d.id: d for d in dossiers}
    found: list[tuple] = []
    for part in chunks(sorted(by_id)):
        listed, params = raw.among("dossier_id", "d", part)
        found += [(row[0], by_id[row[1]].code, row[2], row[3]) for row in raw.execute(
            f"SELECT id, dossier_id, series, number FROM receipts WHERE {listed} "
            "AND status = 'issued' ORDER BY id", params)]
    Rows(session, now).update(Receipt.__table__, [
        {"id": receipt_id, "status": "cancelled", "cancelled_at": now, "cancelled_by": "system",
         "cancel_reason": RECEIPTS_CANCELLED} for receipt_id, *_ in found])
    return found


def _stale_requests(state: State, rows: Rows, dossiers: list[DossierRow], paid: list[Paid],
                    now: datetime) -> list[RequestRow]:
    """Once a dossier is paid, its other open requests are cancelled (``money_rules``)."""
    paying = {e.request.id for e in paid if e.request is not None}
    cancelled = []
    for dossier in dossiers:
        by_id = {r.id: r for r in dossier.requests}
        for request_id in requests_to_cancel([(r.id, r.status) for r in dossier.requests], paying):
            request = by_id[request_id]
            previous = request.status
            request.status, request.cancel_reason, request.changed = "cancelled", STALE_REASON, True
            rows.rows["payment_request_events"].append({
                "request_id": request.id, "at": now, "actor": "system", "action": "cancelled",
                "from_status": previous, "to_status": "cancelled", "note": STALE_REASON, "data": None})
            cancelled.append(request)
    return cancelled


def _events(state: State, rows: Rows, paid: list[Paid], reversed_: list[Reversed], cancelled: list[RequestRow],
            extras: _Extras, now: datetime) -> None:
    """The outbound events: one per payment and reversal, one per cancellation."""
    from payments.portal_sync import fee_codes, vietqr_as_gateway
    from reconciliation.channels.outbox import fee_list

    as_gateway, codes = vietqr_as_gateway(), fee_codes()
    fees = {dossier_id: fee_list(charges) for dossier_id, charges in extras.charges.items()}
    channels: dict[int, list[str]] = defaultdict(list, {k: list(v) for k, v in extras.channels.items()})
    names = extras.names

    def payload(dossier: DossierRow, amount_paid: int) -> dict[str, Any]:
        return dossier_event_part(
            code=dossier.code, portal_code=dossier.portal_code, procedure_code=names[dossier.id][0],
            agency_code=names[dossier.id][1], channel=dossier.channel, amount_due=dossier.amount_due,
            amount_paid=amount_paid, fees=fees.get(dossier.id, []), payment_channels=channels[dossier.id],
            vietqr_as_gateway=as_gateway, fee_codes=codes)

    def add(event_type: str, dossier: DossierRow, body: dict[str, Any]) -> None:
        event_id = "evt_" + secrets.token_hex(12)
        rows.rows["outbox_events"].append({
            "event_id": event_id, "event_type": event_type, "dossier_code": dossier.code,
            "payload": {"id": event_id, "type": event_type, "created_at": isoformat_ict(now), **body},
            "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now, "delivered_at": None,
            "last_error": None})

    def request_part(request: RequestRow, amount_paid: int | None, status: str | None) -> dict[str, Any]:
        return {"reference": request.reference, "amount": request.amount, "amount_paid": amount_paid,
                "status": status}

    for entry in paid:
        channels[entry.dossier.id].append(entry.channel)
        row, cash = entry.transaction, entry.cash
        body: dict[str, Any] = {
            "dossier": payload(entry.dossier, entry.dossier_paid),
            "payment": {"amount": entry.amount, "payment_channel": entry.channel,
                        "channel": row.first_channel if row else "cash",
                        "transaction_ref": row.bank_ref if row else None,
                        "cash_receipt": cash.receipt_number if cash else None,
                        "received_at": isoformat_ict(aware(row.booked_at if row else cash.received_at))}}
        if entry.request is not None:
            body["payment_request"] = request_part(entry.request, entry.request_paid, entry.request_status)
        event = event_for_change(entry.request_status if entry.request is not None else None, entry.dossier_status)
        if event is not None:
            add(event, entry.dossier, body)
    for entry in reversed_:
        body = {"dossier": payload(entry.dossier, entry.dossier_paid),
                "reversed": {"allocation_id": entry.allocation_id, "amount": entry.amount, "reason": entry.reason}}
        if entry.request is not None:
            body["payment_request"] = request_part(entry.request, entry.request_paid, entry.request_status)
        event = event_for_change(entry.request_status if entry.request is not None else None, entry.dossier_status,
                                 reversal=True)
        if event is not None:
            add(event, entry.dossier, body)
    for request in cancelled:
        dossier = state.dossiers[request.dossier_id]
        add("payment_request.cancelled", dossier, {
            "dossier": payload(dossier, dossier.amount_paid),
            "payment_request": request_part(request, request.amount_paid, "cancelled"),
            "reason": request.cancel_reason})


def _audit_each(session: Session, paid: list[Paid], reversed_: list[Reversed], receipts: list[dict[str, Any]],
                cancelled_receipts: list[tuple], resolved: list[int], actor: str) -> None:
    """A person's act (or the portal's) is audited one record per change, as it always was."""
    for entry in paid:
        audit.record(session, entry.actor, "allocation.created", "allocation", entry.allocation_id,
                     {"dossier": entry.dossier.code, "request": entry.request.reference if entry.request else None,
                      "amount": entry.amount, "transaction_id": entry.transaction.id if entry.transaction else None,
                      "cash_payment_id": entry.cash.id if entry.cash else None, "rule": entry.rule,
                      "confidence": entry.confidence, "channel": entry.channel})
    for entry in reversed_:
        audit.record(session, entry.actor, "allocation.reversed", "allocation", entry.allocation_id,
                     {"dossier": entry.dossier.code, "amount": entry.amount, "reason": entry.reason})
    codes = {e.dossier.id: e.dossier.code for e in paid}
    for receipt in receipts:
        audit.record(session, "system", "receipt.issued", "receipt", receipt["id"],
                     {"dossier": codes.get(receipt["dossier_id"]), "number": receipt_number(
                         SimpleNamespace(number=receipt["number"])), "kind": receipt["kind"],
                      "amount": receipt["amount"]})
    for receipt_id, code, _series, number in cancelled_receipts:
        audit.record(session, "system", "receipt.cancelled", "receipt", receipt_id,
                     {"dossier": code, "number": receipt_number(SimpleNamespace(number=number)),
                      "reason": RECEIPTS_CANCELLED})
    for exception_id in resolved:
        audit.record(session, actor, "exception.resolved", "exception", exception_id,
                     {"reason": "amount_mismatch", "resolution": PART_PAYMENT_SETTLED})
