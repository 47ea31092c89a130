"""The fee rules as data: ``data/fee-rules.csv`` in, the ``fee_rules`` table, a CSV out.

Importing is an upsert by rule code, all or nothing: a bad row refuses the whole file,
naming the line; the same file twice changes nothing. The export writes the same columns
(so it can be corrected and imported again) with ``confirmed`` saying, per rule, whether its
facts were checked against a published text.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.money import MoneyError, to_vnd

from . import fee_rules
from .fee_rules import Rule
from .models import FeeLawRule

DATA = Path(__file__).with_name("data")
COLUMNS = ("code", "name_vi", "name_en", "effect", "amount", "percent", "valid_from", "valid_to", "channel", "ground",
           "child_under_14", "vneid_level2", "field", "kind", "fee_codes", "legal_basis", "confirmed")
_YES = ("yes", "true", "1", "có")
_NO = ("no", "false", "0", "không")
_FIELDS = ("name", "name_en", "effect", "amount", "percent", "valid_from", "valid_to", "channel", "ground",
           "child_under_14", "vneid_level2", "field", "kind", "fee_codes", "legal_basis", "confirmed")


@dataclass
class RulesImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        return f"fee rules: {self.created} new, {self.updated} changed, {self.unchanged} unchanged"


def _error(line: int, message: str) -> ValidationError:
    return ValidationError(f"fee rules line {line}: {message}")


def _flag(value: str, line: int, column: str) -> bool | None:
    text = value.strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _error(line, f"{column} must be yes, no or empty, got {value!r}")


def _day(value: str, line: int, column: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _error(line, f"{column} {value!r} is not YYYY-MM-DD") from None


def _whole(value: str, line: int, column: str) -> int | None:
    if not value.strip():
        return None
    try:
        return to_vnd(value)
    except MoneyError as exc:
        raise _error(line, f"{column}: {exc}") from None


def parse_rules(text: str) -> list[dict]:
    """The rows of a rules CSV as the columns of ``fee_rules``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"fee rules file is missing columns: {', '.join(missing)}")
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not row["code"] or not row["name_vi"]:
            raise _error(line, "code and name_vi are required")
        if len(row["code"]) > 40:
            raise _error(line, "code is longer than 40 characters")
        if row["code"] in seen:
            raise _error(line, f"rule {row['code']} appears twice")
        seen.add(row["code"])
        values = {
            "code": row["code"], "name": row["name_vi"], "name_en": row["name_en"] or None, "effect": row["effect"],
            "amount": _whole(row["amount"], line, "amount"), "percent": _whole(row["percent"], line, "percent"),
            "valid_from": _day(row["valid_from"], line, "valid_from"),
            "valid_to": _day(row["valid_to"], line, "valid_to"),
            "channel": row["channel"] or None, "ground": row["ground"] or None,
            "child_under_14": _flag(row["child_under_14"], line, "child_under_14"),
            "vneid_level2": _flag(row["vneid_level2"], line, "vneid_level2"),
            "field": row["field"] or None, "kind": row["kind"] or None,
            "fee_codes": " ".join(sorted(set(row["fee_codes"].replace(",", " ").split()))),
            "legal_basis": row["legal_basis"],
            "confirmed": bool(_flag(row["confirmed"], line, "confirmed")),
            "position": line - 2,
        }
        problems = fee_rules.check_rule(as_rule(values))
        if problems:
            raise _error(line, "; ".join(problems))
        rows.append(values)
    return rows


def as_rule(values) -> Rule:
    """A pure rule from a table row or a parsed CSV row."""
    get = (lambda k: values[k]) if isinstance(values, dict) else (lambda k: getattr(values, k))
    return Rule(code=get("code"), name=get("name"), effect=get("effect"), legal_basis=get("legal_basis"),
                confirmed=get("confirmed"), valid_from=get("valid_from"), valid_to=get("valid_to"),
                amount=get("amount"), percent=get("percent"), channel=get("channel"), ground=get("ground"),
                child_under_14=get("child_under_14"), vneid_level2=get("vneid_level2"), field=get("field"),
                kind=get("kind"), fee_codes=frozenset((get("fee_codes") or "").split()))


def import_rules(session: Session, text: str) -> RulesImport:
    rows = parse_rules(text)
    existing = {r.code: r for r in session.scalars(select(FeeLawRule))}
    result = RulesImport()
    for values in rows:
        record = existing.get(values["code"])
        if record is None:
            session.add(FeeLawRule(**values))
            result.created += 1
        elif any(getattr(record, k) != values[k] for k in (*_FIELDS, "position")) or not record.active:
            for k in (*_FIELDS, "position"):
                setattr(record, k, values[k])
            record.active = True
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    return result


def active_rules(session: Session) -> list[Rule]:
    """The rules that computation applies (in force or not: ``fee_rules`` checks the dates)."""
    query = select(FeeLawRule).where(FeeLawRule.active.is_(True)).order_by(FeeLawRule.position, FeeLawRule.code)
    return [as_rule(r) for r in session.scalars(query)]


def all_rules(session: Session) -> list[FeeLawRule]:
    return list(session.scalars(select(FeeLawRule).order_by(FeeLawRule.position, FeeLawRule.code)))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_rules(session: Session) -> str:
    """The rules as CSV in the import's columns; ``confirmed = no`` marks unconfirmed ones."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in all_rules(session):
        if not r.active:
            continue
        writer.writerow([_cell(v) for v in (r.code, r.name, r.name_en, r.effect, r.amount, r.percent, r.valid_from,
                                            r.valid_to, r.channel, r.ground, r.child_under_14, r.vneid_level2,
                                            r.field, r.kind, r.fee_codes, r.legal_basis, r.confirmed)])
    return out.getvalue()


def seed_fee_rules(session: Session, echo) -> None:
    result = import_rules(session, (DATA / "fee-rules.csv").read_text(encoding="utf-8"))
    echo(f"  {result.summary()}")
