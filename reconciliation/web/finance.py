"""The finance officer's workspace (pages, ``/finance``).

- The exceptions queue by reason and age, one item with its transaction, suggestions and
  evidence, and the acts on it: match, split, unmatch, not ours, assign, note, resolve.
- Transaction search; refunds (four eyes); the day view per account with the run, the close
  and the reopen; the statement upload with each section's balance proof; exports.

Views are thin: the reads live in ``finance_queries``, the forms in ``finance_forms``, the
rules in ``manual``, ``exceptions``, ``refunds``, ``close`` and ``statement_import``. A rule's
refusal (``ServiceError``) is rolled back and told in Vietnamese on the form; nothing changes.
Finance officers act; supervisors see the same pages without any form; admins may do all.
"""
from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from core.clock import ict_day, utcnow
from core.db import db, transactional
from core.errors import NotFound, ServiceError
from core.forms import FormErrors, money_error
from core.login import roles_required
from core.money import format_vnd
from core.refusals import Refusal, refusal_text
from core.users import Role, User, users_holding
from payments.models import CollectionAccount, Dossier
from qr.banks import all_banks

from reconciliation.web import finance_queries as q
from reconciliation.workflow.close import Action, close_day, reopen_day, run_day
from reconciliation.workflow.exceptions import add_note, assign, get_exception, resolve
from reconciliation.web.exports import EXPORTS, FORMATS, export, file_name
from reconciliation.web.finance_forms import (EXCEPTION_STATUSES, REFUND_STATUSES, TRANSACTION_STATUSES, clean, export_filters,
                            parse_day, parse_page, parts_form, queue_filters, refund_form, transaction_filters)
from reconciliation.web.finance_labels import Labels
from reconciliation.matching.manual import mark_not_ours, match_manually, unmatch
from reconciliation.models import EXCEPTION_REASONS, BankTransaction, MatchDecision, Refund, StatementImport
from reconciliation.workflow.refunds import decide, get_refund, mark_paid, refundable_from_dossier, refundable_from_transaction, \
    request_refund

bp = Blueprint("finance", __name__, url_prefix="/finance")
READ = (Role.FINANCE.value, Role.SUPERVISOR.value)  # and admin, whom roles_required always lets in
ACT = (Role.FINANCE.value,)
# Refunds are four eyes between two finance officers: admin does not stand in for one.
REFUND = roles_required(Role.FINANCE.value, admin_may=False)
STATEMENT_MAX_BYTES = 512 * 1024 * 1024
SPLIT_ROWS = 3


class _Fin(Labels):
    """Labels plus what every finance template asks: may this person act, a page's link."""

    @staticmethod
    def may_act() -> bool:
        return current_user.is_authenticated and current_user.may(Role.FINANCE.value)

    @staticmethod
    def may_refund() -> bool:
        """Request, approve or reject a refund: the finance role itself (four eyes)."""
        return current_user.is_authenticated and current_user.holds(Role.FINANCE.value)

    @staticmethod
    def page_url(number: int) -> str:
        args = request.args.to_dict()
        args["page"] = str(number)
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    @staticmethod
    def bank(bank_bin: str | None) -> str:
        from qr.banks import lookup

        bank = lookup(bank_bin or "")
        return bank.short_name if bank else (bank_bin or "")

    @staticmethod
    def run_action(action: Action) -> str:
        return run_action_label(action)


@bp.record_once
def _register_globals(state) -> None:
    state.app.jinja_env.globals.setdefault("fin", _Fin())


