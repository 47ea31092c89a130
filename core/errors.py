"""Errors: one exception type per kind of refusal, and RFC 7807 problem bodies for APIs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str


class ServiceError(Exception):
    """A refusal that the caller can understand and act on; changes nothing.

    ``code`` names the refusal (``core.refusals.Refusal``; each class has a generic one) and
    ``params`` hold what explains it (amounts in đồng, days, references): people are told
    ``core.refusals.refusal_text(exc)`` in their language, machines get both in the problem
    body. ``detail`` is the English sentence of the rule, kept for logs and as a fallback."""

    status = 400
    default_code = "bad_request"

    def __init__(self, detail: str, *, title: str | None = None, errors: list[FieldError] | None = None,
                 code: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.title = title or HTTPStatus(self.status).phrase
        self.errors = errors or []
        self.code = str(code or self.default_code)
        self.params = dict(params or {})

    def to_problem(self, detail: str | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {"code": self.code}
        if self.params:
            extra["params"] = {k: _plain(v) for k, v in self.params.items()}
        return problem(self.status, detail or self.detail, title=self.title, errors=self.errors, **extra)


def _plain(value: Any) -> Any:
    """A parameter as JSON carries it (days and times as ISO 8601)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class ValidationError(ServiceError):
    status = 422
    default_code = "invalid"


class NotFound(ServiceError):
    status = 404
    default_code = "not_found"


class Conflict(ServiceError):
    status = 409
    default_code = "conflict"


class Unauthorized(ServiceError):
    status = 401
    default_code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    default_code = "forbidden"


class DatabaseUnavailable(ServiceError):
    """The database did not answer (down, restarting, unreachable, or a lock wait gave up):
    nothing was done, and the same request later will be. 503 with ``Retry-After``."""

    status = 503
    default_code = "database_unavailable"
    retry_after = 5


def problem(
    status: int, detail: str, *, title: str | None = None, errors: list[FieldError] | None = None, **extra: Any
) -> dict[str, Any]:
    """An RFC 7807 problem document."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    body.update(extra)
    return body

