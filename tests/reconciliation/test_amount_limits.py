"""CONTRACT.md "Amounts": at most 9,999,999,999,999 đồng and above 0 wherever money moves,
for cash taken at the counter, refunds and the portal's payment initialisation, on SQLite and
PostgreSQL. A refused amount changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core.errors import ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.tokens import create_token
from payments.models import Dossier
from reconciliation.matching.cash import record_cash
from reconciliation.models import CashPayment, PortalPayment, Refund
from reconciliation.workflow.refunds import request_refund

from .conftest import make_dossier, ok, post, signed, transfer_for, make_request

PAYEE = {"beneficiary_bank": "970436", "beneficiary_account": "0011001234567", "beneficiary_name": "Nguyễn Văn A"}


def cash(session, dossier, amount, tendered=None):
    return record_cash(session, dossier, amount=amount, receipt_number="BL-1", clerk_username="motcua",
                       clerk_name="Nguyễn Thị Lan", amount_tendered=tendered)


@pytest.mark.parametrize("amount, tendered, field", [
    (MAX_AMOUNT + 1, None, "amount"),
    (10**20, None, "amount"),
    (8000, MAX_AMOUNT + 1, "amount_tendered"),
    (8000, True, "amount_tendered"),
])
def test_cash_over_the_limit_is_refused_and_records_nothing(seeded, amount, tendered, field):
    dossier = make_dossier(seeded, amount=8000)
    seeded.commit()
    with pytest.raises(ValidationError) as refused:
        cash(seeded, dossier, amount, tendered)
    assert refused.value.code == Refusal.INVALID_CASH
    assert [e.field for e in refused.value.errors] == [field]
    seeded.rollback()
    assert seeded.scalar(select(func.count()).select_from(CashPayment)) == 0
    # At the limit of what is due, it is taken.
    assert cash(seeded, seeded.get(Dossier, dossier.id), 8000, 10000).amount == 8000


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, 10**20])
def test_a_refund_over_the_limit_is_refused_and_records_nothing(client, seeded, amount):
    request = make_request(seeded, amount=8000)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request, amount=10000))))
    seeded.rollback()
    with pytest.raises(ValidationError) as refused:
        request_refund(seeded, dossier_id=request.dossier_id, amount=amount, reason="trả lại", actor="user:a",
                       **PAYEE)
    assert refused.value.code == Refusal.INVALID_REFUND
    assert [e.field for e in refused.value.errors] == ["amount"]
    seeded.rollback()
    assert seeded.scalar(select(func.count()).select_from(Refund)) == 0
    assert request_refund(seeded, dossier_id=request.dossier_id, amount=2000, reason="trả lại", actor="user:a",
                          **PAYEE).amount == 2000


def test_a_dossier_over_the_limit_gets_no_portal_payment(client, seeded):
    """A dossier registered before the total was checked: 422 invalid_dossier, not a 500."""
    token = create_token(seeded, "limits-system", "system")
    dossier = make_dossier(seeded, amount=8000, channel="online")
    seeded.execute(update(Dossier).where(Dossier.id == dossier.id).values(amount_due=MAX_AMOUNT + 1))
    seeded.commit()
    response = client.post(f"/api/v1/dossiers/{dossier.code}/portal-payments",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "invalid_dossier"
    assert [e["field"] for e in problem["errors"]] == ["charges"]
    seeded.rollback()
    assert seeded.scalar(select(func.count()).select_from(PortalPayment)) == 0
