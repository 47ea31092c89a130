"""Items 3.5, 3.5b and 3.6 as the national portal computes them, on the crafted month of
``conftest.py`` plus two dossiers (a stopped one paid on the portal, and a charged dossier of a
procedure without fees paid on the portal), with ONLINE_FLAG_VIETQR_AS_GATEWAY off and on; and
the online-payment flag the outbound events carry against what the report counted, dossier by
dossier. Figures computed by hand (below)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.tokens import create_token
from payments import money_rules as rules
from payments.models import Dossier
from reconciliation.channels.outbox import dossier_payload
from reconciliation.models import OutboxEvent
from reports.indicators import (DRILL_MEASURES, cashless_rate, dossiers_behind, item_3_5, item_3_5b,
                                online_payment_rate, summary)

from .conftest import NOVEMBER, at, build_november, dossier, transfer

BOTH = pytest.mark.parametrize("direct", [False, True], ids=["table", "direct"])


def build_extra(session) -> None:
    # a stopped dossier paid in full on the portal: stays in 3.6 (no status excluded), flag 1
    c7 = dossier(session, "CN2-C7", "HN-VPDKDD-CN02", "T.CAPDOI", "counter", at(24, 9), [(20_000, "le_phi")])
    transfer(session, c7, 20_000, at(24, 10), portal=True)
    c7.status = "stopped"
    # a procedure without fees, yet a charge (late registration) paid on the portal: flag 1, outside the denominator
    a10 = dossier(session, "HK-A10", "P-HOANKIEM", "T.KS", "online", at(25, 9), [(8_000, "le_phi")])
    transfer(session, a10, 8_000, at(25, 9, 30), portal=True)
    session.commit()


@pytest.fixture(params=[False, True], ids=["vietqr-off", "vietqr-on"])
def month(request, app, base):
    """The month built with the setting as the test asks (events are written when money moves)."""
    app.config["ONLINE_FLAG_VIETQR_AS_GATEWAY"] = request.param
    build_november(base)
    build_extra(base)
    yield request.param
    app.config["ONLINE_FLAG_VIETQR_AS_GATEWAY"] = False


# By hand. Every dossier of November whatever its status (A6 withdrawn, C5 rejected, C7 stopped,
# B4 submitted are in). Denominator: dossiers of procedures with fees (all but A5 and A10, T.KS),
# less the all-zero ones (A4, C2); C4 (no charge line) stays in.
# Flag 1 (portal, paid in full): C1, C6, C7, A10. Flag 2 only with the setting on (VietQR for an
# online dossier, paid in full, every payment so): A1, A6, A7, B1, B4. Never: A2 (VietQR at the
# counter), A3 (cash), B3 (transfer + cash), B5 (card), B2 (reversed), B6 (a part on the portal).
# (dossiers, dossiers_with_fees, paid_online, flag 1, flag 2)
BY_AGENCY = {
    False: {"P-HOANKIEM": (8, 5, 1, 1, 0), "P-DONGDA": (6, 6, 0, 0, 0), "HN-VPDKDD-CN02": (7, 6, 3, 3, 0)},
    True: {"P-HOANKIEM": (8, 5, 4, 1, 3), "P-DONGDA": (6, 6, 2, 0, 2), "HN-VPDKDD-CN02": (7, 6, 3, 3, 0)},
}
TOTAL = {False: (21, 17, 4, 4, 0), True: (21, 17, 9, 4, 5)}
FLAGGED = {False: {"CN2-C1", "CN2-C6", "CN2-C7", "HK-A10"},
           True: {"CN2-C1", "CN2-C6", "CN2-C7", "HK-A10", "HK-A1", "HK-A6", "HK-A7", "DD-B1", "DD-B4"}}


def figures(c) -> tuple:
    return c.dossiers, c.with_fees, c.paid_online, c.flag_portal, c.flag_gateway


@BOTH
def test_3_6_as_the_portal_counts_it(month, session, direct):
    report = online_payment_rate(session, NOVEMBER, "agency", direct=direct)
    assert {r.key: figures(r.counts) for r in report.rows} == BY_AGENCY[month]
    assert figures(report.total.counts) == TOTAL[month]
    c = report.total.counts
    assert (c.fee_procedure_dossiers, c.zero_fee, c.no_fee_procedure, c.no_fee_data) == (19, 2, 2, 1)
    assert (c.cancelled, c.not_started) == (3, 1)  # A6, C5, C7; B4: all of them in the figures
    assert c.paid_online_outside == 1  # A10: flagged, procedure without fees
    assert report.total.rate == (9 / 17 if month else 4 / 17)
    rows = {r.key: r.rate for r in report.rows}
    assert rows["P-HOANKIEM"] == (4 / 5 if month else 1 / 5)
    assert rows["HN-VPDKDD-CN02"] == 3 / 6


@BOTH
def test_the_numerator_is_the_flag(month, session, direct):
    lines, count = dossiers_behind(session, NOVEMBER, "paid_online", direct=direct)
    assert {x.code for x in lines} == FLAGGED[month] and count == len(FLAGGED[month])
    assert {x.code: x.online_flag for x in lines} == {code: (1 if code in ("CN2-C1", "CN2-C6", "CN2-C7", "HK-A10")
                                                             else 2) for code in FLAGGED[month]}


@BOTH
def test_3_5_and_3_5b_as_the_portal_counts_them(month, session, direct):
    a = item_3_5(session, NOVEMBER, direct=direct)
    # Y (the catalogue today): KH-NN, TLHT, BD, CAPDOI, UNUSED; X: a dossier with a charge above 0 đồng.
    assert (a.numerator, a.denominator) == (4, 5)
    assert {p.code for p in a.procedures} == {"T.KH-NN", "T.TLHT", "T.BD", "T.CAPDOI", "T.UNUSED"}
    b = item_3_5b(session, NOVEMBER, direct=direct)
    # A flagged dossier: BD (C1), CAPDOI (C6, C7); with the setting on also KH-NN (A1), TLHT (B1).
    # A10 is flagged but T.KS has no fee: not in Y, so not in X.
    expected = {"T.BD", "T.CAPDOI"} | ({"T.KH-NN", "T.TLHT"} if month else set())
    assert {p.code for p in b.procedures if p.paid_online} == expected
    assert (b.numerator, b.denominator) == (len(expected), 5)
    s = summary(session, NOVEMBER, direct=direct)
    assert s.scores == ({"3.5": 2.0, "3.5b": 2.0, "3.6": 6.0} if month
                        else {"3.5": 2.0, "3.5b": 1.0, "3.6": round(6 * (4 / 17) / 0.3, 2)})


@BOTH
def test_the_cashless_rate_is_the_services_own(month, session, direct):
    report = cashless_rate(session, NOVEMBER, "agency", direct=direct)
    # Counted dossiers (not rejected, withdrawn, stopped, submitted) with charges above 0; paid without cash.
    assert {r.key: (r.numerator, r.dossiers_with_fees) for r in report.rows} == {
        "P-HOANKIEM": (4, 5), "P-DONGDA": (2, 5), "HN-VPDKDD-CN02": (2, 3)}  # A10 is in, C7 (stopped) is not
    assert (report.total.numerator, report.total.dossiers_with_fees) == (8, 13)


def test_every_figure_equals_its_dossiers(month, session):
    b = online_payment_rate(session, NOVEMBER, "procedure")
    for row in b.rows:
        for measure in DRILL_MEASURES:
            _, count = dossiers_behind(session, NOVEMBER, measure, "procedure", row.key)
            assert count == getattr(row.counts, measure), (row.key, measure)


def test_the_event_flag_is_what_the_report_counted(month, session):
    """For every dossier of the month: the flag of its last outbound event (written when its
    money last moved) and the flag of the event it would get now both equal the report's."""
    counted = {x.code: x.online_flag for x in dossiers_behind(session, NOVEMBER, "dossiers", limit=1000)[0]}
    assert len(counted) == 21
    flagged = {x.code for x in dossiers_behind(session, NOVEMBER, "paid_online", limit=1000)[0]}
    for code, flag in counted.items():
        d = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        assert dossier_payload(session, d)["DuocThanhToanTrucTuyen"] == flag, code
        last = session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code == code)
                               .order_by(OutboxEvent.id.desc()).limit(1)).first()
        if last is not None:
            assert last.payload["dossier"]["DuocThanhToanTrucTuyen"] == flag, code
            assert last.payload["dossier"]["online_payment"] == flag, code
        else:
            assert flag == 0, code  # no money ever moved
        assert (flag in (1, 2)) == (code in flagged), code


