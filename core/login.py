"""Staff sign-in, sign-out and password change for the pages (the API uses bearer tokens, see
``core.auth``).

- Passwords are checked with ``User.check_password``; every refusal says the same thing, so
  the page never tells whether a username exists (an unknown name costs the same hash check).
- No lock-out: wrong passwords make the next attempt wait, per address, per account and
  address, and (briefly) per account (``core.throttle``); the page says how long to wait.
- A session lasts while the user's ``session_version`` is the one it was signed in with:
  signing out, a password change or reset, and disabling the user end every session of theirs,
  wherever the cookie was copied to.
- A session also ends after ``SESSION_IDLE_MINUTES`` (30) without a request and
  ``SESSION_MAX_HOURS`` (12) after sign-in, whatever happens: the times are in the signed
  session and checked here on every request, not left to the browser's cookie expiry.
- A user with a generated password (``must_change_password``) sees only the change page until
  they have chosen their own.
- ``next`` only ever redirects to a path on this site (``core.web.safe_next``).
- ``roles_required(...)`` guards pages: no session → the login page (coming back afterwards),
  a role that may not → 403; ``admin`` may do everything unless ``admin_may=False``.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.security import check_password_hash, generate_password_hash

from . import throttle
from .accounts import change_password as change_own_password
from .clock import utcnow
from .db import db
from .errors import Forbidden, ServiceError, problem
from .passwords import MIN_LENGTH
from .refusals import Refusal, refusal_text, render
from .users import STAFF_ROLES, Role, User, find_user
from .web import safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

SESSION_VERSION = "session_version"  # the key in the signed session cookie
SIGNED_IN_AT = "signed_in_at"  # Unix seconds: the absolute limit counts from here
SEEN_AT = "seen_at"  # Unix seconds of the last request: the idle limit counts from here
_SEEN_GRANULARITY = 60  # the cookie is rewritten at most once a minute for the idle clock
# Checked against when the username is unknown, so that a refusal takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")
# What a user who must change their password may still open.
_OPEN_WHILE_CHANGING = {"auth.change_password", "auth.logout", "auth.login", "static", "site.set_language",
                        "site.healthz"}

__all__ = ["StaffUser", "bp", "init_login", "login_manager", "roles_required", "safe_next", "STAFF_ROLES"]


class StaffUser(UserMixin):
    """What a page knows of the signed-in person (a plain object: no session-bound row)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.full_name = user.full_name
        self.roles = frozenset(user.roles)
        self.must_change_password = user.must_change_password

    def get_id(self) -> str:
        return str(self.id)

    def holds(self, role: str) -> bool:
        """Has exactly this role (admin does not count for another)."""
        return role in self.roles

    def may(self, *roles: str) -> bool:
        """Has one of ``roles``, or is admin."""
        return Role.ADMIN.value in self.roles or not self.roles.isdisjoint(roles)

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
    if user is None or not user.active or not set(user.roles) & set(STAFF_ROLES):
        return None
    if session.get(SESSION_VERSION) != user.session_version:
        return None  # signed out, password changed or reset, or disabled since this session began
    if _expired():
        _fresh_session()
        g.session_expired = True
        return None
    return StaffUser(user)


def _expired() -> bool:
    """Past the idle or the absolute limit (or from before the limits: no times at all)."""
    now = utcnow().timestamp()
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, (int, float)) or not isinstance(seen, (int, float)):
        return True
    config = current_app.config
    if now - signed_in > config["SESSION_MAX_HOURS"] * 3600 or now - seen > config["SESSION_IDLE_MINUTES"] * 60:
        return True
    if now - seen >= _SEEN_GRANULARITY:
        session[SEEN_AT] = int(now)
    return False


def _start_session_clock() -> None:
    now = int(utcnow().timestamp())
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def _login_redirect():
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


@login_manager.unauthorized_handler
def _unauthorized():
    if g.get("session_expired"):
        flash(_("Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại."), "info")
    else:
        flash(_("Vui lòng đăng nhập để tiếp tục."), "info")
    return _login_redirect()


