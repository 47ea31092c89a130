"""Importing an end-of-day statement file: every line becomes, or confirms, a bank transaction
through the same unique key the callbacks use; each account section gets its balance proof.

- The same bytes again are the same import (keyed on SHA-256): nothing is created twice.
- The file is read as a stream (``bank_adapters.statements``) and written in chunks, each
  its own transaction, so a month of a busy account neither fills memory nor holds the
  database's write lock for long (callbacks go on during an import). The import records how
  many lines it has committed; an interrupted import, run again, resumes after them.
- A line already known from a callback is confirmed (``on_statement``, the channel
  ``statement`` added, the booking date the bank gave), never duplicated. Where a layout has
  no bank reference, a line confirms an unconfirmed callback of the same account, day,
  amount, direction and content; otherwise it is new under a key derived from those fields.
- A reversal is stored under its reference with ``#R`` (a bank may give it the reference of
  what it reverses) and linked to that transaction when there is one.
- A file is read through once before anything is written (``check_statement``): a line the
  readers refuse, or an amount over the contract's limit (CONTRACT.md "Amounts"), refuses the
  whole file, naming the line, and leaves no import behind, so the corrected file can be
  uploaded. An error while filing (the database, a bug) marks the import ``failed`` with its
  reason; the same file again resumes it (after the lines already committed).
"""
from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
from dataclasses import dataclass, field
from datetime import date, timezone
from typing import IO, Any, Callable, Iterator

from sqlalchemy import and_, case, exists, func, select, text, update
from sqlalchemy.orm import Session

from bank_adapters.statements import (AmountOutOfRange, SectionEnd, SectionStart, StatementEntry,
                                      StatementError, balance_proof, detect_format, read_statement)
from bank_adapters.transfers import IN
from core.clock import utcnow
from core.errors import FieldError, ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.rawsql import Raw

from reconciliation.models import BankTransaction, DailyClose, MatchDecision, Statement, StatementImport, StatementLine
from reconciliation.inbound.transactions import resolve_account

log = logging.getLogger(__name__)
CHUNK = 20000
# Balances are not amounts in the contract's sense, but they and a section's sums must fit the
# database's 64-bit integers.
MAX_BALANCE = 10**18 - 1
IMPORTING, DONE, FAILED = "importing", "done", "failed"  # StatementImport.status
REVERSAL_SUFFIX = "#R"
Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class SectionSummary:
    statement_id: int
    account: str
    period_start: date | None
    period_end: date | None
    entries: int
    new_transactions: int
    known_transactions: int
    balance_ok: bool
    balance_message: str
    continuity_ok: bool | None


@dataclass
class ImportSummary:
    import_id: int
    format: str
    created: bool  # False: these exact bytes were imported before; nothing was created
    entries: int = 0
    new_transactions: int = 0
    known_transactions: int = 0
    balance_ok: bool = False
    sections: list[SectionSummary] = field(default_factory=list)
    matched: int = 0  # lines no callback announced that the import matched to a dossier


