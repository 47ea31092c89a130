"""Fee law beyond the schedule: rules with a validity period and conditions, pure functions.

The schedule (``fees``) says what a fee item costs; a rule says what a dossier pays instead
when the law provides for it (DOMAIN.md, "Fee law beyond the schedule"):

- Hanoi's Nghị quyết 77/2025/NQ-HĐND: fees set by the city owe 0 đ for online dossiers from
  1 January 2026 (``exempt``); for fees set by the Ministry of Finance the city pays them
  (``city_support``: the citizen pays 0, the fee is recorded as the city's support); the
  appraisal fee is in neither rule's list;
- the civil-status exemptions of families of people with revolutionary merit, poor
  households and people with disabilities (``exempt``, on the ground the clerk records);
- the 5.000 đ correction of a child under 14 (``fixed``);
- time-boxed reductions (``percent``), e.g. for VNeID level-2 users.

A rule is data (``payments/data/fee-rules.csv``, the ``fee_rules`` table); it is in force on
the dossier's filing day (Indochina Time) from ``valid_from`` to ``valid_to``, both included;
it covers the fee items of its field, kind and fee codes (each optional); and its conditions
(channel, exemption ground, child under 14, VNeID level 2) must all hold. When several rules
apply to one charge, the one most favourable to the payer wins; among equals, the one that
costs the public purse least (an exemption before the city's support), then the first code.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

from core.vocabulary import ExemptionGround, values

EXEMPT = "exempt"              # the payer owes 0 and nobody pays the fee
FIXED = "fixed"                # the payer owes ``amount`` (per copy for a per-copy item)
PERCENT = "percent"            # the payer owes the schedule's amount less ``percent`` %
CITY_SUPPORT = "city_support"  # the payer owes 0 and the city pays the fee (recorded as support)
EFFECTS = (EXEMPT, FIXED, PERCENT, CITY_SUPPORT)
GROUNDS = values(ExemptionGround)
SCHEDULE = "schedule"  # the code shown for a charge no rule changed


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    effect: str
    legal_basis: str
    confirmed: bool = True
    valid_from: date | None = None
    valid_to: date | None = None
    amount: int | None = None
    percent: int | None = None
    # conditions (None: does not matter)
    channel: str | None = None
    ground: str | None = None
    child_under_14: bool | None = None
    vneid_level2: bool | None = None
    # which fee items it covers (None / empty: all)
    field: str | None = None
    kind: str | None = None
    fee_codes: frozenset[str] = dc_field(default_factory=frozenset)


@dataclass(frozen=True)
class Circumstances:
    """What the rules read of a dossier."""

    channel: str
    filed_on: date  # the Indochina day the dossier was filed
    ground: str | None = None
    child_under_14: bool = False
    vneid_level2: bool = False


@dataclass(frozen=True)
class Outcome:
    amount: int        # what the payer owes
    city_support: int  # what the city pays in the payer's place
    rule: Rule | None  # None: the schedule


def in_force(rule: Rule, day: date) -> bool:
    return (rule.valid_from is None or rule.valid_from <= day) and (rule.valid_to is None or day <= rule.valid_to)


def covers(rule: Rule, fee_code: str | None, field: str | None, kind: str | None) -> bool:
    return ((rule.field is None or rule.field == field) and (rule.kind is None or rule.kind == kind)
            and (not rule.fee_codes or fee_code in rule.fee_codes))


def conditions_hold(rule: Rule, facts: Circumstances) -> bool:
    return ((rule.channel is None or rule.channel == facts.channel)
            and (rule.ground is None or rule.ground == facts.ground)
            and (rule.child_under_14 is None or rule.child_under_14 == facts.child_under_14)
            and (rule.vneid_level2 is None or rule.vneid_level2 == facts.vneid_level2))


def applies(rule: Rule, fee_code: str | None, field: str | None, kind: str | None, facts: Circumstances) -> bool:
    return in_force(rule, facts.filed_on) and covers(rule, fee_code, field, kind) and conditions_hold(rule, facts)


def effect(rule: Rule, schedule_amount: int, copies: int = 1) -> Outcome:
    """What the payer owes and what the city supports under ``rule``, from the schedule's amount
    (``copies`` multiplies a fixed amount for a per-copy item)."""
    if rule.effect == EXEMPT:
        return Outcome(0, 0, rule)
    if rule.effect == CITY_SUPPORT:
        return Outcome(0, schedule_amount, rule)
    if rule.effect == FIXED:
        return Outcome((rule.amount or 0) * copies, 0, rule)
    if rule.effect == PERCENT:
        # the reduction is rounded half up to the đồng, so the payer never owes a fraction
        reduction = (schedule_amount * (rule.percent or 0) + 50) // 100
        return Outcome(schedule_amount - reduction, 0, rule)
    raise ValueError(f"unknown effect {rule.effect!r}")


def choose(rules: list[Rule] | tuple[Rule, ...], fee_code: str | None, field: str | None, kind: str | None,
           schedule_amount: int, facts: Circumstances, copies: int = 1) -> Outcome:
    """The outcome for one charge: the schedule when no rule applies, else the best rule's."""
    outcomes = [effect(r, schedule_amount, copies) for r in rules if applies(r, fee_code, field, kind, facts)]
    if not outcomes:
        return Outcome(schedule_amount, 0, None)
    return min(outcomes, key=lambda o: (o.amount, o.amount + o.city_support, o.rule.code))


def check_rule(rule: Rule) -> list[str]:
    """What is wrong with a rule as data (empty when nothing is)."""
    problems = []
    if rule.effect not in EFFECTS:
        problems.append(f"effect must be one of {', '.join(EFFECTS)}, got {rule.effect!r}")
    if rule.effect == FIXED and (rule.amount is None or rule.amount < 0):
        problems.append("a fixed rule needs an amount of 0 đ or more")
    if rule.effect == PERCENT and (rule.percent is None or not 0 < rule.percent <= 100):
        problems.append("a percent rule needs a percent from 1 to 100")
    if rule.ground is not None and rule.ground not in GROUNDS:
        problems.append(f"ground must be one of {', '.join(GROUNDS)}, got {rule.ground!r}")
    if rule.channel is not None and rule.channel not in ("online", "counter", "post"):
        problems.append(f"channel must be online, counter or post, got {rule.channel!r}")
    if rule.kind is not None and rule.kind not in ("phi", "le_phi"):
        problems.append(f"kind must be phi or le_phi, got {rule.kind!r}")
    if rule.valid_from and rule.valid_to and rule.valid_to < rule.valid_from:
        problems.append("valid_to is before valid_from")
    if not rule.legal_basis.strip():
        problems.append("every rule needs its legal basis")
    return problems
