"""The citizen's pages, reached by the payment request's unguessable token (no login).

Endpoint names are fixed (the API builds its URLs from them):
``citizen.pay`` /pay/<token>, ``citizen.card`` /pay/<token>/card.<fmt> (?layout=a6|receipt80),
``citizen.qr_png`` /pay/<token>/qr.png, ``citizen.status`` /pay/<token>/status.json,
``citizen.receipt_pdf`` /pay/<token>/receipts/<lookup_token>.pdf.

The page shows nothing of the applicant beyond a masked name. Only an ``open`` request shows
its QR: an expired or cancelled one says so, and its QR and card answer 410 Gone (as do those
of a paid or partly paid one: paying that code again would pay twice).

Once the dossier is paid, the page lists its e-receipts (number, kind, amount, date; a
cancelled one marked so) with a PDF download each. A receipt is reached by its own
unguessable ``lookup_token`` and only under a token of the same dossier (404 otherwise). The
PDF is the receipt, so it carries the payer's full name as receipts must; the page itself
still shows only the masked name. While the request may still be paid, status.json lists the
receipts too, so the page fetches itself again when one is issued or cancelled, whichever
payment (this request, another one, cash at the counter) paid the dossier.
"""
from __future__ import annotations

import io
import unicodedata

import qrcode
from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select

from flask_login import current_user

from core.ratelimit import limit
from core.clock import isoformat_ict, utcnow
from core.db import db, transactional
from core.errors import NotFound, ServiceError, ValidationError
from core.refusals import Refusal
from qr.banks import by_bin
from qr.card import FORMATS, LAYOUTS, CardInfo, render_card

from .counter import receipt_response, receipts_signature, request_status_label
from .dossiers import payment_status, storable_text
from .models import PaymentRequest, Receipt
from .receipts import dossier_receipts, receipt_number
from .requests import FINAL_PAID, create_payment_request, get_request_by_token, refresh_expiry, remaining_due

bp = Blueprint("citizen", __name__)
# Per address (core.ratelimit): every page and file, and more strictly the unknown tokens (guesses).
limit("RATELIMIT_CITIZEN")(bp)
limit("RATELIMIT_CITIZEN_MISSES", deduct_when=lambda response: response.status_code == 404)(bp)

PAYABLE = ("open",)
LIVE = ("open", "partially_paid")  # states that may still change by a payment: the page keeps asking
MIMETYPES = {"png": "image/png", "pdf": "application/pdf"}


class Gone(ServiceError):
    status = 410
    default_code = Refusal.REQUEST_GONE


def mask_name(name: str) -> str:
    """``Nguyễn Văn A`` → ``Ng*** V** A``: enough for the payer to recognise, not to identify."""
    words = unicodedata.normalize("NFC", name or "").split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][:1] + "***"
    masked = []
    for index, word in enumerate(words):
        if index == 0:
            masked.append(word[:2] + "***" if len(word) > 2 else word[:1] + "*")
        elif index == len(words) - 1:
            masked.append(word[:1] + ("**" if len(word) > 1 else ""))
        else:
            masked.append(word[:1] + "**")
    return " ".join(masked)


def _load(token: str) -> PaymentRequest:
    try:
        if not storable_text(token):  # PostgreSQL refuses NUL in a query: no such request either way
            raise NotFound(token)
        payment = get_request_by_token(db.session, token)
    except NotFound:
        raise NotFound(_("Đường dẫn thanh toán không đúng. Vui lòng kiểm tra lại với bộ phận một cửa."),
                       title=_("Không tìm thấy yêu cầu thanh toán")) from None
    if refresh_expiry(db.session, payment):
        db.session.commit()
    return payment


def _require_payable(payment: PaymentRequest) -> None:
    if payment.status not in PAYABLE:
        raise Gone(_("Yêu cầu thanh toán này không còn nhận thanh toán (%(status)s).",
                     status=request_status_label(payment.status)),
                   title=_("Mã QR không còn hiệu lực"))


def card_info(payment: PaymentRequest) -> CardInfo:
    dossier = payment.dossier
    return CardInfo(
        payload=payment.qr_payload,
        bank_bin=payment.account.bank_bin,
        account=payment.account.number,
        account_holder=payment.account.holder_name,
        amount=payment.amount,
        transfer_content=payment.purpose,
        dossier_code=dossier.code,
        procedure_name=dossier.procedure.name,
        agency_name=dossier.agency.name,
        valid_until=payment.expires_at,
        reference=payment.reference,
    )


def qr_png_bytes(payload: str) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(payload)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, "PNG")
    return buffer.getvalue()


@bp.after_request
def _private(response: Response) -> Response:
    # The token is the page's only key: keep it out of caches, referrers and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _dossier_paid(payment: PaymentRequest) -> bool:
    return payment_status(payment.dossier) in FINAL_PAID


