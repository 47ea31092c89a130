"""Seeding: each package registers what it loads; ``flask seed`` runs them in order.

Every seeder is idempotent: running ``seed`` twice changes nothing the second time.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session

Seeder = Callable[[Session, Callable[[str], None]], None]
_SEEDERS: list[tuple[int, str, Seeder]] = []


def register_seeder(order: int, name: str, seeder: Seeder) -> None:
    if all(existing != name for _, existing, _ in _SEEDERS):
        _SEEDERS.append((order, name, seeder))


def run_seeders(session: Session, echo: Callable[[str], None]) -> None:
    for _, name, seeder in sorted(_SEEDERS, key=lambda item: item[0]):
        echo(f"seed: {name}")
        seeder(session, echo)
