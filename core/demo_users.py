"""Demo staff users, one per role; passwords are generated and printed once, when created."""
from __future__ import annotations

import secrets
from typing import Callable

from sqlalchemy.orm import Session

from .users import Role, User, find_user

DEMO_USERS = (
    ("admin", "Quản trị hệ thống", Role.ADMIN),
    ("motcua", "Nguyễn Thị Lan (một cửa)", Role.COUNTER),
    ("ketoan", "Trần Văn Minh (kế toán)", Role.FINANCE),
    ("giamsat", "Lê Thu Hà (giám sát)", Role.SUPERVISOR),
)


def seed_demo_users(session: Session, echo: Callable[[str], None]) -> None:
    for username, full_name, role in DEMO_USERS:
        if find_user(session, username) is not None:
            continue
        password = secrets.token_urlsafe(9)
        user = User(username=username, full_name=full_name, role=role.value)
        user.set_password(password)
        session.add(user)
        echo(f"  created user {username} ({role.value}) password: {password}")