def balance_request(payment: PaymentRequest) -> PaymentRequest | None:
    """After a part payment, the request the citizen pays the rest with: the dossier's open
    request if it has one, else a new one for exactly what remains (made here, so the citizen
    need not go back to the counter). None when nothing remains or the request is not partly paid."""
    dossier = payment.dossier
    if payment.status != "partially_paid" or remaining_due(dossier) <= 0:
        return None
    opened = [r for r in dossier.payment_requests if r.status == "open"]
    if opened:
        return opened[-1]
    try:
        with transactional(db.session):
            return create_payment_request(db.session, dossier, f"citizen:{payment.reference}")
    except ServiceError:  # nothing left to ask after all (paid meanwhile): the page says what it sees
        return None


def render_pay(payment: PaymentRequest, status: int = 200, **extra):
    """The citizen's page (also for the reconciliation's forms on it, which re-render it with
    their errors: ``reconciliation.web.citizen_help``)."""
    dossier = payment.dossier
    bank = by_bin(payment.account.bank_bin)
    paid_event = next((e for e in reversed(payment.events) if e.to_status in FINAL_PAID + ("partially_paid",)), None)
    receipts = dossier_receipts(db.session, dossier.id)
    dossier_paid = _dossier_paid(payment)
    balance = balance_request(payment)
    return render_template(
        "citizen/pay.html", payment=payment, dossier=dossier, bank=bank, masked_name=mask_name(dossier.applicant_name),
        payable=payment.status in PAYABLE, live=payment.status in LIVE and not dossier_paid,
        paid=payment.status in FINAL_PAID, paid_event=paid_event, dossier_paid=dossier_paid, receipts=receipts,
        receipts_signature=receipts_signature(receipts), remaining=remaining_due(dossier), balance=balance,
        excess=max(dossier.amount_paid - dossier.amount_due, 0),
        receipted_elsewhere=_receipted_elsewhere(dossier.id) if dossier_paid and not receipts else [], **extra,
    ), status


@bp.get("/pay/<token>")
def pay(token: str):
    return render_pay(_load(token))


def _receipted_elsewhere(dossier_id: int) -> list[dict]:
    """The paper or platform receipts of a dossier paid without an e-receipt (one receipt per payment)."""
    from .receipt_documents import payment_documents

    return [d for p in payment_documents(db.session, dossier_id) for d in p["documents"] if d["document"] != "e_receipt"]


@bp.get("/pay/<token>/qr.png")
def qr_png(token: str):
    payment = _load(token)
    _require_payable(payment)
    return Response(qr_png_bytes(payment.qr_payload), mimetype="image/png")


@bp.get("/pay/<token>/card.<fmt>")
def card(token: str, fmt: str):
    if fmt not in FORMATS:
        abort(404)
    layout = request.args.get("layout", "a6")
    if layout not in LAYOUTS:
        raise ValidationError(_("Khổ thẻ phải là a6 hoặc receipt80."), title=_("Khổ thẻ không hợp lệ"))
    payment = _load(token)
    _require_payable(payment)
    if payment.printed_at is None and current_user.is_authenticated and current_user.may("counter"):
        payment.printed_at = utcnow()  # the clerk's "In thẻ A6": the counter's page now offers to print again
        db.session.commit()
    try:
        data = render_card(card_info(payment), layout=layout, fmt=fmt)
    except ValueError as exc:  # the card's texts cannot fit: say so, never cut them
        raise ValidationError(str(exc), title=_("Không in được thẻ")) from None
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'inline; filename="vietqr-{payment.reference}-{layout}.{fmt}"'
    return response


@bp.get("/pay/<token>/receipts/<lookup_token>.pdf")
def receipt_pdf(token: str, lookup_token: str):
    payment = _load(token)
    receipt = None
    if storable_text(lookup_token) and len(lookup_token) <= 64:
        receipt = db.session.scalar(select(Receipt).where(Receipt.lookup_token == lookup_token,
                                                          Receipt.dossier_id == payment.dossier_id))
    if receipt is None:  # another dossier's receipt answers exactly as no receipt at all
        raise NotFound(_("Không tìm thấy biên lai này trong hồ sơ của bạn."), title=_("Không tìm thấy biên lai"))
    return receipt_response(receipt, "pdf")


def receipt_json(token: str, receipt: Receipt) -> dict:
    return {"number": receipt_number(receipt), "form": receipt.form, "series": receipt.series, "kind": receipt.kind,
            "amount": receipt.amount, "status": receipt.status, "issued_at": isoformat_ict(receipt.issued_at),
            "pdf_url": url_for("citizen.receipt_pdf", token=token, lookup_token=receipt.lookup_token)}


@bp.get("/pay/<token>/status.json")
def status(token: str):
    payment = _load(token)
    receipts = dossier_receipts(db.session, payment.dossier_id)
    return jsonify(status=payment.status, amount=payment.amount, amount_paid=payment.amount_paid,
                   expires_at=isoformat_ict(payment.expires_at), paid=payment.status in FINAL_PAID,
                   dossier_paid=_dossier_paid(payment), receipts=[receipt_json(token, r) for r in receipts],
                   receipts_signature=receipts_signature(receipts))
