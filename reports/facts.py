"""The rows the indicators count, computed directly from the service's own records, and the
tables that keep them (``reports.models``) in step.

``dossier_rows(...)`` is THE definition of what the reports know of a dossier:

- ``start_day``/``start_month``: the Indochina day (month) its processing started, which is
  its ``submitted_at`` (docs/REPORTS.md: the service registers a dossier when it is accepted);
- ``amount_due``: the sum of its charges; 0 when every charge is 0 (exempt payers, online
  dossiers under Nghị quyết 77/2025 from 2026);
- ``paid_net``: its allocations that are not reversed, less the refunds paid out of it;
- ``pay_mask``: one bit per payment channel (``definitions.CHANNEL_BITS``) of those allocations;
- ``charge_lines``: how many charge lines it carries (the "fee data" of item 3.5);
- ``shape``: the status class and payment state as bits (``definitions.SHAPE_*``): cancelled
  (3 rejected, 7 withdrawn, 8 stopped), not started (1 submitted), fees above 0, paid in full,
  no charge line — what every figure is counted from;
- ``request_to_paid_s``: for a dossier paid in full, seconds from its first payment request to
  its last payment (bank booking time, or when the cash was taken), when that is not negative.

The same SELECT is the direct computation (``direct=True`` in ``reports.indicators``), the
source of ``report_dossier_facts`` (written for the dossiers a transaction touched, just before
it commits) and of ``flask report rebuild``. ``check()`` compares table and computation.

The ORM listeners below note every dossier whose dossier row, charges, payment requests,
allocations or refunds a session flushed, and every receipt; code that writes with plain SQL
names what it changed through ``core.changes``; ``before_commit`` rewrites their rows in the
same transaction. Changes made by hand (bulk loads, SQL typed in a console) are not seen: run
``flask report rebuild`` after them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any, Iterable

from sqlalchemy import BigInteger, Integer, and_, case, delete, distinct, event, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from core.changes import DOSSIERS, DOSSIERS_AT_ONCE, RECEIPTS, RECEIPTS_AT_ONCE
from core.clock import ict_day
from payments.models import Dossier, DossierCharge, PaymentRequest, Receipt
from payments.obligations import obligation_kind
from payments.other_documents import document_lines
from reconciliation.models import Allocation, BankTransaction, CashPayment, PortalPayment, Refund

from .definitions import (CANCELLED_STATUSES, CHANNEL_BITS, NOT_STARTED_STATUSES, SHAPE_CANCELLED, SHAPE_NO_FEE_DATA,
                          SHAPE_NOT_STARTED, SHAPE_PAID, SHAPE_WITH_FEES)
from .models import DocumentLine, DossierFact, ReceiptLine
from .sqlfuncs import epoch_seconds, ict_date, ict_month

FACT_COLUMNS = ("dossier_id", "start_day", "start_month", "agency_id", "procedure_id", "channel", "status",
                "amount_due", "paid_net", "pay_mask", "charge_lines", "shape", "request_to_paid_s")
REBUILD_BATCH = 50_000


# --- the direct computation ---------------------------------------------------------------------


def dossier_rows(*, ids: Iterable[int] | None = None, utc_from=None, utc_to=None, id_from: int | None = None,
                 id_to: int | None = None):
    """A SELECT of ``FACT_COLUMNS`` computed from the base tables, for the dossiers with the given
    ids, or submitted in [utc_from, utc_to), or with ids in [id_from, id_to)."""
    d, c, pr = Dossier.__table__, DossierCharge.__table__, PaymentRequest.__table__
    a, r = Allocation.__table__, Refund.__table__
    bt, cp = BankTransaction.__table__, CashPayment.__table__
    live = and_(a.c.dossier_id == d.c.id, a.c.reversed_at.is_(None))
    bit = case(*((a.c.payment_channel == name, value) for name, value in CHANNEL_BITS.items()), else_=0)
    allocated = select(func.coalesce(func.sum(a.c.amount), 0)).where(live).scalar_subquery()
    refunded = select(func.coalesce(func.sum(r.c.amount), 0)) \
        .where(r.c.dossier_id == d.c.id, r.c.status == "paid").scalar_subquery()
    mask = select(func.coalesce(func.sum(distinct(bit)), 0)).where(live).scalar_subquery()
    lines = select(func.count()).select_from(c).where(c.c.dossier_id == d.c.id).scalar_subquery()
    first_request = select(func.min(epoch_seconds(pr.c.created_at))) \
        .where(pr.c.dossier_id == d.c.id).scalar_subquery()
    last_payment = select(func.max(epoch_seconds(func.coalesce(bt.c.booked_at, cp.c.received_at, a.c.created_at)))) \
        .select_from(a.outerjoin(bt, bt.c.id == a.c.transaction_id).outerjoin(cp, cp.c.id == a.c.cash_payment_id)) \
        .where(live).scalar_subquery()
    inner = select(
        d.c.id.label("dossier_id"),
        ict_date(d.c.submitted_at).label("start_day"),
        ict_month(d.c.submitted_at).label("start_month"),
        d.c.agency_id, d.c.procedure_id, d.c.channel, d.c.status,
        d.c.amount_due,
        (allocated - refunded).label("paid_net"),
        mask.label("pay_mask"),
        lines.label("charge_lines"),
        first_request.label("first_request"),
        last_payment.label("last_payment"),
    )
    if ids is not None:
        inner = inner.where(d.c.id.in_(list(ids)))
    if utc_from is not None:
        inner = inner.where(d.c.submitted_at >= utc_from, d.c.submitted_at < utc_to)
    if id_from is not None:
        inner = inner.where(d.c.id >= id_from, d.c.id < id_to)
    s = inner.subquery("direct_inner")
    waited = s.c.last_payment - s.c.first_request
    paid_full = and_(s.c.amount_due > 0, s.c.paid_net >= s.c.amount_due)
    shape = (case((s.c.status.in_(CANCELLED_STATUSES), SHAPE_CANCELLED),
                  (s.c.status.in_(NOT_STARTED_STATUSES), SHAPE_NOT_STARTED), else_=0)
             + case((s.c.amount_due > 0, SHAPE_WITH_FEES), else_=0)
             + case((paid_full, SHAPE_PAID), else_=0)
             + case((s.c.charge_lines == 0, SHAPE_NO_FEE_DATA), else_=0))
    return select(
        s.c.dossier_id, s.c.start_day, s.c.start_month, s.c.agency_id, s.c.procedure_id, s.c.channel, s.c.status,
        s.c.amount_due, s.c.paid_net.cast(BigInteger).label("paid_net"), s.c.pay_mask.cast(Integer).label("pay_mask"),
        s.c.charge_lines.cast(Integer).label("charge_lines"),
        shape.label("shape"),
        case((and_(paid_full, s.c.first_request.is_not(None), waited >= 0), waited), else_=None)
        .label("request_to_paid_s"),
    ).where(text("1 = 1"))  # SQLite needs a WHERE before an upsert's ON CONFLICT


# --- keeping the table in step -------------------------------------------------------------------

# What the ORM flushed is rewritten before the commit; what plain-SQL writers name through
# core.changes (DOSSIERS, RECEIPTS) is queued in report_pending, their transactions being the
# callbacks' fast path, and rewritten before any report reads (``drain``).
_DOSSIERS = "reports.dirty_dossiers"
_RECEIPTS = "reports.dirty_receipts"


def _tables_present(session: Session) -> bool:
    """Whether this database has the reports' tables (not before migration 0005)."""
    engine = session.get_bind().engine
    if not getattr(engine, "_reports_tables_present", False):
        present = inspect(session.connection()).has_table(DossierFact.__tablename__)  # this transaction's connection
        if not present:
            return False
        engine._reports_tables_present = True
    return True


