"""Web plumbing shared by every page and API: locale choice, where a ``next`` may lead, and
error answers."""
from __future__ import annotations

import unicodedata
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, jsonify, render_template, request, session
from flask_babel import Babel, gettext
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from .db import database_unavailable
from .errors import PROBLEM_JSON, DatabaseUnavailable, ServiceError, problem
from .refusals import Refusal, api_text, refusal_text
from .vocabulary import N_

babel = Babel()


def select_locale() -> str:
    if not has_request_context():  # the CLI and jobs: the first language, unless force_locale says otherwise
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    requested = request.args.get("lang")
    if requested in languages:
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def safe_next(target: str | None) -> str | None:
    r"""``target`` if it is a path on this site, else None: no open redirects.

    Browsers drop tabs and newlines from a URL and read ``\`` as ``/``, so ``/%09/evil.example``
    (a tab) and ``/\evil.example`` lead off-site: the target is judged with every space character
    taken out, and refused if it then starts with ``//`` or ``/\``, holds a ``\`` or names a
    scheme or a host. A target with a control character is refused outright (it cannot go in a
    header, and no page of ours has one in its address).
    """
    if not target:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in target):
        return None
    squeezed = "".join(c for c in target if not c.isspace())
    if not squeezed.startswith("/") or squeezed.startswith(("//", "/\\")) or "\\" in squeezed:
        return None
    parts = urlsplit(squeezed)
    if parts.scheme or parts.netloc:
        return None
    return target.strip()


def wants_problem_json() -> bool:
    return request.path.startswith(("/api/", "/callbacks/")) or request.accept_mimetypes.best == "application/json"


# What an HTTP error page says, in the page's language (Werkzeug's own words are English).
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: (N_("Yêu cầu không hợp lệ"), N_("Trình duyệt gửi một yêu cầu mà trang không đọc được. Tải lại trang rồi thử lại.")),
    401: (N_("Cần đăng nhập"), N_("Trang này chỉ dành cho cán bộ đã đăng nhập.")),
    403: (N_("Không có quyền"), N_("Tài khoản của bạn không được mở trang này. Nếu cần, hỏi người quản trị hệ thống.")),
    404: (N_("Không tìm thấy trang"), N_("Không có trang nào ở địa chỉ này. Nếu bạn gõ địa chỉ, hãy kiểm tra lại; hoặc "
                                        "về trang chủ.")),
    405: (N_("Không thực hiện được thao tác"), N_("Trang này không nhận thao tác vừa gửi. Quay lại trang trước và dùng "
                                                 "nút trên trang.")),
    413: (N_("Tệp quá lớn"), N_("Tệp hoặc nội dung gửi lên lớn hơn mức cho phép.")),
    429: (N_("Quá nhiều yêu cầu"), N_("Bạn gửi quá nhiều yêu cầu trong thời gian ngắn. Đợi một lát rồi thử lại.")),
    500: (N_("Lỗi của hệ thống"), N_("Hệ thống gặp lỗi và chưa làm được việc vừa yêu cầu; không có gì bị thay đổi. "
                                    "Thử lại sau ít phút; nếu vẫn lỗi, báo bộ phận kỹ thuật.")),
    503: (N_("Tạm ngừng phục vụ"), N_("Hệ thống đang bảo trì hoặc quá tải. Thử lại sau ít phút.")),
}


def http_error_text(status: int) -> tuple[str, str]:
    """(title, sentence) of an HTTP error page in the current language."""
    title, detail = HTTP_ERRORS.get(status, HTTP_ERRORS[500] if status >= 500 else HTTP_ERRORS[400])
    return gettext(title), gettext(detail)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if wants_problem_json():
            response = jsonify(exc.to_problem(api_text(exc, request.accept_languages)))
            response.status_code = exc.status
            response.mimetype = PROBLEM_JSON
        else:
            # A title the code chose (already in the page's language) is kept; HTTP's English phrase is not.
            title = http_error_text(exc.status)[0] if exc.title == HTTPStatus(exc.status).phrase else exc.title
            response = app.make_response((render_template("error.html", status=exc.status, title=title,
                                                          detail=refusal_text(exc)), exc.status))
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(DBAPIError)
    def database_away(exc: DBAPIError):
        """The database is away (or a wait for it gave up): a quick 503 that says try again,
        never a 500. The pool drops the broken connection itself (``pool_pre_ping`` checks the
        others), so the next request after the database is back is served as usual."""
        if not database_unavailable(exc):
            raise exc  # a real defect (a constraint, bad SQL): the 500 it is
        detail = str(exc.orig or exc).strip() or type(exc).__name__
        current_app.logger.warning("database unavailable: %s", detail.splitlines()[0][:300])
        return service_error(DatabaseUnavailable("the database does not answer; nothing was changed: try again "
                                                 "in a few seconds", code=Refusal.DATABASE_UNAVAILABLE))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_problem_json():
            response = jsonify(problem(status, exc.description or exc.name, title=exc.name))
            response.status_code = status
            response.mimetype = PROBLEM_JSON
            for name, value in exc.get_headers():  # e.g. Allow on 405
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        title, detail = http_error_text(status)
        if exc.description and exc.description != type(exc).description:
            detail = exc.description  # a page's own sentence (``abort(404, _("…"))``), already translated
        return render_template("error.html", status=status, title=title, detail=detail), status