def file_digest(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _summary(session: Session, record: StatementImport, created: bool,
             results: dict[int, tuple[int, int]] | None = None) -> ImportSummary:
    summary = ImportSummary(record.id, record.format, created, record.entries, record.new_transactions,
                            record.known_transactions, record.balance_ok)
    statements = session.scalars(select(Statement).where(Statement.import_id == record.id)
                                 .order_by(Statement.section_index))
    for statement in statements:
        new, known = (results or {}).get(statement.id, (None, None))
        if new is None:
            new, known = _line_counts(statement)
        summary.sections.append(SectionSummary(statement.id, statement.account_number, statement.period_start,
                                               statement.period_end, statement.entries, new, known,
                                               statement.balance_ok, statement.balance_message,
                                               statement.continuity_ok))
    return summary


def _line_counts(statement: Statement) -> tuple[int, int]:
    from sqlalchemy import func
    from sqlalchemy.orm import object_session

    session = object_session(statement)
    rows = dict(session.execute(select(StatementLine.is_new, func.count()).where(
        StatementLine.statement_id == statement.id).group_by(StatementLine.is_new)).all())
    return rows.get(True, 0), rows.get(False, 0)


def import_statement(session: Session, stream: IO[bytes], *, filename: str | None, actor: str,
                     progress: Progress | None = None, chunk_size: int = CHUNK) -> ImportSummary:
    """Import one statement file (a seekable binary stream). Commits as it goes."""
    sha, size = file_digest(stream)
    if size == 0:
        raise ValidationError("the statement file is empty", code=Refusal.EMPTY_STATEMENT)
    record = session.scalar(select(StatementImport).where(StatementImport.sha256 == sha))
    if record is not None and record.status == DONE:
        return _summary(session, record, created=False)
    head = stream.read(64 * 1024)
    stream.seek(0)
    try:
        fmt = detect_format(head)
    except StatementError as exc:
        raise ValidationError(f"not a statement this service reads: {exc}", code=Refusal.NOT_A_STATEMENT,
                              params={"problem": str(exc)}) from None
    check_statement(stream, fmt)
    resumed = record is not None
    if record is None:
        record = StatementImport(sha256=sha, format=fmt, filename=(filename or None) and filename[:255], size=size,
                                 imported_by=actor, imported_at=utcnow(), status=IMPORTING)
        session.add(record)
    else:  # interrupted, or failed: run again, after the lines already committed
        record.status, record.error = IMPORTING, None
    session.commit()
    try:
        summary = _run(session, record, stream, fmt, chunk_size, resumed, progress, size)
    except StatementError as exc:  # the check read it whole, so only a file changed under us
        _fail(session, record, exc)
        raise ValidationError(f"the statement could not be read: {exc}", code=Refusal.UNREADABLE_STATEMENT,
                              params={"problem": str(exc)}) from None
    except BaseException as exc:
        _fail(session, record, exc)
        raise
    refresh_statistics(session, summary.new_transactions)
    summary.matched = match_new_lines(session, record.id)
    return summary


STATISTICS_FROM = 1000  # new lines from which an import may leave PostgreSQL's statistics behind


def refresh_statistics(session: Session, new_lines: int) -> None:
    """PostgreSQL plans from statistics that autovacuum refreshes a minute or more after a
    table grew. The matching that follows an import starts by finding the import's new lines,
    a join of the tables the import has just grown; planned from statistics that do not know
    those lines, that query ran for more than ten minutes after a million-line import. So an
    import that added at least a tenth of what the planner knew (and at least
    ``STATISTICS_FROM`` lines) has those tables analysed first (a sample: a fraction of a second)."""
    if new_lines < STATISTICS_FROM or session.get_bind().dialect.name != "postgresql":
        return
    known = session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'statement_lines'")).scalar()
    if known is not None and known > 0 and new_lines < known / 10:
        return
    session.execute(text("ANALYZE bank_transactions, statement_lines, statements"))
    session.commit()


def check_statement(stream: IO[bytes], fmt: str) -> None:
    """Read the whole file, storing nothing: a ``ValidationError`` naming the first line that
    cannot be imported (unreadable, or an amount the contract refuses), or nothing. Leaves the
    stream at its start."""
    stream.seek(0)
    try:
        for event in read_statement(stream, fmt=fmt):
            if isinstance(event, SectionEnd):
                _check_balances(event)
    except AmountOutOfRange as exc:
        raise ValidationError(
            f"the statement is refused whole, nothing was imported: {exc}", code=Refusal.STATEMENT_AMOUNT_OUT_OF_RANGE,
            params={"line": exc.line, "where": exc.where, "amount": exc.amount, "limit": MAX_AMOUNT},
            errors=[FieldError("file", str(exc))]) from None
    except StatementError as exc:
        if getattr(exc, "field", None) is None:  # not a field of a line (MT940 names both)
            raise _unreadable(exc) from None
        raise ValidationError(f"the statement could not be read, nothing was imported: {exc}",
                              code=Refusal.STATEMENT_FIELD_UNREADABLE,
                              params={"line": exc.line, "field": f":{exc.field}:", "problem": str(exc)},
                              errors=[FieldError("file", str(exc))]) from None
    except ValueError as exc:  # a value no reader should have let through
        raise _unreadable(exc) from None
    finally:
        stream.seek(0)


def _unreadable(exc: Exception) -> ValidationError:
    return ValidationError(f"the statement could not be read, nothing was imported: {exc}",
                           code=Refusal.UNREADABLE_STATEMENT, params={"problem": str(exc)},
                           errors=[FieldError("file", str(exc))])


def _check_balances(end: SectionEnd) -> None:
    for name, value in (("opening balance", end.opening_balance), ("closing balance", end.closing_balance),
                        ("sum of the credits", end.credits), ("sum of the debits", end.debits)):
        if value is not None and abs(value) > MAX_BALANCE:
            raise StatementError(f"account {end.account}: the {name} {value} is larger than any account holds")


def _fail(session: Session, record: StatementImport, exc: BaseException) -> None:
    """Mark an import that stopped half-way ``failed``, with why; never ``importing`` for ever."""
    session.rollback()
    try:
        session.execute(update(StatementImport).where(StatementImport.id == record.id)
                        .values(status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]))
        session.commit()
    except Exception:  # the database itself is gone: the import stays 'importing' and resumes when retried
        session.rollback()