def _note_changes(session: Session, _flush_context) -> None:
    dossiers = session.info.setdefault(_DOSSIERS, set())
    receipts = session.info.setdefault(_RECEIPTS, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Dossier):
            if obj.id is not None:
                dossiers.add(obj.id)
        elif isinstance(obj, (DossierCharge, PaymentRequest, Allocation)):
            if obj.dossier_id is not None:
                dossiers.add(obj.dossier_id)
        elif isinstance(obj, (Refund, CashPayment, PortalPayment)):  # the last two: documents receipting money
            if obj.dossier_id is not None:
                dossiers.add(obj.dossier_id)
        elif isinstance(obj, Receipt):
            if obj.id is not None:
                receipts.add(obj.id)
    _take_at_once(session)


def _take_at_once(session: Session) -> None:
    """What a plain-SQL writer asked to have rewritten before its commit joins the ORM's."""
    for noted, dirty in ((DOSSIERS_AT_ONCE, _DOSSIERS), (RECEIPTS_AT_ONCE, _RECEIPTS)):
        ids = session.info.pop(noted, None)
        if ids:
            session.info.setdefault(dirty, set()).update(ids)


def _write_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit writes
    session.flush()
    _take_at_once(session)
    _queue_noted(session)
    apply_pending(session, drain_queue=False)


def _queue_noted(session: Session) -> None:
    """What plain-SQL writers named: one cheap insert into the queue, in their transaction."""
    noted = [("dossier", i) for i in session.info.get(DOSSIERS, ())] + \
        [("receipt", i) for i in session.info.get(RECEIPTS, ())]
    if not noted or not _tables_present(session):
        return
    from core.rawsql import Raw

    raw = Raw(session)
    noted.sort()  # one order for every writer: concurrent inserts into the unique index cannot deadlock
    if raw.postgresql:  # two arrays: one parameter each, where a VALUES list cost psycopg a parse per statement
        raw.execute("INSERT INTO report_pending (kind, entity_id) SELECT * FROM unnest(CAST(:k AS text[]), "
                    "CAST(:e AS bigint[])) ON CONFLICT (kind, entity_id) DO NOTHING",
                    {"k": [kind for kind, _ in noted], "e": [entity_id for _, entity_id in noted]})
    else:
        raw.executemany("INSERT INTO report_pending (kind, entity_id) VALUES (:k, :e) "
                        "ON CONFLICT (kind, entity_id) DO NOTHING", [{"k": k, "e": e} for k, e in noted])
    for key in (DOSSIERS, RECEIPTS):
        session.info.pop(key, None)


def drain(session: Session, batch: int = 2000) -> int:
    """Rewrite the rows the queue names, and empty it (in the caller's transaction; on
    PostgreSQL, entries another transaction is draining are skipped). Returns how many."""
    from core.rawsql import Raw

    if not _tables_present(session):
        return 0
    raw = Raw(session)
    lock = " FOR UPDATE SKIP LOCKED" if raw.postgresql else ""
    done = 0
    while True:
        rows = raw.execute(f"SELECT kind, entity_id FROM report_pending ORDER BY kind, entity_id LIMIT {batch}{lock}")
        if not rows:
            return done
        dossiers = [entity_id for kind, entity_id in rows if kind == "dossier"]
        receipts = [entity_id for kind, entity_id in rows if kind == "receipt"]
        refresh_dossiers(session, dossiers)
        refresh_receipts(session, receipts)
        for kind, ids in (("dossier", dossiers), ("receipt", receipts)):
            for chunk in _chunks(ids, 500):
                listed, params = raw.among("entity_id", "e", chunk)
                raw.execute(f"DELETE FROM report_pending WHERE kind = :kind AND {listed}",
                            {"kind": kind, **params})
        done += len(rows)
        if len(rows) < batch:
            return done


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in (_DOSSIERS, _RECEIPTS, DOSSIERS, RECEIPTS, DOSSIERS_AT_ONCE, RECEIPTS_AT_ONCE):
            session.info.pop(key, None)


