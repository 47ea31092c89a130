"""The counter clerk's pages: find or register a dossier, see its charges with their legal
basis, ask for payment, print the VietQR card in one click, and watch "paid" appear; then the
payments received, the e-receipts (PDF), and the form that records cash taken at the counter
(it posts to the ``cash`` blueprint of ``reconciliation.web.cash_views``, which re-renders this
page through :func:`render_dossier` when it refuses).

Views are thin: the rules live in ``dossiers``, ``requests`` and ``fees``; a ``ServiceError``
from them becomes a message on the form, and nothing is saved (the session is rolled back).
"""
from __future__ import annotations

import hashlib
import json
import re
from itertools import groupby
from dataclasses import dataclass
from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from core.clock import ict_day, isoformat_ict, utcnow
from core.collation import sort_key
from core.db import db, transactional
from core.errors import Conflict, NotFound, ServiceError, ValidationError
from core.refusals import Refusal, refusal_text
from core.vocabulary import (N_, DossierChannel, ExemptionGround, FeeKind, ObligationKind, ObligationStatus,
                             PaymentChannel, PaymentStatus, ProofKind, ReceiptStatus, RequestStatus, Source, label)
from core.login import roles_required
from core.forms import FormErrors, money_error
from core.money import format_vnd
from core.users import Role
from qr.banks import by_bin
from qr.card import LAYOUTS

from .dossiers import MAX_DECLARED_VALUE, find_dossier, near_references, valid_dossier_code, get_dossier, parse_dossier_input, payment_status, preview_charges, \
    register_dossier, search_dossiers, storable_text
from . import fee_rules
from .fee_rules import GROUNDS
from .fees import PAYER_CLASSES, ChargeLine
from . import obligations as obligation_rules
from .rule_catalogue import active_rules
from .models import Agency, Dossier, FeeItem, FeeLawRule, PaymentRequest, Procedure, Receipt, code_key
from .receipt_pdf import FORMATS as RECEIPT_FORMATS
from .receipt_pdf import receipt_filename, receipt_text, render_receipt
from .receipts import dossier_receipts, receipt_number
from .requests import OPEN_STATES, cancel_request, create_payment_request, get_request, outstanding_requested, \
    refresh_expiry, remaining_due
from .api_schemas import payments_for

bp = Blueprint("counter", __name__, url_prefix="/counter")
COUNTER = Role.COUNTER.value
PAYABLE = ("open",)  # a request whose QR may still be paid (a partly paid one asks the balance anew)
VALIDITY_CHOICES = ("30", "120", "480", "1440", "4320")  # minutes; empty: the default policy


# ---------------------------------------------------------------------------------------------
# Labels (shared with the citizen page): what the codes of the services mean to people


@bp.app_template_global()
def request_status_label(status: str) -> str:
    return label(RequestStatus, status)


@bp.app_template_global()
def payment_status_label(status: str) -> str:
    return label(PaymentStatus, status)


@bp.app_template_global()
def dossier_status_label(dossier: Dossier) -> str:
    """A dossier's payment state in words; one with nothing to pay is not "paid in full"."""
    if dossier.amount_due == 0 and dossier.amount_paid == 0:
        return _("Không phải nộp phí")
    return payment_status_label(payment_status(dossier))


@bp.app_template_global()
def event_action_label(action: str) -> str:
    return {
        "created": _("Tạo yêu cầu"),
        "cancelled": _("Hủy"),
        "expired": _("Hết hiệu lực"),
        "paid": _("Nhận thanh toán"),
        "partially_paid": _("Nhận một phần"),
        "overpaid": _("Nhận thừa"),
    }.get(action, action)


@bp.app_template_global()
def payer_class_label(payer_class: str | None) -> str:
    return {
        "individual_ward": _("Cá nhân ở phường"),
        "individual_other": _("Cá nhân ở nơi khác"),
        "organisation": _("Tổ chức"),
        "any": _("Mọi đối tượng"),
    }.get(payer_class or "", payer_class or "")


@bp.app_template_global()
def exemption_ground_label(ground: str | None) -> str:
    return label(ExemptionGround, ground)


@bp.app_template_global()
def channel_label(channel: str) -> str:
    return label(DossierChannel, channel)


