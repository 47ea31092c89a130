"""The fee catalogue as data: import from the CSV layout of ``fees-hanoi.csv``, read as rules.

Importing is an upsert: procedures by code, fee items by (procedure, fee code, payer class);
the same file twice changes nothing. A bad row refuses the whole file, naming the line.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.money import MoneyError, to_vnd

from .fees import ANY, PAYER_CLASSES, FeeRule
from .models import FeeItem, Procedure
from .obligations import obligation_kind

DATA = Path(__file__).with_name("data")
REQUIRED = ("field", "procedure_code", "procedure_vi", "fee_code", "fee_vi", "kind", "payer_class", "amount",
            "rate_per_mille", "cap", "exempt", "verified", "legal_basis")
NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")
# Where the money goes (docs/TREASURY.md); optional columns: a file without them leaves them as they are.
TREASURY_COLUMNS = ("budget_chapter", "budget_subitem", "retention_percent", "treasury_verified")


@dataclass
class ImportResult:
    procedures_created: int = 0
    procedures_updated: int = 0
    items_created: int = 0
    items_updated: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        return (f"procedures: {self.procedures_created} new, {self.procedures_updated} changed; "
                f"fee items: {self.items_created} new, {self.items_updated} changed, {self.unchanged} unchanged")


def _row_error(line: int, message: str) -> ValidationError:
    return ValidationError(f"catalogue line {line}: {message}")


def _money(value: str, line: int, column: str) -> int | None:
    if not value.strip():
        return None
    try:
        amount = to_vnd(value)
    except MoneyError as exc:
        raise _row_error(line, f"{column}: {exc}") from None
    if amount < 0:
        raise _row_error(line, f"{column} is negative")
    return amount


def _rate_ppm(value: str, line: int) -> int | None:
    if not value.strip():
        return None
    try:
        rate = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise _row_error(line, f"rate_per_mille {value!r} is not a number") from None
    ppm = rate * 1000
    if ppm != ppm.to_integral_value() or ppm < 0:
        raise _row_error(line, f"rate_per_mille {value!r} has more precision than a millionth")
    return int(ppm)


def _date(value: str, line: int) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _row_error(line, f"date {value!r} is not YYYY-MM-DD") from None


def _retention_bp(value: str, kind: str, line: int) -> int | None:
    """A percentage with at most two decimals as hundredths of a per cent; a lệ phí keeps 0 %
    (Luật Phí và lệ phí, Điều 9: lệ phí go whole to the state budget)."""
    if not value.strip():
        return 0 if kind == "le_phi" else None
    try:
        percent = Decimal(value.strip().rstrip("%").strip().replace(",", "."))
    except InvalidOperation:
        raise _row_error(line, f"retention_percent {value!r} is not a number") from None
    bp = percent * 100
    if bp != bp.to_integral_value() or not 0 <= bp <= 10_000:
        raise _row_error(line, f"retention_percent {value!r}: 0 to 100 with at most two decimals")
    if kind == "le_phi" and bp != 0:
        raise _row_error(line, "a lệ phí goes whole to the state budget: retention_percent must be 0")
    return int(bp)


def _budget_code(value: str, digits: int, line: int, column: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not re.fullmatch(rf"\d{{{digits}}}", value):
        raise _row_error(line, f"{column} {value!r} must be {digits} digits")
    return value


def _same_treasury_data(rows: list[dict]) -> None:
    """One fee code, one budget chapter, sub-item and retention, whatever the payer or procedure."""
    seen: dict[str, tuple] = {}
    for row in rows:
        if not row["has_treasury_columns"]:
            continue
        data = (row["budget_chapter"], row["budget_subitem"], row["retention_bp"])
        first = seen.setdefault(row["code"], data)
        if first != data:
            raise _row_error(row["line"], f"fee {row['code']} has another budget chapter, sub-item or retention "
                                          f"than on an earlier line")


def parse_catalogue(text: str) -> list[dict]:
    """Rows of the CSV as clean dicts, each with the procedure key it belongs to."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"catalogue is missing columns: {', '.join(missing)}")
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not row["fee_code"] or not row["procedure_vi"]:
            raise _row_error(line, "fee_code and procedure_vi are required")
        if row["kind"] not in ("phi", "le_phi"):
            raise _row_error(line, f"kind must be phi or le_phi, got {row['kind']!r}")
        payer = row["payer_class"] or ANY
        if payer not in PAYER_CLASSES + (ANY,):
            raise _row_error(line, f"unknown payer_class {payer!r}")
        amount = _money(row["amount"], line, "amount")
        rate = _rate_ppm(row["rate_per_mille"], line)
        if (amount is None) == (rate is None) and row["exempt"].lower() != "always":
            raise _row_error(line, "give either amount or rate_per_mille")
        kind = obligation_kind(row["fee_code"], row["fee_vi"])
        if kind is not None:
            raise _row_error(line, f"{row['fee_code']} ({row['fee_vi']}) is a land financial obligation ({kind}): "
                                   "the tax authority assesses it and it is paid into the treasury, so it is not "
                                   "a charge of the office; record its tax notice on the dossier instead")
        rows.append({
            "line": line,
            "field": row["field"] or "other",
            "national_code": row["procedure_code"] or None,
            "procedure_vi": row["procedure_vi"],
            "procedure_en": row.get("procedure_en") or None,
            "code": row["fee_code"],
            "name": row["fee_vi"],
            "kind": row["kind"],
            "payer_class": payer,
            "amount": amount if amount is not None or rate is not None else 0,
            "rate_ppm": rate,
            "cap": _money(row["cap"], line, "cap"),
            "exempt_always": row["exempt"].lower() == "always",
            "exempt_condition": row["exempt"] if row["exempt"] and row["exempt"].lower() != "always" else None,
            "per_copy": "per copy" in (row.get("procedure_en") or "").lower(),
            "verified": row["verified"].lower() in ("yes", "true", "1", "có"),
            "legal_basis": row["legal_basis"],
            "has_online_column": "online_free_from" in row,
            "online_free_from": _date(row.get("online_free_from", ""), line),
            "has_treasury_columns": all(c in row for c in TREASURY_COLUMNS),
            "budget_chapter": _budget_code(row.get("budget_chapter", ""), 3, line, "budget_chapter"),
            "budget_subitem": _budget_code(row.get("budget_subitem", ""), 4, line, "budget_subitem"),
            "retention_bp": _retention_bp(row.get("retention_percent", ""), row["kind"], line),
            "treasury_verified": row.get("treasury_verified", "").lower() in ("yes", "true", "1", "có"),
        })
    _same_treasury_data(rows)
    _assign_procedure_codes(rows)
    return rows


