"""The simulated bank's books: balances, Indochina days, unique references, and several
processes writing at once."""
from __future__ import annotations

import json
import multiprocessing
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from simulator.ledger import DEFAULT_OPENING_BALANCE, Ledger
from bank_adapters.transfers import BankTransfer

ACCOUNT = "113000012345"


def transfer(ref: str, amount: int, when: datetime, direction: str = "in", account: str = ACCOUNT) -> BankTransfer:
    return BankTransfer(account=account, bank_ref=ref, amount=amount, direction=direction, booked_at=when,
                        content=f"IBFT HS7K2M9QXAS {ref}", bank_bin="970415", counter_account="0011001234567",
                        counter_name="NGUYEN VAN A", counter_bank="970436", extra={"note": "x"})


def ict(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment on 2026-11-<day> at hour:minute Indochina Time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone(timedelta(hours=7))).astimezone(timezone.utc)


def test_record_keeps_a_running_balance(tmp_path):
    ledger = Ledger(tmp_path)
    first = ledger.record(transfer("FT1", 1_500_000, ict(25, 9)))
    second = ledger.record(transfer("FT2", 200_000, ict(25, 10), direction="out"))
    assert first.balance_after == DEFAULT_OPENING_BALANCE + 1_500_000
    assert second.balance_after == DEFAULT_OPENING_BALANCE + 1_300_000
    assert ledger.opening(ACCOUNT) == 125_000_000


def test_books_are_json_lines_outside_any_database(tmp_path):
    ledger = Ledger(tmp_path / "simbank")
    ledger.record(transfer("FT1", 1000, ict(25, 9)))
    lines = (tmp_path / "simbank" / f"{ACCOUNT}.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["opening_balance"] == DEFAULT_OPENING_BALANCE
    assert json.loads(lines[1])["bank_ref"] == "FT1"
    assert ledger.accounts() == [ACCOUNT]


def test_opening_balance_per_account(tmp_path):
    ledger = Ledger(tmp_path, opening_balance=0, opening_balances={"203405314187": 5_000_000})
    assert ledger.opening("203405314187") == 5_000_000
    assert ledger.opening(ACCOUNT) == 0


def test_transfers_come_back_whole(tmp_path):
    ledger = Ledger(tmp_path)
    booked = ledger.record(transfer("FT1", 1000, ict(25, 9)))
    assert ledger.all_transfers(ACCOUNT) == [booked]
    assert ledger.all_transfers(ACCOUNT)[0].counter_name == "NGUYEN VAN A"
    assert ledger.all_transfers(ACCOUNT)[0].extra == {"note": "x"}


def test_days_are_indochina_days(tmp_path):
    ledger = Ledger(tmp_path)
    late = ledger.record(transfer("FT-LATE", 100, ict(25, 23, 50)))      # 16:50 UTC on the 25th
    early = ledger.record(transfer("FT-EARLY", 10, ict(26, 0, 10)))      # 17:10 UTC, still the 25th in UTC
    before = ledger.record(transfer("FT-BEFORE", 1, ict(24, 12)))
    assert ledger.transfers(ACCOUNT, date(2026, 11, 25), date(2026, 11, 25)) == [late]
    assert ledger.transfers(ACCOUNT, date(2026, 11, 26), date(2026, 11, 26)) == [early]
    assert ledger.transfers(ACCOUNT, date(2026, 11, 24), date(2026, 11, 26)) == [before, late, early]
    assert ledger.balance_before(ACCOUNT, date(2026, 11, 24)) == DEFAULT_OPENING_BALANCE
    assert ledger.balance_before(ACCOUNT, date(2026, 11, 25)) == DEFAULT_OPENING_BALANCE + 1
    assert ledger.balance_before(ACCOUNT, date(2026, 11, 26)) == DEFAULT_OPENING_BALANCE + 101
    assert ledger.closing_balance(ACCOUNT, date(2026, 11, 26)) == DEFAULT_OPENING_BALANCE + 111


def test_a_day_proves_its_balance(tmp_path):
    ledger = Ledger(tmp_path)
    for i, (amount, direction) in enumerate([(1_500_000, "in"), (28_000, "in"), (300_000, "out"), (8_000, "in")]):
        ledger.record(transfer(f"FT{i}", amount, ict(25, 8 + i), direction))
    day = date(2026, 11, 25)
    entries = ledger.transfers(ACCOUNT, day, day)
    net = sum(t.amount if t.direction == "in" else -t.amount for t in entries)
    assert ledger.balance_before(ACCOUNT, day) + net == ledger.closing_balance(ACCOUNT, day)
    assert entries[-1].balance_after == ledger.closing_balance(ACCOUNT, day)


def test_a_reference_is_booked_once(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.record(transfer("FT1", 1000, ict(25, 9)))
    with pytest.raises(ValueError, match="already"):
        ledger.record(transfer("FT1", 1000, ict(25, 9)))
    ledger.record(transfer("FT1", 1000, ict(25, 9), account="999000111"))  # another account may


def test_account_names_cannot_escape_the_directory(tmp_path):
    with pytest.raises(ValueError):
        Ledger(tmp_path).record(replace(transfer("FT1", 1, ict(25, 9)), account="../../etc/passwd"))


def test_new_bank_refs_are_realistic_and_unique(tmp_path):
    ledger = Ledger(tmp_path)
    refs = [ledger.new_bank_ref("970415", ict(25, 9)) for _ in range(3000)]
    assert len(set(refs)) == 3000
    assert all(re.fullmatch(r"FT26329[0-9]{9}", ref) for ref in refs)  # 25 Nov 2026 is day 329
    assert len({ref[-3:] for ref in refs}) > 500  # they do not look sequential
    assert ledger.new_bank_ref("970415", ict(26, 0, 5)).startswith("FT26330")  # the Indochina day
    with pytest.raises(ValueError):
        ledger.new_bank_ref("VCB", ict(25, 9))


def _worker(root: str, worker: int, count: int, queue) -> None:
    ledger = Ledger(root)
    refs = []
    for i in range(count):
        ref = ledger.new_bank_ref("970415", ict(25, 9))
        refs.append(ref)
        ledger.record(transfer(ref, 1000 + worker, ict(25, 9, i % 60)))
    queue.put(refs)


def test_several_processes_write_at_once(tmp_path):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(str(tmp_path), n, 150, queue)) for n in range(3)]
    for process in workers:
        process.start()
    refs = [ref for _ in workers for ref in queue.get(timeout=60)]
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(refs) == len(set(refs)) == 450
    ledger = Ledger(tmp_path)
    booked = ledger.all_transfers(ACCOUNT)
    assert sorted(t.bank_ref for t in booked) == sorted(refs)
    expected = DEFAULT_OPENING_BALANCE + 150 * (1000 + 1001 + 1002)
    assert booked[-1].balance_after == expected
    assert ledger.closing_balance(ACCOUNT, date(2026, 11, 25)) == expected
    balances = [t.balance_after for t in booked]
    assert len(set(balances)) == 450  # each append saw the one before it
