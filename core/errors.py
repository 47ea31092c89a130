"""Errors: one exception type per kind of refusal, and RFC 7807 problem bodies for APIs."""
from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str


class ServiceError(Exception):
    """A refusal that the caller can understand and act on; changes nothing."""

    status = 400

    def __init__(self, detail: str, *, title: str | None = None, errors: list[FieldError] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.title = title or HTTPStatus(self.status).phrase
        self.errors = errors or []

    def to_problem(self) -> dict[str, Any]:
        return problem(self.status, self.detail, title=self.title, errors=self.errors)


class ValidationError(ServiceError):
    status = 422


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


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