def apply_pending(session: Session, *, drain_queue: bool = True) -> None:
    """Rewrite the rows of what this transaction touched so far, and (``drain_queue``) what the
    plain-SQL writers queued: called by the reports themselves before reading, so that they
    see every committed change and the transaction's own."""
    _take_at_once(session)
    if drain_queue:
        _queue_noted(session)
        drain(session)
    dossiers = session.info.get(_DOSSIERS)
    receipts = session.info.get(_RECEIPTS)
    if not dossiers and not receipts:
        return
    if not _tables_present(session):
        return
    if dossiers:
        refresh_dossiers(session, sorted(dossiers))
        dossiers.clear()
    if receipts:
        refresh_receipts(session, sorted(receipts))
        receipts.clear()


def refresh_dossiers(session: Session, ids: list[int]) -> None:
    """Rewrite the fact rows of ``ids`` from the base tables, in the session's transaction."""
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Wait for any other transaction changing these dossiers (a row this transaction
        # already holds costs nothing), so that what is read next (a new snapshot per
        # statement) includes its changes: no stale row is ever written.
        d = Dossier.__table__
        session.execute(select(d.c.id).where(d.c.id.in_(ids)).order_by(d.c.id).with_for_update())
    for chunk in _chunks(ids, 500):
        _upsert(session, dossier_rows(ids=chunk), dialect)
    refresh_documents(session, ids)


def _upsert(session: Session, rows_select, dialect: str) -> None:
    table = DossierFact.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table).from_select(list(FACT_COLUMNS), rows_select)
    statement = statement.on_conflict_do_update(
        index_elements=["dossier_id"],
        set_={name: statement.excluded[name] for name in FACT_COLUMNS if name != "dossier_id"})
    session.execute(statement)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- receipt lines ------------------------------------------------------------------------------


def receipt_line_rows(receipts: Iterable[Any]) -> list[dict[str, Any]]:
    """The lines of issued receipts, as ``report_receipt_lines`` rows."""
    out = []
    for r in receipts:
        if r.status != "issued":
            continue
        day = ict_day(r.issued_at)
        for number, line in enumerate(r.lines or [], start=1):
            amount = line.get("amount") if isinstance(line, dict) else None
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                continue
            if obligation_kind(line.get("fee_code"), line.get("name")) is not None:
                continue  # a land tax obligation charged as a fee before migration 0011: never a fee collected
            out.append({"receipt_id": r.id, "line_no": number, "issued_day": day,
                        "issued_month": day.year * 100 + day.month, "agency_id": r.agency_id, "kind": r.kind,
                        "fee_code": str(line.get("fee_code") or "")[:30], "name": str(line.get("name") or "")[:300],
                        "amount": amount})
    return out


def _receipt_query():
    t = Receipt.__table__
    return select(t.c.id, t.c.status, t.c.issued_at, t.c.lines, t.c.agency_id, t.c.kind)


def refresh_receipts(session: Session, ids: list[int]) -> None:
    lines = ReceiptLine.__table__
    dossiers: set[int] = set()
    for chunk in _chunks(ids, 500):
        session.execute(delete(lines).where(lines.c.receipt_id.in_(chunk)))
        rows = receipt_line_rows(session.execute(_receipt_query().where(Receipt.__table__.c.id.in_(chunk))))
        if rows:
            session.execute(insert(lines), rows)
        t = Receipt.__table__
        dossiers.update(session.scalars(select(t.c.dossier_id).where(t.c.id.in_(chunk))))
    # a kind with an e-receipt in force is counted from it, not from another issuer's document
    refresh_documents(session, sorted(dossiers))


# --- lines of money receipted by another issuer (payments.other_documents) -----------------------

