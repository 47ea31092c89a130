"""The simulated bank's own books, kept outside the service's database.

The simulator plays another organisation: what its bank booked must not live in the
service's tables, or a test could never catch the service losing a transfer. Each account
is an append-only JSON-lines file in a directory of its own (by default
``instance/simbank/``); the first line is the account's opening balance, every further line
one booked transfer with the balance after it. Every transfer the simulated bank makes is
recorded here, whether or not its callback is ever delivered, so that the end-of-day
statement shows the transfers that never produced a callback.

Several simulator processes may write at once: appends (and the reference counter) hold an
exclusive ``fcntl.flock`` on the file they change, reads a shared one.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from dataclasses import asdict, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from core.clock import ICT, ict_day, ict_day_bounds, utcnow

from bank_adapters.transfers import IN, BankTransfer

DEFAULT_DIR = Path("instance") / "simbank"
DEFAULT_OPENING_BALANCE = 125_000_000
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,34}")
_REF_DIGITS = 9
_REF_SPACE = 10**_REF_DIGITS
# A per-day permutation of the counter (multiplier coprime to 10^9) makes references look
# random while staying unique.
_REF_MULTIPLIER = 387_420_489  # 3^18


class _Locked:
    """An open file under ``flock`` for the ``with`` block."""

    def __init__(self, path: Path, mode: str, lock: int) -> None:
        self.path, self.mode, self.lock = path, mode, lock

    def __enter__(self):
        self.handle = open(self.path, self.mode, encoding="utf-8")
        fcntl.flock(self.handle.fileno(), self.lock)
        return self.handle

    def __exit__(self, *exc: object) -> None:
        try:
            self.handle.flush()
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        finally:
            self.handle.close()


def transfer_to_json(transfer: BankTransfer) -> dict[str, Any]:
    data = asdict(transfer)
    data["booked_at"] = transfer.booked_at.isoformat()
    data["value_date"] = transfer.value_date.isoformat() if transfer.value_date else None
    try:
        json.dumps(data["extra"])
    except (TypeError, ValueError):
        data["extra"] = {}
    return data


def transfer_from_json(data: dict[str, Any]) -> BankTransfer:
    data = dict(data)
    data["booked_at"] = datetime.fromisoformat(data["booked_at"])
    data["value_date"] = date.fromisoformat(data["value_date"]) if data.get("value_date") else None
    return BankTransfer(**data)


class Ledger:
    """The books of the simulated bank under ``root``.

    ``opening_balances`` sets an account's opening balance when its file is created (the
    first time it is written or read); other accounts open with ``opening_balance``.
    """

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_DIR, *,
                 opening_balance: int = DEFAULT_OPENING_BALANCE,
                 opening_balances: dict[str, int] | None = None) -> None:
        self.root = Path(root)
        self.opening_balance = opening_balance
        self.opening_balances = dict(opening_balances or {})

    # -- files ------------------------------------------------------------------------------

    def _path(self, account: str) -> Path:
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"account {account!r} must be 1 to 34 letters or digits")
        return self.root / f"{account}.jsonl"

    def _ensure(self, account: str) -> Path:
        path = self._path(account)
        if path.exists() and path.stat().st_size:
            return path
        self.root.mkdir(parents=True, exist_ok=True)
        with _Locked(path, "a", fcntl.LOCK_EX) as handle:
            if handle.tell() == 0:  # a concurrent creator may have written it meanwhile
                opening = self.opening_balances.get(account, self.opening_balance)
                handle.write(json.dumps({"opening_balance": opening, "account": account,
                                         "created_at": utcnow().isoformat()}) + "\n")
        return path

    def _lines(self, account: str) -> Iterator[dict[str, Any]]:
        path = self._ensure(account)
        with _Locked(path, "r", fcntl.LOCK_SH) as handle:
            lines = handle.readlines()
        for line in lines:
            if line.endswith("\n"):  # a line being written by another process is not read half
                yield json.loads(line)

    # -- the books --------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(path.stem for path in self.root.glob("*.jsonl"))

    def opening(self, account: str) -> int:
        """The account's opening balance (before everything it ever booked)."""
        return int(next(self._lines(account))["opening_balance"])

    def record(self, transfer: BankTransfer) -> BankTransfer:
        """Book ``transfer`` on its account; returns it with ``balance_after`` (the balance in
        the order of recording). The bank books each of its references once."""
        path = self._ensure(transfer.account)
        with _Locked(path, "a+", fcntl.LOCK_EX) as handle:
            handle.seek(0)
            last = ""
            for line in handle:
                if not line.endswith("\n"):
                    continue
                last = line
                if transfer.bank_ref in line and json.loads(line).get("bank_ref") == transfer.bank_ref:
                    raise ValueError(f"{transfer.bank_ref} is booked on {transfer.account} already")
            state = json.loads(last)
            before = int(state["balance_after"] if "bank_ref" in state else state["opening_balance"])
            signed = transfer.amount if transfer.direction == IN else -transfer.amount
            booked = replace(transfer, balance_after=before + signed)
            handle.write(json.dumps(transfer_to_json(booked), ensure_ascii=False) + "\n")
        return booked

    def all_transfers(self, account: str) -> list[BankTransfer]:
        """Everything booked on ``account``, in the order of recording."""
        return [transfer_from_json(line) for line in self._lines(account) if "bank_ref" in line]

    def transfers(self, account: str, day_from: date, day_to: date) -> list[BankTransfer]:
        """Transfers booked on the Indochina days ``day_from`` to ``day_to`` (both included),
        in booking order (the order of recording among equal times)."""
        start, _ = ict_day_bounds(day_from)
        _, end = ict_day_bounds(day_to)
        chosen = [t for t in self.all_transfers(account) if start <= t.booked_at < end]
        return sorted(chosen, key=lambda t: t.booked_at)

    def balance_before(self, account: str, day: date) -> int:
        """Opening balance plus everything booked before the Indochina day ``day``."""
        start, _ = ict_day_bounds(day)
        balance = 0
        opening = None
        for line in self._lines(account):
            if "opening_balance" in line:
                opening = int(line["opening_balance"])
                continue
            transfer = transfer_from_json(line)
            if transfer.booked_at < start:
                balance += transfer.amount if transfer.direction == IN else -transfer.amount
        return (opening or 0) + balance

    def closing_balance(self, account: str, day: date) -> int:
        """The closing balance of the Indochina day ``day``."""
        return self.balance_before(account, date.fromordinal(day.toordinal() + 1))

    def new_bank_ref(self, bank_bin: str, when: datetime | None = None) -> str:
        """A fresh transaction reference like ``FT26329000123456`` (``FT`` + yyddd of the
        Indochina day + 9 digits): unique per bank and day across processes, random-looking."""
        if not re.fullmatch(r"[0-9]{6}", bank_bin or ""):
            raise ValueError(f"bank BIN must be 6 digits, not {bank_bin!r}")
        moment = when or utcnow()
        day = ict_day(moment)
        self.root.mkdir(parents=True, exist_ok=True)
        counter = self.root / f"_refs-{bank_bin}.json"
        with _Locked(counter, "a+", fcntl.LOCK_EX) as handle:
            handle.seek(0)
            text = handle.read()
            state = json.loads(text) if text.strip() else {}
            key = day.isoformat()
            if key not in state:
                state[key] = {"next": 0, "offset": secrets.randbelow(_REF_SPACE)}
            serial = state[key]["next"]
            if serial >= _REF_SPACE:
                raise RuntimeError(f"bank {bank_bin} has used every reference of {key}")
            state[key]["next"] = serial + 1
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state))
        number = (serial * _REF_MULTIPLIER + state[key]["offset"]) % _REF_SPACE
        stamp = moment.astimezone(ICT)
        return f"FT{stamp:%y}{stamp.timetuple().tm_yday:03d}{number:0{_REF_DIGITS}d}"
