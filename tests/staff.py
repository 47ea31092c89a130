"""Staff accounts for page tests: one user per username, all with the test's password. A role
may be one name or several (``{"chef": ("finance", "admin")}``)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.users import User


def add_staff(session: Session, staff: dict[str, str | tuple[str, ...]], password: str) -> None:
    for username, roles in staff.items():
        user = User(username=username, full_name=f"Cán bộ {username}",
                    roles=[roles] if isinstance(roles, str) else list(roles))
        user.set_password(password)
        session.add(user)