DOCUMENT_COLUMNS = ("dossier_id", "line_no", "paid_day", "paid_month", "agency_id", "kind", "fee_code", "name",
                    "amount", "issuer", "document")


def document_line_rows(lines) -> list[dict[str, Any]]:
    """``payments.other_documents`` lines as ``report_document_lines`` rows (land obligations
    charged as fees before migration 0011 are left out, as from the e-receipts' lines)."""
    out = []
    for line in lines:
        if obligation_kind(line.fee_code, line.name) is not None:
            continue
        day = ict_day(line.paid_at)
        out.append({"dossier_id": line.dossier_id, "line_no": line.line_no, "paid_day": day,
                    "paid_month": day.year * 100 + day.month, "agency_id": line.agency_id, "kind": line.kind,
                    "fee_code": line.fee_code[:30], "name": line.name[:300], "amount": line.amount,
                    "issuer": line.issuer, "document": line.document})
    return out


def refresh_documents(session: Session, ids: list[int]) -> None:
    """Rewrite the lines of money receipted elsewhere of the dossiers ``ids``: written while a
    dossier is paid in full by such money only, gone otherwise."""
    table = DocumentLine.__table__
    for chunk in _chunks(list(ids), 500):
        session.execute(delete(table).where(table.c.dossier_id.in_(chunk)))
        rows = document_line_rows(document_lines(session, ids=chunk))
        if rows:
            session.execute(insert(table), rows)


# --- rebuild and check ---------------------------------------------------------------------------


@dataclass
class RebuildResult:
    dossiers: int
    receipt_lines: int
    document_lines: int = 0


def rebuild(session: Session, echo=lambda _: None) -> RebuildResult:
    """Rewrite both tables from the base tables (the caller commits). On PostgreSQL the tables
    are locked meanwhile: writers wait (seconds per hundred thousand dossiers)."""
    dialect = session.get_bind().dialect.name
    facts, lines = DossierFact.__table__, ReceiptLine.__table__
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE report_dossier_facts, report_receipt_lines, report_document_lines "
                             "IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(delete(facts))
    session.execute(delete(lines))
    session.execute(delete(DocumentLine.__table__))
    d = Dossier.__table__
    low, high = session.execute(select(func.min(d.c.id), func.max(d.c.id))).one()
    written = document_count = 0
    if low is not None:
        for start in range(low, high + 1, REBUILD_BATCH):
            session.execute(insert(facts).from_select(list(FACT_COLUMNS),
                                                      dossier_rows(id_from=start, id_to=start + REBUILD_BATCH)))
            documents = document_line_rows(document_lines(session, id_from=start, id_to=start + REBUILD_BATCH))
            if documents:
                session.execute(insert(DocumentLine.__table__), documents)
            document_count += len(documents)
            echo(f"  dossiers up to id {min(start + REBUILD_BATCH - 1, high)}")
        written = session.scalar(select(func.count()).select_from(facts))
    t = Receipt.__table__
    after, line_count = 0, 0
    while True:
        batch = session.execute(_receipt_query().where(t.c.id > after, t.c.status == "issued")
                                .order_by(t.c.id).limit(REBUILD_BATCH)).all()
        if not batch:
            break
        rows = receipt_line_rows(batch)
        if rows:
            session.execute(insert(lines), rows)
        line_count += len(rows)
        after = batch[-1].id
    for key in (_DOSSIERS, _RECEIPTS):
        session.info.get(key, set()).clear()
    session.execute(text("DELETE FROM report_pending"))  # every row was just rewritten
    return RebuildResult(written, line_count, document_count)


@dataclass
class CheckResult:
    dossiers: int
    differing: list[int]
    receipts_differing: list[int]
    documents_differing: list[int] = field(default_factory=list)  # dossiers whose document lines differ

    @property
    def ok(self) -> bool:
        return not self.differing and not self.receipts_differing and not self.documents_differing