@bp.app_template_global()
def field_label(field: str) -> str:
    return {"land": _("Đất đai"), "civil_status": _("Hộ tịch")}.get(field, _("Lĩnh vực khác"))


@bp.app_template_global()
def fee_kind_label(kind: str | None) -> str:
    return label(FeeKind, kind)


@bp.app_template_global()
def obligation_label(kind: str | None) -> str:
    return label(ObligationKind, kind)


@bp.app_template_global()
def obligation_status_label(status: str | None) -> str:
    return label(ObligationStatus, status)


@bp.app_template_global()
def proof_kind_label(kind: str | None) -> str:
    return label(ProofKind, kind)


@bp.app_template_global()
def payment_channel_label(channel: str | None) -> str:
    """How a payment was made (the 766 indicator's channels)."""
    return label(PaymentChannel, channel)


@bp.app_template_global()
def source_channel_label(channel: str | None) -> str:
    """What brought a payment to the service (a bank's callback, the statement, the clerk)."""
    return label(Source, channel)


@bp.app_template_global()
def receipt_title(kind: str | None) -> str:
    return {"phi": _("Biên lai thu phí"), "le_phi": _("Biên lai thu lệ phí")}.get(kind or "",
                                                                              _("Biên lai thu phí, lệ phí"))


@bp.app_template_global()
def receipt_status_label(status: str) -> str:
    return label(ReceiptStatus, status)


@bp.app_template_global("receipt_document_label")
def receipt_document_label(document: dict) -> str:
    """What kind of document receipts a payment, for people."""
    return {"e_receipt": _("Biên lai điện tử"), "paper": _("Biên lai giấy"),
            "portal": _("Biên lai của Cổng Dịch vụ công")}.get(document.get("document"), "")


@bp.app_template_global("receipt_document_text")
def _receipt_document_text(document: dict) -> str:
    from .receipt_documents import document_text

    return document_text(document)


@bp.app_template_global("receipt_number")
def _receipt_number(receipt: Receipt) -> str:
    return receipt_number(receipt)


def receipts_signature(receipts: list[Receipt]) -> str:
    """What changes when a receipt is issued or cancelled: pages compare it to know when to
    fetch themselves again."""
    return ",".join(f"{r.series}-{receipt_number(r)}:{r.status}" for r in receipts)


def _issued(receipt: Receipt, *, required: bool) -> Receipt:
    """The receipt with its signed document: signed now if the job has not yet (and committed,
    so a second request finds it). Without a signing key, ``required`` refuses; a PDF is drawn
    from the recorded receipt all the same."""
    from flask import current_app

    from core.errors import Conflict
    from core.refusals import Refusal

    from .receipt_providers import ensure_issued

    if receipt.signed_xml is None:
        try:
            ensure_issued(db.session, receipt, current_app.config)
            db.session.commit()
        except LookupError:
            db.session.rollback()
            if required:
                raise Conflict("the receipt is numbered but not signed: no signing key", code=Refusal.RECEIPT_NOT_ISSUED,
                               params={"number": f"{receipt.series}-{receipt_number(receipt)}"}) from None
    return receipt


def receipt_xml_response(receipt: Receipt) -> Response:
    """The receipt's signed XML (the document the unit's e-receipt system issued)."""
    receipt = _issued(receipt, required=True)
    response = Response(receipt.signed_xml.encode("utf-8"), mimetype="application/xml")
    name = f"bien-lai-{receipt.series}-{receipt_number(receipt)}.xml"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def receipt_response(receipt: Receipt, fmt: str) -> Response:
    """A receipt as a PDF download (its XML rendered), or the signed XML itself."""
    if fmt == "xml":
        return receipt_xml_response(receipt)
    receipt = _issued(receipt, required=False)
    try:
        document = receipt_text(db.session, receipt)
        data = render_receipt(document, fmt)
    except ValueError as exc:  # never cut a receipt's text: say it cannot be drawn
        raise ValidationError(str(exc), title=_("Không tạo được tệp biên lai")) from None
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{receipt_filename(document.series, document.number, fmt)}"'
    return response


@bp.app_template_global()
def localized_name(obj) -> str:
    """An agency's or procedure's English name when the page is in English and one is known."""
    if str(get_locale()) == "en" and getattr(obj, "name_en", None):
        return obj.name_en
    return obj.name


