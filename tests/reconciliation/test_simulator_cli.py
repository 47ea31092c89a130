"""The bank simulator's commands, as an operator runs them (SQLite and PostgreSQL): pay a
request through each channel in-process, lose a callback, write the day's statement from
the simulated bank's books, import it, run the day; pay on the portal with and without
the confirmation."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.clock import ict_day, utcnow
from payments.models import PaymentRequest
from reconciliation.models import BankTransaction, PortalPayment

from .conftest import make_dossier, make_request


def test_pay_lose_a_callback_and_find_it_on_the_statement(app, runner, seeded, tmp_path):
    app.config["SIMBANK_DIR"] = str(tmp_path / "simbank")
    requests = [make_request(seeded, amount=8000 + i * 1000) for i in range(4)]
    seeded.rollback()
    for request, via in zip(requests, ("payos", "sepay", "bankdirect")):
        result = runner.invoke(args=["bank", "pay", request.reference, "--via", via, "--in-process", "--seed", "7"])
        assert result.exit_code == 0, result.output
        assert "delivery: delivered" in result.output
    lost = runner.invoke(args=["bank", "pay", requests[3].reference, "--via", "payos", "--no-deliver", "--seed", "7"])
    assert lost.exit_code == 0 and "only the statement will show it" in lost.output
    seeded.rollback()
    assert [seeded.get(PaymentRequest, r.id).status for r in requests] == ["paid", "paid", "paid", "open"]
    account = seeded.get(PaymentRequest, requests[0].id).account.number
    seeded.rollback()  # the commands share this session (one app context): it must hold no SQLite lock
    day = ict_day(utcnow())
    out = tmp_path / "statement.xlsx"
    written = runner.invoke(args=["bank", "statement", account, "--date", day.isoformat(), "--format", "xlsx",
                                  "--layout", "vietinbank", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert "4 entries" in written.output
    imported = runner.invoke(args=["statement", "import", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "1 new and 3 known" in imported.output and "1 matched on import" in imported.output
    assert "balance proof OK" in imported.output
    ran = runner.invoke(args=["day", "run", account, day.isoformat()])
    assert ran.exit_code == 0, ran.output
    assert ": open" in ran.output and "blocking: the day has not ended yet" in ran.output  # closes after midnight
    seeded.rollback()
    assert seeded.get(PaymentRequest, requests[3].id).status == "paid"
    seeded.rollback()
    again = runner.invoke(args=["statement", "import", str(out)])
    assert "already imported (nothing created)" in again.output


def test_refusals_of_the_simulator(runner, seeded, app, tmp_path):
    app.config["SIMBANK_DIR"] = str(tmp_path / "simbank")
    assert runner.invoke(args=["bank", "pay", "HSNOTAREF", "--via", "payos", "--in-process"]).exit_code == 1
    request = make_request(seeded)
    bad = runner.invoke(args=["bank", "pay", request.reference, "--via", "payos", "--in-process",
                              "--pattern", "nonsense"])
    assert bad.exit_code == 2 and "unknown content pattern" in bad.output
    assert runner.invoke(args=["bank", "statement", "000", "--date", "2026-13-01", "--format", "csv",
                               "--out", str(tmp_path / "x.csv")]).exit_code == 2


def test_portal_pay_with_and_without_the_confirmation(app, runner, seeded, tmp_path):
    from datetime import timedelta

    from reconciliation.channels.portal import query_pending
    from reconciliation.channels.portal_client import wsgi_poster

    app.config["SIMBANK_DIR"] = str(tmp_path / "simbank")
    app.config["SIMPORTAL_DIR"] = str(tmp_path / "simportal")
    confirmed = make_dossier(seeded, amount=28000, channel="online")
    withheld = make_dossier(seeded, amount=15000, channel="online")
    seeded.commit()
    result = runner.invoke(args=["bank", "portal-pay", confirmed.code, "--in-process"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["bank", "portal-pay", withheld.code, "--no-confirm", "--in-process"])
    assert result.exit_code == 0 and "withheld" in result.output
    seeded.rollback()
    statuses = {p.dossier_code: p.status for p in seeded.scalars(select(PortalPayment))}
    assert statuses == {confirmed.code: "paid", withheld.code: "pending"}
    pending = seeded.scalars(select(PortalPayment).where(PortalPayment.status == "pending")).one()
    pending.created_at -= timedelta(minutes=16)
    seeded.commit()
    from bank_adapters.keys import DEMO_KEYS

    assert query_pending(seeded, "http://x/simulator/portal/query", DEMO_KEYS.portal_secret, wsgi_poster(app), None) \
        == [(pending.ref, "accepted")]
    seeded.rollback()
    assert {p.dossier_code: p.status for p in seeded.scalars(select(PortalPayment))} == \
        {confirmed.code: "paid", withheld.code: "paid"}
    assert len(seeded.scalars(select(BankTransaction)).all()) == 2
    assert date.today()  # the simulated bank booked both on its ledger (the statement test covers reading it)