def roles_required(*roles: str, admin_may: bool = True) -> Callable:
    """A page for signed-in staff with one of ``roles`` (and admin, unless ``admin_may`` is
    False: then admin needs one of the roles too)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.staff_page = True  # never cached (core.security)
            if not current_user.is_authenticated:
                return _unauthorized()
            allowed = current_user.may(*roles) if admin_may else any(current_user.holds(r) for r in roles)
            if roles and not allowed:
                raise Forbidden(_("Tài khoản của bạn không có quyền vào trang này."),
                                title=_("Không có quyền truy cập"))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _home_for(user: StaffUser) -> str:
    if user.may(Role.COUNTER.value):
        return url_for("counter.index")
    if user.holds(Role.FINANCE.value):
        return url_for("finance.queue")
    if user.holds(Role.SUPERVISOR.value) and "reports.dashboard" in current_app.view_functions:
        return url_for("reports.dashboard")
    return url_for("site.index")


def _fresh_session() -> None:
    """An empty session but for the language (no fixation across sign-in and sign-out)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _staff_user(username: str, password: str) -> User | None:
    """The active staff user if the password is right; the same work either way."""
    user = find_user(db.session, username)
    if user is None or not user.active or not set(user.roles) & set(STAFF_ROLES):
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if user.check_password(password) else None


def _too_many(wait: int) -> str:
    return render(Refusal.TOO_MANY_ATTEMPTS, {"wait": wait})


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home_for(current_user))
    error = None
    status = 200
    retry_after = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        failed = _("Đăng nhập không thành công: tên đăng nhập hoặc mật khẩu không đúng.")
        if not (username and password and "\x00" not in username + password and len(username) <= 64
                and len(password) <= 1024):
            error = failed
        else:
            attempt = throttle.begin(db.session, username, request.remote_addr)
            if not attempt.allowed:
                error, status, retry_after = _too_many(attempt.wait), 429, attempt.wait
            else:
                user = _staff_user(username, password)
                if user is None:
                    wait = throttle.wait_now(db.session, attempt)
                    error = f"{failed} {_too_many(wait)}" if wait else failed
                else:
                    throttle.succeeded(db.session, attempt)
                    user.last_login_at = utcnow()
                    db.session.commit()
                    _fresh_session()
                    staff = StaffUser(user)
                    login_user(staff)
                    session[SESSION_VERSION] = user.session_version
                    _start_session_clock()
                    if user.must_change_password:
                        return redirect(url_for("auth.change_password", next=next_url))
                    return redirect(next_url or _home_for(staff))
    response = current_app.make_response((render_template("auth/login.html", error=error, username=username,
                                                          next_url=next_url, pair_cap=throttle.PAIR.cap // 60),
                                          status))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        if current_user.is_authenticated:
            user = db.session.get(User, current_user.id)
            if user is not None:
                user.end_sessions()  # the same cookie elsewhere (a copy) stops working too
                db.session.commit()
        logout_user()
        _fresh_session()
        flash(_("Bạn đã đăng xuất."), "info")
        return redirect(url_for("auth.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html")


@bp.route("/password", methods=["GET", "POST"])
@roles_required()
def change_password():
    next_url = safe_next(request.values.get("next"))
    forced = current_user.must_change_password
    error = None
    status = 200
    if request.method == "POST":
        attempt = throttle.begin(db.session, current_user.username, request.remote_addr)
        if not attempt.allowed:
            error, status = _too_many(attempt.wait), 429
        else:
            user = db.session.get(User, current_user.id)
            try:
                change_own_password(db.session, user, request.form.get("current_password") or "",
                                    request.form.get("new_password") or "", request.form.get("confirmation") or "")
            except ServiceError as exc:
                db.session.rollback()
                if exc.code != Refusal.WRONG_PASSWORD:
                    throttle.succeeded(db.session, attempt)  # the current password was right
                    db.session.commit()
                error, status = refusal_text(exc), exc.status
            else:
                throttle.succeeded(db.session, attempt)
                db.session.commit()
                session[SESSION_VERSION] = user.session_version  # this session goes on; the others end
                flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã kết thúc."), "success")
                return redirect(next_url or _home_for(StaffUser(user)))
    return render_template("auth/password.html", error=error, forced=forced, next_url=next_url,
                           min_length=MIN_LENGTH), status


@bp.before_app_request
def _password_change_first():
    """A generated password is changed before anything else is opened."""
    if request.endpoint in _OPEN_WHILE_CHANGING or request.path.startswith(("/api/", "/callbacks/", "/static/")):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        target = request.full_path if request.method == "GET" and request.query_string else request.path
        return redirect(url_for("auth.change_password", next=target if request.method == "GET" else None))
    return None


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
