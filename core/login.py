"""Staff login and logout for the pages (the API uses bearer tokens, see ``core.auth``).

- Passwords are checked with ``User.check_password``; every refusal says the same thing, so
  the page never tells whether a username exists (an unknown name costs the same hash check).
- Lock-out: after ``MAX_FAILED_LOGINS`` wrong passwords in a row the account is locked for
  ``LOCK_MINUTES``; while locked even the right password is refused.
- ``next`` only ever redirects to a path on this site (``core.web.safe_next``).
- ``roles_required(...)`` guards pages: no session → the login page (coming back afterwards),
  a role that may not → 403; ``admin`` may do everything.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .clock import utcnow
from .db import db
from .errors import Forbidden, problem
from .users import Role, User, find_user
from .web import safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
STAFF_ROLES = (Role.COUNTER.value, Role.FINANCE.value, Role.SUPERVISOR.value, Role.ADMIN.value)
# Checked against when the username is unknown, so that a refusal takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")


class StaffUser(UserMixin):
    """What a page knows of the signed-in person (a plain object: no session-bound row)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.full_name = user.full_name
        self.role = user.role

    def get_id(self) -> str:
        return str(self.id)

    def may(self, *roles: str) -> bool:
        return self.role == Role.ADMIN.value or self.role in roles

    @property
    def actor(self) -> str:
        """How revision histories name this person (tokens are ``token:<name>``)."""
        return f"user:{self.username}"


def init_login(app: Flask) -> None:
    login_manager.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or user.role not in STAFF_ROLES:
        return None
    return StaffUser(user)


def _login_redirect():
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


@login_manager.unauthorized_handler
def _unauthorized():
    flash(_("Vui lòng đăng nhập để tiếp tục."), "info")
    return _login_redirect()


def roles_required(*roles: str) -> Callable:
    """A page for signed-in staff with one of ``roles`` (admin always may)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.staff_page = True  # never cached (core.security)
            if not current_user.is_authenticated:
                return _unauthorized()
            if roles and not current_user.may(*roles):
                raise Forbidden(_("Tài khoản của bạn không có quyền vào trang này."),
                                title=_("Không có quyền truy cập"))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _home_for(user: StaffUser) -> str:
    if user.may(Role.COUNTER.value):
        return url_for("counter.index")
    if user.role == Role.FINANCE.value:
        return url_for("finance.queue")
    if user.role == Role.SUPERVISOR.value and "reports.dashboard" in current_app.view_functions:
        return url_for("reports.dashboard")
    return url_for("site.index")


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right and the account is neither inactive nor locked;
    counts failures and locks the account after the fifth. Commits."""
    user = find_user(db.session, username) if username else None
    now = utcnow()
    if user is None or not user.active or user.role not in STAFF_ROLES:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        user.check_password(password)  # same work as any other attempt; the result does not matter
        return None
    if not user.check_password(password):
        db.session.execute(update(User).where(User.id == user.id)
                           .values(failed_logins=User.failed_logins + 1)
                           .execution_options(synchronize_session=False))
        failures = db.session.scalar(select(User.failed_logins).where(User.id == user.id))
        if failures >= MAX_FAILED_LOGINS:
            db.session.execute(update(User).where(User.id == user.id)
                               .values(failed_logins=0, locked_until=now + timedelta(minutes=LOCK_MINUTES))
                               .execution_options(synchronize_session=False))
        db.session.commit()
        return None
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
    db.session.commit()
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home_for(current_user))
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        usable = username and password and "\x00" not in username + password and len(username) <= 64
        user = authenticate(username, password) if usable else None
        if user is None:
            error = _("Đăng nhập không thành công: tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản "
                      "đang tạm khóa %(minutes)d phút vì nhập sai quá %(count)d lần.",
                      minutes=LOCK_MINUTES, count=MAX_FAILED_LOGINS)
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session for the signed-in person (no fixation)
            if lang:
                session["lang"] = lang
            staff = StaffUser(user)
            login_user(staff)
            return redirect(next_url or _home_for(staff))
    return render_template("auth/login.html", error=error, username=username, next_url=next_url,
                           max_failed=MAX_FAILED_LOGINS, lock_minutes=LOCK_MINUTES)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        logout_user()
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        flash(_("Bạn đã đăng xuất."), "info")
        return redirect(url_for("auth.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html")


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    from .web import wants_problem_json

    detail = _("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ (CSRF). Hãy tải lại trang rồi thử lại.")
    if wants_problem_json():
        from flask import jsonify

        response = jsonify(problem(400, exc.description, title="CSRF token missing or invalid"))
        response.status_code = 400
        response.mimetype = "application/problem+json"
        return response
    return render_template("error.html", status=400, title=_("Yêu cầu không hợp lệ"), detail=detail), 400
