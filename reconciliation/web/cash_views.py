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
from core.money import MoneyError, format_vnd, to_vnd
from core.users import Role
from payments.counter import load_dossier, render_dossier
from payments.dossiers import storable_text
from payments.requests import remaining_due

from reconciliation.matching.allocation import lock_dossier
from reconciliation.matching.cash import record_cash

bp = Blueprint("cash", __name__, url_prefix="/counter")

FIELDS = ("amount", "amount_tendered", "receipt_number", "paper_form", "paper_series", "note")
MAX_RECEIPT_NUMBER = 40
MAX_NOTE = 1000


def _messages() -> dict[str, str]:
    return {
        "amount": _("Số tiền thu phải là số đồng nguyên dương."),
        "amount_tendered": _("Số tiền người nộp đưa phải là số đồng, không nhỏ hơn số tiền thu."),
        "receipt_number": _("Nhập số biên lai đã lập cho khoản tiền mặt này (1 đến 40 ký tự)."),
        "note": _("Ghi chú tối đa 1000 ký tự."),
        "paper_form": _("Mẫu số và ký hiệu của biên lai giấy đi cùng nhau, mỗi ô tối đa 20 ký tự."),
        "paper_series": _("Mẫu số và ký hiệu của biên lai giấy đi cùng nhau, mỗi ô tối đa 20 ký tự."),
    }


def _amount(text: str) -> int | None:
    try:
        return to_vnd(text) if text else None
    except MoneyError:
        return None


def _form_errors(values: dict[str, str], amount: int | None, tendered: int | None) -> dict[str, str]:
    """What is wrong with the form's format (the rules about the dossier are record_cash's)."""
    messages = _messages()
    errors: dict[str, str] = {}
    if amount is None or amount <= 0:
        errors["amount"] = messages["amount"]
    if values["amount_tendered"] and (tendered is None or tendered < 0):
        errors["amount_tendered"] = messages["amount_tendered"]
    if not values["receipt_number"] or len(values["receipt_number"]) > MAX_RECEIPT_NUMBER \
            or not storable_text(values["receipt_number"]):
        errors["receipt_number"] = messages["receipt_number"]
    if len(values["note"]) > MAX_NOTE or not storable_text(values["note"]):
        errors["note"] = messages["note"]
    return errors


def _refusal(exc: ServiceError, amount: int | None, remaining: int) -> dict[str, str]:
    """The service's refusal (English ``detail``) as messages for the page."""
    messages = _messages()
    if exc.code == Refusal.CASH_OVER_DUE:
        return {"amount": refusal_text(exc)}
    if exc.code == Refusal.PAPER_RECEIPTS_ENDED:
        return {"paper_series": refusal_text(exc), "": refusal_text(exc, suffix=_("Chưa có gì được lưu."))}
    if exc.code == Refusal.INVALID_CASH:
        errors = {e.field: messages[e.field] for e in exc.errors if e.field in messages}
        if errors:
            return errors
    return {"": refusal_text(exc, suffix=_("Chưa có gì được lưu."))}


@bp.post("/dossiers/<path:code>/cash")
@roles_required(Role.COUNTER.value)
def record(code: str):
    dossier = load_dossier(code)
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    amount, tendered = _amount(values["amount"]), _amount(values["amount_tendered"])
    errors = _form_errors(values, amount, tendered)
    if errors:
        return render_dossier(dossier, 422, cash_errors=errors, cash_form=values)
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
        return render_dossier(dossier, exc.status, cash_errors=_refusal(exc, amount, remaining_due(dossier)),
                              cash_form=values)
    flash(_("Đã ghi nhận %(amount)s tiền mặt, biên lai số %(number)s, người thu %(clerk)s.",
            amount=format_vnd(payment.amount), number=payment.receipt_number, clerk=payment.clerk_name), "success")
    if payment.amount_tendered is not None and payment.amount_tendered > payment.amount:
        flash(_("Tiền trả lại người nộp: %(change)s.", change=format_vnd(payment.amount_tendered - payment.amount)),
              "info")
    return redirect(url_for("counter.dossier", code=dossier.code, _anchor="payments"))
