"""Fee computation, one test per kind of rule, on the catalogue's own rows."""
from __future__ import annotations

from datetime import date

import pytest

from core.errors import ValidationError
from payments.catalogue import DATA, parse_catalogue
from payments.fees import DossierFacts, FeeRule, compute_charges, rate_amount

ROWS = parse_catalogue((DATA / "fees-hanoi.csv").read_text(encoding="utf-8"))


def rules(procedure_code: str) -> list[FeeRule]:
    keys = ("code", "name", "kind", "payer_class", "amount", "rate_ppm", "cap", "per_copy", "exempt_always",
            "exempt_condition", "online_free_from", "legal_basis", "verified")
    found = [FeeRule(**{k: r[k] for k in keys}) for r in ROWS if r["procedure_code"] == procedure_code]
    assert found, procedure_code
    return found


def facts(channel="counter", on=date(2026, 11, 25), **kw) -> DossierFacts:
    return DossierFacts(channel=channel, submitted_on=on, **kw)


def test_fixed_amount_by_payer_class():
    lines = compute_charges(rules("HN.GCN-DOI-DAT"), facts(payer_class="individual_ward"))
    assert [(l.fee_code, l.amount) for l in lines] == [("GCN-DOI-DAT", 20000)]
    lines = compute_charges(rules("HN.GCN-DOI-DAT"), facts(payer_class="organisation"))
    assert lines[0].amount == 100000 and "06/2020" in lines[0].legal_basis


def test_payer_class_required_when_it_matters():
    with pytest.raises(ValidationError, match="payer_class"):
        compute_charges(rules("HN.GCN-DOI-DAT"), facts())


def test_rate_with_cap_and_rounding():
    # Registration of a change: 28.000 đ fixed + appraisal 1.5 ‰ of the value, at most 5.000.000 đ.
    lines = compute_charges(rules("1.013831"), facts(payer_class="individual_ward", declared_value=2_000_000_000))
    assert {l.fee_code: l.amount for l in lines} == {"BD": 28000, "TD": 3_000_000}
    capped = compute_charges(rules("1.013831"), facts(payer_class="individual_ward", declared_value=9_000_000_000))
    assert {l.fee_code: l.amount for l in capped}["TD"] == 5_000_000
    assert "tối đa" in next(l.detail for l in capped if l.fee_code == "TD")
    assert rate_amount(1_001, 1500, None) == 2  # 1.5015 rounds to 2
    assert rate_amount(999, 1500, None) == 1   # 1.4985 rounds to 1
    assert rate_amount(1_000, 1500, None) == 2  # 1.5 rounds half up


# The registration fee (5 ‰) is a tax obligation, not a charge of the catalogue (docs/TREASURY.md):
# a rate without a cap and a conditional exemption are tested on a rule of the test's own.
RATE = FeeRule(code="R5", name="Khoản theo tỷ lệ thử", kind="le_phi", rate_ppm=5000,
               exempt_condition="chuyển nhượng giữa các thành viên gia đình", legal_basis="thử")


def test_rate_without_cap():
    lines = compute_charges([RATE], facts(declared_value=2_500_000_000))
    assert lines[0].amount == 12_500_000 and lines[0].kind == "le_phi" and lines[0].detail.startswith("5 ‰")


def test_the_registration_fee_is_not_in_the_catalogue():
    assert not [r for r in ROWS if r["code"] == "LPTB" or "trước bạ" in r["name"]]


def test_rate_needs_declared_value():
    with pytest.raises(ValidationError, match="declared value") as info:
        compute_charges(rules("1.013831"), facts(payer_class="individual_ward"))
    assert info.value.errors[0].field == "parameters.declared_value"


def test_conditional_exemption():
    lines = compute_charges([RATE], facts(declared_value=2_500_000_000, exemptions=frozenset({"R5"})))
    assert lines[0].amount == 0 and lines[0].detail.startswith("miễn:")


