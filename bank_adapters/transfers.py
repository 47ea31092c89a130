"""The normalised shape every channel's news of money is turned into.

A :class:`BankTransfer` is one movement on one account as one channel reported it. Whatever
brought it (a payOS, SePay, direct-bank or portal callback, a statement line), the service
keys it on ``(bank_bin, account, bank_ref)``: the same real transfer seen twice is the same
key, and the database holds it once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

IN = "in"
OUT = "out"
DIRECTIONS = (IN, OUT)


@dataclass(frozen=True, slots=True)
class BankTransfer:
    """One movement on an account, normalised. Amounts are whole đồng, always positive;
    ``direction`` says which way the money went (``in`` = credit to the account)."""

    account: str                 # the account the bank credited or debited (our collection account)
    bank_ref: str                # the bank's own transaction reference
    amount: int                  # whole đồng, > 0
    direction: str               # IN | OUT
    booked_at: datetime          # aware, UTC
    content: str = ""            # the transfer content as delivered ("" when the bank dropped it)
    bank_bin: str | None = None  # BIN of the bank that holds ``account``, when the channel says it
    counter_account: str | None = None
    counter_name: str | None = None
    counter_bank: str | None = None  # the payer's bank (BIN or name), when known
    virtual_account: str | None = None
    value_date: date | None = None
    reversal: bool = False       # reverses an earlier entry (statements only)
    pending: bool = False        # not booked yet (camt.053 ``PDNG``): recorded, not counted
    balance_after: int | None = None  # the account balance after it, when the channel says it
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"amount must be a positive whole number of đồng, not {self.amount!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'in' or 'out', not {self.direction!r}")
        if self.booked_at.tzinfo is None:
            raise ValueError("booked_at must be an aware datetime")
        if not self.bank_ref:
            raise ValueError("a bank transfer needs the bank's reference")
        if not self.account:
            raise ValueError("a bank transfer needs the account")
