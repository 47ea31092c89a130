"""The fee rules beyond the schedule: pure functions, each condition, the days at the edges,
and the shipped rules (fee-rules.csv) on the catalogue's own fee items."""
from __future__ import annotations

from datetime import date

import pytest

from core.errors import ValidationError
from payments import fee_rules
from payments.catalogue import DATA, parse_catalogue
from payments.fee_rules import CITY_SUPPORT, EXEMPT, FIXED, PERCENT, Circumstances, Rule, applies, choose, effect
from payments.fees import DossierFacts, FeeRule, compute_charges
from payments.rule_catalogue import as_rule, parse_rules

ROWS = parse_catalogue((DATA / "fees-hanoi.csv").read_text(encoding="utf-8"))
LAW = [as_rule(r) for r in parse_rules((DATA / "fee-rules.csv").read_text(encoding="utf-8"))]
BY_CODE = {r.code: r for r in LAW}


def items(procedure_code: str) -> tuple[list[FeeRule], str]:
    keys = ("code", "name", "kind", "payer_class", "amount", "rate_ppm", "cap", "per_copy", "exempt_always",
            "exempt_condition", "legal_basis", "verified")
    found = [r for r in ROWS if r["procedure_code"] == procedure_code]
    assert found, procedure_code
    return [FeeRule(**{k: r[k] for k in keys}) for r in found], found[0]["field"]


def charges(procedure_code: str, channel="counter", on=date(2026, 11, 25), **kw):
    schedule, field = items(procedure_code)
    lines = compute_charges(schedule, DossierFacts(channel=channel, submitted_on=on, **kw), field=field,
                            adjustments=LAW)
    return {l.fee_code: l for l in lines}


def when(day: date, channel="counter", **kw) -> Circumstances:
    return Circumstances(channel=channel, filed_on=day, **kw)


# --- validity: both days included, Indochina filing day ---------------------------------------

BOXED = Rule("BOX", "box", PERCENT, "basis", percent=50, valid_from=date(2026, 8, 15), valid_to=date(2027, 2, 28))


@pytest.mark.parametrize("day, expected", [
    (date(2026, 8, 14), False), (date(2026, 8, 15), True), (date(2026, 12, 31), True),
    (date(2027, 2, 28), True), (date(2027, 3, 1), False),
])
def test_validity_period_includes_both_ends(day, expected):
    assert fee_rules.in_force(BOXED, day) is expected


def test_open_ended_periods():
    assert fee_rules.in_force(Rule("A", "a", EXEMPT, "b", valid_from=date(2026, 1, 1)), date(2099, 1, 1))
    assert not fee_rules.in_force(Rule("A", "a", EXEMPT, "b", valid_from=date(2026, 1, 1)), date(2025, 12, 31))
    assert fee_rules.in_force(Rule("A", "a", EXEMPT, "b", valid_to=date(2026, 1, 1)), date(2000, 1, 1))
    assert fee_rules.in_force(Rule("A", "a", EXEMPT, "b"), date(1990, 1, 1))


def test_filing_day_is_the_indochina_day():
    from datetime import datetime, timezone

    from payments.dossiers import DossierInput, facts_for

    # 31 Dec 2025 17:30 UTC is 1 Jan 2026 00:30 in Hanoi: Nghị quyết 77 already applies.
    data = DossierInput(code=None, procedure_code="1.013831", agency_code="X", applicant_name="A", channel="online",
                        submitted_at=datetime(2025, 12, 31, 17, 30, tzinfo=timezone.utc), charges=None,
                        parameters={"payer_class": "individual_ward", "declared_value": 1_000_000})
    assert facts_for(data).submitted_on == date(2026, 1, 1)
    data.submitted_at = datetime(2025, 12, 31, 16, 59, tzinfo=timezone.utc)
    assert facts_for(data).submitted_on == date(2025, 12, 31)


