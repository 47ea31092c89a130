"""The counter's cash form: cash taken for a dossier at the counter, recorded by the clerk who
took it (``record_cash``), with the number of the receipt they issued.

``POST /counter/dossiers/<code>/cash`` (counter staff and admins; CSRF-protected like every
form). It locks the dossier, records and allocates the cash in one transaction, commits, and
goes back to the dossier's page with a message. A refusal (no amount, more than is due,
nothing due, no receipt number, less tendered than paid) re-renders the dossier page with the
reason in the page's language and the typed values, and changes nothing.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import db, transactional
from core.errors import ServiceError
from core.refusals import Refusal, refusal_text
from core.login import roles_required
from core.forms import FormErrors, money_error
from core.money import format_vnd
from core.users import Role
from payments.counter import load_dossier, render_dossier
from payments.dossiers import storable_text

from reconciliation.matching.allocation import lock_dossier
from reconciliation.matching.cash import record_cash

bp = Blueprint("cash", __name__, url_prefix="/counter")

FIELDS = ("amount", "amount_tendered", "receipt_number", "paper_form", "paper_series", "note")
MAX_RECEIPT_NUMBER = 40
MAX_NOTE = 1000


def _messages() -> dict[str, str]:
    return {
        "amount": _("Số tiền thu phải là số đồng nguyên dương."),  # the service's word for 0
        "amount_tendered": _("Số tiền người nộp đưa phải là số đồng, không nhỏ hơn số tiền thu."),
        "receipt_number": _("Nhập số biên lai đã lập cho khoản tiền mặt này (1 đến 40 ký tự)."),
        "note": _("Ghi chú tối đa 1000 ký tự."),
        "paper_form": _("Mẫu số và ký hiệu của biên lai giấy đi cùng nhau, mỗi ô tối đa 20 ký tự."),
        "paper_series": _("Mẫu số và ký hiệu của biên lai giấy đi cùng nhau, mỗi ô tối đa 20 ký tự."),
    }


def _form_errors(values: dict[str, str]) -> tuple[FormErrors, int | None, int | None]:
    """What is wrong with the form's format, every field at once (the rules about the dossier
    are record_cash's), and the amounts read."""
    messages = _messages()
    errors = FormErrors()
    amount, problem = money_error(values["amount"], required=True, minimum=1, what=_("Số tiền thu"))
    if problem:
        errors.add("amount", problem)
    tendered, problem = money_error(values["amount_tendered"], what=_("Số tiền người nộp đưa"))
    if problem:
        errors.add("amount_tendered", problem)
    elif tendered is not None and amount is not None and tendered < amount:
        errors.add("amount_tendered", messages["amount_tendered"])
    if not values["receipt_number"] or len(values["receipt_number"]) > MAX_RECEIPT_NUMBER \
            or not storable_text(values["receipt_number"]):
        errors.add("receipt_number", messages["receipt_number"])
    if len(values["note"]) > MAX_NOTE or not storable_text(values["note"]):
        errors.add("note", messages["note"])
    return errors, amount, tendered


def _refusal(exc: ServiceError) -> FormErrors:
    """The service's refusal (English ``detail``) as messages for the page."""
    messages = _messages()
    errors = FormErrors()
    if exc.code == Refusal.CASH_OVER_DUE:
        errors.add("amount", refusal_text(exc))
    elif exc.code == Refusal.PAPER_RECEIPTS_ENDED:
        errors.add("paper_series", refusal_text(exc))
    elif exc.code == Refusal.INVALID_CASH:
        for e in exc.errors:
            if e.field in messages:
                errors.add(e.field, messages[e.field])
    if not errors:
        errors.add(None, refusal_text(exc, suffix=_("Chưa có gì được lưu.")))
    return errors


@bp.post("/dossiers/<path:code>/cash")
@roles_required(Role.COUNTER.value)
def record(code: str):
    dossier = load_dossier(code)
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    errors, amount, tendered = _form_errors(values)
    if errors:
        return render_dossier(dossier, 422, cash_errors=errors, cash_form=values, errors=errors)
    try:
        with transactional(db.session):
            # Locked before reading what remains due: two clerks cannot both take the last đồng.
            locked = lock_dossier(db.session, dossier.id)
            payment = record_cash(db.session, locked, amount=amount, receipt_number=values["receipt_number"],
                                  clerk_username=current_user.username, clerk_name=current_user.full_name,
                                  amount_tendered=tendered, note=values["note"] or None,
                                  paper_form=values["paper_form"] or None, paper_series=values["paper_series"] or None)
    except ServiceError as exc:
        dossier = load_dossier(code)
        errors = _refusal(exc)
        return render_dossier(dossier, exc.status, cash_errors=errors, cash_form=values, errors=errors)
    flash(_("Đã ghi nhận %(amount)s tiền mặt, biên lai số %(number)s, người thu %(clerk)s.",
            amount=format_vnd(payment.amount), number=payment.receipt_number, clerk=payment.clerk_name), "success")
    if payment.amount_tendered is not None and payment.amount_tendered > payment.amount:
        flash(_("Tiền trả lại người nộp: %(change)s.", change=format_vnd(payment.amount_tendered - payment.amount)),
              "info")
    return redirect(url_for("counter.dossier", code=dossier.code, _anchor="payments"))