# The fixed words of a charge's "how computed" (``payments.fees._charge``), kept on the charge in
# Vietnamese: said again in the page's language. Rule names and exemption conditions are data.
_CHARGE_WORDS = (
    ("mức thu cố định", N_("mức thu cố định")),
    ("miễn theo quy định", N_("miễn theo quy định")),
    ("do hệ thống hồ sơ cung cấp", N_("do hệ thống hồ sơ cung cấp")),
)
_COPIES = re.compile(r"× (\d+) bản\b")


@bp.app_template_global()
def fee_rule_name(code: str | None, name: str | None) -> str:
    """The name of the fee rule that set a charge: its English name on an English page (read
    once per request), else the name the charge keeps."""
    from flask import g

    if not code or str(get_locale()) != "en":
        return name or ""
    if "fee_rule_names_en" not in g:
        g.fee_rule_names_en = dict(db.session.execute(select(FeeLawRule.code, FeeLawRule.name_en)).all())
    return g.fee_rule_names_en.get(code) or name or ""


@bp.app_template_global()
def charge_detail(text: str | None, rule_code: str | None = None, rule_name: str | None = None) -> str:
    """A charge's "how computed" in the page's language (the rule's name, appended by
    ``payments.fees._adjusted``, in English too)."""
    if not text:
        return ""
    if rule_code and rule_name and rule_name in text:
        text = text.replace(rule_name, fee_rule_name(rule_code, rule_name))
    for words, msgid in _CHARGE_WORDS:
        text = text.replace(words, _(msgid))
    text = _COPIES.sub(lambda m: _("× %(n)s bản", n=m.group(1)), text)
    text = text.replace(", tối đa ", _(", tối đa ")).replace("miễn: ", _("miễn: "))
    return text


@bp.app_template_global()
def per_mille(rate_ppm: int | None) -> str:
    """``1500`` (parts per million) → ``1,5 ‰``."""
    if rate_ppm is None:
        return ""
    whole, rest = divmod(rate_ppm, 1000)
    text = str(whole) if rest == 0 else f"{whole},{str(rest).rjust(3, '0').rstrip('0')}"
    return f"{text} ‰"


@bp.app_template_global()
def bank_name(bank_bin: str) -> str:
    bank = by_bin(bank_bin)
    return f"{bank.short_name} — {bank.name}" if bank else f"BIN {bank_bin}"


# ---------------------------------------------------------------------------------------------
# Helpers


def _load_dossier(code: str) -> Dossier:
    try:
        if not storable_text(code):  # PostgreSQL refuses NUL in a query: no such dossier either way
            raise NotFound(code)
        return get_dossier(db.session, code.strip())
    except NotFound:
        raise NotFound(_("Không có hồ sơ mã %(code)s.", code=code), title=_("Không tìm thấy hồ sơ")) from None


def _load_request(reference: str) -> PaymentRequest:
    try:
        if not storable_text(reference):
            raise NotFound(reference)
        return get_request(db.session, reference)
    except NotFound:
        raise NotFound(_("Không có yêu cầu thanh toán %(ref)s.", ref=reference),
                       title=_("Không tìm thấy yêu cầu thanh toán")) from None


def _refresh(dossier: Dossier) -> None:
    """Open requests past their validity become expired before anyone looks at them."""
    now = utcnow()
    if any([refresh_expiry(db.session, r, now) for r in dossier.payment_requests]):
        db.session.commit()


def _available(dossier: Dossier) -> int:
    return max(remaining_due(dossier) - outstanding_requested(dossier), 0)


@dataclass
class ProcedureNeeds:
    """What the registration form must ask for this procedure."""

    payer: bool
    rate: bool
    copies: bool
    exemptions: list[FeeItem]
    ground: bool = False  # a fee rule exempts on a ground the clerk records
    child: bool = False   # a fee rule for a child under 14
    vneid: bool = False   # a fee rule for VNeID level-2 users, not yet over

    def as_data(self) -> dict:
        return {"payer": self.payer, "rate": self.rate, "copies": self.copies,
                "exemptions": [i.code for i in self.exemptions], "ground": self.ground, "child": self.child,
                "vneid": self.vneid}


