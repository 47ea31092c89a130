"""Dossiers and payment requests against both databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.clock import ICT
from core.errors import Conflict, ValidationError
from payments.dossiers import get_dossier, parse_dossier_input, payment_status, register_dossier, search_dossiers
from payments.models import PaymentRequest
from payments.references import is_valid
from payments.requests import (ValidityPolicy, cancel_request, create_payment_request, expire_due_requests,
                               get_request_by_token)
from qr.vietqr import decode

LAND = {"code": "000.12.03.H26-261125-0001", "procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02",
        "applicant_name": "Nguyễn Văn A", "submitted_at": "2026-11-25T09:00:00+07:00", "channel": "counter",
        "parameters": {"payer_class": "individual_ward", "declared_value": 2_000_000_000}}


def register(session, **changes):
    dossier = register_dossier(session, parse_dossier_input({**LAND, **changes}), actor="test")
    session.commit()
    return dossier


def test_register_computes_charges(seeded):
    dossier = register(seeded)
    assert dossier.amount_due == 3_028_000
    assert [(c.fee_code, c.amount) for c in dossier.charges] == [("BD", 28000), ("TD", 3_000_000)]
    assert dossier.submitted_at == datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    assert payment_status(dossier) == "unpaid"


def test_given_charges_win(seeded):
    dossier = register(seeded, charges=[{"name": "Lệ phí đăng ký khai sinh", "amount": 8000}], procedure_code="1.001193",
                       agency_code="P-HOANKIEM", parameters={})
    assert dossier.amount_due == 8000 and dossier.charges[0].name == "Lệ phí đăng ký khai sinh"


def test_same_code_is_a_conflict_and_changes_nothing(seeded):
    register(seeded)
    with pytest.raises(Conflict):
        register(seeded, applicant_name="Someone else")
    seeded.rollback()
    assert get_dossier(seeded, LAND["code"]).applicant_name == "Nguyễn Văn A"


def test_either_code_finds_the_dossier(seeded):
    register(seeded, portal_code="H26.99-261125-000123")
    assert get_dossier(seeded, "H26.99-261125-000123").code == LAND["code"]


def test_code_is_generated_per_unit_and_day(seeded):
    first = register(seeded, code=None)
    second = register(seeded, code=None)
    assert first.code == "000.12.03.H26-261125-0001" and second.code == "000.12.03.H26-261125-0002"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"procedure_code": "9.999999"}, "procedure_code"),
        ({"applicant_name": ""}, "applicant_name"),
        ({"channel": "fax"}, "channel"),
        ({"submitted_at": "2026-11-25 09:00"}, "submitted_at"),
        ({"parameters": {"payer_class": "individual_ward", "declared_value": -1}}, "parameters.declared_value"),
        ({"parameters": {"payer_class": "individual_ward"}}, "parameters.declared_value"),
        ({"charges": [{"name": "x", "amount": 1.5}]}, "charges[0].amount"),
        ({"code": "bad code with spaces"}, "code"),
        ({"procedure_code": "1.012783"}, "procedure_code"),
        ({"parameters": []}, "parameters"),
        ({"parameters": {"payer_class": "individual_ward", "declared_value": 10**16}}, "parameters.declared_value"),
        ({"applicant_name": "Nguyễn\x00A"}, "applicant_name"),
        ({"parameters": {"declared_value": 2_000_000_000}}, "parameters.payer_class"),
    ],
)
def test_invalid_dossiers_are_refused(seeded, changes, field):
    with pytest.raises(ValidationError) as info:
        register(seeded, **changes)
    assert field in [e.field for e in info.value.errors]


def test_search(seeded):
    register(seeded)
    assert [d.code for d in search_dossiers(seeded, "Nguyễn Văn")] == [LAND["code"]]
    assert [d.code for d in search_dossiers(seeded, "261125-0001")] == [LAND["code"]]
    assert search_dossiers(seeded, "Không Có Ai") == []


NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)  # Friday 10:00 in Hanoi


def test_payment_request_for_what_remains(seeded):
    dossier = register(seeded)
    request = create_payment_request(seeded, dossier, "clerk", now=NOW)
    seeded.commit()
    assert request.amount == 3_028_000 and request.status == "open" and is_valid(request.reference)
    assert request.purpose.startswith(request.reference) and len(request.purpose) <= 25
    fields = decode(request.qr_payload)
    assert (fields.amount, fields.purpose, fields.account) == (3_028_000, request.purpose, request.account.number)
    assert len(request.token) >= 32  # 24 random bytes, URL-safe
    # Friday → next working day is Monday, valid to its end in Hanoi.
    assert request.expires_at == datetime(2026, 11, 30, 23, 59, 59, tzinfo=ICT)
    assert [(e.action, e.actor, e.to_status) for e in request.events] == [("created", "clerk", "open")]


def test_nothing_left_to_request_is_a_conflict(seeded):
    dossier = register(seeded)
    first = create_payment_request(seeded, dossier, "clerk", now=NOW)
    with pytest.raises(Conflict, match=first.reference):
        create_payment_request(seeded, dossier, "clerk", now=NOW)


def test_partial_amounts(seeded):
    dossier = register(seeded)
    create_payment_request(seeded, dossier, "clerk", amount=28_000, now=NOW)
    rest = create_payment_request(seeded, dossier, "clerk", now=NOW)
    assert rest.amount == 3_000_000
    with pytest.raises(ValidationError, match="more than remains"):
        create_payment_request(seeded, dossier, "clerk", amount=1, now=NOW)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_bad_amounts(seeded, amount):
    dossier = register(seeded)
    with pytest.raises(ValidationError):
        create_payment_request(seeded, dossier, "clerk", amount=amount, now=NOW)


def test_nothing_due_is_a_conflict(seeded):
    dossier = register(seeded, procedure_code="1.001193", agency_code="P-HOANKIEM", parameters={})
    assert dossier.amount_due == 0 and payment_status(dossier) == "paid"
    with pytest.raises(Conflict):
        create_payment_request(seeded, dossier, "clerk", now=NOW)


def test_cancel_then_request_again(seeded):
    dossier = register(seeded)
    request = create_payment_request(seeded, dossier, "clerk", now=NOW)
    with pytest.raises(ValidationError):
        cancel_request(seeded, request, "  ", "clerk")
    cancel_request(seeded, request, "sai số tiền", "clerk")
    seeded.commit()
    assert request.status == "cancelled" and request.events[-1].note == "sai số tiền"
    again = create_payment_request(seeded, dossier, "clerk", now=NOW)
    assert again.amount == 3_028_000 and again.reference != request.reference
    with pytest.raises(Conflict):
        cancel_request(seeded, request, "again", "clerk")


def test_paid_request_cannot_be_cancelled(seeded):
    dossier = register(seeded)
    request = create_payment_request(seeded, dossier, "clerk", now=NOW)
    request.status = "paid"
    with pytest.raises(Conflict, match="already paid"):
        cancel_request(seeded, request, "why", "clerk")


def test_expiry(seeded):
    dossier = register(seeded)
    request = create_payment_request(seeded, dossier, "clerk", expires_in_minutes=30, now=NOW)
    seeded.commit()
    assert expire_due_requests(seeded, NOW + timedelta(minutes=29)) == 0
    assert expire_due_requests(seeded, NOW + timedelta(minutes=30)) == 1
    seeded.commit()
    assert get_request_by_token(seeded, request.token).status == "expired"
    assert request.events[-1].action == "expired" and request.events[-1].actor == "system"
    # An expired request no longer holds the amount: a new one can be made.
    assert create_payment_request(seeded, dossier, "clerk", now=NOW + timedelta(hours=1)).amount == 3_028_000


def test_validity_skips_weekends_and_holidays():
    policy = ValidityPolicy(holidays=frozenset({datetime(2026, 9, 2).date()}))
    tuesday_1 = datetime(2026, 9, 1, 2, 0, tzinfo=timezone.utc)
    assert policy.default_expiry(tuesday_1).astimezone(ICT).date() == datetime(2026, 9, 3).date()


def test_references_are_unique_in_the_database(seeded):
    dossier = register(seeded)
    request = create_payment_request(seeded, dossier, "clerk", amount=1000, now=NOW)
    seeded.commit()
    duplicate = PaymentRequest(reference=request.reference, token="t" * 32, dossier=dossier, account=request.account,
                               amount=1, purpose="x", qr_payload="x", expires_at=NOW, created_by="x")
    seeded.add(duplicate)
    with pytest.raises(Exception, match="(?i)unique"):
        seeded.commit()