# --- each condition ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule, facts, expected", [
    (Rule("C", "c", EXEMPT, "b", channel="online"), when(date(2026, 5, 1), "online"), True),
    (Rule("C", "c", EXEMPT, "b", channel="online"), when(date(2026, 5, 1), "counter"), False),
    (Rule("C", "c", EXEMPT, "b", channel="online"), when(date(2026, 5, 1), "post"), False),
    (Rule("G", "g", EXEMPT, "b", ground="poor_household"), when(date(2026, 5, 1), ground="poor_household"), True),
    (Rule("G", "g", EXEMPT, "b", ground="poor_household"), when(date(2026, 5, 1), ground="disability"), False),
    (Rule("G", "g", EXEMPT, "b", ground="poor_household"), when(date(2026, 5, 1)), False),
    (Rule("K", "k", FIXED, "b", amount=5000, child_under_14=True), when(date(2026, 5, 1), child_under_14=True), True),
    (Rule("K", "k", FIXED, "b", amount=5000, child_under_14=True), when(date(2026, 5, 1)), False),
    (Rule("V", "v", PERCENT, "b", percent=50, vneid_level2=True), when(date(2026, 5, 1), vneid_level2=True), True),
    (Rule("V", "v", PERCENT, "b", percent=50, vneid_level2=True), when(date(2026, 5, 1)), False),
    (Rule("N", "n", EXEMPT, "b"), when(date(2026, 5, 1)), True),  # no condition: always
])
def test_each_condition(rule, facts, expected):
    assert fee_rules.conditions_hold(rule, facts) is expected


def test_scope_by_field_kind_and_fee_codes():
    rule = Rule("S", "s", EXEMPT, "b", field="civil_status", kind="le_phi", fee_codes=frozenset({"CC", "XNHN"}))
    assert fee_rules.covers(rule, "CC", "civil_status", "le_phi")
    assert not fee_rules.covers(rule, "KS-QH", "civil_status", "le_phi")  # not in the list
    assert not fee_rules.covers(rule, "CC", "land", "le_phi")
    assert not fee_rules.covers(rule, "CC", "civil_status", "phi")
    assert fee_rules.covers(Rule("A", "a", EXEMPT, "b"), "ANY", None, None)


def test_effects():
    assert effect(Rule("E", "e", EXEMPT, "b"), 25000) == fee_rules.Outcome(0, 0, Rule("E", "e", EXEMPT, "b"))
    support = effect(Rule("S", "s", CITY_SUPPORT, "b"), 16000)
    assert (support.amount, support.city_support) == (0, 16000)
    assert effect(Rule("F", "f", FIXED, "b", amount=5000), 25000).amount == 5000
    assert effect(Rule("F", "f", FIXED, "b", amount=5000), 8000, copies=3).amount == 15000
    assert effect(Rule("P", "p", PERCENT, "b", percent=50), 8001).amount == 4000  # 4000.5 off, rounded half up
    assert effect(Rule("P", "p", PERCENT, "b", percent=30), 10000).amount == 7000


def test_the_most_favourable_rule_wins_then_the_cheapest_for_the_purse():
    facts = when(date(2026, 9, 1), "online", ground="poor_household", vneid_level2=True)
    support = Rule("A-SUPPORT", "a", CITY_SUPPORT, "b", channel="online")
    exempt = Rule("Z-EXEMPT", "z", EXEMPT, "b", ground="poor_household")
    half = Rule("B-HALF", "h", PERCENT, "b", percent=50, vneid_level2=True)
    chosen = choose([half, support, exempt], "TLHT", "civil_status", "phi", 8000, facts)
    assert chosen.rule is exempt and (chosen.amount, chosen.city_support) == (0, 0)
    chosen = choose([half, support], "TLHT", "civil_status", "phi", 8000, facts)
    assert chosen.rule is support and chosen.city_support == 8000
    none = choose([half], "TLHT", "civil_status", "phi", 8000, when(date(2026, 9, 1)))
    assert none.rule is None and (none.amount, none.city_support) == (8000, 0)


def test_applies_needs_period_scope_and_conditions_together():
    rule = BY_CODE["NQ77-HN-TP"]
    assert applies(rule, "CC", "civil_status", "le_phi", when(date(2026, 1, 1), "online"))
    assert not applies(rule, "CC", "civil_status", "le_phi", when(date(2025, 12, 31), "online"))
    assert not applies(rule, "TD", "land", "phi", when(date(2026, 1, 1), "online"))
    assert not applies(rule, "CC", "civil_status", "le_phi", when(date(2026, 1, 1), "counter"))