def procedure_needs(procedure: Procedure, rules: list[fee_rules.Rule] | None = None) -> ProcedureNeeds:
    items = procedure.fee_items
    exemptions: dict[str, FeeItem] = {}
    for item in items:
        if item.exempt_condition and not item.exempt_always:
            exemptions.setdefault(item.code, item)
    today = ict_day(utcnow())
    # the rules that could change a charge of this procedure, and are not over
    relevant = [r for r in rules or () if (r.valid_to is None or r.valid_to >= today)
                and any(fee_rules.covers(r, i.code, procedure.field, i.kind) and not i.exempt_always for i in items)]
    return ProcedureNeeds(
        payer=any(i.payer_class != "any" for i in items),
        rate=any(i.rate_ppm is not None and not i.exempt_always for i in items),
        copies=any(i.per_copy for i in items),
        exemptions=list(exemptions.values()),
        ground=any(r.ground for r in relevant),
        child=any(r.child_under_14 is not None for r in relevant),
        vneid=any(r.vneid_level2 is not None for r in relevant),
    )


def _agencies() -> list[Agency]:
    today = ict_day(utcnow())
    order = {"city_body": 0, "branch": 1, "ward": 2, "commune": 3, "district": 4}
    rows = db.session.scalars(select(Agency).where(or_(Agency.active_to.is_(None), Agency.active_to >= today)))
    return sorted(rows, key=lambda a: (order.get(a.kind, 9), sort_key(localized_name(a))))  # Vietnamese order


def _procedures() -> list[Procedure]:
    order = {"land": 0, "civil_status": 1}
    rows = db.session.scalars(select(Procedure).where(Procedure.active.is_(True)))
    return sorted(rows, key=lambda p: (order.get(p.field, 9), p.field, sort_key(localized_name(p))))


def grouped(rows: list, attribute: str) -> list[tuple[str, list]]:
    """Consecutive rows by ``attribute``, in the rows' own order (Jinja's groupby sorts by name)."""
    return [(key, list(group)) for key, group in groupby(rows, key=lambda row: getattr(row, attribute))]


@bp.app_template_global()
def agency_kind_label(kind: str) -> str:
    return {
        "city_body": _("Cơ quan cấp thành phố"),
        "branch": _("Chi nhánh (Trung tâm Phục vụ hành chính công, Văn phòng Đăng ký đất đai)"),
        "ward": _("UBND phường"),
        "commune": _("UBND xã"),
        "district": _("Quận, huyện (trước 7/2025)"),
    }.get(kind, kind)


def _field_messages() -> dict[str, str]:
    return {
        "code": _("Mã hồ sơ theo mẫu <mã đơn vị>-<yyMMdd>-<số thứ tự>, ví dụ 000.00.12.H26-261125-0001 (tối đa 60 ký tự)."),
        "portal_code": _("Mã hồ sơ theo mẫu <mã đơn vị>-<yyMMdd>-<số thứ tự>, ví dụ 000.00.12.H26-261125-0001 (tối đa 60 ký tự)."),
        "procedure_code": _("Chọn một thủ tục trong danh mục."),
        "agency_code": _("Chọn cơ quan tiếp nhận hồ sơ."),
        "applicant_name": _("Nhập họ tên người nộp hồ sơ (tối đa 200 ký tự)."),
        "channel": _("Chọn kênh nộp hồ sơ."),
        "payer_class": _("Chọn đối tượng nộp: mức lệ phí của thủ tục này phụ thuộc vào đối tượng."),
        "declared_value": _("Nhập giá trị tính phí bằng số đồng: thủ tục có khoản thu tính theo tỷ lệ."),
        "copies": _("Số bản sao là số nguyên từ 1 đến 1000."),
        "exemptions": _("Khoản miễn này không áp dụng cho thủ tục đã chọn."),
        "exemption_ground": _("Chọn một đối tượng được miễn trong danh sách."),
        "submitted_at": _("Thời điểm nộp không hợp lệ."),
    }


_SERVICE_FIELDS = {
    "parameters.declared_value": "declared_value",
    "parameters.payer_class": "payer_class",
    "parameters.copies": "copies",
    "parameters.exemptions": "exemptions",
    "parameters.exemption_ground": "exemption_ground",
}