def run_action_label(action: Action) -> str:
    """What ``run_day`` did (or would do), for people."""
    if action.kind == "closed":
        return _("Khóa sổ ngày.")
    if action.kind == "missing_callback":
        outcomes = ", ".join(f"{n} {Labels.transaction_status(outcome).lower()}" for outcome, n in action.outcomes)
        return _("%(n)d khoản chỉ có trên sao kê (không có báo có) đã qua bước ghép: %(outcomes)s.", n=action.count,
                 outcomes=outcomes)
    if action.kind == "released":
        outcomes = ", ".join(f"{n} {Labels.transaction_status(outcome).lower()}" for outcome, n in action.outcomes)
        return _("%(n)d khoản báo về khi ngày đã khóa sổ được đưa vào ngày và qua bước ghép: %(outcomes)s.",
                 n=action.count, outcomes=outcomes)
    if action.kind == "missing_from_statement":
        return _("Khoản %(ref)s được báo có nhưng không có trên sao kê.", ref=action.ref)
    if action.kind == "unlinked_reversal":
        return _("Bút toán đảo %(ref)s không rõ giao dịch gốc.", ref=action.ref)
    if action.kind == "reversal":
        return _("Bút toán đảo %(ref)s gỡ %(n)s khoản phân bổ của %(original)s.", ref=action.ref, n=action.count,
                 original=action.original)
    return str(action)


# ---------------------------------------------------------------------------------------------
# Loading what a URL names (a Vietnamese 404 when there is nothing)


def _not_found(text: str) -> NotFound:
    return NotFound(text, title=_("Không tìm thấy"))


def _exception(exception_id: int, *, lock: bool = False):
    try:
        return get_exception(db.session, exception_id, lock=lock)
    except NotFound:
        raise _not_found(_("Không có mục cần xử lý số %(id)d.", id=exception_id)) from None


def _facts(transaction_id: int) -> q.TransactionFacts:
    facts = q.transaction_facts(db.session, transaction_id)
    if facts is None:
        raise _not_found(_("Không có giao dịch số %(id)d.", id=transaction_id))
    return facts


def _account(account_id: int) -> CollectionAccount:
    account = db.session.get(CollectionAccount, account_id)
    if account is None:
        raise _not_found(_("Không có tài khoản thu số %(id)d.", id=account_id))
    return account


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _not_found(_("Ngày %(day)s không hợp lệ (viết dạng năm-tháng-ngày).", day=text[:20])) from None


def _people() -> list[User]:
    return users_holding(db.session, Role.FINANCE.value, Role.ADMIN.value)


def _form_exception():
    raw = clean(request.form.get("exception_id"), 12)
    return _exception(int(raw)) if raw.isdigit() else None


# ---------------------------------------------------------------------------------------------
# The queue and one item


@bp.get("/")
@roles_required(*READ)
def index():
    return redirect(url_for(".queue"))


@bp.get("/exceptions")
@roles_required(*READ)
def queue():
    filters, errors = queue_filters(request.args)
    page = q.exception_queue(db.session, filters, parse_page(request.args))
    return render_template("finance/queue.html", filters=filters, errors=errors, page=page,
                           summary=q.queue_summary(db.session), accounts=q.accounts(db.session),
                           reasons=EXCEPTION_REASONS, statuses=EXCEPTION_STATUSES, people=_people())


def _render_item(item, facts: q.TransactionFacts | None, *, status: int = 200, errors: dict | None = None,
                 form=None, open_form: str | None = None, parsed=None):
    left = facts.left if facts else 0
    suggestions = q.suggestions_for(db.session, item, left) if item is not None and facts is not None else []
    decision_id = item.decision_id if item is not None else None
    if decision_id is None and facts is not None and facts.decisions:
        decision_id = facts.decisions[-1].id
    decision = db.session.get(MatchDecision, decision_id) if decision_id else None
    refund_dossier, dossier_refundable = q.dossier_refund_source(db.session, item)
    rows = request.args.get("rows", "")
    split_rows = max(SPLIT_ROWS, min(int(rows), 20)) if rows.isdigit() else SPLIT_ROWS
    if parsed is not None and open_form == "split":
        split_rows = max(split_rows, max((r.index for r in parsed.rows), default=0) + 1)
    return render_template(
        "finance/item.html", item=item, facts=facts, suggestions=suggestions, decision=decision,
        refund_dossier=refund_dossier, dossier_refundable=dossier_refundable,
        next_id=q.next_open_exception(db.session, item.id) if item is not None else None,
        errors=errors or {}, form=form or {}, open_form=open_form, parsed=parsed, split_rows=split_rows,
        people=_people() if item is not None else [], today=ict_day(utcnow()),
        lang_next=_back(item, facts.transaction.id if facts else None),
    ), status


