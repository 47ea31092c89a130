"""Staff users and their roles.

A person may hold several roles (``user_roles``). ``session_version`` ends every open session
of a person at once: it is copied into the signed session cookie at sign-in and compared on
every request (``core.login``), and it goes up when the person signs out, changes or is given a
new password, or is disabled. ``must_change_password`` is set for a generated password: the
person chooses their own before they may open any other page.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Iterable

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .clock import utcnow
from .db import Base
from .types import UTCDateTime


class Role(str, enum.Enum):
    COUNTER = "counter"
    FINANCE = "finance"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"  # the one-stop dossier system, through API tokens only


STAFF_ROLES = (Role.COUNTER.value, Role.FINANCE.value, Role.SUPERVISOR.value, Role.ADMIN.value)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                     order_by=UserRole.role)

    def __init__(self, *, roles: Iterable[str] = (), role: str | None = None, **fields) -> None:
        """``roles=[...]``; ``role="counter"`` is shorthand for one role."""
        super().__init__(**fields)
        self.roles = [*roles, *([role] if role else [])]

    @property
    def roles(self) -> list[str]:
        return sorted(row.role for row in self.role_rows)

    @roles.setter
    def roles(self, roles: Iterable[str]) -> None:
        wanted = set(roles)
        self.role_rows = [row for row in self.role_rows if row.role in wanted] + [
            UserRole(role=role) for role in sorted(wanted - {row.role for row in self.role_rows})]

    def holds(self, role: str) -> bool:
        return role in self.roles

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=_hash_method())

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session signed in before now ends at its next request."""
        self.session_version = (self.session_version or 1) + 1


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def users_holding(session: Session, *roles: str) -> list[User]:
    """Active users who hold one of ``roles``, by full name."""
    return list(session.scalars(
        select(User).where(User.active.is_(True),
                           User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
        .order_by(User.full_name)))


def actor_holds(session: Session, actor: str, role: str) -> bool:
    """Whether ``actor`` (``user:<name>``, as pages name people) is an active user holding ``role``."""
    kind, _, name = actor.partition(":")
    if kind != "user" or not name:
        return False
    user = find_user(session, name)
    return user is not None and user.active and user.holds(role)


def full_names(session: Session) -> dict[str, str]:
    """Every username's full name (a few dozen staff): how pages name the people in records."""
    return dict(session.execute(select(User.username, User.full_name)).all())


def actor_name(actor: str | None) -> str:
    """``core.vocabulary.actor_label`` with staff names read once per request."""
    from flask import g, has_request_context

    from .db import db
    from .vocabulary import actor_label

    if not has_request_context():
        return actor_label(actor)
    if "staff_names" not in g:
        g.staff_names = full_names(db.session)
    return actor_label(actor, g.staff_names.get)