def _form_errors(exc: ServiceError) -> FormErrors:
    """Per-field messages and a general message for a refusal from the services."""
    messages = _field_messages()
    errors = FormErrors()
    for error in exc.errors:
        name = _SERVICE_FIELDS.get(error.field, error.field)
        if name in messages:
            errors.add(name, messages[name])
    if exc.code == Refusal.DOSSIER_EXISTS:
        field = "portal_code" if exc.params.get("code") and exc.params.get("code") == request.form.get("portal_code", "").strip() \
            and exc.params.get("code") != request.form.get("code", "").strip() else "code"
        errors.add(field, _("Đã có hồ sơ mang mã này."))
    if not errors.fields:
        errors.add(None, refusal_text(exc, suffix=_("Chưa có gì được lưu.")))
    return errors


def _dossier_body(form, procedure: Procedure | None, agency_codes: set[str], preview: bool,
                  rules: list[fee_rules.Rule] | None = None) -> tuple[dict, FormErrors]:
    """The API's dossier body from the registration form, and every error of it at once (the
    checks the services would make one refusal at a time are made here first, field by field)."""
    errors = FormErrors()
    messages = _field_messages()
    name = (form.get("applicant_name") or "").strip()
    body: dict = {
        "code": (form.get("code") or "").strip() or None,
        "portal_code": (form.get("portal_code") or "").strip() or None,
        "procedure_code": (form.get("procedure_code") or "").strip() or None,
        "agency_code": (form.get("agency_code") or "").strip() or None,
        # The charges can be seen before the name is typed; saving needs it.
        "applicant_name": name or ("…" if preview else None),
        "channel": form.get("channel") or "counter",
    }
    # In the order of the page, so the summary reads top to bottom.
    if body["agency_code"] not in agency_codes:
        errors.add("agency_code", messages["agency_code"])
    if procedure is None:
        errors.add("procedure_code", messages["procedure_code"])
    if not name and not preview:
        errors.add("applicant_name", _("Nhập họ tên người nộp hồ sơ."))
    elif len(name) > 200 or not storable_text(name):
        errors.add("applicant_name", messages["applicant_name"])
    for field in ("code", "portal_code"):
        value = body[field]
        if value is not None and (not storable_text(value) or not valid_dossier_code(value)):
            errors.add(field, messages[field])
    if body["channel"] not in ("counter", "online", "post"):
        errors.add("channel", messages["channel"])
    if procedure is None:
        return body, errors
    needs = procedure_needs(procedure, rules)
    parameters: dict = {}
    payer = form.get("payer_class") or ""
    if needs.payer:
        if payer in PAYER_CLASSES:
            parameters["payer_class"] = payer
        else:
            errors.add("payer_class", messages["payer_class"])
    if needs.rate:
        value, problem = money_error(form.get("declared_value") or "", required=True, maximum=MAX_DECLARED_VALUE,
                                     what=_("Giá trị tính phí"))
        if problem:
            errors.add("declared_value", problem)
        elif value is not None:
            parameters["declared_value"] = value
    raw_copies = (form.get("copies") or "").strip()
    if needs.copies and raw_copies:
        if raw_copies.isdigit() and 1 <= int(raw_copies) <= 1000:
            parameters["copies"] = int(raw_copies)
        else:
            errors.add("copies", messages["copies"])
    exempt_codes = {i.code for i in needs.exemptions}
    chosen = [c for c in form.getlist("exemptions") if c in exempt_codes]
    if chosen:
        parameters["exemptions"] = chosen
    ground = (form.get("exemption_ground") or "").strip()
    if needs.ground and ground:
        if ground in GROUNDS:
            parameters["exemption_ground"] = ground
        else:
            errors.add("exemption_ground", messages["exemption_ground"])
    if needs.child and form.get("child_under_14") == "1":
        parameters["child_under_14"] = True
    if needs.vneid and form.get("vneid_level2") == "1":
        parameters["vneid_level2"] = True
    body["parameters"] = parameters
    return body, errors


def _digest(lines: list[ChargeLine]) -> str:
    """A fingerprint of the charges the clerk saw: saving recomputes them and must agree."""
    data = json.dumps([[l.fee_code, l.name, l.amount, l.detail, l.rule_code, l.city_support] for l in lines],
                      ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:20]


# ---------------------------------------------------------------------------------------------
# Pages


@bp.get("/")
@roles_required(COUNTER)
def index():
    query = (request.args.get("q") or "").replace("\x00", "").strip()[:100]
    if not storable_text(query):
        query = ""
    if query:
        exact = find_dossier(db.session, query)
        if exact is not None:  # a scanned or typed code goes straight to its dossier
            return redirect(url_for(".dossier", code=exact.code))
    dossiers = search_dossiers(db.session, query)
    near = near_references(db.session, query) if query else []
    if query and len(dossiers) == 1 and not near and code_key(query) in {r.reference for r in dossiers[0].payment_requests}:
        # the full reference printed on a card: its dossier, at that request
        return redirect(url_for(".dossier", code=dossiers[0].code, _anchor=f"request-{code_key(query)}"))
    return render_template("counter/index.html", query=query, dossiers=dossiers, near=near,
                           payment_status=payment_status)


@bp.route("/dossiers/new", methods=["GET", "POST"])
@roles_required(COUNTER)
def new_dossier():
    agencies = _agencies()
    procedures = _procedures()
    by_code = {p.code: p for p in procedures}
    rules = active_rules(db.session)
    needs = {p.code: procedure_needs(p, rules) for p in procedures}
    form = request.form if request.method == "POST" else request.args
    errors = FormErrors()
    notice = None
    preview: list[ChargeLine] | None = None
    digest = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "preview")
        saving = action in ("save", "save_request")
        procedure = by_code.get((form.get("procedure_code") or "").strip())
        body, errors = _dossier_body(form, procedure, {a.code for a in agencies}, preview=not saving, rules=rules)
        if not errors:
            try:
                data = parse_dossier_input(body)
                for code in (data.code, data.portal_code):
                    if code and find_dossier(db.session, code) is not None:
                        raise Conflict(code, code=Refusal.DOSSIER_EXISTS, params={"code": code})
                lines = preview_charges(db.session, data)
                digest = _digest(lines)
                if saving and request.form.get("preview_digest") == digest:
                    return _save(data, action == "save_request")
                if saving:  # not an error: the clerk looks again, then saves
                    notice = _("Phí, lệ phí đã thay đổi theo thông tin vừa sửa: kiểm tra lại rồi bấm Lưu.")
                preview = lines
            except ServiceError as exc:
                db.session.rollback()
                errors = _form_errors(exc)
        if errors:
            status = 422
    return render_template("counter/new.html", agencies=agencies, procedures=procedures, needs=needs,
                           agency_groups=grouped(agencies, "kind"), procedure_groups=grouped(procedures, "field"),
                           form=form, errors=errors, notice=notice, preview=preview, digest=digest,
                           fee_items={(p.code, i.code): i for p in procedures for i in p.fee_items},
                           payer_classes=PAYER_CLASSES, channels=("counter", "online", "post"), grounds=GROUNDS,
                           default_agency=session.get("counter_agency")), status


def _save(data, with_request: bool):
    dossier = register_dossier(db.session, data, current_user.actor)
    payment = None
    if with_request and dossier.amount_due > 0:
        payment = create_payment_request(db.session, dossier, current_user.actor)
    db.session.commit()
    session["counter_agency"] = dossier.agency.code  # the clerk's counter: preselected next time
    flash(_("Đã đăng ký hồ sơ %(code)s.", code=dossier.code), "success")
    if payment is not None:
        flash(_("Đã tạo yêu cầu thanh toán %(ref)s: %(amount)s. Bấm “In thẻ” để in mã QR.",
                ref=payment.reference, amount=format_vnd(payment.amount)), "success")
        return redirect(url_for(".dossier", code=dossier.code, _anchor=f"request-{payment.reference}"))
    return redirect(url_for(".dossier", code=dossier.code))


def _payments(dossier: Dossier) -> list[dict]:
    """The dossier's payments (``payments_for``: the reconciliation registers how to list
    them), with the time received as ``received`` for the page."""
    return [{**p, "received": p["received_at"]} for p in payments_for(dossier)]