@bp.get("/exceptions/<int:exception_id>")
@roles_required(*READ)
def exception(exception_id: int):
    item = _exception(exception_id)
    facts = _facts(item.transaction_id) if item.transaction_id else None
    return _render_item(item, facts)


@bp.get("/transactions")
@roles_required(*READ)
def transactions():
    filters, errors = transaction_filters(request.args)
    page = q.search_transactions(db.session, filters, parse_page(request.args))
    return render_template("finance/transactions.html", filters=filters, errors=errors, page=page,
                           accounts=q.accounts(db.session), statuses=TRANSACTION_STATUSES)


@bp.get("/transactions/<int:transaction_id>")
@roles_required(*READ)
def transaction(transaction_id: int):
    return _render_item(None, _facts(transaction_id))


def _back(item, transaction_id: int | None):
    if item is not None:
        return url_for(".exception", exception_id=item.id)
    return url_for(".transaction", transaction_id=transaction_id)


def _refuse(item, transaction_id: int | None, form_name: str, status: int, message: str, parsed=None):
    """The page the act came from, again, with the refusal on its form; nothing was saved."""
    db.session.rollback()
    facts = _facts(transaction_id) if transaction_id else None
    return _render_item(item, facts, status=status, errors={form_name: message}, form=request.form,
                        open_form=form_name, parsed=parsed)


def _refusal(exc: ServiceError) -> str:
    """What the rule refused and why, in the page's language; nothing was saved."""
    return refusal_text(exc, nothing_changed=True)


@bp.post("/transactions/<int:transaction_id>/match")
@roles_required(*ACT)
def match(transaction_id: int):
    """A manual match (one row), a split (several) or an applied suggestion. Without
    ``step=confirm`` it shows what would be done and asks to confirm."""
    facts = _facts(transaction_id)
    item = _form_exception()
    form_name = clean(request.form.get("form"), 20)
    if not re.fullmatch(r"match|split|suggestion-\d{1,2}", form_name):
        form_name = "match"
    parsed = parts_form(request.form)
    if not parsed.rows:
        return _refuse(item, transaction_id, form_name, 422,
                       _("Nhập ít nhất một dòng: mã yêu cầu thanh toán hoặc mã hồ sơ, và số tiền. "
                         "Chưa có gì thay đổi."), parsed)
    if parsed.errors:
        if form_name == "split":
            message = _("Xem lại các dòng được đánh dấu. Chưa có gì thay đổi.")
        else:  # one row: its problem is the form's
            message = _("%(problem)s Chưa có gì thay đổi.", problem=next(iter(parsed.errors.values())))
        return _refuse(item, transaction_id, form_name, 422, message, parsed)
    if request.form.get("step") != "confirm":
        targets = q.resolve_targets(db.session, parsed.parts)
        missing = [t for t in targets if t.dossier is None]
        if missing:
            return _refuse(item, transaction_id, form_name, 422,
                           _("Không có yêu cầu thanh toán hay hồ sơ nào mang mã “%(code)s”. Chưa có gì thay đổi.",
                             code=missing[0].text), parsed)
        return render_template("finance/confirm_match.html", facts=facts, item=item, parsed=parsed, targets=targets,
                               form_name=form_name, lang_next=_back(item, transaction_id))
    try:
        with transactional(db.session):
            made = match_manually(db.session, transaction_id, parsed.parts, current_user.actor, parsed.note)
    except ServiceError as exc:
        return _refuse(item, transaction_id, form_name, exc.status, _refusal(exc), parsed)
    flash(_("Đã ghép %(amount)s của giao dịch %(ref)s cho %(n)d hồ sơ.", amount=format_vnd(sum(a.amount for a in made)),
            ref=facts.transaction.bank_ref, n=len({a.dossier_id for a in made})), "success")
    return redirect(_back(item, transaction_id))


