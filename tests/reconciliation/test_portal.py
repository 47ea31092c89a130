"""The national portal's payment platform as a channel (bank-specs/portal.md, issue 7), on
SQLite and PostgreSQL: confirmations, every MaLoi, idempotency, the same payment seen three
ways, the status query, and the channel of every payment in the API and the events."""
from __future__ import annotations

import io
import json
from datetime import timedelta

from sqlalchemy import func, select

from bank_adapters.keys import DEMO_KEYS
from simulator import callbacks as build
from simulator.ledger import transfer_to_json
from simulator.platform import Platform, PlatformPayment
from simulator.statement_files import write_statement
from bank_adapters.transfers import IN, BankTransfer
from core.clock import ict_day, utcnow
from core.tokens import create_token
from payments.agencies import default_account
from payments.models import Dossier
from payments.requests import create_payment_request
from reconciliation.models import Allocation, BankTransaction, JournalEntry, OutboxEvent, PortalPayment, ReconException
from reconciliation.channels.portal import initialise, query_pending
from reconciliation.channels.portal_client import wsgi_poster
from reconciliation.inbound.statement_import import import_statement

from .conftest import make_dossier, make_request, ok, post, signed, transfer_for

SECRET = DEMO_KEYS.portal_secret


def portal_transfer(dossier: Dossier, amount: int | None = None, ref: str | None = None) -> BankTransfer:
    account = default_account(dossier.agency)
    return BankTransfer(account=account.number, bank_ref=ref or f"PG{utcnow().timestamp():.0f}{dossier.id:05d}",
                        amount=amount if amount is not None else dossier.amount_due - dossier.amount_paid,
                        direction=IN, booked_at=utcnow() - timedelta(seconds=3),
                        content=f"THANH TOAN HO SO {dossier.code}", bank_bin=account.bank_bin,
                        counter_account="0011001234567", counter_name="NGUYEN VAN A", counter_bank="970436",
                        balance_after=50_000_000)


def confirm(client, dossier: Dossier, transfer: BankTransfer, *, ref: str | None = None, code: str = "00",
            dossier_code: str | None = None):
    headers, body = build.portal_confirmation(transfer, SECRET, portal_ref=ref or f"dvcTEST{transfer.bank_ref}",
                                              dossier_code=dossier_code or dossier.code,
                                              procedure_code=dossier.procedure.code, code=code)
    return post(client, "portal", headers, body)


def test_a_confirmation_pays_the_dossier_as_a_portal_payment(client, seeded):
    dossier = make_dossier(seeded, amount=28000, channel="online", procedure="1.013831")
    seeded.commit()
    transfer = portal_transfer(dossier)
    posted = confirm(client, dossier, transfer)
    assert posted.status == 200 and posted.json["MaLoi"] == "00", posted.body
    seeded.rollback()
    allocation = seeded.scalars(select(Allocation)).one()
    assert (allocation.amount, allocation.payment_channel, allocation.rule) == (28000, "portal", "portal_confirmation")
    assert seeded.get(Dossier, dossier.id).amount_paid == 28000
    event = seeded.scalars(select(OutboxEvent)).one()
    assert event.event_type == "dossier.paid"
    assert event.payload["dossier"]["online_payment"] == 1 and event.payload["dossier"]["payment_channels"] == ["portal"]
    payment = seeded.scalars(select(PortalPayment)).one()
    assert (payment.status, payment.confirmed_via, payment.transaction_id) == ("paid", "callback", allocation.transaction_id)


def test_either_code_names_the_dossier_and_the_same_confirmation_again_is_01(client, seeded):
    dossier = make_dossier(seeded, amount=28000)
    dossier.portal_code = "G22.99.1-261125-0009"
    seeded.commit()
    transfer = portal_transfer(dossier)
    assert confirm(client, dossier, transfer, ref="dvcREF1", dossier_code="G22.99.1-261125-0009").json["MaLoi"] == "00"
    assert confirm(client, dossier, transfer, ref="dvcREF1", dossier_code="G22.99.1-261125-0009").json["MaLoi"] == "01"
    seeded.rollback()
    assert seeded.get(Dossier, dossier.id).amount_paid == 28000
    assert [e.outcome for e in seeded.scalars(select(JournalEntry).order_by(JournalEntry.id))] == \
        ["accepted", "duplicate"]


