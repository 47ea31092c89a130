"""The administrator's page of staff accounts, ``/admin/users``: the list, and forms to create a
user, disable and enable, reset a password and set roles. The rules are ``core.accounts`` (the
same as ``flask user ...``); a generated password is shown once, in the answer to the form that
made it (never in a flash message: those travel in the session cookie), and is changed at the
user's first sign-in."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .accounts import create_user, reset_password, set_active, set_roles
from .db import db, transactional
from .errors import NotFound, ServiceError
from .login import roles_required
from .refusals import refusal_text
from .users import STAFF_ROLES, Role, User

bp = Blueprint("staff", __name__, url_prefix="/admin/users")
ADMIN = Role.ADMIN.value


def role_label(role: str) -> str:
    return {"counter": _("Một cửa"), "finance": _("Kế toán"), "supervisor": _("Giám sát"),
            "admin": _("Quản trị")}.get(role, role)


@bp.record_once
def _register_globals(state) -> None:
    state.app.jinja_env.globals.setdefault("role_label", role_label)


def _render(status: int = 200, **extra):
    users = list(db.session.scalars(select(User).order_by(User.active.desc(), User.username)))
    return render_template("admin/users.html", users=users, roles=STAFF_ROLES, form=extra.pop("form", {}),
                           **extra), status


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("Không có tài khoản số %(id)d.", id=user_id), title=_("Không tìm thấy"))
    return user


@bp.get("")
@roles_required(ADMIN)
def index():
    return _render()


@bp.post("")
@roles_required(ADMIN)
def create():
    form = {"username": (request.form.get("username") or "").strip(),
            "full_name": (request.form.get("full_name") or "").strip(), "roles": request.form.getlist("roles")}
    try:
        with transactional(db.session):
            user, password = create_user(db.session, form["username"], form["roles"], current_user.actor,
                                         full_name=form["full_name"])
    except ServiceError as exc:
        return _render(exc.status, create_error=refusal_text(exc), form=form)
    return render_template("admin/user_password.html", user=user, password=password, created=True)


@bp.post("/<int:user_id>/disable")
@roles_required(ADMIN)
def disable(user_id: int):
    return _act(user_id, lambda user: set_active(db.session, user, False, current_user.actor),
                _("Đã khóa tài khoản %(name)s: các phiên đăng nhập của tài khoản này đã kết thúc."))


@bp.post("/<int:user_id>/enable")
@roles_required(ADMIN)
def enable(user_id: int):
    return _act(user_id, lambda user: set_active(db.session, user, True, current_user.actor),
                _("Đã mở lại tài khoản %(name)s."))


@bp.post("/<int:user_id>/roles")
@roles_required(ADMIN)
def roles(user_id: int):
    return _act(user_id, lambda user: set_roles(db.session, user, request.form.getlist("roles"), current_user.actor),
                _("Đã cập nhật vai trò của %(name)s."))


def _act(user_id: int, act, done: str):
    user = _user(user_id)
    try:
        with transactional(db.session):
            act(user)
    except ServiceError as exc:
        return _render(exc.status, row_error=(user_id, refusal_text(exc)))
    flash(done % {"name": user.username}, "success")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/reset-password")
@roles_required(ADMIN)
def reset(user_id: int):
    user = _user(user_id)
    with transactional(db.session):
        password = reset_password(db.session, user, current_user.actor)
    return render_template("admin/user_password.html", user=user, password=password, created=False)
