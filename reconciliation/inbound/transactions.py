"""Bank transactions: one row per real transfer, whichever channel brought it first.

``record_transfer`` is the only way a callback's transfer becomes a row. It relies on the
unique key ``(bank_bin, account_number, bank_ref)`` and ``INSERT ... ON CONFLICT DO
NOTHING``: two deliveries of the same transfer racing each other (the bank retrying while
the first is in flight, a webhook and a statement at once) end as one row on SQLite and on
PostgreSQL, the loser seeing the winner's row.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session

from bank_adapters.transfers import IN, BankTransfer
from core.clock import ict_day, utcnow
from core.rawsql import Raw, json_value
from core.versions import changed_here, mark_changed, version
from payments.models import CollectionAccount

from reconciliation.models import BankTransaction


@dataclass(frozen=True)
class AccountKey:
    bank_bin: str           # '' when unknown
    account_id: int | None  # None: not one of our collection accounts


_accounts: dict[str, Any] = {"version": None, "url": None, "by_number": {}, "agency_of": {}}
_ACCOUNTS = CollectionAccount.__tablename__


def _read_accounts(session: Session) -> tuple[dict[str, list[tuple[int, str]]], dict[int, int]]:
    table = CollectionAccount.__table__
    found: dict[str, list[tuple[int, str]]] = {}
    agency_of: dict[int, int] = {}
    for account_id, number, bank_bin, agency_id in session.connection().execute(
            select(table.c.id, table.c.number, table.c.bank_bin, table.c.agency_id)):
        found.setdefault(number, []).append((account_id, bank_bin))
        agency_of[account_id] = agency_id
    return found, agency_of


def _known_accounts(session: Session) -> tuple[dict[str, list[tuple[int, str]]], dict[int, int]]:
    """Our collection accounts, cached per process and read again when ``collection_accounts``
    changed (``core.versions``: every callback asks)."""
    if changed_here(session, _ACCOUNTS):
        return _read_accounts(session)  # this transaction's own change: not for the others
    url = str(session.get_bind().engine.url)  # a Session may be bound to a Connection
    current = version(session, _ACCOUNTS)  # before the rows: see core.versions
    if current is None or _accounts["url"] != url or _accounts["version"] != current:
        found, agency_of = _read_accounts(session)
        _accounts.update(version=current, url=url, by_number=found, agency_of=agency_of)
    return _accounts["by_number"], _accounts["agency_of"]


def accounts_by_number(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Our collection accounts by number ((id, bank BIN) pairs)."""
    return _known_accounts(session)[0]


def agency_of_accounts(session: Session) -> dict[int, int]:
    """The agency of each of our collection accounts (same cache as ``accounts_by_number``)."""
    return _known_accounts(session)[1]


def forget_accounts() -> None:
    """Drop this process's copy: the next callback reads the accounts again."""
    _accounts["version"] = None


def resolve_account(session: Session, number: str, bank_bin: str | None) -> AccountKey:
    """Which of our collection accounts ``number`` is (at ``bank_bin`` when the channel says
    which bank). An account that is not ours keeps the bank the channel named, or ''."""
    rows = accounts_by_number(session).get(number, [])
    if bank_bin:
        for account_id, account_bin in rows:
            if account_bin == bank_bin:
                return AccountKey(bank_bin, account_id)
    if len(rows) == 1:
        # Ours, whatever bank name the channel wrote: the key must be the one a statement of
        # this account will give, or the same transfer would be stored twice.
        return AccountKey(rows[0][1], rows[0][0])
    return AccountKey(bank_bin or "", None)  # not ours, or one number at two of our banks: a person decides


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any], conflict: list[str],
                             returning: str = "id") -> Any:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING <returning>``: the new row's
    value, or None when the row existed (or was being inserted by a transaction that has
    since committed)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(
        table.c[returning])
    return session.execute(statement).scalar()


@dataclass
class Recorded:
    transaction: Any  # the stored row: an ORM object, or (new) the values just inserted, with its id
    created: bool
    differences: dict[str, Any] | None = None

    @property
    def known_account(self) -> bool:
        return self.transaction.account_id is not None


def transaction_values(transfer: BankTransfer, key: AccountKey, channel: str) -> dict[str, Any]:
    return {
        "bank_bin": key.bank_bin,
        "account_number": transfer.account,
        "bank_ref": transfer.bank_ref,
        "account_id": key.account_id,
        "direction": transfer.direction,
        "amount": transfer.amount,
        "booked_at": transfer.booked_at,
        "booked_on": ict_day(transfer.booked_at),
        "value_date": transfer.value_date,
        "content": transfer.content or "",
        "counter_account": (transfer.counter_account or None) and transfer.counter_account[:40],
        "counter_name": (transfer.counter_name or None) and transfer.counter_name[:200],
        "counter_bank": (transfer.counter_bank or None) and transfer.counter_bank[:60],
        "virtual_account": (transfer.virtual_account or None) and transfer.virtual_account[:40],
        "channels": channel,
        "first_channel": channel,
        "reversal": transfer.reversal,
        "pending": transfer.pending,
        # Money out is recorded and never matched to a dossier.
        "status": "unmatched" if transfer.direction == IN else "ignored",
        "allocated": 0,
        "created_at": utcnow(),
    }


