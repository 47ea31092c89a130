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
- A file is read once, into a staging table, before anything is written (``_stage``; a large
  file by a process of its own, ``statement_reading``): a line the readers refuse, or an amount
  over the contract's limit (CONTRACT.md "Amounts"), refuses the whole file, naming the line,
  and leaves no import behind, so the corrected file can be uploaded. An error while filing
  (the database, a bug) marks the import ``failed`` with its reason; the same file again
  resumes it (after the lines already committed).
"""
from __future__ import annotations

import hashlib
import logging
import re
from array import array
from dataclasses import dataclass, field
from datetime import date, timezone
from typing import IO, Callable

from sqlalchemy import and_, case, exists, func, select, text, update
from sqlalchemy.orm import Session

from bank_adapters.statements import (AmountOutOfRange, SectionEnd, SectionStart, StatementError, balance_proof,
                                      detect_format)
from bank_adapters.transfers import IN
from core.clock import utcnow
from core.errors import FieldError, ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.rawsql import Raw

from reconciliation.models import BankTransaction, DailyClose, MatchDecision, Statement, StatementImport, StatementLine
from reconciliation.inbound.statement_reading import REVERSAL_SUFFIX, read_lines
from reconciliation.inbound.transactions import resolve_account

log = logging.getLogger(__name__)
CHUNK = 20000
# Balances are not amounts in the contract's sense, but they and a section's sums must fit the
# database's 64-bit integers.
MAX_BALANCE = 10**18 - 1
IMPORTING, DONE, FAILED = "importing", "done", "failed"  # StatementImport.status
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
    """Import one statement file (a seekable binary stream). Commits as it goes.

    The file is read once (``statement_reading``: by a process of its own when it is large)
    into a staging table on a connection of the import's own, and checked on the way: a line
    the readers refuse refuses the whole file before anything is written. Then it is filed
    from the staging table in chunks, each its own transaction."""
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
    record_id, skip = (record.id, record.lines_done) if record is not None else (None, 0)
    session.commit()  # nothing held: on SQLite a transaction holds the write lock the import's connection needs
    with session.get_bind().engine.connect() as connection:
        work = Session(bind=connection, expire_on_commit=False)
        try:
            sections = _stage(work, stream, fmt, size, skip, chunk_size, progress)
            record = work.get(StatementImport, record_id) if record_id is not None else None
            if record is None:
                record = StatementImport(sha256=sha, format=fmt, filename=(filename or None) and filename[:255],
                                         size=size, imported_by=actor, imported_at=utcnow(), status=IMPORTING)
                work.add(record)
            else:  # interrupted, or failed: run again, after the lines already committed
                record.status, record.error = IMPORTING, None
            work.commit()
            try:
                summary = _run(work, record, sections, record_id is not None, progress, size)
            except BaseException as exc:
                _fail(work, record, exc)
                raise
        finally:
            _drop_stage(work)
            work.close()
    refresh_statistics(session, summary.new_transactions)
    summary.matched = match_new_lines(session, summary.import_id)
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


def _refusal(exc: Exception) -> ValidationError:
    """What a file the readers refuse answers (nothing of it is imported)."""
    if isinstance(exc, AmountOutOfRange):
        return ValidationError(
            f"the statement is refused whole, nothing was imported: {exc}", code=Refusal.STATEMENT_AMOUNT_OUT_OF_RANGE,
            params={"line": exc.line, "where": exc.where, "amount": exc.amount, "limit": MAX_AMOUNT},
            errors=[FieldError("file", str(exc))])
    if isinstance(exc, StatementError) and getattr(exc, "field", None) is not None:  # MT940 names line and field
        return ValidationError(f"the statement could not be read, nothing was imported: {exc}",
                               code=Refusal.STATEMENT_FIELD_UNREADABLE,
                               params={"line": exc.line, "field": f":{exc.field}:", "problem": str(exc)},
                               errors=[FieldError("file", str(exc))])
    return _unreadable(exc)


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
    # In order and as 8-byte integers, streamed: a million ids as Python ints in a list, with the
    # driver's buffered rows beside them, was a fifth of a large import's peak memory.
    ids = array("q", session.scalars(
        select(t.id).join(line, line.transaction_id == t.id).join(Statement, Statement.id == line.statement_id)
        .where(Statement.import_id == import_id, line.is_new.is_(True), t.direction == "in",
               t.reversal.is_(False), t.pending.is_(False),
               ~exists().where(MatchDecision.transaction_id == t.id),
               ~exists().where(DailyClose.account_id == t.account_id, DailyClose.day == t.booked_on,
                               DailyClose.status == "closed"))
        .distinct().order_by(t.id), execution_options={"yield_per": 20000}))
    if not ids:
        return 0
    match_many(session, ids, actor="rule:statement_import", missing_callback=True)
    return session.scalar(
        select(func.count(func.distinct(t.id))).select_from(t).join(line, line.transaction_id == t.id)
        .join(Statement, Statement.id == line.statement_id)
        .where(Statement.import_id == import_id, line.is_new.is_(True), t.allocated > 0)) or 0


@dataclass
class _Chunk:
    """Lines of one section filed in one transaction: the staging table's ``seq`` from
    ``first`` to ``last``. ``distinct``: how many references it has (what it may create; the
    set ``refs`` is held only while the chunk is read); ``synthetic``, ``reversals``: it has
    lines needing more than the set-based steps."""

    first: int
    last: int = 0
    refs: set[str] | None = field(default_factory=set)
    distinct: int = 0
    synthetic: bool = False
    reversals: bool = False

    def close(self) -> None:
        if self.refs is not None:
            self.distinct, self.refs = len(self.refs), None

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass
class _SectionState:
    start: SectionStart
    end: SectionEnd | None = None
    chunks: list[_Chunk] = field(default_factory=list)
    open: _Chunk | None = None  # the chunk lines are being added to, while reading
    statement: Statement | None = None
    bank_bin: str | None = None
    account_id: int | None = None
    new: int = 0
    known: int = 0


_STAGE = "statement_file_stage"
_STAGE_COLUMNS = ("seq", "line_no", "bank_ref", "first_of_ref", "amount", "direction", "booked_at", "booked_on",
                  "value_date", "content", "counter_account", "counter_name", "counter_bank", "virtual_account",
                  "reversal", "pending", "synthetic_ref")


def _create_stage(session: Session, postgresql: bool) -> None:
    """A temporary table on the import's own connection that holds the whole file's lines
    between reading and filing (files up to a few million lines: it lives on disk)."""
    if postgresql:
        session.execute(text(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (seq integer PRIMARY KEY, line_no integer, "
            "bank_ref varchar(120), first_of_ref boolean, amount bigint, direction varchar(3), booked_at timestamptz, "
            "booked_on date, value_date date, content text, counter_account varchar(40), counter_name varchar(200), "
            "counter_bank varchar(60), virtual_account varchar(40), reversal boolean, pending boolean, "
            "synthetic_ref boolean)"))
        session.execute(text(f"TRUNCATE {_STAGE}"))
    else:
        session.execute(text(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (seq INTEGER PRIMARY KEY, line_no INTEGER, "
            "bank_ref VARCHAR(120), first_of_ref BOOLEAN, amount BIGINT, direction VARCHAR(3), booked_at DATETIME, "
            "booked_on DATE, value_date DATE, content TEXT, counter_account VARCHAR(40), counter_name VARCHAR(200), "
            "counter_bank VARCHAR(60), virtual_account VARCHAR(40), reversal BOOLEAN, pending BOOLEAN, "
            "synthetic_ref BOOLEAN)"))
        session.execute(text(f"DELETE FROM {_STAGE}"))
    session.commit()


def _drop_stage(session: Session) -> None:
    try:
        session.rollback()
        session.execute(text(f"DROP TABLE IF EXISTS {_STAGE}"))
        session.commit()
    except Exception:  # the database is gone: the connection and its temporary table go with it
        session.rollback()


STAGE_COMMIT = 20000  # staged lines per transaction (~6 MB held in memory until written)


def _stage(session: Session, stream: IO[bytes], fmt: str, size: int, skip: int, chunk_size: int,
           progress: Progress | None) -> list[_SectionState]:
    """Read the file once into the staging table, cut into chunks per section; a
    ``ValidationError`` naming the first line the readers refuse (nothing is imported).
    Lines up to ``skip`` were committed by a run that was interrupted: not staged again."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    _create_stage(session, postgresql)
    raw = Raw(session)
    sections: dict[int, _SectionState] = {}
    seq = 0
    rows: list[tuple] = []
    try:
        for position, items in read_lines(stream, fmt, size, postgresql=postgresql):
            for item in items:
                if type(item) is tuple:
                    seq += 1
                    if seq <= skip:
                        continue
                    state = sections[item[0]]
                    chunk = state.open
                    if chunk is None or chunk.size >= chunk_size:
                        if chunk is not None:
                            chunk.close()
                        chunk = state.open = _Chunk(seq)
                        state.chunks.append(chunk)
                    chunk.last = seq
                    ref = item[2]
                    first = ref not in chunk.refs
                    if first:
                        chunk.refs.add(ref)
                    if item[15]:
                        chunk.synthetic = True
                    if item[13]:
                        chunk.reversals = True
                    rows.append((seq, item[1], ref, first) + item[3:])
                elif isinstance(item, SectionStart):
                    sections[item.index] = _SectionState(item)
                else:
                    _check_balances(item)
                    state = sections[item.index]
                    if state.open is not None:
                        state.open.close()
                    state.end, state.open = item, None
            if len(rows) >= STAGE_COMMIT:  # written and committed at once: SQLite's write lock is held briefly
                raw.copy_rows(_STAGE, _STAGE_COLUMNS, rows)
                session.commit()
                rows = []
            if progress is not None:
                progress(min(position, size) // 2, size)  # reading is the first half of the work
    except (StatementError, ValueError) as exc:  # a value no reader should have let through: ValueError
        session.rollback()
        raise _refusal(exc) from None
    if rows:
        raw.copy_rows(_STAGE, _STAGE_COLUMNS, rows)
    for state in sections.values():  # a section the file did not end is filed all the same
        if state.open is not None:
            state.open.close()
    if postgresql:
        session.execute(text(f"ANALYZE {_STAGE}"))  # autovacuum never sees temporary tables
    session.commit()
    return list(sections.values())


def _run(session: Session, record: StatementImport, sections: list[_SectionState], resumed: bool,
         progress: Progress | None, size: int) -> ImportSummary:
    existing = {s.section_index: s for s in session.scalars(select(Statement).where(Statement.import_id == record.id))}
    total = sum(chunk.size for state in sections for chunk in state.chunks) or 1
    filed = 0
    for state in sections:
        start = state.start
        statement = existing.get(start.index)
        key = resolve_account(session, start.account, start.bank_bin)
        if statement is None:
            statement = Statement(import_id=record.id, section_index=start.index, account_number=start.account,
                                  bank_bin=key.bank_bin, account_id=key.account_id, currency=start.currency or "VND",
                                  statement_ref=(start.statement_ref or None) and start.statement_ref[:120],
                                  period_start=start.period_start, period_end=start.period_end,
                                  opening_balance=start.opening_balance)
            session.add(statement)
            session.commit()
        state.statement, state.bank_bin, state.account_id = statement, key.bank_bin, key.account_id
        for chunk in state.chunks:
            _flush(session, record, state, chunk)
            filed += chunk.size
            if progress is not None:
                progress(size // 2 + size * filed // (2 * total), size)
        if state.end is not None:
            _close_section(session, state, state.end)
    if progress is not None:
        progress(size, size)
    record.status = DONE
    record.balance_ok = bool(sections) and all(s.statement.balance_ok and s.statement.continuity_ok is not False
                                                for s in sections)
    record.entries = record.lines_done
    session.commit()
    results = {s.statement.id: (s.new, s.known) for s in sections}
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


def _flush(session: Session, record: StatementImport, state: _SectionState, chunk: _Chunk) -> None:
    """File one chunk of staged lines: new transactions created, known ones confirmed, lines
    written, set-based; the rare cases (lines without a bank reference that confirm a callback,
    reversals) line by line."""
    statement = state.statement
    dialect = session.get_bind().dialect.name
    raw = Raw(session)
    span = {"a": chunk.first, "b": chunk.last}
    paired: dict[str, tuple[int, int, str, bool]] = {}
    paired_lines: list[tuple] = []
    if chunk.synthetic:
        paired_lines = _pair_synthetic(session, state, raw.execute(
            f"SELECT seq, line_no, bank_ref, amount, direction, booked_on, content, pending FROM {_STAGE} "
            "WHERE seq BETWEEN :a AND :b AND synthetic_ref = :yes ORDER BY seq", {**span, "yes": True}), paired)
        if paired:  # filed one by one below, not by the set-based steps
            listed, params = raw.among("bank_ref", "p", sorted(paired))
            raw.execute(f"DELETE FROM {_STAGE} WHERE seq BETWEEN :a AND :b AND {listed}", {**span, **params})
    keys = {"bank_bin": state.bank_bin, "account": statement.account_number}
    now = _db_time(utcnow(), dialect)
    created = dict((ref, id_) for id_, ref in session.execute(text(
        "INSERT INTO bank_transactions (bank_bin, account_number, bank_ref, account_id, direction, amount, "
        "booked_at, booked_on, value_date, content, counter_account, counter_name, counter_bank, "
        "virtual_account, channels, first_channel, reversal, pending, on_statement, synthetic_ref, status, "
        "allocated, created_at) "
        "SELECT :bank_bin, :account, s.bank_ref, :account_id, s.direction, s.amount, s.booked_at, s.booked_on, "
        "s.value_date, s.content, s.counter_account, s.counter_name, s.counter_bank, s.virtual_account, "
        "'statement', 'statement', s.reversal, s.pending, :yes, s.synthetic_ref, "
        "CASE WHEN s.direction = 'in' THEN 'unmatched' ELSE 'ignored' END, 0, :now "
        f"FROM {_STAGE} s WHERE s.seq BETWEEN :a AND :b AND s.first_of_ref = :yes "
        "ON CONFLICT (bank_bin, account_number, bank_ref) DO NOTHING RETURNING id, bank_ref"),
        {**keys, **span, "account_id": state.account_id, "yes": True, "now": now}).all())
    if len(created) < chunk.distinct - len(paired):  # some were known: callbacks it confirms
        session.execute(text(
            "WITH known AS MATERIALIZED (SELECT t.id, s.booked_on, s.pending "
            f"{_staged_with_transactions(dialect)} AND s.first_of_ref = :yes AND t.on_statement = :no) "
            "UPDATE bank_transactions SET on_statement = :yes, booked_on = known.booked_on, pending = known.pending, "
            "channels = CASE WHEN bank_transactions.channels = '' THEN 'statement' "
            "ELSE bank_transactions.channels || ',statement' END "
            "FROM known WHERE bank_transactions.id = known.id"),
            {**keys, **span, "yes": True, "no": False})
    # The lines: set-based for the staged ones (the new ones are those created above, at this
    # chunk's own ``created_at``), one by one for the few paired lines.
    counts = session.execute(text(
        "INSERT INTO statement_lines (statement_id, line_no, transaction_id, booking_date, amount, direction, "
        "pending, is_new, differs) "
        "SELECT :statement_id, s.line_no, t.id, s.booked_on, s.amount, s.direction, s.pending, "
        "(s.first_of_ref = :yes AND t.created_at = :now AND t.first_channel = 'statement'), "
        "(NOT (s.first_of_ref = :yes AND t.created_at = :now AND t.first_channel = 'statement') "
        " AND (t.amount <> s.amount OR t.direction <> s.direction)) "
        f"{_staged_with_transactions(dialect)} RETURNING is_new"), {**keys, **span, "statement_id": statement.id, "yes": True, "now": now}).scalars().all()
    new = sum(1 for value in counts if value)
    state.new += new
    state.known += len(counts) - new
    lines = []
    for _seq, line_no, ref, amount, direction, booked_on, _content, pending in paired_lines:
        transaction_id, known_amount, known_direction, on_statement = paired[ref]
        if not on_statement:
            _confirm(session, transaction_id, booked_on, bool(pending))
            paired[ref] = (transaction_id, known_amount, known_direction, True)
        state.known += 1
        lines.append((statement.id, line_no, transaction_id, booked_on, amount, direction, bool(pending), False,
                      (known_amount, known_direction) != (amount, direction)))
    if lines:
        raw.copy_rows("statement_lines", ("statement_id", "line_no", "transaction_id", "booking_date", "amount",
                                          "direction", "pending", "is_new", "differs"), lines)
    if chunk.reversals:
        _link_reversals(session, state, [ref for (ref,) in raw.execute(
            f"SELECT bank_ref FROM {_STAGE} WHERE seq BETWEEN :a AND :b AND reversal = :yes", {**span, "yes": True})],
            created)
    record.lines_done += chunk.size
    session.commit()


def _staged_with_transactions(dialect: str) -> str:
    """The chunk's staged lines (``:a`` to ``:b``), each with its transaction, looked up by the
    unique key: 20,000 index probes. Left to choose, the planners walk the other way:
    SQLite looks every transaction of the account up in the stage, PostgreSQL hashes the
    whole table (a scan of every transaction for every chunk, 330 ms a chunk at a million,
    and, before autovacuum has counted a fast-growing table, a nested loop over it). So the
    order is fixed: ``CROSS JOIN`` (SQLite keeps it), a ``LATERAL`` subquery that ``OFFSET 0``
    keeps apart (PostgreSQL)."""
    if dialect == "postgresql":
        return (f"FROM {_STAGE} s CROSS JOIN LATERAL (SELECT t.id, t.amount, t.direction, t.created_at, "
                "t.first_channel, t.on_statement FROM bank_transactions t WHERE t.bank_bin = :bank_bin "
                "AND t.account_number = :account AND t.bank_ref = s.bank_ref OFFSET 0) t "
                "WHERE s.seq BETWEEN :a AND :b")
    return (f"FROM {_STAGE} s CROSS JOIN bank_transactions t WHERE s.seq BETWEEN :a AND :b "
            "AND t.bank_bin = :bank_bin AND t.account_number = :account AND t.bank_ref = s.bank_ref")


def _db_time(moment, dialect: str):
    return moment if dialect == "postgresql" else moment.astimezone(timezone.utc).replace(tzinfo=None)


def _confirm(session: Session, transaction_id: int, booked_on: date, pending: bool) -> None:
    table = BankTransaction.__table__
    session.execute(update(table).where(table.c.id == transaction_id).values(
        on_statement=True, booked_on=booked_on, pending=pending,
        channels=case((table.c.channels == "", "statement"), else_=table.c.channels + ",statement")))


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # SQLite hands back the text


def _pair_synthetic(session: Session, state: _SectionState, staged: list[tuple],
                    known: dict[str, tuple[int, int, str, bool]]) -> list[tuple]:
    """Lines without a bank reference confirm callbacks of the same day, amount, direction
    and content not yet on a statement (each callback at most once). ``staged``: (seq,
    line_no, reference, amount, direction, day, content, pending); returns those paired."""
    staged = [(*row[:5], _day(row[5]), *row[6:]) for row in staged]
    if not staged:
        return []
    table = BankTransaction.__table__
    days = {row[5] for row in staged}
    amounts = {row[3] for row in staged}
    candidates = session.execute(
        select(table.c.id, table.c.booked_on, table.c.amount, table.c.direction, table.c.content)
        .where(table.c.account_number == state.statement.account_number, table.c.on_statement.is_(False),
               table.c.synthetic_ref.is_(False), table.c.booked_on.in_(days), table.c.amount.in_(amounts))).all()
    taken: set[int] = set()
    for _seq, _line, ref, amount, direction, day, content, _pending in staged:
        for row in candidates:
            if row.id in taken or row.amount != amount or row.direction != direction:
                continue
            if row.booked_on == day and _same_content(row.content, content):
                taken.add(row.id)
                known[ref] = (row.id, row.amount, row.direction, False)
                break
    return [row for row in staged if row[2] in known]


def _link_reversals(session: Session, state: _SectionState, refs: list[str], created: dict[str, int]) -> None:
    table = BankTransaction.__table__
    for ref in refs:
        if ref not in created:
            continue
        original = session.scalar(select(table.c.id).where(
            table.c.bank_bin == state.bank_bin, table.c.account_number == state.statement.account_number,
            table.c.bank_ref == ref[:-len(REVERSAL_SUFFIX)], table.c.reversal.is_(False)))
        if original is not None:
            session.execute(update(table).where(and_(table.c.id == created[ref])).values(reversal_of_id=original))


def statement_days(session: Session, statement: Statement) -> list[date]:
    rows = session.scalars(select(StatementLine.booking_date).where(StatementLine.statement_id == statement.id)
                           .distinct().order_by(StatementLine.booking_date))
    return list(rows)


__all__ = ["ImportSummary", "SectionSummary", "import_statement", "IN"]