@pytest.mark.parametrize("rule, fragment", [
    (Rule("X", "x", "halve", "b"), "effect must be"),
    (Rule("X", "x", FIXED, "b"), "needs an amount"),
    (Rule("X", "x", PERCENT, "b", percent=0), "percent from 1 to 100"),
    (Rule("X", "x", PERCENT, "b", percent=101), "percent from 1 to 100"),
    (Rule("X", "x", EXEMPT, "b", ground="rich"), "ground must be"),
    (Rule("X", "x", EXEMPT, "b", channel="fax"), "channel must be"),
    (Rule("X", "x", EXEMPT, "b", valid_from=date(2026, 2, 1), valid_to=date(2026, 1, 1)), "before valid_from"),
    (Rule("X", "x", EXEMPT, " "), "legal basis"),
])
def test_bad_rules_are_named(rule, fragment):
    assert any(fragment in p for p in fee_rules.check_rule(rule))


# --- the shipped rules on the catalogue ------------------------------------------------------

def test_nq77_city_fees_are_zero_online_from_2026_except_appraisal():
    online = charges("1.013831", "online", on=date(2026, 1, 1), payer_class="individual_ward",
                     declared_value=2_000_000_000)
    assert (online["BD"].amount, online["BD"].rule_code, online["BD"].schedule_amount) == (0, "NQ77-HN-TP", 28000)
    assert online["BD"].rule_basis == "Nghị quyết 77/2025/NQ-HĐND thành phố Hà Nội" and online["BD"].rule_confirmed
    assert (online["TD"].amount, online["TD"].rule_code) == (3_000_000, None)  # the appraisal fee stays
    day_before = charges("1.013831", "online", on=date(2025, 12, 31), payer_class="individual_ward",
                         declared_value=2_000_000_000)
    assert day_before["BD"].amount == 28000 and day_before["BD"].rule_code is None
    at_counter = charges("1.013831", "counter", on=date(2026, 6, 1), payer_class="individual_ward",
                         declared_value=2_000_000_000)
    assert at_counter["BD"].amount == 28000


def test_nq77_ministry_fees_online_are_paid_by_the_city():
    line = charges("HN.TLHT", "online", on=date(2026, 3, 1), copies=2)["TLHT"]
    assert (line.amount, line.city_support, line.schedule_amount, line.rule_code) == (0, 16000, 16000, "NQ77-HN-BTC")
    counter = charges("HN.TLHT", "counter", on=date(2026, 3, 1), copies=2)["TLHT"]
    assert (counter.amount, counter.city_support) == (16000, 0)
    before = charges("HN.TLHT", "online", on=date(2025, 12, 31))["TLHT"]
    assert (before.amount, before.city_support) == (8000, 0)


@pytest.mark.parametrize("ground, rule", [("revolutionary_merit", "HT-MIEN-NCC"), ("poor_household", "HT-MIEN-HN"),
                                          ("disability", "HT-MIEN-NKT")])
def test_civil_status_exemptions_by_ground(ground, rule):
    for procedure, code in (("2.000806", "KH-NN"), ("1.004873", "XNHN"), ("1.004859", "CC")):
        line = charges(procedure, ground=ground)[code]
        assert (line.amount, line.city_support, line.rule_code) == (0, 0, rule)
        assert line.rule_basis and line.schedule_amount > 0
    # Not a land charge, and not the certified-copy phí (Thông tư 281/2016 is not a lệ phí hộ tịch).
    assert charges("HN.GCN-DOI-DAT", ground=ground, payer_class="individual_ward")["GCN-DOI-DAT"].amount == 20000
    assert charges("HN.TLHT", ground=ground)["TLHT"].amount == 8000


def test_an_unknown_ground_is_refused():
    with pytest.raises(ValidationError, match="exemption ground"):
        charges("2.000806", ground="rich")


