"""Who is calling the API: ``Authorization: Bearer <token>`` and the token's role."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import g, request

from .clock import utcnow
from .db import db
from .errors import Forbidden, Unauthorized
from .tokens import find_token


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit trail and revision histories name this caller."""
        return f"token:{self.name}"


def api_principal() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token> (create one with `flask --app app token create`)")
    record = find_token(db.session, token.strip())
    if record is None:
        raise Unauthorized("the token is unknown or revoked")
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=5):
        record.last_used_at = now  # coarse on purpose: not a write per request
        db.session.commit()
    return Principal(record.name, record.role)


def api_roles(*roles: str) -> Callable:
    """Require a valid token; with ``roles``, one of them (``admin`` may do everything)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = api_principal()
            if roles and principal.role not in roles and principal.role != "admin":
                raise Forbidden(f"role {principal.role!r} may not do this (needs {' or '.join(roles)})")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator
