"""API tokens for the one-stop dossier system and staff scripts: ``Authorization: Bearer <token>``.

Only a SHA-256 of each token is stored; the token itself is shown once, when created.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import utcnow
from .db import Base
from .errors import ValidationError
from .types import UTCDateTime
from .users import Role

TOKEN_PREFIX = "hnp_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, role: str) -> str:
    if role not in {r.value for r in Role}:
        raise ValidationError(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}")
    if not name.strip():
        raise ValidationError("a token needs a name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name.strip(), role=role, token_hash=_digest(token)))
    session.flush()
    return token


def find_token(session: Session, token: str) -> ApiToken | None:
    """The live token this bearer string stands for (the lookup is by hash, so timing reveals nothing)."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if record is None or record.revoked_at is not None:
        return None
    return record
