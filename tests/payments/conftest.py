from __future__ import annotations

import pytest

from payments.agencies import seed_agencies
from payments.catalogue import seed_catalogue


@pytest.fixture
def seeded(session):
    """A session on a database with the agencies and the fee catalogue loaded."""
    seed_agencies(session, lambda _: None)
    seed_catalogue(session, lambda _: None)
    session.commit()
    return session
