"""The NAPAS bank directory (``banks.csv``, copied from the shared data), looked up by BIN,
code or short name, including the names banks had before their recent renames."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CSV = Path(__file__).with_name("banks.csv")


@dataclass(frozen=True)
class Bank:
    bin: str
    code: str
    short_name: str
    name: str
    former_short_name: str | None = None


@lru_cache(maxsize=1)
def all_banks() -> tuple[Bank, ...]:
    with _CSV.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Bank(
                bin=row["bin"].strip(),
                code=row["code"].strip(),
                short_name=row["short_name"].strip(),
                name=row["name"].strip(),
                former_short_name=(row.get("former_short_name") or "").strip() or None,
            )
            for row in csv.DictReader(handle)
        )


@lru_cache(maxsize=1)
def _index() -> dict[str, Bank]:
    index: dict[str, Bank] = {}
    for bank in all_banks():
        for key in (bank.code, bank.short_name, bank.former_short_name):
            if key:
                index.setdefault(_norm(key), bank)
    for bank in all_banks():  # a BIN always wins over a name
        index[bank.bin] = bank
    return index


def _norm(key: str) -> str:
    return "".join(key.split()).upper()


def by_bin(bin_: str) -> Bank | None:
    return _index().get(bin_.strip()) if bin_.strip().isdigit() else None


def lookup(key: str) -> Bank | None:
    """A bank by BIN (``970415``), code (``ICB``) or short name (``VietinBank``, ``LienVietPostBank``)."""
    return _index().get(_norm(key)) if key and key.strip() else None
