"""Finance pages for e-receipts (``/finance/receipts``): find a receipt, see which payments it
covers and its signed document, ask for it to be cancelled or replaced, and approve or reject
another officer's request (four eyes, ``payments.receipt_changes``). Views are thin; a rule's
refusal is rolled back and told on the page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from core.db import db, transactional
from core.errors import NotFound, ServiceError
from core.login import roles_required
from core.refusals import refusal_text
from core.users import Role

from .models import Dossier, Receipt, ReceiptChange
from .receipt_changes import changes_waiting, decide, get_change, pending_change, recent_changes, request_change
from .receipt_documents import dossier_documents
from .receipts import NUMBER_DIGITS, receipt_number

bp = Blueprint("receipt_changes", __name__, url_prefix="/finance/receipts")

READ = roles_required(Role.FINANCE.value, Role.SUPERVISOR.value)
# Four eyes between two finance officers: an admin does not stand in for one.
ACT = roles_required(Role.FINANCE.value, admin_may=False)
ACTIONS = {"cancel": "Hủy biên lai", "replace": "Thay thế biên lai"}


def _may_act() -> bool:
    return current_user.is_authenticated and current_user.holds(Role.FINANCE.value)


def _find(query: str) -> list[Receipt]:
    """Receipts by number (``00000012``, ``12`` or ``DD-26E-00000012``) or dossier code."""
    query = query.strip()
    if not query:
        return []
    clauses = [Dossier.code == query, Dossier.portal_code == query]
    series, _sep, tail = query.rpartition("-")
    digits = tail if tail.isdigit() else (query if query.isdigit() else "")
    if digits and len(digits) <= NUMBER_DIGITS:
        clauses.append(Receipt.number == int(digits) if not series else
                       (Receipt.number == int(digits)) & (Receipt.series == series.upper()))
    return list(db.session.scalars(select(Receipt).join(Dossier, Dossier.id == Receipt.dossier_id)
                                   .where(or_(*clauses)).order_by(Receipt.id.desc()).limit(50)))


@bp.get("")
@READ
def index():
    query = (request.args.get("q") or "").strip()[:60]
    found = _find(query)
    return render_template("finance/receipts.html", query=query, found=found, waiting=changes_waiting(db.session),
                           decided=recent_changes(db.session, 20), receipts_by_id=_receipts_of(found),
                           lang_next=url_for(".index", q=query) if query else url_for(".index"))


def _receipts_of(extra: list[Receipt]) -> dict[int, Receipt]:
    ids = {c.receipt_id for c in changes_waiting(db.session)} | {c.receipt_id for c in recent_changes(db.session, 20)}
    ids |= {c.replacement_id for c in recent_changes(db.session, 20) if c.replacement_id}
    rows = db.session.scalars(select(Receipt).where(Receipt.id.in_(ids))).all() if ids else []
    return {r.id: r for r in [*rows, *extra]}


def _receipt(receipt_id: int) -> Receipt:
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(_("Không có biên lai số %(id)d.", id=receipt_id), title=_("Không tìm thấy"))
    return receipt


def _render(receipt: Receipt, status: int = 200, errors: dict | None = None, form: dict | None = None):
    dossier = db.session.get(Dossier, receipt.dossier_id)
    covers = dossier_documents(db.session, dossier.id)[0].get(receipt.id, [])
    changes = list(db.session.scalars(select(ReceiptChange).where(ReceiptChange.receipt_id == receipt.id)
                                      .order_by(ReceiptChange.id)))
    replacement = db.session.scalar(select(Receipt).where(Receipt.replaces_id == receipt.id))
    replaces = db.session.get(Receipt, receipt.replaces_id) if receipt.replaces_id else None
    return render_template("finance/receipt.html", receipt=receipt, dossier=dossier, covers=covers, changes=changes,
                           pending=pending_change(db.session, receipt.id), replacement=replacement,
                           replaces=replaces, may_act=_may_act(), errors=errors or {}, form=form or {},
                           actions=ACTIONS, actor=current_user.actor,
                           lang_next=url_for(".receipt", receipt_id=receipt.id)), status


@bp.get("/<int:receipt_id>")
@READ
def receipt(receipt_id: int):
    return _render(_receipt(receipt_id))


@bp.post("/<int:receipt_id>/changes")
@ACT
def ask(receipt_id: int):
    receipt = _receipt(receipt_id)
    form = {k: (request.form.get(k) or "")[:2000] for k in ("action", "reason", "payer_name")}
    try:
        with transactional(db.session):
            request_change(db.session, receipt.id, action=form["action"], reason=form["reason"],
                           payer_name=form["payer_name"], actor=current_user.actor)
    except ServiceError as exc:
        return _render(_receipt(receipt_id), exc.status, {"ask": refusal_text(exc, nothing_changed=True)}, form)
    flash(_("Đã gửi đề nghị. Một cán bộ kế toán khác sẽ duyệt hoặc từ chối."), "success")
    return redirect(url_for(".receipt", receipt_id=receipt_id))


@bp.post("/changes/<int:change_id>/decide")
@ACT
def decide_change(change_id: int):
    try:
        change = get_change(db.session, change_id)
    except NotFound:
        raise NotFound(_("Không có đề nghị số %(id)d.", id=change_id), title=_("Không tìm thấy")) from None
    approve = request.form.get("decision") == "approve"
    receipt_id = change.receipt_id
    try:
        with transactional(db.session):
            replacement = decide(db.session, change, current_user.actor, approve=approve,
                                 note=(request.form.get("note") or "")[:2000])
    except ServiceError as exc:
        return _render(_receipt(receipt_id), exc.status, {"decide": refusal_text(exc, nothing_changed=True)})
    if replacement is not None:
        flash(_("Đã thay thế biên lai: biên lai mới ký hiệu %(series)s, số %(number)s.", series=replacement.series,
                number=receipt_number(replacement)), "success")
        return redirect(url_for(".receipt", receipt_id=replacement.id))
    flash(_("Đã hủy biên lai.") if approve else _("Đã từ chối đề nghị."), "success")
    return redirect(url_for(".receipt", receipt_id=receipt_id))


@bp.app_template_global("receipt_status_text")
def receipt_status_text(receipt: Receipt, replaced: bool = False) -> str:
    from core.vocabulary import ReceiptStatus, label

    return label(ReceiptStatus, "replaced" if replaced and receipt.status == "cancelled" else receipt.status)


@bp.app_template_global("receipt_change_status")
def receipt_change_status(status: str) -> str:
    return {"requested": _("Chờ duyệt"), "approved": _("Đã duyệt"), "rejected": _("Đã từ chối")}.get(status, status)


@bp.app_template_global("receipt_change_action")
def receipt_change_action(action: str) -> str:
    return {"cancel": _("Hủy biên lai"), "replace": _("Thay thế biên lai")}.get(action, action)
