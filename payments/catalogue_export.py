"""The fee catalogue as the CSV that ``import_catalogue`` reads (``fees-hanoi.csv``'s columns,
with ``online_free_from`` and the treasury's ``budget_chapter``, ``budget_subitem``,
``retention_percent``, ``treasury_verified``): an administrator downloads it, corrects it and
imports it again; the same file back changes nothing."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Procedure

COLUMNS = ("field", "procedure_code", "procedure_vi", "procedure_en", "fee_code", "fee_vi", "kind", "payer_class",
           "amount", "rate_per_mille", "cap", "exempt", "verified", "legal_basis", "online_free_from",
           "budget_chapter", "budget_subitem", "retention_percent", "treasury_verified")


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def export_catalogue(session: Session) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for procedure in session.scalars(select(Procedure).order_by(Procedure.id)):
        for i in procedure.fee_items:
            writer.writerow([
                procedure.field, procedure.national_code or "", procedure.name, procedure.name_en or "", i.code, i.name,
                i.kind, i.payer_class,
                "" if i.rate_ppm is not None or i.amount is None else i.amount,
                "" if i.rate_ppm is None else _number(Decimal(i.rate_ppm) / 1000),
                "" if i.cap is None else i.cap,
                "always" if i.exempt_always else (i.exempt_condition or ""),
                "yes" if i.verified else "no", i.legal_basis,
                i.online_free_from.isoformat() if i.online_free_from else "",
                i.budget_chapter or "", i.budget_subitem or "",
                "" if i.retention_bp is None else _number(Decimal(i.retention_bp) / 100),
                "yes" if i.treasury_verified else "no",
            ])
    return out.getvalue()
