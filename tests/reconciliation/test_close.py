"""The statement run and the daily close, on SQLite and PostgreSQL: transfers only the
statement shows, callbacks it does not show, late postings, reversals, the balance proof,
closing, the immutability of a closed day, reopening, the dry run, and cash beside it."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from simulator.statement_files import write_statement
from core.clock import ICT, ict_day, utcnow
from core.errors import Conflict
from payments.models import CollectionAccount, Dossier, PaymentRequest
from reconciliation.workflow.close import close_day, get_close, reopen_day, run_day
from reconciliation.workflow.exceptions import resolve
from reconciliation.matching.manual import Part, match_manually
from reconciliation.models import BankTransaction, ReconException
from reconciliation.inbound.statement_import import import_statement

from .conftest import make_request, ok, post, signed, transfer_for

DAY = ict_day(utcnow()) - timedelta(days=1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=ICT)


def statement(session, transfers, *, opening=10_000_000, closing_shift=0, fmt="camt053"):
    first = transfers[0]
    buffer = io.BytesIO()
    write_statement(fmt, buffer, account=first.account, bank_bin=first.bank_bin, day_from=DAY, day_to=DAY,
                    opening_balance=opening, transfers=transfers)
    data = buffer.getvalue()
    if closing_shift:  # a broken balance: the closing balance written off by some đồng
        import re

        match = list(re.finditer(rb"<Cd>CLBD</Cd>.*?<Amt Ccy=\"VND\">(\d+)", data, re.S))[-1]
        data = data[:match.start(1)] + str(int(match.group(1)) + closing_shift).encode() + data[match.end(1):]
    return import_statement(session, io.BytesIO(data), filename="day.xml", actor="test")


def account_of(session, transfer) -> CollectionAccount:
    return session.scalar(select(CollectionAccount).where(CollectionAccount.number == transfer.account))


def reasons(session):
    session.rollback()
    return sorted((e.reason, e.status) for e in session.scalars(select(ReconException)))


def test_a_day_with_a_lost_callback_and_a_forged_one(client, seeded):
    paid, lost, forged = (make_request(seeded, amount=a) for a in (8000, 9000, 10000))
    t_paid = transfer_for(paid, when=at(9))
    t_lost = transfer_for(lost, when=at(10))
    t_forged = transfer_for(forged, when=at(11))
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", t_paid)))
    assert ok("payos", post(client, "payos", *signed("payos", t_forged)))  # the bank never booked it
    summary = statement(seeded, [t_paid, t_lost])
    assert (summary.new_transactions, summary.known_transactions, summary.balance_ok) == (1, 1, True)
    account = account_of(seeded, t_paid)
    result = run_day(seeded, account, DAY, "user:ketoan")
    assert result.status == "open"
    assert result.figures["statement_in_count"] == 2 and result.figures["statement_in_sum"] == 17000
    assert result.figures["service_in_count"] == 3 and result.figures["matched_count"] == 3
    assert any("missing_from_statement" in b for b in result.blocking)
    # The lost callback's transfer was matched from the statement: no queue item, and its channels
    # say that only the statement reported it.
    assert reasons(seeded) == [("missing_from_statement", "open")]
    assert seeded.get(PaymentRequest, lost.id).status == "paid"
    lost_row = seeded.scalar(select(BankTransaction).where(BankTransaction.bank_ref == t_lost.bank_ref))
    assert lost_row.channel_list == ["statement"] and lost_row.status == "matched"
    # The officer finds the forged one and settles it; then the day closes.
    item = seeded.scalars(select(ReconException).where(ReconException.reason == "missing_from_statement")).one()
    resolve(seeded, item, "user:ketoan", "the bank confirms: never booked; reported to the intermediary",
            status="dismissed")
    seeded.commit()
    record = close_day(seeded, account, DAY, "user:ketoan")
    seeded.commit()
    assert record.status == "closed" and record.figures["audit_head"]["id"] > 0
    # A closed day is immutable...
    transaction = seeded.scalars(select(BankTransaction).where(BankTransaction.bank_ref == t_paid.bank_ref)).one()
    with pytest.raises(Conflict, match="closed"):
        match_manually(seeded, transaction.id, [Part(amount=1, dossier_code=paid.dossier.code)], "user:ketoan", "x")
    seeded.rollback()
    with pytest.raises(Conflict, match="closed"):
        run_day(seeded, account, DAY, "user:ketoan")
    seeded.rollback()
    # ...until it is reopened, with a reason.
    reopen_day(seeded, account, DAY, "user:truongphong", "bank corrected the statement")
    seeded.commit()
    record = get_close(seeded, account.id, DAY)
    assert (record.status, record.reopened_by, record.reopen_reason) == \
        ("open", "user:truongphong", "bank corrected the statement")


def test_the_run_closes_a_day_where_all_is_explained_and_is_resumable(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    statement(seeded, [transfer])
    account = account_of(seeded, transfer)
    first = run_day(seeded, account, DAY, "scheduler", close=False)
    assert (first.status, first.blocking) == ("open", [])
    again = run_day(seeded, account, DAY, "scheduler")  # running again changes nothing but the close
    assert again.status == "closed" and [a.kind for a in again.actions] == ["closed"]


def test_a_dry_run_reports_and_keeps_nothing(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    statement(seeded, [transfer])
    account = account_of(seeded, transfer)
    result = run_day(seeded, account, DAY, "user:ketoan", dry_run=True)
    # The import matched the line no callback announced; the dry run would only close the day.
    assert result.dry_run and [a.kind for a in result.actions] == ["closed"] and result.status == "closed"
    seeded.rollback()
    assert seeded.get(PaymentRequest, request.id).status == "paid"
    assert reasons(seeded) == []  # matched: nothing for the queue
    assert get_close(seeded, account.id, DAY).status == "open"


def test_a_late_callback_is_carried_to_the_next_days_statement(client, seeded):
    early, late = make_request(seeded, amount=8000), make_request(seeded, amount=9000)
    t_early, t_late = transfer_for(early, when=at(9)), transfer_for(late, when=at(23, 5))
    for transfer in (t_early, t_late):
        assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer)))
    statement(seeded, [t_early])
    result = run_day(seeded, account_of(seeded, t_early), DAY, "scheduler")
    assert result.figures["carried_over"] == [t_late.bank_ref]
    assert result.status == "closed" and reasons(seeded) == []


def test_a_failed_balance_proof_blocks_the_close(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    summary = statement(seeded, [transfer], closing_shift=1)
    assert not summary.balance_ok
    account = account_of(seeded, transfer)
    result = run_day(seeded, account, DAY, "scheduler")
    assert result.status == "open" and any("balance proof failed" in b for b in result.blocking)
    with pytest.raises(Conflict, match="balance proof failed"):
        close_day(seeded, account, DAY, "user:ketoan")
    seeded.rollback()
    # The failed proof waits in the queue; settling it accepts the difference, and the day closes.
    item = seeded.scalars(select(ReconException).where(ReconException.reason == "balance_mismatch")).one()
    resolve(seeded, item, "user:ketoan", "the bank confirms its closing balance was misprinted by 1 đ")
    seeded.commit()
    assert close_day(seeded, account, DAY, "user:ketoan").status == "closed"


def test_a_reversal_on_the_statement_undoes_the_payment_and_reopens_the_request(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", transfer)))
    seeded.rollback()
    assert seeded.get(PaymentRequest, request.id).status == "paid"
    reversal = replace(transfer, direction="out", reversal=True, booked_at=at(15), content="REVERSAL")
    statement(seeded, [transfer, reversal])
    result = run_day(seeded, account_of(seeded, transfer), DAY, "scheduler")
    assert any(a.kind == "reversal" for a in result.actions)
    seeded.rollback()
    reopened = seeded.get(PaymentRequest, request.id)
    assert reopened.status in ("open", "expired") and reopened.amount_paid == 0
    assert seeded.get(Dossier, request.dossier_id).amount_paid == 0
    assert ("reversal", "resolved") in reasons(seeded)


def test_cash_is_shown_beside_the_bank_lines(client, seeded):
    from reconciliation.matching.cash import record_cash

    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    cash_dossier = make_request(seeded, amount=5000).dossier
    payment = record_cash(seeded, seeded.get(Dossier, cash_dossier.id), amount=5000, receipt_number="BL-7",
                          clerk_username="motcua", clerk_name="Nguyễn Thị Lan")
    payment.received_on = DAY
    seeded.commit()
    statement(seeded, [transfer])
    result = run_day(seeded, account_of(seeded, transfer), DAY, "scheduler")
    assert (result.figures["cash_count"], result.figures["cash_sum"]) == (1, 5000)
    assert result.figures["statement_in_sum"] == 8000  # the cash is not a bank line


def test_a_statement_continuing_the_previous_one_and_one_that_does_not(client, seeded):
    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    statement(seeded, [transfer], opening=10_000_000)
    next_day = replace(transfer_for(request, when=at(9) + timedelta(days=1), amount=1000))
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=next_day.account, bank_bin=next_day.bank_bin,
                    day_from=DAY + timedelta(days=1), day_to=DAY + timedelta(days=1), opening_balance=10_008_000,
                    transfers=[next_day])
    follows = import_statement(seeded, io.BytesIO(buffer.getvalue()), filename="d2.sta", actor="test")
    assert follows.sections[0].continuity_ok is True
    buffer = io.BytesIO()
    write_statement("mt940", buffer, account=next_day.account, bank_bin=next_day.bank_bin,
                    day_from=DAY + timedelta(days=2), day_to=DAY + timedelta(days=2), opening_balance=1,
                    transfers=[replace(next_day, bank_ref="FTOTHER", booked_at=at(9) + timedelta(days=2))])
    gap = import_statement(seeded, io.BytesIO(buffer.getvalue()), filename="d3.sta", actor="test")
    assert gap.sections[0].continuity_ok is False and not gap.balance_ok
    assert "differs from the closing balance" in gap.sections[0].balance_message


def test_an_account_day_never_run_has_nothing_to_close(seeded):
    account = seeded.scalars(select(CollectionAccount)).first()
    with pytest.raises(Conflict, match="no statement"):
        close_day(seeded, account, date(2026, 1, 5), "user:ketoan")


# ---------------------------------------------------------------------------------------------
# Closing means closed


def test_a_day_closes_only_once_it_has_ended_and_a_statement_covers_it_to_its_end(client, seeded):
    from core.refusals import Refusal
    from reconciliation.models import StatementImport

    request = make_request(seeded, amount=8000)
    transfer = transfer_for(request, when=at(9))
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    summary = statement(seeded, [transfer])
    account = account_of(seeded, transfer)
    today = ict_day(utcnow())
    with pytest.raises(Conflict) as not_over:
        close_day(seeded, account, today, "user:ketoan")
    assert not_over.value.code == Refusal.DAY_NOT_OVER
    assert "the day has not ended yet" in run_day(seeded, account, today, "user:ketoan", dry_run=True).blocking
    # The statement was taken at 20:00 on the day itself: it cannot show the rest of the day.
    seeded.get(StatementImport, summary.import_id).imported_at = at(20)
    seeded.commit()
    with pytest.raises(Conflict) as not_covered:
        close_day(seeded, account, DAY, "user:ketoan")
    assert not_covered.value.code == Refusal.DAY_NOT_COVERED and not_covered.value.params["day"] == DAY
    result = run_day(seeded, account, DAY, "user:ketoan")
    assert result.status == "open" and result.blocking == ["no statement covers this day to its end"]
    # Imported after midnight, the same statement covers the day: it closes.
    seeded.get(StatementImport, summary.import_id).imported_at = at(23, 59) + timedelta(minutes=2)
    seeded.commit()
    assert run_day(seeded, account, DAY, "user:ketoan").status == "closed"


def test_money_reported_on_a_closed_day_is_held_until_a_recorded_reopen(app, client, seeded):
    """A callback for a transfer booked on a closed day: acknowledged, stored, never allocated
    into the day; the queue and the day show it; only a reopen and a run put it in."""
    first, late = make_request(seeded, amount=8000), make_request(seeded, amount=9000)
    t_first = transfer_for(first, when=at(9))
    assert ok("bankdirect", post(client, "bankdirect", *signed("bankdirect", t_first)))
    statement(seeded, [t_first])
    account = account_of(seeded, t_first)
    assert run_day(seeded, account, DAY, "user:ketoan").status == "closed"
    t_late = transfer_for(late, when=at(15))  # the day's statement did not show it
    assert ok("sepay", post(client, "sepay", *signed("sepay", t_late)))
    seeded.rollback()
    stored = seeded.scalar(select(BankTransaction).where(BankTransaction.bank_ref == t_late.bank_ref))
    assert (stored.allocated, stored.status) == (0, "unmatched")
    assert seeded.get(PaymentRequest, late.id).status == "open"
    held = seeded.scalars(select(ReconException).where(ReconException.reason == "booked_on_closed_day")).one()
    assert (held.status, held.amount, held.transaction_id) == ("open", 9000, stored.id)
    assert DAY.isoformat() in held.detail
    assert get_close(seeded, account.id, DAY).status == "closed"
    # A payment booked today is paid at once, as usual.
    today_request = make_request(seeded, amount=7000)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(today_request))))
    seeded.rollback()
    assert seeded.get(PaymentRequest, today_request.id).status == "paid"
    # Only a recorded reopen, then a run, puts it in.
    reopen_day(seeded, account, DAY, "user:ketoan", "tiền báo về sau khi khóa sổ")
    seeded.commit()
    result = run_day(seeded, account, DAY, "user:ketoan")
    assert [a.kind for a in result.actions][:1] == ["released"]
    seeded.rollback()
    assert seeded.get(PaymentRequest, late.id).status == "paid"
    assert seeded.get(ReconException, held.id).status == "resolved"
    # It is still not on the day's statement, which says so and keeps the day open.
    assert result.status == "open" and any("missing_from_statement" in b for b in result.blocking)


@pytest.mark.parametrize("kind, params", [
    ("not_over", {}), ("no_statement", {}), ("not_covered", {}), ("balance", {"id": 7}), ("continuity", {"id": 7}),
    ("exceptions", {"n": 2, "reason": "missing_callback"}), ("undecided", {"n": 3})])
def test_every_blocking_item_is_labelled_in_each_language(app, kind, params):
    """The day page names what keeps a day open from the item's kind and parameters, never by
    reading its English sentence back."""
    from reconciliation.web.finance_labels import blocking_label
    from reconciliation.workflow.close import Blocking

    item = Blocking(kind, "English sentence that must not be shown", **params)
    with app.test_request_context("/?lang=vi"):
        vietnamese = blocking_label(item)
    with app.test_request_context("/?lang=en"):
        english = blocking_label(item)
    assert "must not be shown" not in vietnamese and "must not be shown" not in english
    assert vietnamese != english
    for value in params.values():
        shown = str(value) if kind != "exceptions" or value != "missing_callback" else None
        if shown:
            assert shown in vietnamese and shown in english
    if kind == "exceptions":
        assert "missing_callback" not in vietnamese and "missing_callback" not in english