def test_a_failed_payment_is_recorded_and_moves_no_money(client, seeded):
    dossier = make_dossier(seeded, amount=28000)
    seeded.commit()
    posted = confirm(client, dossier, portal_transfer(dossier), ref="dvcFAIL", code="02")
    assert posted.json["MaLoi"] == "00"  # stored durably
    seeded.rollback()
    payment = seeded.scalars(select(PortalPayment)).one()
    assert (payment.status, payment.failure_code) == ("failed", "02")
    assert seeded.scalar(select(func.count()).select_from(BankTransaction)) == 0
    assert seeded.get(Dossier, dossier.id).amount_paid == 0


def test_a_wrong_signature_is_02_and_an_unknown_dossier_is_04_with_the_money_kept(client, seeded):
    dossier = make_dossier(seeded, amount=28000)
    seeded.commit()
    transfer = portal_transfer(dossier)
    headers, body = build.portal_confirmation(transfer, "not-the-secret", portal_ref="dvcX", dossier_code=dossier.code)
    assert post(client, "portal", headers, body).json["MaLoi"] == "02"
    posted = confirm(client, dossier, transfer, ref="dvcY", dossier_code="000.00.99.H26-261125-9999")
    assert posted.json["MaLoi"] == "04"
    seeded.rollback()
    stored = seeded.scalars(select(BankTransaction)).one()
    assert stored.amount == 28000 and stored.allocated == 0
    assert [e.reason for e in seeded.scalars(select(ReconException))] == ["portal_unknown_dossier"]


def test_seen_three_ways_it_is_one_transaction_matched_once(client, seeded, app):
    """The bank's callback (with the platform's content) first, then the confirmation, then
    the statement line: one transaction, one allocation, counted as a portal payment."""
    dossier = make_dossier(seeded, amount=28000, channel="online", code="000.00.12.H26-261125-0777")
    seeded.commit()
    transfer = portal_transfer(dossier)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    seeded.rollback()
    assert seeded.scalars(select(Allocation.payment_channel)).one() == "gateway"  # by the dossier code, for now
    assert confirm(client, dossier, transfer).json["MaLoi"] == "00"
    day = ict_day(transfer.booked_at)
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=transfer.account, bank_bin=transfer.bank_bin, day_from=day, day_to=day,
                    opening_balance=5_000_000, transfers=[transfer])
    buffer.seek(0)
    import_statement(seeded, buffer, filename="s.sta", actor="test")
    seeded.rollback()
    stored = seeded.scalars(select(BankTransaction)).one()
    assert set(stored.channel_list) == {"sepay", "portal", "statement"} and stored.on_statement
    allocation = seeded.scalars(select(Allocation)).one()
    assert (allocation.amount, allocation.payment_channel) == (28000, "portal")
    assert seeded.get(Dossier, dossier.id).amount_paid == 28000


def test_the_status_query_finds_a_payment_whose_confirmation_never_came(app, client, seeded, tmp_path):
    app.config["SIMPORTAL_DIR"] = str(tmp_path / "platform")
    dossier = make_dossier(seeded, amount=28000, channel="online")
    payment = initialise(seeded, dossier, "test")
    payment.created_at = utcnow() - timedelta(minutes=20)
    seeded.commit()
    transfer = portal_transfer(dossier)
    Platform(tmp_path / "platform").save(PlatformPayment(ref=payment.ref, dossier_code=dossier.code,
                                                         procedure_code=dossier.procedure.code, status="00",
                                                         transfer=transfer_to_json(transfer), confirmed=False))
    results = query_pending(seeded, "http://localhost/simulator/portal/query", SECRET, wsgi_poster(app), None)
    assert results == [(payment.ref, "accepted")]
    seeded.rollback()
    stored = seeded.get(PortalPayment, payment.id)
    assert (stored.status, stored.confirmed_via, stored.queries) == ("paid", "query", 1)
    assert seeded.get(Dossier, dossier.id).amount_paid == 28000
    assert seeded.scalars(select(Allocation.payment_channel)).one() == "portal"
    # Asked again later: nothing pending, nothing queried.
    assert query_pending(seeded, "http://localhost/simulator/portal/query", SECRET, wsgi_poster(app), None) == []


