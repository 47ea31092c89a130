"""Fee computation: a pure function from the catalogue's rules and a dossier's facts to charges.

The rules are data (``FeeRule``, loaded from the catalogue tables); nothing here knows an
amount. Kinds of rule:

- fixed amount, possibly different per payer class (``individual_ward``,
  ``individual_other``, ``organisation``, or ``any``);
- a rate per mille of a declared value, with an optional cap (registration fee 5 ‰,
  appraisal fee 1.5 ‰ up to 5.000.000 đ), rounded half up to the đồng;
- per copy (certified extracts);
- always exempt (on-time birth registration), or exempt on a condition the clerk confirms
  (transfers within the family for the registration fee);
Then the fee law beyond the schedule (``fee_rules``: validity periods and conditions, such
as Nghị quyết 77/2025/NQ-HĐND for online dossiers, exemption grounds, the child under 14)
may change what the payer owes; the line records the rule that applied and its basis.
``FeeRule.online_free_from`` (the catalogue's old column) no longer decides anything: the
rule ``NQ77-HN-TP`` does.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from core.errors import FieldError, ValidationError
from core.money import format_vnd

from . import fee_rules

PAYER_CLASSES = ("individual_ward", "individual_other", "organisation")
ANY = "any"
PPM = 1_000_000  # rates are kept in parts per million: 5 ‰ = 5000, 1.5 ‰ = 1500


@dataclass(frozen=True)
class FeeRule:
    code: str
    name: str
    kind: str  # "phi" | "le_phi"
    payer_class: str = ANY
    amount: int | None = None
    rate_ppm: int | None = None
    cap: int | None = None
    per_copy: bool = False
    exempt_always: bool = False
    exempt_condition: str | None = None
    online_free_from: date | None = None  # superseded by the rules of ``fee_rules``; kept as data
    legal_basis: str = ""
    verified: bool = True


@dataclass(frozen=True)
class ChargeLine:
    fee_code: str | None
    name: str
    kind: str | None
    amount: int  # what the payer owes
    legal_basis: str = ""
    detail: str = ""
    # The rule of ``fee_rules`` that set the amount (None: the schedule), copied onto the
    # charge so that a later change of the rules does not rewrite what was charged.
    rule_code: str | None = None
    rule_name: str | None = None
    rule_basis: str | None = None
    rule_confirmed: bool | None = None
    city_support: int = 0  # what the city pays in the payer's place (Nghị quyết 77/2025)
    schedule_amount: int | None = None  # the schedule's amount before the rule


@dataclass(frozen=True)
class DossierFacts:
    channel: str  # "online" | "counter" | "post"
    submitted_on: date
    payer_class: str | None = None
    declared_value: int | None = None
    copies: int = 1
    exemptions: frozenset[str] = field(default_factory=frozenset)  # fee codes the clerk marks exempt
    ground: str | None = None  # exemption ground the clerk records (ExemptionGround)
    child_under_14: bool = False
    vneid_level2: bool = False


def _rule_for_payer(rules: list[FeeRule], payer_class: str | None, code: str) -> FeeRule:
    specific = [r for r in rules if r.payer_class == payer_class]
    if specific:
        return specific[0]
    general = [r for r in rules if r.payer_class == ANY]
    if general:
        return general[0]
    classes = ", ".join(sorted(r.payer_class for r in rules))
    raise ValidationError(
        f"fee {code} depends on the payer: give payer_class ({classes})",
        errors=[FieldError("parameters.payer_class", f"one of {classes}")],
    )


def rate_amount(value: int, rate_ppm: int, cap: int | None) -> int:
    """``value × rate``, rounded half up to the đồng, then capped."""
    amount = (value * rate_ppm + PPM // 2) // PPM
    return min(amount, cap) if cap is not None else amount


def _per_mille(rate_ppm: int) -> str:
    whole, rest = divmod(rate_ppm, 1000)
    return f"{whole}" if rest == 0 else f"{whole},{f'{rest:03d}'.rstrip('0')}"


def compute_charges(rules: list[FeeRule], facts: DossierFacts, *, field: str | None = None,
                    adjustments: list[fee_rules.Rule] | tuple[fee_rules.Rule, ...] = ()) -> list[ChargeLine]:
    """The charges a dossier owes, one line per fee code, in catalogue order; ``adjustments``
    are the rules beyond the schedule, ``field`` the procedure's field they may be scoped to."""
    if facts.payer_class is not None and facts.payer_class not in PAYER_CLASSES + (ANY,):
        raise ValidationError(
            f"unknown payer_class {facts.payer_class!r}",
            errors=[FieldError("parameters.payer_class", f"one of {', '.join(PAYER_CLASSES)}")],
        )
    if facts.copies < 1:
        raise ValidationError("copies must be at least 1", errors=[FieldError("parameters.copies", "at least 1")])
    by_code: dict[str, list[FeeRule]] = {}
    for rule in rules:
        by_code.setdefault(rule.code, []).append(rule)
    unknown = set(facts.exemptions) - set(by_code)
    if unknown:
        raise ValidationError(
            f"exemption for a fee this procedure does not have: {', '.join(sorted(unknown))}",
            errors=[FieldError("parameters.exemptions", "fee codes of this procedure")],
        )
    if facts.ground is not None and facts.ground not in fee_rules.GROUNDS:
        raise ValidationError(
            f"unknown exemption ground {facts.ground!r}",
            errors=[FieldError("exemption_ground", f"one of {', '.join(fee_rules.GROUNDS)}")],
        )
    circumstances = fee_rules.Circumstances(channel=facts.channel, filed_on=facts.submitted_on, ground=facts.ground,
                                            child_under_14=facts.child_under_14, vneid_level2=facts.vneid_level2)
    lines = []
    for code, candidates in by_code.items():
        rule = _rule_for_payer(candidates, facts.payer_class, code)
        lines.append(_adjusted(_charge(rule, facts), rule, field, adjustments, circumstances, facts))
    return lines


