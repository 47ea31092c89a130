#!/usr/bin/env python3
"""Merge the English translations written beside the catalogue (``translations/pending/*.po``)
into ``translations/en/LC_MESSAGES/messages.po`` and compile it.

Several people can add pages at once without rewriting the same file: each writes its own
pending file (msgid in Vietnamese, msgstr in English); this merge holds a lock while it
rewrites the catalogue, adds or updates those entries, and leaves every other entry as it was.

    .venv/bin/python scripts/merge_translations.py [--remove-pending]
"""
from __future__ import annotations

import fcntl
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PENDING = ROOT / "translations" / "pending"


def main() -> int:
    remove = "--remove-pending" in sys.argv
    with open(CATALOGUE.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with CATALOGUE.open("rb") as handle:
            catalogue = read_po(handle, locale="en")
        merged = 0
        for path in sorted(PENDING.glob("*.po")):
            with path.open("rb") as handle:
                pending = read_po(handle, locale="en")
            for message in pending:
                if not message.id:
                    continue
                existing = catalogue.get(message.id, message.context)
                if existing is None:
                    catalogue.add(message.id, message.string, locations=message.locations, flags=message.flags,
                                  context=message.context)
                elif message.string:
                    existing.string = message.string
                    existing.flags.discard("fuzzy")
                merged += 1
            if remove:
                path.unlink()
        with CATALOGUE.open("wb") as handle:
            write_po(handle, catalogue, width=100)
        with CATALOGUE.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue)
    print(f"merged {merged} entries into {CATALOGUE.relative_to(ROOT)} and compiled it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
