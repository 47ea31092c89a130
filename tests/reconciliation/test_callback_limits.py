"""CONTRACT.md "Amounts" and the specs' string lengths on every callback channel, on SQLite and
PostgreSQL: a signed payOS, SePay, direct-bank or portal callback with an amount over
9,999,999,999,999 đồng (14 digits, 10^20) or an over-long reference, account, name or content
is refused with that format's own "invalid" answer, stores no transaction, and keeps its
journal entry marked refused (truncated to 4 KiB)."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from bank_adapters.keys import DEMO_KEYS
from core.money import MAX_AMOUNT
from reconciliation.models import BankTransaction, JournalEntry, PortalPayment
from simulator import callbacks as build

from .conftest import make_dossier, make_request, ok, post, signed, transfer_for
from .test_portal import portal_transfer

CASES = [("amount", 10**13), ("amount", 10**20), ("bank_ref", "FT" + "9" * 300), ("account", "1" * 60),
         ("content", "NOP PHI " + "X" * 2000), ("counter_name", "NGUYEN VAN A " * 40)]
# What each format says to an invalid request (bank-specs/*.md).
INVALID = {"payos": lambda p: p.status == 400 and p.json["success"] is False,
           "sepay": lambda p: p.status == 400 and p.json["success"] is False,
           "bankdirect": lambda p: p.status == 200 and p.json["responseCode"] == "04",
           "portal": lambda p: p.status == 200 and p.json["MaLoi"] == "04"}
# Which fields each format carries (SePay sends no counterparty; bankdirect's content is the bank's 210).
CARRIES = {"payos": {"amount", "bank_ref", "account", "content", "counter_name"},
           "sepay": {"amount", "bank_ref", "account", "content"},
           "bankdirect": {"amount", "bank_ref", "account", "counter_name"}}


def nothing_stored_but_a_refusal(session, via: str, field: str) -> None:
    session.rollback()
    assert session.scalar(select(func.count()).select_from(BankTransaction)) == 0
    assert session.scalar(select(func.count()).select_from(PortalPayment)) == 0
    entry = session.scalar(select(JournalEntry).order_by(JournalEntry.id.desc()))
    assert entry.channel == via and entry.outcome == "refused" and entry.reason.startswith("invalid"), entry.reason
    assert len(entry.body) <= 4096 and entry.body_size >= len(entry.body)


@pytest.mark.parametrize("via", ["payos", "sepay", "bankdirect"])
@pytest.mark.parametrize("field, value", CASES)
def test_a_bank_callback_over_the_limits_gets_its_formats_invalid_answer(client, seeded, via, field, value):
    if field not in CARRIES[via]:
        pytest.skip(f"{via} does not carry {field}")
    request = make_request(seeded, amount=8000)
    bad = dataclasses.replace(transfer_for(request), **{field: value})
    posted = post(client, via, *signed(via, bad))
    assert INVALID[via](posted), (posted.status, posted.json)
    nothing_stored_but_a_refusal(seeded, via, field)
    # The same transfer within the limits is taken.
    assert ok(via, post(client, via, *signed(via, transfer_for(request))))


@pytest.mark.parametrize("field, value", [("amount", 10**13), ("amount", 10**20), ("bank_ref", "PG" + "7" * 200),
                                          ("account", "1" * 60), ("portal_ref", "dvc" + "x" * 200),
                                          ("dossier_code", "000.00.12.H26-" + "9" * 100)])
def test_a_portal_confirmation_over_the_limits_is_04(client, seeded, field, value):
    dossier = make_dossier(seeded, amount=8000, channel="online")
    seeded.commit()
    transfer = portal_transfer(dossier)
    portal_ref, dossier_code = f"dvcTEST{transfer.bank_ref}", dossier.code
    if field == "portal_ref":
        portal_ref = value
    elif field == "dossier_code":
        dossier_code = value
    else:
        transfer = dataclasses.replace(transfer, **{field: value})
    headers, body = build.portal_confirmation(transfer, DEMO_KEYS.portal_secret, portal_ref=portal_ref,
                                              dossier_code=dossier_code, procedure_code="1.001193")
    posted = post(client, "portal", headers, body)
    assert INVALID["portal"](posted), (posted.status, posted.json)
    nothing_stored_but_a_refusal(seeded, "portal", field)


def test_an_amount_at_the_limit_is_not_refused_for_its_size(client, seeded):
    request = make_request(seeded, amount=8000)
    posted = post(client, "sepay", *signed("sepay", transfer_for(request, amount=MAX_AMOUNT)))
    assert ok("sepay", posted)  # stored (and flagged as overpaying), not refused
    seeded.rollback()
    assert seeded.scalar(select(BankTransaction.amount)) == MAX_AMOUNT