@bp.post("/transactions/<int:transaction_id>/unmatch")
@roles_required(*ACT)
def unmatch_view(transaction_id: int):
    facts = _facts(transaction_id)
    item = _form_exception()
    try:
        undone = unmatch(db.session, transaction_id, current_user.actor, clean(request.form.get("reason"), 2000))
        db.session.commit()
    except ServiceError as exc:
        return _refuse(item, transaction_id, "unmatch", exc.status, _refusal(exc))
    flash(_("Đã gỡ %(n)d khoản phân bổ của giao dịch %(ref)s; giao dịch trở lại danh sách cần xử lý.", n=undone,
            ref=facts.transaction.bank_ref), "success")
    return redirect(_back(item, transaction_id))


@bp.post("/transactions/<int:transaction_id>/not-ours")
@roles_required(*ACT)
def not_ours(transaction_id: int):
    facts = _facts(transaction_id)
    item = _form_exception()
    try:
        mark_not_ours(db.session, transaction_id, current_user.actor, clean(request.form.get("reason"), 2000))
        db.session.commit()
    except ServiceError as exc:
        return _refuse(item, transaction_id, "not_ours", exc.status, _refusal(exc))
    flash(_("Đã đánh dấu giao dịch %(ref)s là không thuộc đơn vị. Tạo đề nghị hoàn tiền để trả lại người chuyển.",
            ref=facts.transaction.bank_ref), "success")
    return redirect(_back(item, transaction_id))


@bp.post("/exceptions/<int:exception_id>/assign")
@roles_required(*ACT)
def assign_view(exception_id: int):
    item = _exception(exception_id, lock=True)
    owner = current_user.username if request.form.get("me") == "1" else clean(request.form.get("owner"), 64)
    try:
        deadline = parse_day(request.form.get("deadline"))
    except ValueError:
        return _refuse(item, item.transaction_id, "assign", 422,
                       _("Hạn xử lý viết dạng ngày/tháng/năm, ví dụ 25/11/2026. Chưa có gì thay đổi."))
    try:
        assign(db.session, item, owner or None, deadline, current_user.actor)
        db.session.commit()
    except ServiceError as exc:
        return _refuse(item, item.transaction_id, "assign", exc.status, _refusal(exc))
    if item.owner:
        flash(_("Đã giao mục #%(id)d cho %(owner)s, hạn %(deadline)s.", id=item.id, owner=item.owner,
                deadline=item.deadline.strftime("%d/%m/%Y") if item.deadline else "—"), "success")
    else:
        flash(_("Mục #%(id)d chưa giao cho ai.", id=item.id), "success")
    return redirect(url_for(".exception", exception_id=item.id))


@bp.post("/exceptions/<int:exception_id>/notes")
@roles_required(*ACT)
def note_view(exception_id: int):
    item = _exception(exception_id)
    try:
        add_note(db.session, item, current_user.actor, clean(request.form.get("text"), 4000))
        db.session.commit()
    except ServiceError as exc:
        return _refuse(item, item.transaction_id, "note", exc.status, refusal_text(exc))
    flash(_("Đã thêm ghi chú."), "success")
    return redirect(url_for(".exception", exception_id=item.id, _anchor="notes"))


@bp.post("/exceptions/<int:exception_id>/resolve")
@roles_required(*ACT)
def resolve_view(exception_id: int):
    item = _exception(exception_id, lock=True)
    status = "dismissed" if request.form.get("status") == "dismissed" else "resolved"
    try:
        resolve(db.session, item, current_user.actor, clean(request.form.get("resolution"), 2000), status=status)
        db.session.commit()
    except ServiceError as exc:
        return _refuse(item, item.transaction_id, "resolve", exc.status, _refusal(exc))
    flash(_("Đã đóng mục #%(id)d.", id=item.id), "success")
    return redirect(url_for(".exception", exception_id=item.id))


