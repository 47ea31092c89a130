"""The money rules on plain values (``payments.money_rules``), by example and by property."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments import money_rules as rules

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)
money = st.integers(min_value=0, max_value=10**13)


@given(due=money, paid=money)
def test_a_dossiers_status_follows_its_sums(due, paid):
    status = rules.dossier_status(due, paid)
    assert status in ("unpaid", "partially_paid", "paid", "overpaid")
    assert (status in rules.PAID) == (paid >= due)
    assert (status == "overpaid") == (paid > due and paid > 0)
    assert (status == "unpaid") == (paid <= 0 < due)


@given(amount=st.integers(min_value=1, max_value=10**13), paid=money, late=st.booleans(),
       current=st.sampled_from(["open", "partially_paid", "paid", "overpaid", "expired", "cancelled"]))
def test_a_requests_status_follows_its_sums(amount, paid, late, current):
    expires = NOW - timedelta(minutes=1) if late else NOW + timedelta(minutes=1)
    status = rules.request_status(current, amount, paid, expires, NOW)
    if current == "cancelled":
        assert status == "cancelled"
    elif paid == 0:
        assert status == ("expired" if late else "open")
    else:
        assert status == ("partially_paid" if paid < amount else "paid" if paid == amount else "overpaid")


@given(amount=st.integers(min_value=1, max_value=10**13), data=st.data())
def test_a_transactions_status_follows_what_is_allocated(amount, data):
    allocated = data.draw(st.integers(min_value=0, max_value=amount))
    status = rules.transaction_status("in", amount, allocated, "unmatched")
    assert status == ("unmatched" if allocated == 0 else "matched" if allocated == amount else "partially_matched")
    assert rules.transaction_status("out", amount, 0) == "ignored"
    assert rules.transaction_status("in", amount, 0, "ignored") == "ignored"


@pytest.mark.parametrize("channels, dossier, cash, portal, expected", [
    (["sepay"], "counter", False, False, "counter_transfer"),
    (["sepay"], "online", False, False, "gateway"),
    (["bankdirect", "portal"], "counter", False, False, "portal"),
    ([], "online", False, True, "portal"),
    ([], "online", True, False, "cash"),
])
def test_how_a_payment_counts(channels, dossier, cash, portal, expected):
    assert rules.payment_channel(channels, dossier, cash=cash, portal=portal) == expected


def test_events_receipts_and_stale_requests():
    assert rules.event_for_change("paid", "paid") == "payment_request.paid"
    assert rules.event_for_change(None, "partially_paid") == "dossier.partially_paid"
    assert rules.event_for_change("open", "unpaid") is None
    assert rules.event_for_change("paid", "paid", reversal=True) == "dossier.payment_reversed"
    assert rules.receipt_channel(["cash", "cash"]) == "cash" and rules.receipt_channel(["cash", "portal"]) == "mixed"
    assert rules.requests_to_cancel([(1, "open"), (2, "open"), (3, "paid"), (4, "expired")], [2]) == [1]
    assert rules.became_paid("partially_paid", "paid") and not rules.became_paid("paid", "overpaid")
    assert rules.became_unpaid("overpaid", "partially_paid") and not rules.became_unpaid("unpaid", "partially_paid")


@dataclass
class Charge:
    name: str
    amount: int
    kind: str | None
    legal_basis: str | None = None
    fee_code: str | None = None


charges = st.lists(st.builds(Charge, name=st.text(min_size=1, max_size=5), amount=st.integers(0, 10**9),
                             kind=st.sampled_from(["phi", "le_phi", None])), max_size=6)


@given(charges=charges, issued=st.sets(st.sampled_from(["phi", "le_phi"])))
def test_a_paid_dossier_gets_one_receipt_per_kind_with_something_to_pay(charges, issued):
    wanted = rules.receipts_to_issue(charges, issued)
    kinds = [kind for kind, _ in wanted]
    assert len(kinds) == len(set(kinds)) and not set(kinds) & issued
    for kind, lines in wanted:
        assert lines and all(line["amount"] > 0 for line in lines)
        assert sum(line["amount"] for line in lines) == sum(c.amount for c in charges if (c.kind or "le_phi") == kind)
    for kind in set(rules.RECEIPT_KINDS) - issued - set(kinds):
        assert not any(c.amount > 0 and (c.kind or "le_phi") == kind for c in charges)


def test_the_online_flag_and_the_event_dossier():
    assert rules.online_flag(["gateway", "portal"], paid=True, vietqr_as_gateway=True) == 1
    assert rules.online_flag(["gateway"], paid=True, vietqr_as_gateway=True) == 2
    assert rules.online_flag(["gateway"], paid=True) == 0  # the setting is off by default
    assert rules.online_flag(["cash", "counter_transfer"], paid=True, vietqr_as_gateway=True) == 0
    part = rules.dossier_event_part(code="X", portal_code=None, procedure_code="P", agency_code="A", channel="online",
                                    amount_due=8000, amount_paid=8000, fees=[], payment_channels=["gateway", "gateway"],
                                    vietqr_as_gateway=True)
    assert part["payment_status"] == "paid" and part["payment_channels"] == ["gateway"] and part["online_payment"] == 2
    assert part["DuocThanhToanTrucTuyen"] == 2
    part = rules.dossier_event_part(code="X", portal_code=None, procedure_code="P", agency_code="A", channel="online",
                                    amount_due=8000, amount_paid=4000, fees=[], payment_channels=["portal"])
    assert part["online_payment"] == 0  # a part only: not paid online