def _assign_procedure_codes(rows: list[dict]) -> None:
    """A national code names a procedure only when it is well-formed and names just one;
    otherwise (missing, or a placeholder such as 1.0127xx) the procedure is HN.<first fee code>."""
    names_per_code: dict[str, set[str]] = {}
    for row in rows:
        if row["national_code"]:
            names_per_code.setdefault(row["national_code"], set()).add(row["procedure_vi"])
    first_fee: dict[tuple, str] = {}
    for row in rows:
        key = (row["national_code"], row["procedure_vi"])
        first_fee.setdefault(key, row["code"])
        national = row["national_code"]
        if national and NATIONAL_CODE.match(national) and len(names_per_code[national]) == 1:
            row["procedure_code"] = national
        else:
            row["procedure_code"] = "HN." + first_fee[key]


_ITEM_FIELDS = ("name", "kind", "amount", "rate_ppm", "cap", "exempt_always", "exempt_condition", "per_copy",
                "verified", "legal_basis")


def import_catalogue(session: Session, text: str) -> ImportResult:
    rows = parse_catalogue(text)
    result = ImportResult()
    procedures = {p.code: p for p in session.scalars(select(Procedure))}
    positions: dict[str, int] = {}
    for row in rows:
        procedure = procedures.get(row["procedure_code"])
        if procedure is None:
            procedure = Procedure(code=row["procedure_code"], national_code=row["national_code"],
                                  name=row["procedure_vi"], name_en=row["procedure_en"], field=row["field"])
            session.add(procedure)
            procedures[procedure.code] = procedure
            result.procedures_created += 1
        else:
            changed = False
            for attr, value in (("national_code", row["national_code"]), ("name", row["procedure_vi"]),
                                ("name_en", row["procedure_en"]), ("field", row["field"])):
                if getattr(procedure, attr) != value:
                    setattr(procedure, attr, value)
                    changed = True
            if changed and procedure.id is not None:
                result.procedures_updated += 1
        position = positions.get(procedure.code, 0)
        positions[procedure.code] = position + 1
        item = next((i for i in procedure.fee_items if i.code == row["code"] and i.payer_class == row["payer_class"]),
                    None)
        values = {f: row[f] for f in _ITEM_FIELDS}
        values["position"] = position
        if row["has_online_column"]:
            values["online_free_from"] = row["online_free_from"]
        if row["has_treasury_columns"]:
            values.update({k: row[k] for k in ("budget_chapter", "budget_subitem", "retention_bp",
                                                "treasury_verified")})
        if item is None:
            procedure.fee_items.append(FeeItem(code=row["code"], payer_class=row["payer_class"], **values))
            result.items_created += 1
        elif any(getattr(item, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(item, k, v)
            result.items_updated += 1
        else:
            result.unchanged += 1
    session.flush()
    return result


def rules_for(procedure: Procedure) -> list[FeeRule]:
    return [
        FeeRule(code=i.code, name=i.name, kind=i.kind, payer_class=i.payer_class, amount=i.amount,
                rate_ppm=i.rate_ppm, cap=i.cap, per_copy=i.per_copy, exempt_always=i.exempt_always,
                exempt_condition=i.exempt_condition, online_free_from=i.online_free_from,
                legal_basis=i.legal_basis, verified=i.verified)
        for i in procedure.fee_items
        if obligation_kind(i.code, i.name) is None  # a tax obligation is never a charge (docs/TREASURY.md)
    ]


def seed_catalogue(session: Session, echo) -> None:
    result = import_catalogue(session, (DATA / "fees-hanoi.csv").read_text(encoding="utf-8"))
    echo(f"  {result.summary()}")
    from .rule_catalogue import seed_fee_rules  # the rules beyond the schedule (fee-rules.csv)

    seed_fee_rules(session, echo)