def _adjusted(line: ChargeLine, item: FeeRule, field: str | None, adjustments, circumstances, facts) -> ChargeLine:
    """The line after the rules beyond the schedule: unchanged when none applies (or the item is
    exempt by the schedule itself)."""
    if item.exempt_always or item.code in facts.exemptions or not adjustments:
        return line
    copies = facts.copies if item.per_copy else 1
    outcome = fee_rules.choose(adjustments, item.code, field, item.kind, line.amount, circumstances, copies)
    if outcome.rule is None:
        return line
    rule = outcome.rule
    detail = f"{line.detail}; {rule.name}" if line.detail else rule.name
    return replace(line, amount=outcome.amount, detail=detail, rule_code=rule.code, rule_name=rule.name,
                   rule_basis=rule.legal_basis, rule_confirmed=rule.confirmed, city_support=outcome.city_support,
                   schedule_amount=line.amount)


def _charge(rule: FeeRule, facts: DossierFacts) -> ChargeLine:
    def line(amount: int, detail: str) -> ChargeLine:
        return ChargeLine(rule.code, rule.name, rule.kind, amount, rule.legal_basis, detail)

    if rule.exempt_always:
        return line(0, "miễn theo quy định")
    if rule.code in facts.exemptions:
        if not rule.exempt_condition:
            raise ValidationError(
                f"fee {rule.code} has no exemption to claim",
                errors=[FieldError("parameters.exemptions", f"{rule.code} cannot be exempted")],
            )
        return line(0, f"miễn: {rule.exempt_condition}")
    if rule.rate_ppm is not None:
        if facts.declared_value is None:
            raise ValidationError(
                f"fee {rule.code} is a rate: give the declared value",
                errors=[FieldError("parameters.declared_value", "required for this procedure")],
            )
        if isinstance(facts.declared_value, bool) or not isinstance(facts.declared_value, int) or facts.declared_value < 0:
            raise ValidationError(
                "declared value must be a whole, non-negative number of đồng",
                errors=[FieldError("parameters.declared_value", "whole đồng, not negative")],
            )
        amount = rate_amount(facts.declared_value, rule.rate_ppm, rule.cap)
        detail = f"{_per_mille(rule.rate_ppm)} ‰ × {format_vnd(facts.declared_value)}"
        if rule.cap is not None and amount == rule.cap:
            detail += f", tối đa {format_vnd(rule.cap)}"
        return line(amount, detail)
    amount = rule.amount or 0
    if rule.per_copy:
        return line(amount * facts.copies, f"{format_vnd(amount)} × {facts.copies} bản")
    return line(amount, "mức thu cố định")
