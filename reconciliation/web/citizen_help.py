"""What the citizen can ask from their payment page (``/pay/<token>``, no login: the token is
the key), answered by the finance office:

- ``POST /pay/<token>/refund``: the money a dossier received beyond what it owes (an
  overpayment, a duplicate) is asked back to an account the citizen gives (a NAPAS bank,
  the account number, the holder's name). It becomes a refund *request* in the finance
  queue (``workflow.refunds.request_refund``, actor ``citizen:<reference>``): a finance
  officer approves or rejects it, four eyes as always; the page shows its progress.
- ``POST /pay/<token>/inquiry``: "I paid but it does not show": when, from which bank, how
  much, optionally the bank's transaction number. It opens a ``citizen_inquiry`` exception
  linked to the dossier and the request, with a deadline; an officer takes it (owner),
  looks, and writes the answer (the resolution), which the page shows. One open inquiry
  per dossier.

A refusal re-renders the citizen's page with the errors (``payments.citizen.render_pay``).
"""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import ict_day, utcnow
from core.db import db, transactional
from core.errors import ServiceError
from core.forms import FormErrors, date_error, money_error
from core.ratelimit import limit
from core.refusals import Refusal, refusal_text
from core.vocabulary import ExceptionReason
from payments.citizen import _load, render_pay
from payments.dossiers import storable_text
from payments.models import Dossier
from qr.banks import all_banks, by_bin

from reconciliation.models import ReconException, Refund
from reconciliation.workflow.exceptions import open_exception
from reconciliation.workflow.refunds import refundable_from_dossier, request_refund

bp = Blueprint("citizen_help", __name__)
limit("RATELIMIT_CITIZEN")(bp)
INQUIRY = ExceptionReason.CITIZEN_INQUIRY.value
MAX_NOTE = 500


@bp.app_template_global()
def citizen_help(dossier_id: int) -> dict:
    """What the citizen's page shows of the finance office's side: refunds of this dossier,
    its inquiries (with their answers), what may still be asked back, and the banks."""
    dossier = db.session.get(Dossier, dossier_id)
    refunds = db.session.scalars(select(Refund).where(Refund.dossier_id == dossier_id).order_by(Refund.id)).all()
    inquiries = db.session.scalars(select(ReconException).where(
        ReconException.dossier_id == dossier_id, ReconException.reason == INQUIRY)
        .order_by(ReconException.id)).all()
    return {"refunds": refunds, "inquiries": inquiries, "banks": all_banks(),
            "refundable": refundable_from_dossier(db.session, dossier) if dossier else 0,
            "inquiry_open": any(i.status == "open" for i in inquiries)}


@bp.app_template_global()
def refund_progress_label(status: str) -> str:
    return {"requested": _("Đã tiếp nhận, chờ kế toán duyệt"), "approved": _("Đã duyệt, chờ chuyển tiền"),
            "paid": _("Đã chuyển tiền hoàn trả"), "rejected": _("Không được duyệt"),
            "failed": _("Chuyển tiền không thành công: kế toán sẽ liên hệ"),
            "cancelled": _("Đã hủy")}.get(status, status)


def _bank_error(errors: FormErrors, field: str, bank_bin: str) -> None:
    if by_bin(bank_bin) is None:
        errors.add(field, _("Chọn ngân hàng trong danh sách."))