# ---------------------------------------------------------------------------------------------
# Refunds (four eyes)


@bp.get("/refunds")
@roles_required(*READ)
def refunds():
    status = clean(request.args.get("status"), 20) or "requested"
    status = status if status in REFUND_STATUSES else "requested"
    return render_template("finance/refunds.html", status=status, statuses=REFUND_STATUSES,
                           page=q.refunds_page(db.session, status, parse_page(request.args)),
                           counts=q.refund_counts(db.session))


def _refund_source_from(values) -> tuple[q.RefundSource, object]:
    item = None
    raw_exception = clean(values.get("exception_id"), 12)
    if raw_exception.isdigit():
        item = _exception(int(raw_exception))
    raw_dossier = clean(values.get("dossier_id"), 12)
    raw_transaction = clean(values.get("transaction_id"), 12)
    source = q.refund_source(db.session, transaction_id=int(raw_transaction) if raw_transaction.isdigit() else None,
                             dossier_id=int(raw_dossier) if raw_dossier.isdigit() else None, exception=item)
    if source is None:
        raise _not_found(_("Chọn khoản tiền cần hoàn: một giao dịch, hoặc số nộp thừa của một hồ sơ."))
    return source, item


def _render_refund_form(source: q.RefundSource, item, form, status: int = 200, errors: dict | None = None,
                        message: str | None = None):
    args = {"dossier_id": source.dossier.id} if source.dossier else {"transaction_id": source.transaction.id}
    if item is not None:
        args["exception_id"] = item.id
    return render_template("finance/refund_new.html", source=source, item=item, form=form, errors=errors or {},
                           message=message, banks=all_banks(), lang_next=url_for(".new_refund", **args)), status


@bp.get("/refunds/new")
@REFUND
def new_refund():
    source, item = _refund_source_from(request.args)
    form = {"amount": format_vnd(source.available, symbol=False) if source.available else "",
            "beneficiary_bank": source.payer_bank,
            "beneficiary_account": source.payer_account, "beneficiary_name": source.payer_name, "reason": ""}
    return _render_refund_form(source, item, form)




@bp.post("/refunds")
@REFUND
def create_refund():
    source, item = _refund_source_from(request.form)
    parsed = refund_form(request.form)
    try:
        with transactional(db.session):
            refund = request_refund(
                db.session, amount=parsed.amount or 0, reason=parsed.reason, beneficiary_bank=parsed.bank,
                beneficiary_account=parsed.account, beneficiary_name=parsed.name, actor=current_user.actor,
                transaction_id=source.transaction.id if source.transaction else None,
                dossier_id=source.dossier.id if source.dossier else None, exception_id=item.id if item else None)
    except ServiceError as exc:
        messages = {
            "amount": _("Số tiền hoàn là số đồng nguyên dương, ví dụ 2.000."),
            "reason": _("Nhập lý do hoàn tiền."),
            "beneficiary_bank": _("Chọn ngân hàng của tài khoản nhận tiền hoàn."),
            "beneficiary_account": _("Số tài khoản nhận gồm 6 đến 19 chữ hoặc số, không dấu cách."),
            "beneficiary_name": _("Nhập tên chủ tài khoản nhận (tối đa 200 ký tự)."),
            "source": _("Hoàn từ một giao dịch, hoặc từ số nộp thừa của một hồ sơ."),
        }
        errors = FormErrors()
        amount_problem = money_error(parsed.amount_text, required=True, minimum=1, what=_("Số tiền hoàn"))[1]
        for order in ("amount", "beneficiary_bank", "beneficiary_account", "beneficiary_name", "reason", "source"):
            if any(e.field == order for e in exc.errors):  # every field the rule refused, in the form's order
                errors.add(order, amount_problem if order == "amount" and amount_problem else messages[order])
        source, item = _refund_source_from(request.form)  # as it is now (another request may have come first)
        if exc.code == Refusal.REFUND_OVER_AVAILABLE:
            errors.add("amount", refusal_text(exc))
        if not errors:
            errors.add(None, _refusal(exc))
        return _render_refund_form(source, item, request.form, exc.status, errors)
    flash(_("Đã tạo đề nghị hoàn %(amount)s (số %(id)d). Cần một cán bộ kế toán khác duyệt.",
            amount=format_vnd(refund.amount), id=refund.id), "success")
    return redirect(url_for(".refund", refund_id=refund.id))