def _ledger(payments: list[dict], receipts: list[Receipt]) -> str:
    return f"{len(payments)}|{sum(p['amount'] for p in payments)}|{receipts_signature(receipts)}"


def _render_dossier(dossier: Dossier, status: int = 200, **extra):
    fee_items = {i.code: i for i in dossier.procedure.fee_items}
    payments = _payments(dossier)
    receipts = dossier_receipts(db.session, dossier.id)
    obligations = obligation_rules.for_dossier(db.session, dossier) if dossier.procedure.field == "land" else []
    extra.setdefault("obligations", obligations)
    extra.setdefault("obligations_missing", obligation_rules.missing(obligations))
    extra.setdefault("obligation_kinds", obligation_rules.KINDS)
    extra.setdefault("proof_kinds", obligation_rules.PROOF_KINDS)
    extra.setdefault("obligation_status", obligation_rules.status)
    return render_template(
        "counter/dossier.html", dossier=dossier, status=payment_status(dossier), remaining=remaining_due(dossier),
        available=_available(dossier), fee_items=fee_items, payable=PAYABLE, open_states=OPEN_STATES,
        validity_choices=VALIDITY_CHOICES, layouts=LAYOUTS,
        requests=list(reversed(dossier.payment_requests)), lang_next=url_for("counter.dossier", code=dossier.code),
        payments=payments, receipts=receipts, ledger=_ledger(payments, receipts), **extra,
    ), status


# For the pages of other packages that act on a dossier (the cash form of ``reconciliation``).
load_dossier = _load_dossier
render_dossier = _render_dossier


@bp.get("/dossiers/<path:code>")
@roles_required(COUNTER)
def dossier(code: str):
    record = _load_dossier(code)
    _refresh(record)
    return _render_dossier(record)


@bp.post("/dossiers/<path:code>/tax-obligations")
@roles_required(COUNTER)
def add_obligation(code: str):
    """A tax notice the land dossier depends on (docs/TREASURY.md)."""
    record = _load_dossier(code)
    form = {k: request.form.get(k, "") for k in ("kind", "notice_number", "amount", "due_date", "issuing_authority")}
    try:
        with transactional(db.session):
            obligation_rules.record_notice(db.session, record, form, current_user.actor)
    except ServiceError as exc:
        return _render_dossier(record, exc.status, obligation_error=refusal_text(exc, nothing_changed=True),
                               obligation_form=form)
    flash(_("Đã ghi thông báo nghĩa vụ tài chính số %(number)s.", number=form["notice_number"].strip()), "success")
    return redirect(url_for(".dossier", code=record.code, _anchor="obligations"))


@bp.post("/dossiers/<path:code>/tax-obligations/<int:obligation_id>/proof")
@roles_required(COUNTER)
def add_obligation_proof(code: str, obligation_id: int):
    record = _load_dossier(code)
    form = {k: request.form.get(k, "") for k in ("kind", "number", "date")}
    try:
        with transactional(db.session):
            obligation = obligation_rules.get_obligation(db.session, record, obligation_id)
            obligation_rules.record_proof(db.session, obligation, form, current_user.actor)
    except ServiceError as exc:
        return _render_dossier(record, exc.status, proof_errors={obligation_id: refusal_text(exc, nothing_changed=True)})
    flash(_("Đã ghi chứng từ nộp tiền cho nghĩa vụ tài chính."), "success")
    return redirect(url_for(".dossier", code=record.code, _anchor="obligations"))


@bp.post("/payment-requests")
@roles_required(COUNTER)
def create_request():
    dossier = _load_dossier(request.form.get("dossier_code") or "")
    _refresh(dossier)
    raw_amount = (request.form.get("amount") or "").strip()
    raw_minutes = (request.form.get("expires_in_minutes") or "").strip()
    amount, problem = money_error(raw_amount, minimum=1, what=_("Số tiền"))
    if problem:
        errors = FormErrors()
        errors.add("amount", problem)
        return _render_dossier(dossier, 422, request_error=problem, form_amount=raw_amount, errors=errors)
    minutes = int(raw_minutes) if raw_minutes in VALIDITY_CHOICES else None
    try:
        with transactional(db.session):
            payment = create_payment_request(db.session, dossier, current_user.actor, amount=amount,
                                             expires_in_minutes=minutes)
    except ServiceError as exc:
        return _render_dossier(dossier, exc.status, request_error=refusal_text(exc), form_amount=raw_amount)
    flash(_("Đã tạo yêu cầu thanh toán %(ref)s: %(amount)s. Bấm “In thẻ” để in mã QR.",
            ref=payment.reference, amount=format_vnd(payment.amount)), "success")
    return redirect(url_for(".dossier", code=dossier.code, _anchor=f"request-{payment.reference}"))


