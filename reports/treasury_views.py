"""Pages: the fee return 01/PHLP / 02/PHLP (``/reports/fee-return``) and the finance office's
treasury page (``/finance/treasury``): what each agency owes per month and the remittances to
the State Treasury, with the form that records one (finance officers only)."""
from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import ict_day, utcnow
from core.db import db, transactional
from core.errors import ServiceError
from flask_login import current_user

from core.login import roles_required
from core.refusals import refusal_text
from core.users import Role
from payments.models import Agency
from payments.city_support import positions_with_support
from payments.treasury import recent_months, record_remittance, remittances

from .fee_return import write_xlsx
from .treasury_api import XLSX, fee_return_from_args, file_name

bp = Blueprint("treasury", __name__)
READ = (Role.SUPERVISOR.value, Role.FINANCE.value)


def _agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.code)))


@bp.get("/reports/fee-return")
@roles_required(*READ)
def fee_return_page():
    result, error = None, None
    if request.args.get("agency"):
        try:
            result = fee_return_from_args(request.args)
        except ServiceError as exc:
            error = refusal_text(exc)
    if result is not None and request.args.get("format") == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(result, buffer)
        buffer.seek(0)
        return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=file_name(result))
    return render_template("treasury/fee_return.html", result=result, error=error, agencies=_agencies(),
                           args=request.args, period_args={}), 422 if error else 200


def _treasury_page(status: int = 200, form: dict | None = None, error: str | None = None):
    today = ict_day(utcnow())
    return render_template("treasury/treasury.html",
                           positions=positions_with_support(db.session, recent_months(today, 6)),
                           remittances=remittances(db.session)[:100], agencies=_agencies(), form=form or {},
                           error=error, may_record=current_user.holds(Role.FINANCE.value)), status


@bp.get("/finance/treasury")
@roles_required(*READ)
def treasury_page():
    return _treasury_page()


@bp.post("/finance/treasury/remittances")
@roles_required(Role.FINANCE.value, admin_may=False)
def record():
    form = {k: request.form.get(k, "") for k in ("agency", "month", "remitted_on", "amount", "document_number",
                                                 "note")}
    try:
        with transactional(db.session):
            remittance = record_remittance(db.session, form, current_user.actor)
            message = _("Đã ghi khoản nộp Kho bạc số %(doc)s.", doc=remittance.document_number)
    except ServiceError as exc:
        return _treasury_page(exc.status, form, refusal_text(exc, nothing_changed=True))
    flash(message, "success")
    return redirect(url_for(".treasury_page"))
