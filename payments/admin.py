"""The administrator's catalogue page: the procedures and fee items as the service applies
them, and the upload of a corrected catalogue CSV (``import_catalogue``: an upsert, all or
nothing)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.errors import ServiceError
from core.login import roles_required
from core.users import Role

from .catalogue import ImportResult, import_catalogue
from .counter import grouped
from .models import Procedure
from .rule_catalogue import all_rules, export_rules

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMIN.value
MAX_CSV_BYTES = 2 * 1024 * 1024


def _summary(result: ImportResult) -> str:
    return _("Thủ tục: %(pc)d mới, %(pu)d thay đổi. Khoản phí: %(ic)d mới, %(iu)d thay đổi, %(un)d không đổi.",
             pc=result.procedures_created, pu=result.procedures_updated, ic=result.items_created,
             iu=result.items_updated, un=result.unchanged)


def _render(status: int = 200, **extra):
    order = {"land": 0, "civil_status": 1}
    procedures = sorted(db.session.scalars(select(Procedure)), key=lambda p: (order.get(p.field, 9), p.field, p.code))
    items = sum(len(p.fee_items) for p in procedures)
    unverified = sum(1 for p in procedures for i in p.fee_items if not i.verified)
    rules = [r for r in all_rules(db.session) if r.active]
    return render_template("admin/catalogue.html", procedures=procedures, groups=grouped(procedures, "field"),
                           item_count=items, rules=rules,
                           unverified=unverified, **extra), status


@bp.get("/catalogue")
@roles_required(ADMIN)
def catalogue():
    return _render()


@bp.get("/catalogue/fee-rules.csv")
@roles_required(ADMIN)
def export_fee_rules():
    """The fee rules in the columns of ``fee-rules.csv``; ``confirmed = no`` marks the unconfirmed."""
    response = Response(export_rules(db.session), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="fee-rules.csv"'
    return response
@bp.get("/catalogue.csv")
@roles_required(ADMIN)
def export_catalogue():
    """The catalogue as the CSV the upload reads, with the treasury's columns."""
    from flask import Response

    from .catalogue_export import export_catalogue as export

    return Response("\ufeff" + export(db.session), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=danh-muc-phi-le-phi.csv"})


@bp.post("/catalogue")
@roles_required(ADMIN)
def upload_catalogue():
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "1"
    if upload is None or not upload.filename:
        return _render(422, upload_error=_("Chọn tệp CSV danh mục phí, lệ phí để tải lên."))
    raw = upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        return _render(413, upload_error=_("Tệp quá lớn (tối đa 2 MB)."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _render(422, upload_error=_("Tệp không phải văn bản UTF-8: hãy lưu lại tệp CSV với mã hóa UTF-8."))
    try:
        result = import_catalogue(db.session, text)
    except ServiceError as exc:
        db.session.rollback()
        return _render(exc.status, upload_error=_("Tệp không được nhập, danh mục không thay đổi: %(detail)s",
                                                  detail=exc.detail))
    if dry_run:
        db.session.rollback()
        flash(_("Kiểm tra xong, chưa lưu gì. %(summary)s", summary=_summary(result)), "info")
    else:
        db.session.commit()
        flash(_("Đã nhập danh mục. %(summary)s", summary=_summary(result)), "success")
    return redirect(url_for(".catalogue"))