def match_new_lines(session: Session, import_id: int) -> int:
    """Match the credits that only this import announced, as a callback would have been
    (CONTRACT.md: a dossier paid by such a transfer is paid when the import answers); one the matcher
    cannot place opens a ``missing_callback`` item. A credit booked on a day that is
    already closed is left for that day's reopening: a closed day is never changed silently.
    Closing a day stays a separate step. Commits; returns how many were allocated."""
    from reconciliation.matching.bulk import match_many

    t, line = BankTransaction, StatementLine
    ids = list(session.scalars(
        select(t.id).join(line, line.transaction_id == t.id).join(Statement, Statement.id == line.statement_id)
        .where(Statement.import_id == import_id, line.is_new.is_(True), t.direction == "in",
               t.reversal.is_(False), t.pending.is_(False),
               ~exists().where(MatchDecision.transaction_id == t.id),
               ~exists().where(DailyClose.account_id == t.account_id, DailyClose.day == t.booked_on,
                               DailyClose.status == "closed"))
        .distinct()))
    if not ids:
        return 0
    match_many(session, ids, actor="rule:statement_import", missing_callback=True)
    return session.scalar(
        select(func.count(func.distinct(t.id))).select_from(t).join(line, line.transaction_id == t.id)
        .join(Statement, Statement.id == line.statement_id)
        .where(Statement.import_id == import_id, line.is_new.is_(True), t.allocated > 0)) or 0


def _read_ahead(events: Iterator[Any], batch: int = 2000, depth: int = 8) -> Iterator[Any]:
    """The file is read in a thread of its own while the database files the previous chunk:
    parsing is Python work, filing mostly waits on the database, so the two overlap. If the
    consumer stops (an error while filing), the reader is told to stop too."""
    pipe: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                pipe.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            chunk = []
            for event in events:
                chunk.append(event)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
            put(chunk) and put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=reader, name="statement-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = pipe.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        thread.join(timeout=5)


def _position(stream: IO[bytes], size: int) -> int:
    try:
        return min(stream.tell(), size)
    except (OSError, ValueError):  # a reader that holds the file itself
        return 0


@dataclass
class _SectionState:
    statement: Statement
    bank_bin: str
    account_id: int | None
    new: int = 0
    known: int = 0
    buffer: list[StatementEntry] = field(default_factory=list)


def _run(session: Session, record: StatementImport, stream: IO[bytes], fmt: str, chunk_size: int,
         resumed: bool, progress: Progress | None, size: int) -> ImportSummary:
    skip = record.lines_done if resumed else 0
    seen = 0
    states: dict[int, _SectionState] = {}
    existing = {s.section_index: s for s in session.scalars(select(Statement).where(Statement.import_id == record.id))}
    for event in _read_ahead(read_statement(stream, fmt=fmt)):
        if isinstance(event, SectionStart):
            statement = existing.get(event.index)
            key = resolve_account(session, event.account, event.bank_bin)
            if statement is None:
                statement = Statement(import_id=record.id, section_index=event.index, account_number=event.account,
                                      bank_bin=key.bank_bin, account_id=key.account_id, currency=event.currency or "VND",
                                      statement_ref=(event.statement_ref or None) and event.statement_ref[:120],
                                      period_start=event.period_start, period_end=event.period_end,
                                      opening_balance=event.opening_balance)
                session.add(statement)
                session.commit()
            states[event.index] = _SectionState(statement, key.bank_bin, key.account_id)
        elif isinstance(event, StatementEntry):
            seen += 1
            if progress is not None and seen % 2000 == 0:
                progress(_position(stream, size), size)
            if seen <= skip:
                continue  # committed by the run that was interrupted
            state = states[event.section_index]
            state.buffer.append(event)
            if len(state.buffer) >= chunk_size:
                _flush(session, record, state)
        elif isinstance(event, SectionEnd):
            state = states[event.index]
            _flush(session, record, state)
            _close_section(session, state, event)
    for state in states.values():
        _flush(session, record, state)
    if progress is not None:
        progress(size, size)
    record.status = DONE
    record.balance_ok = bool(states) and all(s.statement.balance_ok and s.statement.continuity_ok is not False
                                              for s in states.values())
    record.entries = seen
    session.commit()
    results = {s.statement.id: (s.new, s.known) for s in states.values()}
    if resumed:
        results = None  # counts of the interrupted run are in the lines; read them back
    summary = _summary(session, record, created=True, results=results)
    record.new_transactions = sum(s.new_transactions for s in summary.sections)
    record.known_transactions = sum(s.known_transactions for s in summary.sections)
    session.commit()
    summary.new_transactions, summary.known_transactions = record.new_transactions, record.known_transactions
    return summary