def _refund(refund_id: int) -> Refund:
    try:
        return get_refund(db.session, refund_id)
    except NotFound:
        raise _not_found(_("Không có đề nghị hoàn tiền số %(id)d.", id=refund_id)) from None


def _render_refund(refund: Refund, status: int = 200, errors: dict | None = None):
    transaction = db.session.get(BankTransaction, refund.transaction_id) if refund.transaction_id else None
    dossier = db.session.get(Dossier, refund.dossier_id) if refund.dossier_id else None
    if dossier is not None:
        available = refundable_from_dossier(db.session, dossier, excluding=refund.id)
    elif transaction is not None:
        available = refundable_from_transaction(db.session, transaction) + (
            refund.amount if refund.status in ("requested", "approved") else 0)
    else:
        available = 0
    return render_template("finance/refund.html", refund=refund, transaction=transaction, dossier=dossier,
                           available=available, errors=errors or {},
                           own=current_user.actor == refund.requested_by,
                           lang_next=url_for(".refund", refund_id=refund.id)), status


@bp.get("/refunds/<int:refund_id>")
@roles_required(*READ)
def refund(refund_id: int):
    return _render_refund(_refund(refund_id))


@bp.post("/refunds/<int:refund_id>/decide")
@REFUND
def decide_refund(refund_id: int):
    refund = _refund(refund_id)
    approve = request.form.get("decision") == "approve"
    try:
        with transactional(db.session):
            decide(db.session, refund, current_user.actor, approve=approve, note=clean(request.form.get("note"), 2000))
    except ServiceError as exc:
        return _render_refund(_refund(refund_id), exc.status, {"decide": _refusal(exc)})
    if approve:
        flash(_("Đã duyệt đề nghị hoàn %(amount)s. Sau khi ngân hàng chuyển trả, ghi số tham chiếu vào đây.",
                amount=format_vnd(refund.amount)), "success")
    else:
        flash(_("Đã từ chối đề nghị hoàn tiền số %(id)d.", id=refund.id), "success")
    return redirect(url_for(".refund", refund_id=refund.id))


@bp.post("/refunds/<int:refund_id>/paid")
@REFUND
def refund_paid(refund_id: int):
    refund = _refund(refund_id)
    try:
        with transactional(db.session):
            mark_paid(db.session, refund, current_user.actor, clean(request.form.get("payout_ref"), 120))
    except ServiceError as exc:
        return _render_refund(_refund(refund_id), exc.status, {"paid": _refusal(exc)})
    flash(_("Đã ghi nhận chuyển trả %(amount)s (tham chiếu %(ref)s).", amount=format_vnd(refund.amount),
            ref=refund.payout_ref), "success")
    return redirect(url_for(".refund", refund_id=refund.id))


# ---------------------------------------------------------------------------------------------
# The day per account


@bp.get("/days")
@roles_required(*READ)
def days():
    all_accounts = q.accounts(db.session)
    raw_account = clean(request.args.get("account"), 12)
    try:
        chosen_day = parse_day(request.args.get("day"))
    except ValueError:
        chosen_day = None
    if raw_account.isdigit() and chosen_day is not None:
        return redirect(url_for(".day", account_id=int(raw_account), day=chosen_day.isoformat()))
    activity = {a.id: q.active_days(db.session, a, limit=7) for a in all_accounts}
    return render_template("finance/days.html", accounts=all_accounts, activity=activity,
                           closes=q.recent_closes(db.session), today=ict_day(utcnow()))


