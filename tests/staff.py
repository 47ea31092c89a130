"""Staff accounts for page tests: one user per (username, role), all with the test's password."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.users import User


def add_staff(session: Session, staff: dict[str, str], password: str) -> None:
    for username, role in staff.items():
        user = User(username=username, full_name=f"Cán bộ {username}", role=role)
        user.set_password(password)
        session.add(user)