def test_exemption_only_where_the_law_has_one():
    with pytest.raises(ValidationError, match="no exemption"):
        compute_charges(rules("2.000806"), facts(exemptions=frozenset({"KH-NN"})))
    with pytest.raises(ValidationError, match="does not have"):
        compute_charges(rules("2.000806"), facts(exemptions=frozenset({"NOPE"})))


def test_always_exempt():
    assert compute_charges(rules("1.001193"), facts())[0].amount == 0


def test_per_copy():
    line = compute_charges(rules("HN.TLHT"), facts(copies=3))[0]
    assert line.amount == 24_000 and line.kind == "phi" and "× 3 bản" in line.detail


def test_online_dossiers_owe_nothing_from_2026_except_appraisal():
    from payments.rule_catalogue import DATA as RULES_DATA, as_rule, parse_rules

    law = [as_rule(r) for r in parse_rules((RULES_DATA / "fee-rules.csv").read_text(encoding="utf-8"))]
    rate_rules = rules("1.013831")
    online = compute_charges(rate_rules, facts("online", payer_class="individual_ward", declared_value=2_000_000_000),
                             field="land", adjustments=law)
    assert {l.fee_code: l.amount for l in online} == {"BD": 0, "TD": 3_000_000}
    assert {l.fee_code: l.rule_code for l in online} == {"BD": "NQ77-HN-TP", "TD": None}
    before = compute_charges(rate_rules, facts("online", on=date(2025, 12, 31), payer_class="individual_ward",
                                               declared_value=2_000_000_000), field="land", adjustments=law)
    assert {l.fee_code: l.amount for l in before} == {"BD": 28000, "TD": 3_000_000}
    # Without the rules, the schedule alone: the old column online_free_from decides nothing.
    alone = compute_charges(rate_rules, facts("online", payer_class="individual_ward", declared_value=2_000_000_000))
    assert {l.fee_code: l.amount for l in alone} == {"BD": 28000, "TD": 3_000_000}
    # A Ministry-set fee (certified copies) on an online dossier: the citizen pays nothing, the city
    # supports it (Nghị quyết 77/2025); the schedule alone still says 16,000.
    certified = compute_charges(rules("HN.TLHT"), facts("online", copies=2), adjustments=law)[0]
    assert (certified.amount, certified.city_support) == (0, 16_000)
    assert compute_charges(rules("HN.TLHT"), facts("online", copies=2))[0].amount == 16_000


def test_catalogue_codes():
    codes = {r["procedure_code"] for r in ROWS}
    assert {"1.013831", "1.001193", "2.000806", "HN.TLHT", "HN.GCN-LD-DAT", "HN.GCN-LD-NHA"} <= codes
    # 1.0127xx is a placeholder shared by two procedures: kept as the national code, not used as a key.
    assert {r["national_code"] for r in ROWS if r["procedure_code"] == "HN.GCN-LD-DAT"} == {"1.0127xx"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("field,procedure_code\nland,1\n", "missing columns"),
        ("field,procedure_code,procedure_vi,fee_code,fee_vi,kind,payer_class,amount,rate_per_mille,cap,exempt,verified,legal_basis\n"
         "land,,X,F,Fee,tax,any,1000,,,,yes,law\n", "line 2: kind"),
        ("field,procedure_code,procedure_vi,fee_code,fee_vi,kind,payer_class,amount,rate_per_mille,cap,exempt,verified,legal_basis\n"
         "land,,X,F,Fee,phi,any,10.5,,,,yes,law\n", "line 2: amount"),
        ("field,procedure_code,procedure_vi,fee_code,fee_vi,kind,payer_class,amount,rate_per_mille,cap,exempt,verified,legal_basis\n"
         "land,,X,F,Fee,phi,any,,,,,yes,law\n", "either amount or rate"),
        ("field,procedure_code,procedure_vi,fee_code,fee_vi,kind,payer_class,amount,rate_per_mille,cap,exempt,verified,legal_basis\n"
         "land,,X,F,Fee,phi,alien,1000,,,,yes,law\n", "payer_class"),
    ],
)
def test_bad_catalogue_rows_are_refused_with_the_line(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_catalogue(text)