def _render_day(account: CollectionAccount, day: date, status: int = 200, errors: dict | None = None,
                dry_result=None):
    view = q.day_view(db.session, account, day)
    return render_template("finance/day.html", view=view, errors=errors or {}, dry=dry_result,
                           today=ict_day(utcnow()), prev_day=day - timedelta(days=1),
                           next_day=day + timedelta(days=1),
                           lang_next=url_for(".day", account_id=account.id, day=day.isoformat())), status


@bp.get("/days/<int:account_id>/<day>")
@roles_required(*READ)
def day(account_id: int, day: str):
    return _render_day(_account(account_id), _day(day))


@bp.post("/days/<int:account_id>/<day>/run")
@roles_required(*ACT)
def run(account_id: int, day: str):
    account, the_day = _account(account_id), _day(day)
    dry_run = request.form.get("dry_run") == "1"
    try:
        result = run_day(db.session, account, the_day, current_user.actor, dry_run=dry_run,
                         close=request.form.get("close") == "1")
    except ServiceError as exc:
        db.session.rollback()
        return _render_day(account, the_day, exc.status, {"run": _refusal(exc)})
    if dry_run:
        return _render_day(account, the_day, dry_result=result)
    if result.status == "closed":
        flash(_("Đã chạy đối soát và khóa sổ ngày %(day)s.", day=the_day.strftime("%d/%m/%Y")), "success")
    elif result.blocking:
        flash(_("Đã chạy đối soát ngày %(day)s: còn %(n)d vướng mắc trước khi khóa sổ.",
                day=the_day.strftime("%d/%m/%Y"), n=len(result.blocking)), "info")
    else:
        flash(_("Đã chạy đối soát ngày %(day)s: không còn vướng mắc, có thể khóa sổ.",
                day=the_day.strftime("%d/%m/%Y")), "success")
    return redirect(url_for(".day", account_id=account.id, day=the_day.isoformat()))


@bp.post("/days/<int:account_id>/<day>/close")
@roles_required(*ACT)
def close(account_id: int, day: str):
    account, the_day = _account(account_id), _day(day)
    try:
        with transactional(db.session):
            close_day(db.session, account, the_day, current_user.actor)
    except ServiceError as exc:
        return _render_day(account, the_day, exc.status, {"close": _refusal(exc)})
    flash(_("Đã khóa sổ ngày %(day)s của tài khoản %(account)s.", day=the_day.strftime("%d/%m/%Y"),
            account=account.number), "success")
    return redirect(url_for(".day", account_id=account.id, day=the_day.isoformat()))


@bp.post("/days/<int:account_id>/<day>/reopen")
@roles_required(*ACT)
def reopen(account_id: int, day: str):
    account, the_day = _account(account_id), _day(day)
    try:
        with transactional(db.session):
            reopen_day(db.session, account, the_day, current_user.actor, clean(request.form.get("reason"), 2000))
    except ServiceError as exc:
        return _render_day(account, the_day, exc.status, {"reopen": _refusal(exc)})
    flash(_("Đã mở lại ngày %(day)s. Nhớ chạy đối soát và khóa sổ lại sau khi sửa.",
            day=the_day.strftime("%d/%m/%Y")), "success")
    return redirect(url_for(".day", account_id=account.id, day=the_day.isoformat()))


# ---------------------------------------------------------------------------------------------
# Statements


def _render_statements(status: int = 200, error: str | None = None, detail: str | None = None):
    errors = FormErrors()
    if error:
        errors.add("file", error)  # for the title ("Lỗi:") and the focus: the page draws the summary itself
    return render_template("finance/statements.html", page=q.imports_page(db.session, parse_page(request.args)),
                           unfinished=q.unfinished_imports(db.session), error=error, detail=detail, errors=errors,
                           lang_next=url_for(".statements")), status


@bp.get("/statements")
@roles_required(*READ)
def statements():
    return _render_statements()


@bp.post("/statements")
@roles_required(*ACT)
def upload_statement():
    from reconciliation.inbound.statement_import import import_statement

    limit = current_app.config.get("STATEMENT_MAX_BYTES", STATEMENT_MAX_BYTES)
    too_large = _("Tệp quá lớn: tối đa %(mb)s MB.", mb=f"{limit / (1024 * 1024):g}")
    if (request.content_length or 0) > limit + 64 * 1024:  # the form's other fields fit in 64 KB
        return _render_statements(413, too_large)
    # The app-wide CSRF check is skipped for this view (app.py) so that the size limit can be
    # raised for a statement before the form is read; the check is made here instead.
    request.max_content_length = limit + 64 * 1024
    try:
        current_app.extensions["csrf"].protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _render_statements(413, too_large)
    if upload is None or not upload.filename:
        return _render_statements(422, _("Chọn tệp sao kê để tải lên."))
    with tempfile.TemporaryFile() as spool:
        upload.save(spool)
        if spool.tell() > limit:
            return _render_statements(413, too_large)
        try:
            summary = import_statement(db.session, spool, filename=upload.filename, actor=current_user.actor)
        except ServiceError as exc:
            db.session.rollback()
            return _render_statements(exc.status, refusal_text(exc), exc.detail)
    if summary.created:
        flash(_("Đã nhập sao kê: %(n)d dòng, %(new)d giao dịch mới (đã ghép ngay %(matched)d), %(known)d giao dịch "
                "đã biết.", n=summary.entries, new=summary.new_transactions, matched=summary.matched,
                known=summary.known_transactions),
              "success" if summary.balance_ok else "error")
    else:
        flash(_("Tệp này đã được nhập trước đây (cùng nội dung): không có gì mới."), "info")
    return redirect(url_for(".statement_import", import_id=summary.import_id))


@bp.get("/statements/<int:import_id>")
@roles_required(*READ)
def statement_import(import_id: int):
    from reconciliation.api.schemas import StatementImport as ImportShape

    record = db.session.get(StatementImport, import_id)
    if record is None or record.status != "done":
        raise _not_found(_("Không có lần nhập sao kê số %(id)d.", id=import_id))
    result = ImportShape.of(q.import_summary(db.session, record)).model_dump(mode="json")
    return render_template("finance/statement_import.html", record=record, result=result,
                           statements={s.id: s for s in record.statements})


# ---------------------------------------------------------------------------------------------
# Exports


@bp.get("/exports")
@roles_required(*READ)
def exports():
    today = ict_day(utcnow())
    filters, errors = export_filters(request.args, today)
    return render_template("finance/exports.html", filters=filters, errors=errors, accounts=q.accounts(db.session),
                           kinds=EXPORTS, formats=FORMATS)


@bp.get("/exports/<kind>.<fmt>")
@roles_required(*READ)
def export_file(kind: str, fmt: str):
    if kind not in EXPORTS or fmt not in FORMATS:
        raise _not_found(_("Không có bản xuất này."))
    today = ict_day(utcnow())
    filters, errors = export_filters(request.args, today)
    if errors:
        return render_template("finance/exports.html", filters=filters, errors=errors,
                               accounts=q.accounts(db.session), kinds=EXPORTS, formats=FORMATS), 422
    spool = tempfile.TemporaryFile()
    export(db.session, kind, fmt, filters, spool, _Fin())  # in the page's language, like the page
    spool.seek(0)
    # Flask adds "; charset=utf-8" to a text/* mimetype itself: naming it here wrote it twice.
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx" else "text/csv"

    return send_file(spool, mimetype=mimetype, as_attachment=True, download_name=file_name(kind, fmt, filters),
                     max_age=0)