@bp.post("/pay/<token>/refund")
def refund(token: str):
    payment = _load(token)
    dossier = payment.dossier
    values = {name: (request.form.get(name) or "").strip() for name in ("bank", "account", "name")}
    errors = FormErrors()
    _bank_error(errors, "refund-bank", values["bank"])
    account = re.sub(r"[\s.-]", "", values["account"])
    if not re.fullmatch(r"[0-9A-Za-z]{6,19}", account):
        errors.add("refund-account", _("Số tài khoản gồm 6 đến 19 chữ số hoặc chữ cái."))
    if not values["name"] or len(values["name"]) > 200 or not storable_text(values["name"]):
        errors.add("refund-name", _("Nhập tên chủ tài khoản nhận tiền hoàn trả."))
    available = refundable_from_dossier(db.session, dossier)
    if available <= 0:
        errors.add(None, _("Hồ sơ không còn khoản nào để hoàn trả (có thể đã có đề nghị hoàn trả)."))
    if errors:
        return render_pay(payment, 422, errors=errors, refund_form=values)
    try:
        with transactional(db.session):
            request_refund(db.session, amount=available, beneficiary_bank=values["bank"], beneficiary_account=account,
                           beneficiary_name=values["name"], actor=f"citizen:{payment.reference}",
                           dossier_id=dossier.id,
                           reason=f"Người nộp đề nghị hoàn trả khoản nộp thừa qua trang thanh toán ({payment.reference})")
    except ServiceError as exc:
        errors.add(None, refusal_text(exc, suffix=_("Chưa có gì được lưu.")))
        return render_pay(_load(token), exc.status, errors=errors, refund_form=values)
    flash(_("Đã gửi đề nghị hoàn trả. Kế toán sẽ duyệt và chuyển tiền; tiến độ hiện trên trang này."), "success")
    return redirect(url_for("citizen.pay", token=token, _anchor="refund"))


@bp.post("/pay/<token>/inquiry")
def inquiry(token: str):
    payment = _load(token)
    dossier = payment.dossier
    values = {name: (request.form.get(name) or "").strip()
              for name in ("paid_on", "bank", "amount", "bank_ref", "note")}
    errors = FormErrors()
    paid_on, problem = date_error(values["paid_on"], required=True, what=_("Ngày chuyển khoản"))
    if problem:
        errors.add("inquiry-paid_on", problem)
    elif paid_on > ict_day(utcnow()):
        errors.add("inquiry-paid_on", _("Ngày chuyển khoản không thể ở tương lai."))
    _bank_error(errors, "inquiry-bank", values["bank"])
    amount, problem = money_error(values["amount"], required=True, minimum=1, what=_("Số tiền đã chuyển"))
    if problem:
        errors.add("inquiry-amount", problem)
    if len(values["bank_ref"]) > 60 or not storable_text(values["bank_ref"]):
        errors.add("inquiry-bank_ref", _("Mã giao dịch của ngân hàng tối đa 60 ký tự."))
    if len(values["note"]) > MAX_NOTE or not storable_text(values["note"]):
        errors.add("inquiry-note", _("Ghi chú tối đa 500 ký tự."))
    already = db.session.scalar(select(ReconException.id).where(
        ReconException.dossier_id == dossier.id, ReconException.reason == INQUIRY,
        ReconException.status == "open").limit(1))
    if already is not None:  # one open question per dossier: the office answers it first
        errors.add(None, _("Hồ sơ đã có một phản ánh đang được xử lý: vui lòng chờ câu trả lời bên dưới."))
    if errors:
        return render_pay(payment, 422 if already is None else 409, errors=errors, inquiry_form=values)
    bank = by_bin(values["bank"])
    detail = (f"Người nộp báo đã chuyển {amount} đ ngày {paid_on.isoformat()} từ {bank.short_name} ({bank.bin})"
              + (f", mã giao dịch {values['bank_ref']}" if values["bank_ref"] else "")
              + (f". Ghi chú: {values['note']}" if values["note"] else "")
              + f". Yêu cầu thanh toán {payment.reference}.")
    with transactional(db.session):
        open_exception(db.session, INQUIRY, dossier_id=dossier.id, payment_request_id=payment.id,
                       account_id=payment.account_id, amount=amount, detail=detail,
                       actor=f"citizen:{payment.reference}")
    flash(_("Đã gửi phản ánh. Kế toán sẽ kiểm tra và trả lời trên trang này."), "success")
    return redirect(url_for("citizen.pay", token=token, _anchor="inquiry"))


__all__ = ["bp", "Refusal"]
