"""The treasury's part of the REST API: the fee returns 01/PHLP and 02/PHLP, what each agency
owes per month, and the remittances to the State Treasury (docs/TREASURY.md, docs/API.md).

- ``GET /api/v1/reports/fee-return?month=YYYY-MM&agency=CODE`` (01/PHLP) or
  ``?year=YYYY&agency=CODE`` (02/PHLP); ``format=xlsx`` for the form as a workbook;
- ``GET /api/v1/treasury/positions?month=YYYY-MM`` (or ``from``/``to`` months);
- ``GET /api/v1/treasury/remittances?agency=CODE&year=YYYY``; ``POST`` records one (finance).
"""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, g, jsonify, request, send_file

from core.auth import api_roles
from core.clock import isoformat_ict, utcnow
from core.db import db
from core.errors import FieldError, NotFound, ValidationError
from payments.api import json_object, no_nul_in_paths, roll_back_refusals
from payments.models import Agency, Remittance
from payments.city_support import positions_with_support
from payments.treasury import parse_month, parse_year, record_remittance, remittances

from .fee_return import FeeReturn, monthly_return, return_json, write_xlsx, yearly_return

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
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise ValidationError("format must be json or xlsx", errors=[FieldError("format", "json or xlsx")])
    result = fee_return_from_args(request.args)
    if fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(result, buffer)
        buffer.seek(0)
        return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=file_name(result))
    return jsonify({**return_json(result), "generated_at": isoformat_ict(utcnow())})


def remittance_json(r: Remittance) -> dict[str, Any]:
    return {"id": r.id, "agency": r.agency.code, "month": f"{r.month:%Y-%m}", "remitted_on": r.remitted_on.isoformat(),
            "amount": r.amount, "document_number": r.document_number, "note": r.note, "recorded_by": r.recorded_by,
            "recorded_at": isoformat_ict(r.recorded_at)}


def _agency_arg() -> Agency | None:
    code = request.args.get("agency")
    if not code:
        return None
    agency = db.session.query(Agency).filter_by(code=code).one_or_none()
    if agency is None:
        raise NotFound(f"no agency {code!r}", params={"code": code})
    return agency


@bp.get("/treasury/remittances")
@api_roles("finance", "supervisor")
def list_remittances():
    agency = _agency_arg()
    year = parse_year(request.args["year"]) if request.args.get("year") else None
    items = remittances(db.session, agency_id=agency.id if agency else None, year=year)
    return jsonify(items=[remittance_json(r) for r in items])


@bp.post("/treasury/remittances")
@api_roles("finance")
def create_remittance():
    remittance = record_remittance(db.session, json_object(required=True), g.principal.actor)
    db.session.commit()
    response = jsonify(remittance_json(remittance))
    response.status_code = 201
    return response


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
    agency = _agency_arg()
    rows = positions_with_support(db.session, months_from_args(request.args), [agency] if agency else None)
    return jsonify(items=[{"agency": p.agency.code, "month": f"{p.month:%Y-%m}", "collected": p.collected,
                           "retained": p.retained, "payable": p.payable, "remitted": p.remitted, "owed": p.owed,
                           "city_support": p.city_support}
                          for p in rows])
