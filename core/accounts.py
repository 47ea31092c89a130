"""Staff accounts: create, disable and enable, reset a password, set roles, change one's own
password. One home for these rules, used by ``flask user ...`` and the admin's page
``/admin/users``; each act is one audit record naming who did it (never a password).

Each function flushes; the caller commits.
"""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .clock import utcnow
from .errors import Conflict, FieldError, NotFound, ValidationError
from .passwords import check_new_password, generate_password
from .refusals import Refusal
from .users import STAFF_ROLES, Role, User, UserRole, find_user

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def clean_roles(roles: Iterable[str]) -> list[str]:
    """The staff roles asked for, each known and at least one."""
    wanted = sorted({str(role).strip() for role in roles if str(role).strip()})
    for role in wanted:
        if role not in STAFF_ROLES:
            raise ValidationError(f"unknown role {role!r}: one of {', '.join(STAFF_ROLES)}",
                                  errors=[FieldError("roles", "unknown role")], code=Refusal.UNKNOWN_ROLE,
                                  params={"role": role})
    if not wanted:
        raise ValidationError("a user needs at least one role", errors=[FieldError("roles", "required")],
                              code=Refusal.NO_ROLE)
    return wanted


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", code=Refusal.UNKNOWN_USER, params={"name": username})
    return user


def create_user(session: Session, username: str, roles: Iterable[str], actor: str, *, full_name: str = "",
                password: str | None = None) -> tuple[User, str | None]:
    """A new active user; with no ``password``, a generated one that must be changed at the first
    sign-in, returned (the only time it is seen). A password given is checked like any chosen one."""
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise ValidationError(f"username {username!r}: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit",
                              errors=[FieldError("username", "a-z 0-9 . _ -")], code=Refusal.INVALID_USERNAME,
                              params={"name": username[:64]})
    roles = clean_roles(roles)
    if find_user(session, username) is not None:
        raise Conflict(f"a user {username!r} exists already", code=Refusal.USER_EXISTS, params={"name": username})
    generated = password is None
    if generated:
        password = generate_password()
    else:
        check_new_password(password, username=username, field="password")
    user = User(username=username, full_name=(full_name or "").strip()[:200] or username, roles=roles,
                must_change_password=generated, password_changed_at=None if generated else utcnow())
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", "user", username, {"roles": roles, "generated_password": generated})
    return user, password if generated else None


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).join(UserRole).where(
        User.active.is_(True), UserRole.role == Role.ADMIN.value)) or 0


def _keep_an_admin(session: Session, user: User) -> None:
    if user.active and user.holds(Role.ADMIN.value) and _active_admins(session) <= 1:
        raise Conflict(f"{user.username} is the last active admin", code=Refusal.LAST_ADMIN,
                       params={"name": user.username})


def set_active(session: Session, user: User, active: bool, actor: str) -> bool:
    """Enable or disable; a disabled user's open sessions end at their next request. Returns
    whether anything changed (doing it twice is no error)."""
    if user.active == active:
        return False
    if not active:
        _keep_an_admin(session, user)
        user.end_sessions()
    user.active = active
    session.flush()
    audit.record(session, actor, "user.enabled" if active else "user.disabled", "user", user.username, {})
    return True


def reset_password(session: Session, user: User, actor: str) -> str:
    """A new generated password (returned once), to be changed at the next sign-in; the user's
    open sessions end."""
    password = generate_password()
    user.set_password(password)
    user.must_change_password = True
    user.end_sessions()
    session.flush()
    audit.record(session, actor, "user.password_reset", "user", user.username, {})
    return password


def set_roles(session: Session, user: User, roles: Iterable[str], actor: str) -> bool:
    """The user's roles become exactly ``roles``; returns whether they changed."""
    roles = clean_roles(roles)
    before = user.roles
    if roles == before:
        return False
    if Role.ADMIN.value not in roles:
        _keep_an_admin(session, user)
    user.roles = roles
    session.flush()
    audit.record(session, actor, "user.roles_changed", "user", user.username, {"from": before, "to": roles})
    return True


def change_password(session: Session, user: User, current: str, new: str, confirmation: str) -> None:
    """A person changes their own password: the current one, then a new one twice. Their other
    sessions end (the caller keeps the one they are using: ``user.session_version``)."""
    if not user.check_password(current or ""):
        raise ValidationError("the current password is wrong", errors=[FieldError("current_password", "wrong")],
                              code=Refusal.WRONG_PASSWORD)
    if new != confirmation:
        raise ValidationError("the new password and its confirmation differ",
                              errors=[FieldError("confirmation", "differs")], code=Refusal.PASSWORD_MISMATCH)
    check_new_password(new, username=user.username)
    if user.check_password(new):
        raise ValidationError("the new password is the current one", errors=[FieldError("new_password", "same")],
                              code=Refusal.PASSWORD_UNCHANGED)
    user.set_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    user.end_sessions()
    session.flush()
    audit.record(session, f"user:{user.username}", "user.password_changed", "user", user.username, {})