def _close_section(session: Session, state: _SectionState, end: SectionEnd) -> None:
    statement = state.statement
    if end.reader and "package" in end.reader:  # a layout the fast MT940 reader does not know yet
        log.info("statement %s, account %s: read in part by the mt-940 package (%s)", statement.id, end.account,
                 end.reader)
    proof = balance_proof(end)
    statement.opening_balance = end.opening_balance
    statement.closing_balance = end.closing_balance
    statement.credits = end.credits
    statement.debits = end.debits
    statement.entries = end.entries
    statement.pending_entries = end.pending
    statement.period_start = end.period_start or statement.period_start
    statement.period_end = end.period_end or statement.period_end
    statement.balance_ok = proof.ok
    statement.balance_message = proof.message
    previous = None
    if statement.period_start is not None:
        previous = session.scalar(
            select(Statement).join(StatementImport, Statement.import_id == StatementImport.id)
            .where(Statement.account_number == statement.account_number, Statement.id != statement.id,
                   StatementImport.status == DONE, Statement.period_end < statement.period_start)
            .order_by(Statement.period_end.desc(), Statement.id.desc()).limit(1))
    if previous is not None and previous.closing_balance is not None and statement.opening_balance is not None:
        statement.previous_statement_id = previous.id
        statement.continuity_ok = previous.closing_balance == statement.opening_balance
        if not statement.continuity_ok:
            statement.balance_message = (statement.balance_message + " " if statement.balance_message else "") + (
                f"Opening balance {statement.opening_balance} differs from the closing balance "
                f"{previous.closing_balance} of the previous statement ({previous.period_end}).")
    if not statement.balance_ok or statement.continuity_ok is False:
        from reconciliation.workflow.exceptions import open_exception

        # In the queue, for a finance officer: settling it accepts the difference (exceptions.resolve).
        open_exception(session, "balance_mismatch", statement_id=statement.id, account_id=statement.account_id,
                       detail=statement.balance_message, actor="rule:statement_import")
    session.commit()


_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def _same_content(a: str, b: str) -> bool:
    from qr.text import strip_diacritics

    x = _NOT_ALNUM.sub("", strip_diacritics(a or "").upper())
    y = _NOT_ALNUM.sub("", strip_diacritics(b or "").upper())
    return bool(x and y) and (x == y or x in y or y in x)


def _key_ref(entry: StatementEntry) -> str:
    ref = entry.transfer.bank_ref
    return ref + REVERSAL_SUFFIX if entry.transfer.reversal else ref


_STAGE_COLUMNS = ("line_no", "bank_ref", "first_of_ref", "amount", "direction", "booked_at", "booked_on",
                  "value_date", "content", "counter_account", "counter_name", "counter_bank", "virtual_account",
                  "reversal", "pending", "synthetic_ref")


def _ensure_stage(session: Session) -> str:
    """A temporary table per connection that holds one chunk's lines while set-based SQL
    files them (one round trip per step instead of one per line)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text(
            "CREATE TEMP TABLE IF NOT EXISTS statement_stage (line_no integer, bank_ref varchar(120), "
            "first_of_ref boolean, amount bigint, direction varchar(3), booked_at timestamptz, booked_on date, "
            "value_date date, content text, counter_account varchar(40), counter_name varchar(200), "
            "counter_bank varchar(60), virtual_account varchar(40), reversal boolean, pending boolean, "
            "synthetic_ref boolean) ON COMMIT DELETE ROWS"))
    else:
        session.execute(text(
            "CREATE TEMP TABLE IF NOT EXISTS statement_stage (line_no INTEGER, bank_ref VARCHAR(120), "
            "first_of_ref BOOLEAN, amount BIGINT, direction VARCHAR(3), booked_at DATETIME, booked_on DATE, "
            "value_date DATE, content TEXT, counter_account VARCHAR(40), counter_name VARCHAR(200), "
            "counter_bank VARCHAR(60), virtual_account VARCHAR(40), reversal BOOLEAN, pending BOOLEAN, "
            "synthetic_ref BOOLEAN)"))
        # Without it SQLite's planner may walk the stage once per transaction row.
        session.execute(text("CREATE INDEX IF NOT EXISTS temp.ix_statement_stage_ref ON statement_stage (bank_ref)"))
        session.execute(text("DELETE FROM statement_stage"))
    return dialect


def _copy_rows(session: Session, dialect: str, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    Raw(session).copy_rows(table, columns, rows)


def _stage_row(entry: StatementEntry, ref: str, first: bool, dialect: str) -> tuple:
    t = entry.transfer

    def cut(value: str | None, limit: int) -> str | None:
        return value[:limit] if value else None

    booked_at = t.booked_at if dialect == "postgresql" else t.booked_at.astimezone(timezone.utc).replace(tzinfo=None)
    return (entry.line_no, ref, first, t.amount, t.direction, booked_at, entry.booking_date, t.value_date,
            t.content or "", cut(t.counter_account, 40), cut(t.counter_name, 200), cut(t.counter_bank, 60),
            cut(t.virtual_account, 40), t.reversal, t.pending, entry.synthetic_ref)


def _flush(session: Session, record: StatementImport, state: _SectionState) -> None:
    """File one chunk of lines: new transactions created, known ones confirmed, lines written.
    Set-based through a staging table; the rare cases (lines without a bank reference that
    confirm a callback, reversals) are handled line by line."""
    entries, state.buffer = state.buffer, []
    if not entries:
        return
    statement = state.statement
    paired: dict[str, tuple[int, int, str, bool]] = {}
    synthetic = [e for e in entries if e.synthetic_ref]
    if synthetic:
        _pair_synthetic(session, state, synthetic, paired)
    dialect = _ensure_stage(session)
    rows, seen = [], set()
    for entry in entries:
        ref = _key_ref(entry)
        if ref in paired:
            continue
        rows.append(_stage_row(entry, ref, ref not in seen, dialect))
        seen.add(ref)
    keys = {"bank_bin": state.bank_bin, "account": statement.account_number}
    now = _db_time(utcnow(), dialect)
    created: dict[str, int] = {}
    if rows:
        _copy_rows(session, dialect, "statement_stage", _STAGE_COLUMNS, rows)
        created = dict((ref, id_) for id_, ref in session.execute(text(
            "INSERT INTO bank_transactions (bank_bin, account_number, bank_ref, account_id, direction, amount, "
            "booked_at, booked_on, value_date, content, counter_account, counter_name, counter_bank, "
            "virtual_account, channels, first_channel, reversal, pending, on_statement, synthetic_ref, status, "
            "allocated, created_at) "
            "SELECT :bank_bin, :account, s.bank_ref, :account_id, s.direction, s.amount, s.booked_at, s.booked_on, "
            "s.value_date, s.content, s.counter_account, s.counter_name, s.counter_bank, s.virtual_account, "
            "'statement', 'statement', s.reversal, s.pending, :yes, s.synthetic_ref, "
            "CASE WHEN s.direction = 'in' THEN 'unmatched' ELSE 'ignored' END, 0, :now "
            "FROM statement_stage s WHERE s.first_of_ref = :yes "
            "ON CONFLICT (bank_bin, account_number, bank_ref) DO NOTHING RETURNING id, bank_ref"),
            {**keys, "account_id": state.account_id, "yes": True, "now": now}).all())
        # Callbacks of the same transfers, not yet on a statement, are confirmed by it.
        session.execute(text(
            "UPDATE bank_transactions SET on_statement = :yes, booked_on = s.booked_on, pending = s.pending, "
            "channels = CASE WHEN bank_transactions.channels = '' THEN 'statement' "
            "ELSE bank_transactions.channels || ',statement' END "
            "FROM statement_stage s WHERE s.first_of_ref = :yes AND bank_transactions.bank_bin = :bank_bin "
            "AND bank_transactions.account_number = :account AND bank_transactions.bank_ref = s.bank_ref "
            "AND bank_transactions.on_statement = :no"), {**keys, "yes": True, "no": False})
    # The lines: set-based for the staged ones (the new ones are those created above, at
    # this chunk's own ``created_at``), one by one for the few paired lines.
    if rows:
        counts = session.execute(text(
            "INSERT INTO statement_lines (statement_id, line_no, transaction_id, booking_date, amount, direction, "
            "pending, is_new, differs) "
            "SELECT :statement_id, s.line_no, t.id, s.booked_on, s.amount, s.direction, s.pending, "
            "(s.first_of_ref = :yes AND t.created_at = :now AND t.first_channel = 'statement'), "
            "(NOT (s.first_of_ref = :yes AND t.created_at = :now AND t.first_channel = 'statement') "
            " AND (t.amount <> s.amount OR t.direction <> s.direction)) "
            "FROM statement_stage s JOIN bank_transactions t ON t.bank_bin = :bank_bin "
            "AND t.account_number = :account AND t.bank_ref = s.bank_ref "
            "RETURNING is_new"), {**keys, "statement_id": statement.id, "yes": True, "now": now}).scalars().all()
        new = sum(1 for value in counts if value)
        state.new += new
        state.known += len(counts) - new
    lines = []
    for entry in entries:
        ref = _key_ref(entry)
        if ref not in paired:
            continue
        transaction_id, amount, direction, on_statement = paired[ref]
        if not on_statement:
            _confirm(session, transaction_id, entry)
            paired[ref] = (transaction_id, amount, direction, True)
        transfer = entry.transfer
        state.known += 1
        lines.append((statement.id, entry.line_no, transaction_id, entry.booking_date, transfer.amount,
                      transfer.direction, transfer.pending, False,
                      (amount, direction) != (transfer.amount, transfer.direction)))
    if lines:
        _copy_rows(session, dialect, "statement_lines", ("statement_id", "line_no", "transaction_id",
                                                          "booking_date", "amount", "direction", "pending", "is_new",
                                                          "differs"), lines)
    _link_reversals(session, state, entries, created)
    record.lines_done += len(entries)
    session.commit()


def _db_time(moment, dialect: str):
    return moment if dialect == "postgresql" else moment.astimezone(timezone.utc).replace(tzinfo=None)


def _confirm(session: Session, transaction_id: int, entry: StatementEntry) -> None:
    table = BankTransaction.__table__
    session.execute(update(table).where(table.c.id == transaction_id).values(
        on_statement=True, booked_on=entry.booking_date, pending=entry.transfer.pending,
        channels=case((table.c.channels == "", "statement"), else_=table.c.channels + ",statement")))


@dataclass(frozen=True)
class _Key:
    bank_bin: str
    account_id: int | None


def _pair_synthetic(session: Session, state: _SectionState, entries: list[StatementEntry],
                    known: dict[str, tuple[int, int, str, bool]]) -> None:
    """Lines without a bank reference confirm callbacks of the same day, amount, direction
    and content not yet on a statement (each callback at most once)."""
    table = BankTransaction.__table__
    days = {e.booking_date for e in entries}
    amounts = {e.transfer.amount for e in entries}
    candidates = session.execute(
        select(table.c.id, table.c.booked_on, table.c.amount, table.c.direction, table.c.content)
        .where(table.c.account_number == state.statement.account_number, table.c.on_statement.is_(False),
               table.c.synthetic_ref.is_(False), table.c.booked_on.in_(days), table.c.amount.in_(amounts))).all()
    taken: set[int] = set()
    for entry in entries:
        for row in candidates:
            if row.id in taken or row.amount != entry.transfer.amount or row.direction != entry.transfer.direction:
                continue
            if row.booked_on == entry.booking_date and _same_content(row.content, entry.transfer.content):
                taken.add(row.id)
                known[_key_ref(entry)] = (row.id, row.amount, row.direction, False)
                break


def _link_reversals(session: Session, state: _SectionState, entries: list[StatementEntry],
                    created: dict[str, int]) -> None:
    table = BankTransaction.__table__
    for entry in entries:
        ref = _key_ref(entry)
        if not entry.transfer.reversal or ref not in created:
            continue
        original = session.scalar(select(table.c.id).where(
            table.c.bank_bin == state.bank_bin, table.c.account_number == state.statement.account_number,
            table.c.bank_ref == entry.transfer.bank_ref, table.c.reversal.is_(False)))
        if original is not None:
            session.execute(update(table).where(and_(table.c.id == created[ref])).values(reversal_of_id=original))


def statement_days(session: Session, statement: Statement) -> list[date]:
    rows = session.scalars(select(StatementLine.booking_date).where(StatementLine.statement_id == statement.id)
                           .distinct().order_by(StatementLine.booking_date))
    return list(rows)


__all__ = ["ImportSummary", "SectionSummary", "import_statement", "IN"]
