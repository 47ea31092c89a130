"""Agencies and their collection accounts: seeded from ``data/agencies.csv`` and ``data/accounts.csv``."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from qr.banks import by_bin

from .models import Agency, CollectionAccount
from .receipts import series_pattern

DATA = Path(__file__).with_name("data")
_AGENCY_FIELDS = ("name", "name_en", "kind", "parent_code", "dossier_unit_id", "tax_code", "receipt_form",
                  "receipt_series")


def _opt(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def seed_agencies(session: Session, echo) -> None:
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    created = 0
    with (DATA / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            agency = agencies.get(row["code"])
            if agency is None:
                agency = Agency(code=row["code"])
                session.add(agency)
                agencies[agency.code] = agency
                created += 1
            for name in _AGENCY_FIELDS:
                setattr(agency, name, _opt(row[name]))
            if agency.receipt_series is not None:  # stored as a pattern: the year goes where YY is
                try:
                    agency.receipt_series = series_pattern(agency.receipt_series, agency.code)
                except ValueError as exc:
                    raise ValidationError(f"agencies.csv, {agency.code}: {exc}") from exc
            agency.active_from = date.fromisoformat(row["active_from"]) if row["active_from"] else None
            agency.active_to = date.fromisoformat(row["active_to"]) if row["active_to"] else None
    session.flush()
    existing = {(a.bank_bin, a.number) for a in session.scalars(select(CollectionAccount))}
    added = 0
    with (DATA / "accounts.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if (row["bank_bin"], row["number"]) in existing:
                continue
            if by_bin(row["bank_bin"]) is None:
                raise ValidationError(f"accounts.csv: unknown bank BIN {row['bank_bin']}")
            session.add(CollectionAccount(agency_id=agencies[row["agency_code"]].id, bank_bin=row["bank_bin"],
                                          number=row["number"], holder_name=row["holder_name"],
                                          is_default=row["is_default"] == "yes"))
            added += 1
    echo(f"  agencies: {created} new ({len(agencies)} in all); collection accounts: {added} new")


def get_agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"no agency with code {code!r}")
    return agency


def default_account(agency: Agency) -> CollectionAccount:
    active = [a for a in agency.accounts if a.active]
    for account in active:
        if account.is_default:
            return account
    if active:
        return active[0]
    raise ValidationError(f"agency {agency.code} has no active collection account")
