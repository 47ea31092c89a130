"""Demo staff users, one per role, in development and testing only; their passwords are
generated, printed once when created, and must be changed at the first sign-in like any other
generated password. Anywhere else ``flask seed`` creates no user and prints no password: staff
accounts are made with ``flask --app app user create``."""
from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy.orm import Session

from .config import DEV_ENVS
from .passwords import generate_password
from .users import Role, User, find_user

DEMO_USERS = (
    # People's names only: a role in the name ("(kế toán)") would be Vietnamese words on the English pages.
    ("admin", "Đỗ Quang Huy", Role.ADMIN),
    ("motcua", "Nguyễn Thị Lan", Role.COUNTER),
    ("ketoan", "Trần Văn Minh", Role.FINANCE),
    ("ketoan2", "Phạm Thu Trang", Role.FINANCE),  # refunds need a second finance officer
    ("giamsat", "Lê Thu Hà", Role.SUPERVISOR),
)


def seed_demo_users(session: Session, echo: Callable[[str], None]) -> None:
    env = current_app.config["APP_ENV"]
    if env not in DEV_ENVS:
        echo(f"  none: APP_ENV={env} (create staff with `flask --app app user create NAME --role ROLE`)")
        return
    for username, full_name, role in DEMO_USERS:
        if find_user(session, username) is not None:
            continue
        password = generate_password()
        user = User(username=username, full_name=full_name, roles=[role.value], must_change_password=True)
        user.set_password(password)
        session.add(user)
        echo(f"  created user {username} ({role.value}) password: {password}")
