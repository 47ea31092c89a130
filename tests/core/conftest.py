from __future__ import annotations

import pytest

from core.db import db
from tests.staff import add_staff

from .web import PASSWORD, STAFF


@pytest.fixture
def staff(app):
    """The app over a database with one user per staff role (and a finance officer who is admin too)."""
    with app.app_context():
        add_staff(db.session, STAFF, PASSWORD)
        db.session.commit()
    return app