def differences(transaction: BankTransaction, transfer: BankTransfer) -> dict[str, Any] | None:
    """What a later report of the same key says otherwise (a forged or corrected report)."""
    found = {}
    if transaction.amount != transfer.amount:
        found["amount"] = {"stored": transaction.amount, "reported": transfer.amount}
    if transaction.direction != transfer.direction:
        found["direction"] = {"stored": transaction.direction, "reported": transfer.direction}
    return found or None


def add_channel(transaction: BankTransaction, channel: str) -> None:
    if channel not in transaction.channel_list:
        transaction.channels = ",".join([*transaction.channel_list, channel])


_INSERT_TRANSACTION = (
    "INSERT INTO bank_transactions (bank_bin, account_number, bank_ref, account_id, direction, amount, booked_at, "
    "booked_on, value_date, content, counter_account, counter_name, counter_bank, virtual_account, channels, "
    "first_channel, reversal, pending, on_statement, synthetic_ref, status, allocated, created_at) VALUES "
    "(:bank_bin, :account_number, :bank_ref, :account_id, :direction, :amount, :booked_at, :booked_on, :value_date, "
    ":content, :counter_account, :counter_name, :counter_bank, :virtual_account, :channels, :first_channel, "
    ":reversal, :pending, :on_statement, :synthetic_ref, :status, :allocated, :created_at) "
    "ON CONFLICT (bank_bin, account_number, bank_ref) DO NOTHING RETURNING id")


def record_transfer(session: Session, transfer: BankTransfer, channel: str, *, journal_id: int | None = None,
                    event_id: str | None = None) -> Recorded:
    """Store ``transfer`` once and note that ``channel`` reported it. Flushes, never commits."""
    return record_transfers(session, [(transfer, channel, journal_id, event_id)])[0]


def record_transfers(session: Session, reports: list[tuple[BankTransfer, str, int | None, str | None]]
                     ) -> list[Recorded]:
    """``record_transfer`` for several ``(transfer, channel, journal_id, event_id)`` at once
    (a group commit's callbacks), in order: the same transfer twice is stored once and seen
    again. Flushes, never commits."""
    keys = [resolve_account(session, transfer.account, transfer.bank_bin) for transfer, *_ in reports]
    values = [transaction_values(transfer, key, channel) for (transfer, channel, *_), key in zip(reports, keys)]
    session.flush()  # what the ORM holds goes first: the next statements bypass it
    raw = Raw(session)
    inserted = raw.returning_many(_INSERT_TRANSACTION, [{**v, "on_statement": False, "synthetic_ref": False}
                                                        for v in values])
    recorded, sightings = [], []
    for (transfer, channel, journal_id, event_id), key, fields, row in zip(reports, keys, values, inserted):
        if row is not None:
            # What was just inserted, without reading it back (a callback's fast path).
            transaction, found = SimpleNamespace(id=row[0], **fields), None
        else:
            query = select(BankTransaction).where(BankTransaction.bank_bin == key.bank_bin,
                                                  BankTransaction.account_number == transfer.account,
                                                  BankTransaction.bank_ref == transfer.bank_ref)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(of=BankTransaction)  # SQLite's BEGIN IMMEDIATE already serialises
            transaction = session.scalars(query).one()
            found = differences(transaction, transfer)
            add_channel(transaction, channel)
            if not transaction.content and transfer.content:
                transaction.content = transfer.content  # a statement may have dropped what a callback carried
            session.flush()
        sightings.append({"t": transaction.id, "c": channel, "j": journal_id, "e": event_id, "at": utcnow(),
                          "d": json_value(found)})
        recorded.append(Recorded(transaction, row is not None, found))
    raw.executemany("INSERT INTO transaction_sightings (transaction_id, channel, journal_id, event_id, seen_at, "
                    "differences) VALUES (:t, :c, :j, :e, :at, :d)", sightings)
    return recorded


@event.listens_for(CollectionAccount, "after_insert")
@event.listens_for(CollectionAccount, "after_update")
@event.listens_for(CollectionAccount, "after_delete")
def _accounts_changed(_mapper, _connection, target) -> None:
    # This transaction reads its own change uncached; the others see the counter move at commit.
    session = object_session(target)
    if session is not None:
        mark_changed(session, _ACCOUNTS)