def test_a_pending_answer_keeps_waiting(app, seeded, tmp_path):
    app.config["SIMPORTAL_DIR"] = str(tmp_path / "platform")
    dossier = make_dossier(seeded, amount=28000)
    payment = initialise(seeded, dossier, "test")
    payment.created_at = utcnow() - timedelta(minutes=20)
    seeded.commit()
    Platform(tmp_path / "platform").save(PlatformPayment(ref=payment.ref, dossier_code=dossier.code,
                                                         procedure_code=dossier.procedure.code, status="01",
                                                         transfer=transfer_to_json(portal_transfer(dossier)),
                                                         confirmed=False))
    assert query_pending(seeded, "http://localhost/simulator/portal/query", SECRET, wsgi_poster(app), None) == \
        [(payment.ref, "pending")]
    seeded.rollback()
    assert seeded.get(PortalPayment, payment.id).status == "pending"


def test_a_day_of_four_channels(app, client, seeded):
    """A land dossier paid on the portal, a civil-status dossier filed online paid by VietQR,
    a counter dossier paid by VietQR, one paid in cash: each has its channel in the API and
    in the events."""
    from reconciliation.matching.cash import record_cash

    token = create_token(seeded, "one-stop", "system")
    land = make_dossier(seeded, amount=3_028_000, channel="online", procedure="1.013831", agency="HN-VPDKDD-CN02")
    online = make_request(seeded, amount=8000, channel="online")
    counter = make_request(seeded, amount=8000, channel="counter")
    cash = make_dossier(seeded, amount=8000, channel="counter")
    seeded.commit()
    assert confirm(client, land, portal_transfer(land)).json["MaLoi"] == "00"
    from .conftest import transfer_for

    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer_for(online))))
    assert ok("payos", post(client, "payos", *signed("payos", transfer_for(counter))))
    record_cash(seeded, seeded.get(Dossier, cash.id), amount=8000, receipt_number="BL-0001", clerk_username="motcua",
                clerk_name="Nguyễn Thị Lan")
    seeded.commit()
    headers = {"Authorization": f"Bearer {token}"}
    expected = {land.code: ("portal", "portal", 1), online.dossier.code: ("bankdirect", "gateway", 0),  # setting off
                counter.dossier.code: ("payos", "counter_transfer", 0), cash.code: ("cash", "cash", 0)}
    for code, (channel, payment_channel, flag) in expected.items():
        body = client.get(f"/api/v1/dossiers/{code}", headers=headers).get_json()
        assert body["payment_status"] == "paid", code
        assert [(p["channel"], p["payment_channel"]) for p in body["payments"]] == [(channel, payment_channel)]
        events = [e for e in seeded.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code == code))]
        assert events and events[-1].payload["dossier"]["online_payment"] == flag, code
        assert events[-1].payload["dossier"]["fees"], code
    seeded.rollback()
    assert json.dumps([e.payload for e in seeded.scalars(select(OutboxEvent))], ensure_ascii=False)


def test_starting_a_portal_payment_again_returns_the_pending_one(client, seeded):
    """A client that retries the initialisation gets the same pending payment (200), not
    another one per call; a different amount still owed, or a payment that failed, starts anew."""
    token = create_token(seeded, "portal-system", "system")
    headers = {"Authorization": f"Bearer {token}"}
    dossier = make_dossier(seeded, amount=28000, channel="online")
    seeded.commit()
    url = f"/api/v1/dossiers/{dossier.code}/portal-payments"
    first = client.post(url, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = [client.post(url, headers=headers) for _ in range(3)]
    assert [r.status_code for r in again] == [200, 200, 200]
    assert {r.get_json()["ref"] for r in again} == {first.get_json()["ref"]}
    assert seeded.scalar(select(func.count()).select_from(PortalPayment)
                         .where(PortalPayment.dossier_id == dossier.id)) == 1
    # Once it failed, a new call starts another payment.
    payment = seeded.scalars(select(PortalPayment).where(PortalPayment.dossier_id == dossier.id)).one()
    payment.status = "failed"
    seeded.commit()
    other = client.post(url, headers=headers)
    assert other.status_code == 201
    assert other.get_json()["ref"] != first.get_json()["ref"]
    assert other.get_json()["amount"] == 28000
    assert client.post(url, headers=headers).get_json()["ref"] == other.get_json()["ref"]
    # Part of it paid elsewhere: the pending payment is for another amount than what is owed now.
    seeded.expire_all()
    stored = seeded.get(Dossier, dossier.id)
    request = create_payment_request(seeded, stored, "test", amount=10000)
    seeded.commit()
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer_for(request))))
    third = client.post(url, headers=headers)
    assert third.status_code == 201
    assert third.get_json()["amount"] == 18000
    assert seeded.scalar(select(func.count()).select_from(PortalPayment)
                         .where(PortalPayment.dossier_id == dossier.id, PortalPayment.status == "pending")) == 2