@bp.post("/payment-requests/<reference>/cancel")
@roles_required(COUNTER)
def cancel(reference: str):
    payment = _load_request(reference)
    dossier = payment.dossier
    reason = request.form.get("reason") or ""
    if not storable_text(reason):
        reason = ""  # refused below as a missing reason
    try:
        with transactional(db.session):
            cancel_request(db.session, payment, reason, current_user.actor)
    except ServiceError as exc:
        errors = FormErrors()
        errors.add(f"reason-{payment.reference}", refusal_text(exc))
        return _render_dossier(dossier, exc.status, cancel_errors={payment.reference: refusal_text(exc)}, errors=errors)
    flash(_("Đã hủy yêu cầu thanh toán %(ref)s.", ref=payment.reference), "success")
    return redirect(url_for(".dossier", code=dossier.code, _anchor=f"request-{payment.reference}"))


@bp.get("/payment-requests/<reference>/print")
@roles_required(COUNTER)
def print_card(reference: str):
    """The card as an image sized for its paper, with the print dialog opened on load."""
    payment = _load_request(reference)
    layout = request.args.get("layout", "receipt80")
    if layout not in LAYOUTS:
        abort(404)
    changed = refresh_expiry(db.session, payment)
    if payment.status in PAYABLE and payment.printed_at is None:
        payment.printed_at = utcnow()  # from now on the dossier page offers to print it again
        changed = True
    if changed:
        db.session.commit()
    return render_template("counter/print.html", payment=payment, layout=layout,
                           printable=payment.status in PAYABLE)


@bp.get("/receipts/<int:receipt_id>.<fmt>")
@roles_required(COUNTER, "finance", "supervisor")  # the finance pages' receipts link here too
def receipt_file(receipt_id: int, fmt: str):
    """A dossier's e-receipt as PDF (to download or print) or its signed XML."""
    if fmt not in RECEIPT_FORMATS and fmt != "xml":
        abort(404)
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(_("Không có biên lai này."), title=_("Không tìm thấy biên lai"))
    return receipt_response(receipt, fmt)


@bp.get("/status.json")
@roles_required(COUNTER)
def status_json():
    """What the dossier page refreshes every few seconds: totals and each request's state."""
    dossier = _load_dossier(request.args.get("code") or "")
    _refresh(dossier)
    status = payment_status(dossier)
    payments = _payments(dossier)
    receipts = dossier_receipts(db.session, dossier.id)
    body = {
        "code": dossier.code,
        "amount_due": dossier.amount_due,
        "amount_paid": dossier.amount_paid,
        "remaining": remaining_due(dossier),
        "available": _available(dossier),
        "payment_status": status,
        "payment_status_label": dossier_status_label(dossier),
        "text": {"amount_due": format_vnd(dossier.amount_due), "amount_paid": format_vnd(dossier.amount_paid),
                 "remaining": format_vnd(remaining_due(dossier)),
                 "available": format_vnd(_available(dossier), symbol=False),
                 "remaining_plain": format_vnd(remaining_due(dossier), symbol=False)},
        "requests": [
            {
                "reference": r.reference,
                "status": r.status,
                "status_label": request_status_label(r.status),
                "amount": r.amount,
                "amount_paid": r.amount_paid,
                "amount_paid_text": format_vnd(r.amount_paid),
                "payable": r.status in PAYABLE,
                "expires_at": isoformat_ict(r.expires_at),
            }
            for r in dossier.payment_requests
        ],
        # Changes when a payment is allocated or reversed, or a receipt issued or cancelled: the
        # page then fetches its payments and receipts sections again.
        "ledger": _ledger(payments, receipts),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