def check(session: Session, limit: int = 100) -> CheckResult:
    """Compare the tables with the direct computation, dossier by dossier (and receipt lines
    with the receipts): the ids that differ, up to ``limit`` of each."""
    apply_pending(session)
    facts = DossierFact.__table__
    d = Dossier.__table__
    differing: list[int] = []
    documents_differing: list[int] = []
    total = 0
    low, high = session.execute(select(func.min(d.c.id), func.max(d.c.id))).one()
    if low is not None:
        for start in range(low, high + 1, REBUILD_BATCH):
            direct = {r.dossier_id: tuple(r) for r in session.execute(dossier_rows(id_from=start,
                                                                                   id_to=start + REBUILD_BATCH))}
            stored = {r.dossier_id: tuple(r) for r in session.execute(
                select(*(facts.c[name] for name in FACT_COLUMNS))
                .where(facts.c.dossier_id >= start, facts.c.dossier_id < start + REBUILD_BATCH))}
            total += len(direct)
            for dossier_id in sorted(set(direct) | set(stored)):
                if _normal(direct.get(dossier_id)) != _normal(stored.get(dossier_id)):
                    differing.append(dossier_id)
            documents_differing += _documents_differing(session, start, start + REBUILD_BATCH)
            if len(differing) >= limit:
                break
    receipts_differing: list[int] = []
    t = Receipt.__table__
    after = 0
    while len(receipts_differing) < limit:
        batch = session.execute(_receipt_query().where(t.c.id > after).order_by(t.c.id).limit(REBUILD_BATCH)).all()
        if not batch:
            break
        ids = [r.id for r in batch]
        expected: dict[int, list] = {}
        for row in receipt_line_rows(batch):
            expected.setdefault(row["receipt_id"], []).append(_line_key(row))
        got: dict[int, list] = {}
        for row in session.execute(select(ReceiptLine.__table__).where(ReceiptLine.__table__.c.receipt_id.in_(ids))
                                   .order_by(ReceiptLine.__table__.c.receipt_id,
                                             ReceiptLine.__table__.c.line_no)).mappings():
            got.setdefault(row["receipt_id"], []).append(_line_key(row))
        receipts_differing += [i for i in ids if sorted(expected.get(i, [])) != sorted(got.get(i, []))]
        after = ids[-1]
    return CheckResult(total, differing[:limit], receipts_differing[:limit], documents_differing[:limit])


def _documents_differing(session: Session, id_from: int, id_to: int) -> list[int]:
    """The dossiers in [id_from, id_to) whose lines of money receipted elsewhere differ from the table."""
    expected: dict[int, list] = {}
    for row in document_line_rows(document_lines(session, id_from=id_from, id_to=id_to)):
        expected.setdefault(row["dossier_id"], []).append(_normal(tuple(row[c] for c in DOCUMENT_COLUMNS)))
    t = DocumentLine.__table__
    got: dict[int, list] = {}
    for row in session.execute(select(*(t.c[c] for c in DOCUMENT_COLUMNS))
                               .where(t.c.dossier_id >= id_from, t.c.dossier_id < id_to)):
        got.setdefault(row.dossier_id, []).append(_normal(tuple(row)))
    return [i for i in sorted(set(expected) | set(got)) if sorted(expected.get(i, [])) != sorted(got.get(i, []))]


def _line_key(row) -> tuple:
    return (row["line_no"], row["issued_day"], row["issued_month"], row["agency_id"], row["kind"], row["fee_code"],
            row["name"], row["amount"])


def _normal(row: tuple | None) -> tuple | None:
    if row is None:
        return None
    return tuple(v.isoformat() if isinstance(v, date) else v for v in row)



_LISTENERS = (("after_flush", _note_changes), ("before_commit", _write_before_commit),
              ("after_transaction_end", _forget))


def install() -> None:
    """Keep the reports' tables in step with every session's changes (``create_app`` calls it)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
