"""The treasury's part of the REST API: the fee returns 01/PHLP and 02/PHLP, what each agency
owes per month, and the remittances to the State Treasury (docs/TREASURY.md, docs/API.md).

- ``GET /api/v1/reports/fee-return?month=YYYY-MM&agency=CODE`` (01/PHLP) or
  ``?year=YYYY&agency=CODE`` (02/PHLP); ``format=xlsx`` for the form as a workbook;
- ``GET /api/v1/treasury/positions?month=YYYY-MM`` (or ``from``/``to`` months);
- ``GET /api/v1/treasury/remittances?agency=CODE&year=YYYY``; ``POST`` records one (finance).
"""
from __future__ import annotations

import io

from flask import Blueprint, g, request, send_file

from core.api_schema import answer, validate, validate_query
from core.auth import api_roles
from core.clock import utcnow
from core.db import db
from core.errors import FieldError, NotFound, ValidationError
from core.refusals import Refusal
from payments.api import json_object, no_nul_in_paths, roll_back_refusals
from payments.models import Agency
from payments.city_support import positions_with_support
from payments.treasury import parse_month, parse_year, record_remittance, remittances

from . import treasury_schemas as shapes
from .fee_return import FeeReturn, monthly_return, write_xlsx, yearly_return

bp = Blueprint("treasury_api", __name__, url_prefix="/api/v1")
bp.url_value_preprocessor(no_nul_in_paths)
bp.after_request(roll_back_refusals)

READERS = ("supervisor", "finance", "system")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def fee_return_from_args(args) -> FeeReturn:
    """The return the query asks for: ``month`` (01/PHLP) or ``year`` (02/PHLP), and ``agency``."""
    agency, month, year = args.get("agency"), args.get("month"), args.get("year")
    errors = []
    if not agency:
        errors.append(FieldError("agency", "required: the agency's code"))
    if bool(month) == bool(year):
        errors.append(FieldError("month", "give month=YYYY-MM (01/PHLP) or year=YYYY (02/PHLP), not both"))
    if errors:
        raise ValidationError("say which return: agency and month or year", errors=errors)
    if month:
        return monthly_return(db.session, agency, parse_month(month))
    return yearly_return(db.session, agency, parse_year(year))


def file_name(r: FeeReturn) -> str:
    return f"{r.form.replace('/', '-')}_{r.agency.code}_{r.period}.xlsx"


@bp.get("/reports/fee-return")
@api_roles(*READERS)
def fee_return():
    given = validate_query(shapes.FeeReturnQuery, request.args)
    result = fee_return_from_args(given.model_dump(include={"agency", "month", "year"}))
    if given.format == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(result, buffer)
        buffer.seek(0)
        return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=file_name(result))
    return answer(shapes.FeeReturn.of(result, utcnow()))


def _agency_arg(code: str | None) -> Agency | None:
    if not code:
        return None
    agency = db.session.query(Agency).filter_by(code=code).one_or_none()
    if agency is None:
        raise NotFound(f"no agency {code!r}", params={"code": code})
    return agency


@bp.get("/treasury/remittances")
@api_roles("finance", "supervisor")
def list_remittances():
    given = validate_query(shapes.RemittanceQuery, request.args)
    agency = _agency_arg(given.agency)
    year = parse_year(given.year) if given.year else None
    items = remittances(db.session, agency_id=agency.id if agency else None, year=year)
    return answer(shapes.RemittanceList(items=[shapes.Remittance.of(r) for r in items]))


@bp.post("/treasury/remittances")
@api_roles("finance")
def create_remittance():
    given = validate(shapes.RemittanceInput, json_object(required=True), detail="the remittance is not valid",
                     code=Refusal.INVALID_REMITTANCE)
    remittance = record_remittance(db.session, given.model_dump(mode="json"), g.principal.actor)
    db.session.commit()
    return answer(shapes.Remittance.of(remittance), 201)


def months_from_args(args) -> list:
    start = parse_month(args.get("from") or args.get("month") or f"{utcnow():%Y-%m}", "from")
    end = parse_month(args.get("to") or args.get("month") or f"{start:%Y-%m}", "to")
    if end < start or (end.year - start.year) * 12 + end.month - start.month > 35:
        raise ValidationError("to must be on or after from, at most 36 months", errors=[FieldError("to", "range")])
    months, current = [], start
    while current <= end:
        months.append(current)
        current = current.replace(year=current.year + (current.month == 12), month=current.month % 12 + 1)
    return months


@bp.get("/treasury/positions")
@api_roles(*READERS)
def list_positions():
    given = validate_query(shapes.PositionsQuery, request.args)
    agency = _agency_arg(given.agency)
    months = months_from_args({"month": given.month, "from": given.month_from, "to": given.month_to})
    rows = positions_with_support(db.session, months, [agency] if agency else None)
    return answer(shapes.TreasuryPositions(items=[shapes.Position.of(p) for p in rows]))
