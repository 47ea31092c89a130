"""The writer's bulk update: one statement per row, or (PostgreSQL, many rows) a staged table and
one ``UPDATE … FROM``; both leave the same rows, the last of an id winning, versions counted."""
from __future__ import annotations

from sqlalchemy import select

from core.clock import utcnow
from payments.models import Dossier, PaymentRequest
from reconciliation.matching import writer
from reconciliation.matching.writer import Rows

from .conftest import make_request


def test_many_updates_and_a_few_leave_the_same_rows(seeded):
    requests = [make_request(seeded, amount=8000 + n) for n in range(writer._STAGED_FROM + 40)]
    now = utcnow()
    ids = [r.id for r in requests]
    versions = dict(seeded.execute(select(PaymentRequest.id, PaymentRequest.version)).all())
    many = [{"id": i, "amount_paid": 1, "status": "partially_paid"} for i in ids]
    many += [{"id": ids[0], "amount_paid": 8000, "status": "paid"}]  # the same id again: the last wins
    few = [{"id": r.dossier_id, "amount_paid": 5} for r in requests[:3]]
    rows = Rows(seeded, now)
    rows.update(PaymentRequest.__table__, many, version=True)
    rows.update(Dossier.__table__, few)
    seeded.commit()
    seeded.expire_all()
    found = {r.id: r for r in seeded.scalars(select(PaymentRequest).where(PaymentRequest.id.in_(ids)))}
    assert (found[ids[0]].amount_paid, found[ids[0]].status) == (8000, "paid")
    assert all((found[i].amount_paid, found[i].status) == (1, "partially_paid") for i in ids[1:])
    assert all(found[i].version == versions[i] + 1 for i in ids)  # once per row, not per mention
    dossiers = seeded.scalars(select(Dossier).where(Dossier.id.in_([r.dossier_id for r in requests]))).all()
    assert sorted(d.amount_paid for d in dossiers) == [0] * (len(requests) - 3) + [5, 5, 5]
    # Nothing else moved: the amounts the requests ask are as created.
    assert sorted(r.amount for r in found.values()) == sorted(8000 + n for n in range(len(requests)))
