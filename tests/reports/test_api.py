"""The reports' API against its OpenAPI description (every status described is given, and no
other) and against CONTRACT.md's shape for the online payment rate, with the crafted month's
hand-computed figures."""
from __future__ import annotations

import pytest

from core.tokens import create_token
from tests.payments.test_openapi import Recorder, operations

from .conftest import EXPECTED_AGENCY, EXPECTED_FIELD, EXPECTED_PROCEDURE

ROLES = ("system", "counter", "finance", "supervisor", "admin")
REPORT_OPERATIONS = {"getOnlinePaymentRate", "getCashlessRate", "getIndicators", "listReportDossiers",
                     "getCollections", "getPaymentTimes", "getBacklog"}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def tokens(base):
    made = {role: create_token(base, f"reports-{role}", role) for role in ROLES}
    base.commit()
    return made


def test_every_described_status_is_given_and_no_other(client, tokens, november):
    rec = Recorder(client, tokens)
    for op in ("getOnlinePaymentRate", "getCashlessRate", "getIndicators", "getCollections", "getPaymentTimes",
               "getBacklog"):
        rec.call(op, role="supervisor", query_string=NOVEMBER)
        rec.call(op, role="finance", query_string={"from": "2026-11-31", "to": "2026-11-30"})  # 422
        rec.call(op, role=None, query_string=NOVEMBER)
        rec.call(op, role="counter", query_string=NOVEMBER)
    rec.call("getOnlinePaymentRate", role="system", query_string={**NOVEMBER, "group_by": "region"})  # 422
    rec.call("getOnlinePaymentRate", role="system", query_string={"to": "2026-11-30"})  # 422: from missing
    rec.call("getCollections", role="admin", query_string={**NOVEMBER, "per": "week"})  # 422
    rec.call("listReportDossiers", role="supervisor", query_string={**NOVEMBER, "measure": "paid_online"})
    rec.call("listReportDossiers", role="supervisor",
             query_string={**NOVEMBER, "group_by": "agency", "key": "P-NOWHERE"})  # 404
    rec.call("listReportDossiers", role="supervisor", query_string={**NOVEMBER, "measure": "everything"})  # 422
    rec.call("listReportDossiers", role=None, query_string=NOVEMBER)
    rec.call("listReportDossiers", role="counter", query_string=NOVEMBER)
    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] in REPORT_OPERATIONS}
    assert rec.seen == described


def get(client, tokens, path, role="supervisor", **query):
    response = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"}, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("group_by, expected", [("agency", EXPECTED_AGENCY), ("field", EXPECTED_FIELD),
                                                ("procedure", EXPECTED_PROCEDURE)])
def test_the_online_payment_rate_as_the_contract_says(client, tokens, november, group_by, expected):
    body = get(client, tokens, "/api/v1/reports/online-payment-rate", role="system", group_by=group_by, **NOVEMBER)
    assert (body["from"], body["to"], body["group_by"]) == ("2026-11-01", "2026-11-30", group_by)
    for row in body["rows"]:
        assert {"key", "name", "dossiers", "dossiers_with_fees", "paid_online", "rate"} <= set(row)  # added, not renamed
        dossiers, with_fees, _, online, _ = expected[row["key"]]
        assert (row["dossiers"], row["dossiers_with_fees"], row["paid_online"]) == (dossiers, with_fees, online)
        assert row["rate"] == (online / with_fees if with_fees else 0.0)
        assert 0 <= row["rate"] <= 1
    assert {row["key"] for row in body["rows"]} == set(expected)
    contract = ("key", "name", "dossiers", "dossiers_with_fees", "paid_online", "rate")
    assert {k: body["total"][k] for k in contract} == {"key": "total", "name": "Tổng cộng", "dossiers": 19,
                                                       "dossiers_with_fees": 16, "paid_online": 2, "rate": 2 / 16}
    assert (body["total"]["paid_cashless"], body["total"]["cashless_dossiers_to_pay"]) == (7, 12)
    assert body["online_channels"] == ["portal"] and body["online_flag_vietqr_as_gateway"] is False
    names = {row["key"]: row["name"] for row in body["rows"]}
    if group_by == "agency":
        assert names["P-HOANKIEM"] == "UBND phường Hoàn Kiếm"
    if group_by == "field":
        assert names == {"civil_status": "Hộ tịch", "land": "Đất đai"}


def test_the_other_indicators_in_the_api(client, tokens, november):
    body = get(client, tokens, "/api/v1/reports/indicators", **NOVEMBER)
    items = {i["item"]: (i["numerator"], i["denominator"], i["rate"], i["points"]) for i in body["items"]}
    assert items == {"3.5": (4, 5, 0.8, 2.0), "3.5b": (2, 5, 0.4, 1.0), "3.6": (2, 16, 2 / 16, 2.5)}
    assert (body["points"], body["max_points"]) == (5.5, 10)
    assert body["cashless"] == {"numerator": 7, "denominator": 12, "rate": 7 / 12}
    assert body["counts"]["cancelled"] == 2 and body["counts"]["zero_fee"] == 2
    cashless = get(client, tokens, "/api/v1/reports/cashless-rate", group_by="channel", **NOVEMBER)
    assert {r["key"]: (r["cashless"], r["dossiers_with_fees"]) for r in cashless["rows"]} == {
        "online": (4, 6), "counter": (3, 6)}  # its own denominator: counted dossiers with something to pay
    months = get(client, tokens, "/api/v1/reports/online-payment-rate", group_by="month", **{
        "from": "2026-10-01", "to": "2026-12-31"})
    assert {r["key"]: (r["dossiers"], r["paid_online"]) for r in months["rows"]} == {
        "2026-10": (1, 0), "2026-11": (19, 2), "2026-12": (1, 0)}  # A9, A8: VietQR, no flag with the setting off


def test_the_drill_down_pages(client, tokens, november):
    import reports.api as api

    old, api.PAGE = api.PAGE, 4
    try:
        first = get(client, tokens, "/api/v1/reports/dossiers", measure="with_fees", **NOVEMBER)
        assert first["count"] == 16 and len(first["items"]) == 4 and first["next"]
        codes = [i["code"] for i in first["items"]]
        url = first["next"]
        while url:
            page = client.get(url, headers={"Authorization": f"Bearer {tokens['finance']}"}).get_json()
            codes += [i["code"] for i in page["items"]]
            url = page["next"]
    finally:
        api.PAGE = old
    assert len(codes) == len(set(codes)) == 16
    one = get(client, tokens, "/api/v1/reports/dossiers", measure="paid_online", group_by="procedure", key="T.BD",
              **NOVEMBER)
    assert [(i["code"], i["payment_channels"], i["amount_due"], i["amount_paid"]) for i in one["items"]] == [
        ("CN2-C1", ["portal"], 3_028_000, 3_028_000)]
    assert one["items"][0]["submitted_at"] == "2026-11-18T08:00:00+07:00"


def test_money_times_and_backlog_in_the_api(client, tokens, november):
    times = get(client, tokens, "/api/v1/reports/payment-times", **NOVEMBER)
    assert times["total"]["median_seconds"] == 7200 and times["total"]["count"] == 3
    money = get(client, tokens, "/api/v1/reports/collections", by="kind", per="period", **NOVEMBER)
    assert money["total"]["amount"] == sum(r["amount"] for r in money["rows"])
    backlog = get(client, tokens, "/api/v1/reports/backlog", **NOVEMBER)
    assert {u["key"] for u in backlog["units"]} >= {"P-HOANKIEM", "P-DONGDA", "HN-VPDKDD-CN02"}