def test_correction_for_a_child_under_14_is_5000():
    child = charges("1.004859", child_under_14=True)["CC"]
    assert (child.amount, child.rule_code, child.schedule_amount) == (5000, "CC-DUOI-14", 25000)
    assert charges("1.004859")["CC"].amount == 25000
    # Online from 2026 the city's 0 đ is better for the payer than 5.000 đ.
    assert charges("1.004859", "online", child_under_14=True)["CC"].rule_code == "NQ77-HN-TP"


def test_vneid_level2_reduction_is_time_boxed_and_unconfirmed():
    rule = BY_CODE["VNEID2-GIAM"]
    assert rule.confirmed is False and (rule.valid_from, rule.valid_to) == (date(2026, 8, 15), date(2027, 2, 28))
    assert charges("HN.TLHT", on=date(2026, 8, 14), vneid_level2=True)["TLHT"].amount == 8000
    first = charges("HN.TLHT", on=date(2026, 8, 15), vneid_level2=True)["TLHT"]
    assert (first.amount, first.rule_code, first.rule_confirmed) == (4000, "VNEID2-GIAM", False)
    assert charges("HN.TLHT", on=date(2027, 2, 28), vneid_level2=True)["TLHT"].amount == 4000
    assert charges("HN.TLHT", on=date(2027, 3, 1), vneid_level2=True)["TLHT"].amount == 8000
    assert charges("HN.TLHT", on=date(2026, 9, 1))["TLHT"].amount == 8000


def test_schedule_exemptions_take_no_rule():
    birth = charges("1.001193", "online", ground="poor_household")["KS"]
    assert (birth.amount, birth.rule_code) == (0, None)


def test_shipped_rules_each_carry_a_basis_and_only_the_vneid_one_is_unconfirmed():
    assert all(r.legal_basis for r in LAW)
    assert [r.code for r in LAW if not r.confirmed] == ["VNEID2-GIAM"]


# --- the rules file --------------------------------------------------------------------------

HEADER = ("code,name_vi,name_en,effect,amount,percent,valid_from,valid_to,channel,ground,child_under_14,"
          "vneid_level2,field,kind,fee_codes,legal_basis,confirmed\n")


@pytest.mark.parametrize("row, fragment", [
    ("X,Tên,,halve,,,,,,,,,,,,Căn cứ,yes", "effect must be"),
    ("X,Tên,,fixed,,,,,,,,,,,,Căn cứ,yes", "needs an amount"),
    ("X,Tên,,fixed,5.5,,,,,,,,,,,Căn cứ,yes", "amount"),
    ("X,Tên,,exempt,,,2026-13-01,,,,,,,,,Căn cứ,yes", "is not YYYY-MM-DD"),
    ("X,Tên,,exempt,,,2026-02-01,2026-01-31,,,,,,,,Căn cứ,yes", "before valid_from"),
    ("X,Tên,,exempt,,,,,,,maybe,,,,,Căn cứ,yes", "child_under_14 must be yes, no or empty"),
    ("X,Tên,,exempt,,,,,,,,,,,,,yes", "legal basis"),
    (",Tên,,exempt,,,,,,,,,,,,Căn cứ,yes", "code and name_vi are required"),
])
def test_bad_rule_rows_are_refused_with_the_line(row, fragment):
    with pytest.raises(ValidationError, match="fee rules line 2") as caught:
        parse_rules(HEADER + row + "\n")
    assert fragment in caught.value.detail


def test_a_rule_twice_and_missing_columns_are_refused():
    row = "X,Tên,,exempt,,,,,,,,,,,,Căn cứ,yes\n"
    with pytest.raises(ValidationError, match="line 3: rule X appears twice"):
        parse_rules(HEADER + row + row)
    with pytest.raises(ValidationError, match="missing columns: confirmed"):
        parse_rules(HEADER.replace(",confirmed", "") + "X,Tên,,exempt,,,,,,,,,,,,Căn cứ\n")


def test_fee_codes_may_be_separated_by_spaces_or_commas():
    row = 'X,Tên,,exempt,,,,,,,,,,,"CC, XNHN  KS-QH",Căn cứ,no\n'
    rule = as_rule(parse_rules(HEADER + row)[0])
    assert rule.fee_codes == frozenset({"CC", "XNHN", "KS-QH"}) and rule.confirmed is False