def test_the_event_fee_list_carries_the_portal_fields(month, session):
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code == "CN2-C1")
                            .order_by(OutboxEvent.id.desc())).first()
    fees = event.payload["dossier"]["fees"]
    assert [(f["MaPhiLePhi"], f["TenPhiLePhi"], f["Gia"], f["LoaiPhiLePhi"], f["HinhThucThu"]) for f in fees] == [
        ("BD", "Khoản 0", 28_000, 2, 3), ("BD", "Khoản 1", 3_000_000, 1, 3)]  # lệ phí 2, phí 1; online 3
    cash_event = session.scalars(select(OutboxEvent).where(OutboxEvent.dossier_code == "HK-A3")
                                 .order_by(OutboxEvent.id.desc())).first()
    assert {f["HinhThucThu"] for f in cash_event.payload["dossier"]["fees"]} == {1}  # cash
    assert event.payload["dossier"]["online_flag_vietqr_as_gateway"] is month


def test_the_api_follows_the_contract(month, app, client, base):
    token = create_token(base, "reports-system", "system")
    base.commit()
    body = client.get("/api/v1/reports/online-payment-rate", headers={"Authorization": f"Bearer {token}"},
                      query_string={"from": "2026-11-01", "to": "2026-11-30", "group_by": "agency"}).get_json()
    for row in body["rows"] + [body["total"]]:
        assert {"key", "name", "dossiers", "dossiers_with_fees", "paid_online", "rate"} <= set(row)
        assert 0 <= row["rate"] <= 1
    got = {r["key"]: (r["dossiers"], r["dossiers_with_fees"], r["paid_online"], r["paid_on_portal"],
                      r["paid_through_gateway"]) for r in body["rows"]}
    assert got == BY_AGENCY[month]
    t = body["total"]
    assert (t["dossiers"], t["dossiers_with_fees"], t["paid_online"]) == TOTAL[month][:3]
    assert t["rate"] == (9 / 17 if month else 4 / 17)
    assert (t["paid_cashless"], t["cashless_dossiers_to_pay"], t["cashless_rate"]) == (8, 13, 8 / 13)
    assert body["online_flag_vietqr_as_gateway"] is month
    assert body["online_channels"] == (["portal", "gateway"] if month else ["portal"])
    page = client.get("/reports/public/2026-11").get_data(as_text=True)
    assert ('data-vietqr-as-gateway="on"' if month else 'data-vietqr-as-gateway="off"') in page


def test_the_flag_rule_itself():
    flag = rules.online_flag
    assert flag(["portal"], paid=True) == 1 and flag(["portal", "portal"], paid=True) == 1
    assert flag(["gateway"], paid=True) == 0 and flag(["gateway"], paid=True, vietqr_as_gateway=True) == 2
    assert flag(["portal", "gateway"], paid=True) == 0  # a VietQR part that does not count
    assert flag(["portal", "gateway"], paid=True, vietqr_as_gateway=True) == 1
    assert flag(["portal"], paid=False) == 0  # a part only
    for other in ("counter_transfer", "card", "cash"):
        assert flag([other], paid=True, vietqr_as_gateway=True) == 0
        assert flag(["portal", other], paid=True, vietqr_as_gateway=True) == 0
    assert flag([], paid=True) == 0
    assert rules.paid_in_full(8000, 8000) and not rules.paid_in_full(0, 0) and not rules.paid_in_full(8000, 7999)
