"""Settings that are data, not code: what an administrator may change while the service runs
(matching thresholds, which payment channels count as online, report scoring), each a JSON
value under a key, with who changed it and when. Defaults live with the code that uses them;
a stored value overrides them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import utcnow
from .db import Base
from .types import UTCDateTime


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    value = session.scalar(select(Setting.value).where(Setting.key == key))
    return default if value is None else value


def set_setting(session: Session, key: str, value: Any, actor: str) -> None:
    """Store ``value`` under ``key`` (flushes; the caller commits, with its audit record)."""
    record = session.get(Setting, key)
    if record is None:
        session.add(Setting(key=key, value=value, updated_at=utcnow(), updated_by=actor))
    else:
        record.value = value
        record.updated_at = utcnow()
        record.updated_by = actor
    session.flush()
