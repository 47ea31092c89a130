"""The administrator's page of outbound events (``/admin/events``): each event for the
one-stop dossier system with its delivery log, and a button to send it again.

Replaying is ``outbox.replay`` with the configured ``DOSSIER_EVENTS_URL`` and
``DOSSIER_EVENTS_SECRET``; when they are not configured the page says so and nothing is sent.
The attempt (and who made it) is in the log whether the receiver accepted it or not.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import db
from core.errors import NotFound
from core.login import roles_required
from core.users import Role

from reconciliation.web import finance_queries as q
from reconciliation.web.finance_forms import clean, parse_page
from reconciliation.models import OutboxEvent
from reconciliation.channels.outbox import replay

bp = Blueprint("admin_events", __name__, url_prefix="/admin/events")
ADMIN = Role.ADMIN.value
STATUSES = ("all", "pending", "delivered", "dead")


@bp.record_once
def _register_globals(state) -> None:
    from reconciliation.web.finance import _Fin  # the page shares the finance pages' labels and pager

    state.app.jinja_env.globals.setdefault("fin", _Fin())


def _configured() -> bool:
    return bool(current_app.config.get("DOSSIER_EVENTS_URL") and current_app.config.get("DOSSIER_EVENTS_SECRET"))


def _render(status: str, code: int = 200, error: str | None = None, error_event: int | None = None):
    return render_template("admin/events.html", status=status, statuses=STATUSES,
                           page=q.events_page(db.session, status, parse_page(request.args)),
                           counts=q.event_counts(db.session), configured=_configured(),
                           url=current_app.config.get("DOSSIER_EVENTS_URL"), error=error,
                           error_event=error_event,
                           lang_next=url_for(".events", status=status if status != "all" else None)), code


@bp.get("/")
@roles_required(ADMIN)
def events():
    status = clean(request.args.get("status"), 20) or "all"
    return _render(status if status in STATUSES else "all")


@bp.post("/<int:event_id>/replay")
@roles_required(ADMIN)
def replay_event(event_id: int):
    event = db.session.get(OutboxEvent, event_id)
    if event is None:
        raise NotFound(_("Không có sự kiện số %(id)d.", id=event_id), title=_("Không tìm thấy"))
    back = clean(request.form.get("status"), 20)
    back = back if back in STATUSES else "all"
    if not _configured():
        return _render(back, 409, _("Chưa cấu hình địa chỉ nhận (DOSSIER_EVENTS_URL) và khóa ký "
                                    "(DOSSIER_EVENTS_SECRET): không gửi lại được. Chưa có gì thay đổi."), event_id)
    log = replay(db.session, event, current_app.config["DOSSIER_EVENTS_URL"],
                 current_app.config["DOSSIER_EVENTS_SECRET"], current_user.actor)
    db.session.commit()
    if log.error is None:
        flash(_("Đã gửi lại sự kiện %(id)s: hệ thống hồ sơ trả lời HTTP %(code)s.", id=event.event_id,
                code=log.status_code), "success")
    else:
        flash(_("Gửi lại sự kiện %(id)s không thành công (%(error)s). Lần thử đã được ghi vào nhật ký.",
                id=event.event_id, error=log.error), "error")
    return redirect(url_for(".events", status=back if back != "all" else None, open=event.id,
                            _anchor=f"event-{event.id}"))
