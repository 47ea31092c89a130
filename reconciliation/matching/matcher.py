"""The matcher: which dossier a transfer pays, and why. Pure and explainable.

``decide(transfer, lookup, rules)`` reads the transfer content for payment references and
dossier codes (after the alterations banks make: case, diacritics, prefixes, suffixes,
punctuation and spaces, truncation, line breaks), weighs them with the amount, the
receiving account and the request's state and validity, and returns a :class:`Decision`:
the allocations to make (when its confidence reaches the ``auto`` threshold), the reason to
put the transfer in front of a person otherwise, the suggestions worth showing (at or above
the ``suggest`` threshold), the rule that decided, its evidence and its confidence.

Rules and thresholds are data (:class:`MatchRules`, stored as settings and editable without
a code change). One thing is not a rule but a guarantee: a reference whose check symbol is
wrong never matches; it can only be offered to a person as a suggestion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable, Protocol

from payments.references import ALPHABET, BODY_LENGTH, LENGTH, PREFIX, check_symbol, find_references, \
    normalise, one_edit_away
from qr.text import search_key

_WORD_SEPARATORS = re.compile(r"[^\w]+|_")

# --- rules as data ---------------------------------------------------------------------------

DEFAULT_CONFIDENCE = {
    # one valid reference of an issued request
    "reference_exact": 1.0,          # the amount is what the request still asks
    "reference_partial": 0.97,       # less: the request stays open for the rest
    "reference_overpaid": 0.95,      # more: the dossier is paid, the excess is held for refund
    "reference_duplicate": 0.95,     # the request was already paid: held for refund
    "reference_closed": 0.9,         # the request expired or was cancelled: money accepted, flagged
    "reference_other_agency": 0.6,   # paid into an account of another agency than the request's
    # several valid references in one transfer
    "references_sum": 0.95,          # the amount is what they still ask, together
    "references_mismatch": 0.6,      # it is not: a person splits it
    # a dossier code (full, or with its punctuation removed)
    "dossier_code_exact": 0.92,      # the amount is what the dossier still owes
    "dossier_code_mismatch": 0.6,    # another amount
    "dossier_code_paid": 0.6,        # the dossier owes nothing: a duplicate, for a person
    # only clues
    "damaged_reference": 0.55,       # a reference one typo away from an issued one (never automatic)
    "truncated_reference": 0.55,     # the start of a reference, cut by the bank
    "amount_only": 0.3,              # an open request on this account asks exactly this amount
    "name_amount": 0.6,              # no reference: the sender's name and the amount fit an unpaid dossier
}


@dataclass(frozen=True)
class MatchRules:
    auto_threshold: float = 0.9      # a decision at or above this allocates by itself
    suggest_threshold: float = 0.5   # a suggestion at or above this is shown to a person
    confidence: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CONFIDENCE))

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> MatchRules:
        data = data or {}
        confidence = dict(DEFAULT_CONFIDENCE)
        for rule, value in (data.get("confidence") or {}).items():
            if rule not in DEFAULT_CONFIDENCE:
                raise ValueError(f"unknown matching rule {rule!r}; known: {', '.join(sorted(DEFAULT_CONFIDENCE))}")
            confidence[rule] = _unit(value, f"confidence of {rule}")
        rules = cls(auto_threshold=_unit(data.get("auto_threshold", cls.auto_threshold), "auto_threshold"),
                    suggest_threshold=_unit(data.get("suggest_threshold", cls.suggest_threshold), "suggest_threshold"),
                    confidence=confidence)
        if rules.suggest_threshold > rules.auto_threshold:
            raise ValueError("suggest_threshold must not be above auto_threshold")
        return rules

    def as_data(self) -> dict[str, Any]:
        return {"auto_threshold": self.auto_threshold, "suggest_threshold": self.suggest_threshold,
                "confidence": dict(self.confidence)}

    def of(self, rule: str) -> float:
        return self.confidence[rule]


def _unit(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{what} must be a number from 0 to 1")
    return float(value)


# --- what the matcher is told ----------------------------------------------------------------

@dataclass(frozen=True)
class TransferFacts:
    amount: int
    direction: str            # in | out
    account_id: int | None    # our collection account, or None
    agency_id: int | None     # the agency that holds that account
    content: str
    booked_at: datetime
    counter_name: str = ""    # the sender's name as the bank gives it, if it does


@dataclass(frozen=True)
class RequestFacts:
    request_id: int
    reference: str
    dossier_id: int
    dossier_code: str
    agency_id: int
    amount: int               # what the request asks
    amount_paid: int          # what it has received
    status: str               # open | partially_paid | paid | overpaid | expired | cancelled
    expires_at: datetime
    dossier_remaining: int    # what the dossier still owes, all requests together

    @property
    def remaining(self) -> int:
        return max(self.amount - self.amount_paid, 0)


@dataclass(frozen=True)
class DossierFacts:
    dossier_id: int
    code: str
    agency_id: int
    remaining: int
    open_requests: tuple[RequestFacts, ...] = ()


class Lookup(Protocol):
    """What the matcher may ask of the service's records."""

    def requests(self, references: list[str]) -> dict[str, RequestFacts]: ...

    def dossiers(self, code_keys: list[str]) -> dict[str, DossierFacts]: ...

    def open_requests_asking(self, account_id: int, amount: int, limit: int) -> list[RequestFacts]: ...

    def references_starting(self, prefix: str, limit: int) -> list[RequestFacts]: ...

    def dossiers_named(self, names: list[str], amount: int, limit: int) -> list[DossierFacts]:
        """Dossiers that still owe exactly ``amount`` and whose applicant's name, as
        ``qr.text.search_key`` writes it, is one of ``names``."""
        ...


# --- what it answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Allocation:
    dossier_id: int
    amount: int
    request_id: int | None = None


@dataclass(frozen=True)
class Suggestion:
    rule: str
    confidence: float
    dossier_id: int
    dossier_code: str
    request_id: int | None = None
    reference: str | None = None
    amount: int | None = None  # what the suggestion would allocate


@dataclass
class Decision:
    rule: str
    confidence: float
    outcome: str                     # matched | partial | overpaid | duplicate | closed | split | review | unmatched | ignored
    evidence: dict[str, Any]
    allocations: list[Allocation] = field(default_factory=list)
    exception: str | None = None     # the reason it goes in front of a person, if it does
    excess: int = 0                  # money beyond what is owed, held for refund
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def automatic(self) -> bool:
        return bool(self.allocations)


# --- reading the content ----------------------------------------------------------------------

# A dossier code is ``<unit>-<yyMMdd>-<nnnn>``; the unit identifier is data (e.g. 000.00.12.H26,
# or an agency code such as HN-TTPVHCC), so what stands before the date is read back to the
# last space and tried from each separator on (a bank prefix may be glued to it).
_CODE_TAIL = re.compile(r"-\s?(\d{6})\s?-\s?(\d{4})(?!\d)")
_UNIT_CHARS = re.compile(r"[A-Z0-9._/\-]+$")
# With its punctuation removed (``00000012H262611250001``): the national unit pattern.
_FLAT_CODE = re.compile(r"(?=(\d{7}H\d{2}\d{10}))")
_TRUNCATED = re.compile(f"{PREFIX}([{ALPHABET}]{{5,{BODY_LENGTH}}})$")


def code_key(code: str) -> str:
    """How a dossier code is compared: upper case, letters and digits only."""
    return normalise(code)


def find_dossier_codes(content: str) -> list[str]:
    """Keys of the dossier codes written in ``content``, in full or without punctuation."""
    from qr.text import strip_diacritics

    upper = strip_diacritics(content or "").upper()
    keys: list[str] = []
    for match in _CODE_TAIL.finditer(upper):
        token = _UNIT_CHARS.search(upper, 0, match.start())
        if token is None or token.end() != match.start():
            continue
        unit = token.group(0)
        starts = [0] + [i + 1 for i, ch in enumerate(unit) if ch in "._/-"]
        for start in starts[-8:]:
            key = code_key(unit[start:] + match.group(1) + match.group(2))
            if len(key) >= 12 and key not in keys:
                keys.append(key)
    flat = normalise(content or "")
    for match in _FLAT_CODE.finditer(flat):
        if match.group(1) not in keys:
            keys.append(match.group(1))
    return keys


def near_references(damaged: str) -> list[str]:
    """Valid references one wrong symbol or one swap of neighbours away from ``damaged``
    (``payments.references.one_edit_away``)."""
    return one_edit_away(damaged)


def truncated_reference(content: str) -> str | None:
    """The start of a reference the bank cut off at the end of the content, if any."""
    match = _TRUNCATED.search(normalise(content or ""))
    if match is None or len(PREFIX + match.group(1)) >= LENGTH:
        return None
    return PREFIX + match.group(1)


# --- deciding ------------------------------------------------------------------------------


def read_content(content: str) -> tuple[list[str], list[str], list[str]]:
    """What a content names: (valid references, damaged look-alikes, dossier code keys)."""
    valid, damaged = find_references(content)
    return valid, damaged, find_dossier_codes(content)


def decide(transfer: TransferFacts, lookup: Lookup, rules: MatchRules | None = None,
           read: tuple[list[str], list[str], list[str]] | None = None) -> Decision:
    """``read``: the content already read with :func:`read_content` (the bulk path reads a
    chunk's contents once, to look up what they name together)."""
    rules = rules or MatchRules()
    if transfer.direction != "in":
        return Decision("money_out", 1.0, "ignored", {"direction": transfer.direction})
    valid, damaged, codes = read or read_content(transfer.content)
    evidence: dict[str, Any] = {"amount": transfer.amount, "references": valid, "damaged_references": damaged,
                                "dossier_codes": codes}
    if transfer.account_id is None:
        decision = Decision("unknown_account", 1.0, "review", evidence, exception="unknown_account")
        return _with_clues(decision, transfer, lookup, rules, valid, damaged, codes)
    issued = lookup.requests(valid) if valid else {}
    evidence["issued_references"] = sorted(issued)
    unknown_valid = [r for r in valid if r not in issued]
    if len(issued) == 1:
        decision = _one_request(transfer, next(iter(issued.values())), evidence, rules)
    elif len(issued) > 1:
        decision = _several_requests(transfer, [issued[r] for r in valid if r in issued], evidence, rules)
    else:
        decision = _by_dossier_code(transfer, lookup, codes, evidence, rules)
    if decision is None:
        decision = Decision("no_reference" if not (valid or damaged) else "unknown_reference", 0.0, "unmatched",
                            evidence, exception="unknown_reference")
    if decision.automatic and decision.confidence < rules.auto_threshold:
        decision = _to_review(decision, rules)
    if not decision.automatic:
        decision = _with_clues(decision, transfer, lookup, rules, unknown_valid, damaged, codes)
    return decision


def _to_review(decision: Decision, rules: MatchRules) -> Decision:
    """A decision below the auto threshold becomes a suggestion for a person."""
    suggestions = [Suggestion(decision.rule, decision.confidence, a.dossier_id, decision.evidence.get("dossier_code", ""),
                              a.request_id, decision.evidence.get("reference"), a.amount)
                   for a in decision.allocations] if decision.confidence >= rules.suggest_threshold else []
    return replace(decision, allocations=[], outcome="review", excess=0,
                   exception=decision.exception or "below_auto_threshold", suggestions=suggestions)


def _one_request(transfer: TransferFacts, request: RequestFacts, evidence: dict[str, Any],
                 rules: MatchRules) -> Decision:
    evidence = {**evidence, "reference": request.reference, "dossier_code": request.dossier_code,
                "request_status": request.status, "request_amount": request.amount,
                "request_remaining": request.remaining, "dossier_remaining": request.dossier_remaining}
    amount = transfer.amount
    allocation = [Allocation(request.dossier_id, amount, request.request_id)]
    if transfer.agency_id is not None and transfer.agency_id != request.agency_id:
        evidence["paid_to_agency"] = transfer.agency_id
        return Decision("reference_other_agency", rules.of("reference_other_agency"), "review", evidence,
                        allocations=allocation, exception="wrong_account")
    if request.status in ("paid", "overpaid") or request.dossier_remaining <= 0:
        return Decision("reference_duplicate", rules.of("reference_duplicate"), "duplicate", evidence,
                        allocations=allocation, exception="duplicate_payment", excess=amount)
    excess = max(amount - request.dossier_remaining, 0)
    if request.status in ("expired", "cancelled"):
        evidence["valid_until"] = request.expires_at.isoformat()
        return Decision("reference_closed", rules.of("reference_closed"), "closed", evidence, allocations=allocation,
                        exception="overpaid" if excess else "request_closed", excess=excess)
    if amount == request.remaining and not excess:
        return Decision("reference_exact", rules.of("reference_exact"), "matched", evidence, allocations=allocation)
    if amount < request.remaining:
        return Decision("reference_partial", rules.of("reference_partial"), "partial", evidence,
                        allocations=allocation, exception="amount_mismatch")
    return Decision("reference_overpaid", rules.of("reference_overpaid"), "overpaid", evidence,
                    allocations=allocation, exception="overpaid", excess=max(excess, amount - request.remaining))


def _several_requests(transfer: TransferFacts, requests: list[RequestFacts], evidence: dict[str, Any],
                      rules: MatchRules) -> Decision:
    payable = [r for r in requests if r.status in ("open", "partially_paid") and r.remaining > 0]
    evidence = {**evidence, "requests": [{"reference": r.reference, "status": r.status, "remaining": r.remaining}
                                         for r in requests]}
    foreign = [r for r in requests if transfer.agency_id is not None and r.agency_id != transfer.agency_id]
    if len(payable) == len(requests) and not foreign and sum(r.remaining for r in payable) == transfer.amount:
        return Decision("references_sum", rules.of("references_sum"), "split", evidence,
                        allocations=[Allocation(r.dossier_id, r.remaining, r.request_id) for r in payable])
    decision = Decision("references_mismatch", rules.of("references_mismatch"), "review", evidence,
                        exception="amount_mismatch")
    if decision.confidence >= rules.suggest_threshold:
        decision.suggestions = [Suggestion("references_mismatch", decision.confidence, r.dossier_id, r.dossier_code,
                                           r.request_id, r.reference, min(r.remaining, transfer.amount) or None)
                                for r in requests]
    return decision


def _by_dossier_code(transfer: TransferFacts, lookup: Lookup, codes: list[str], evidence: dict[str, Any],
                     rules: MatchRules) -> Decision | None:
    if not codes:
        return None
    found = lookup.dossiers(codes)
    dossiers = [found[c] for c in codes if c in found]
    unique = {d.dossier_id: d for d in dossiers}
    if len(unique) != 1:
        return None if not unique else Decision("dossier_code_mismatch", rules.of("dossier_code_mismatch"), "review",
                                                {**evidence, "dossiers": [d.code for d in unique.values()]},
                                                exception="amount_mismatch",
                                                suggestions=_dossier_suggestions(list(unique.values()), transfer, rules,
                                                                                 "dossier_code_mismatch"))
    dossier = next(iter(unique.values()))
    evidence = {**evidence, "dossier_code": dossier.code, "dossier_remaining": dossier.remaining}
    if dossier.remaining <= 0:
        return Decision("dossier_code_paid", rules.of("dossier_code_paid"), "review", evidence,
                        exception="duplicate_payment",
                        suggestions=_dossier_suggestions([dossier], transfer, rules, "dossier_code_paid"))
    if transfer.agency_id is not None and dossier.agency_id != transfer.agency_id:
        evidence["paid_to_agency"] = transfer.agency_id
        return Decision("reference_other_agency", rules.of("reference_other_agency"), "review", evidence,
                        exception="wrong_account",
                        suggestions=_dossier_suggestions([dossier], transfer, rules, "reference_other_agency"))
    if transfer.amount == dossier.remaining:
        exact = [r for r in dossier.open_requests if r.status == "open" and r.remaining == transfer.amount]
        request = exact[0] if len(exact) == 1 else None
        if request is not None:
            evidence["reference"] = request.reference
        return Decision("dossier_code_exact", rules.of("dossier_code_exact"), "matched", evidence,
                        allocations=[Allocation(dossier.dossier_id, transfer.amount,
                                                request.request_id if request else None)])
    return Decision("dossier_code_mismatch", rules.of("dossier_code_mismatch"), "review", evidence,
                    exception="amount_mismatch",
                    suggestions=_dossier_suggestions([dossier], transfer, rules, "dossier_code_mismatch"))


def _dossier_suggestions(dossiers: Iterable[DossierFacts], transfer: TransferFacts, rules: MatchRules,
                         rule: str) -> list[Suggestion]:
    confidence = rules.of(rule)
    if confidence < rules.suggest_threshold:
        return []
    return [Suggestion(rule, confidence, d.dossier_id, d.code, None, None, min(d.remaining, transfer.amount) or None)
            for d in dossiers]


NAME_WORDS = (2, 5)     # a person's or an organisation's name: two to five words
NAME_SCAN = 16          # the words of a content that may hold the name (it comes first, or early)


def name_candidates(content: str, counter_name: str = "") -> list[str]:
    """The runs of words of a transfer's content and sender that could be the applicant's name,
    as ``qr.text.search_key`` writes names: ``"LE MINH CHAU CHUYEN TIEN KET HON"`` gives
    ``"le minh"``, ``"le minh chau"``, ``"minh chau"``, ... Bounded (the first words only), so
    a statement's chunk asks for them in a few set-based queries."""
    return list(_name_candidates(content or "", counter_name or ""))


def forget_name_candidates() -> None:
    """Free the memo below once a chunk is decided (it holds a chunk's lines)."""
    _name_candidates.cache_clear()


# A chunk (bulk.CHUNK, 5,000 lines) asks twice per line, to read the names, then to decide: the memo
# holds a chunk, and is cleared after it; a web worker deciding one transfer at a time keeps at most this many.
@lru_cache(maxsize=6000)
def _name_candidates(content: str, counter_name: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    sender = search_key(_WORD_SEPARATORS.sub(" ", counter_name))
    if len(sender.split()) >= NAME_WORDS[0]:
        found[sender[:200]] = None
    words = search_key(_WORD_SEPARATORS.sub(" ", content)).split()[:NAME_SCAN]
    digits = [w.isdigit() for w in words]
    low, high = NAME_WORDS
    for start in range(len(words)):
        end = start  # the run of words without a number that starts here, at most ``high`` long
        while end < len(words) and end - start < high and not digits[end]:
            end += 1
        for size in range(low, end - start + 1):
            found[" ".join(words[start:start + size])] = None
    return tuple(found)


def _with_clues(decision: Decision, transfer: TransferFacts, lookup: Lookup, rules: MatchRules,
                unknown_valid: list[str], damaged: list[str], codes: list[str]) -> Decision:
    """Suggestions for a person: issued references one typo away, the start of a cut-off
    reference, an unpaid dossier whose applicant's name is in the content (or is the sender)
    and owes exactly this amount, and (last) open requests on this account asking it."""
    seen = {(s.dossier_id, s.request_id) for s in decision.suggestions}
    suggestions = list(decision.suggestions)

    def wanted(rule: str) -> bool:  # a rule below the suggest threshold is not even asked
        return rules.of(rule) >= rules.suggest_threshold

    def add(rule: str, requests: Iterable[RequestFacts]) -> None:
        confidence = rules.of(rule)
        for r in requests:
            if (r.dossier_id, r.request_id) not in seen:
                seen.add((r.dossier_id, r.request_id))
                suggestions.append(Suggestion(rule, confidence, r.dossier_id, r.dossier_code, r.request_id,
                                              r.reference, min(r.remaining or r.amount, transfer.amount)))

    near = [n for d in [*damaged, *unknown_valid] for n in near_references(d)] if wanted("damaged_reference") else []
    if near:
        add("damaged_reference", lookup.requests(near).values())
    cut = truncated_reference(transfer.content) if wanted("truncated_reference") else None
    if cut:
        add("truncated_reference", lookup.references_starting(cut, limit=5))
    if wanted("name_amount") and not decision.allocations:
        names = name_candidates(transfer.content, transfer.counter_name)
        if names:
            for d in lookup.dossiers_named(names, transfer.amount, limit=5):
                request = next((r for r in d.open_requests if r.remaining == transfer.amount), None)
                if (d.dossier_id, request.request_id if request else None) in seen or \
                        any(s.dossier_id == d.dossier_id for s in suggestions):
                    continue
                seen.add((d.dossier_id, request.request_id if request else None))
                suggestions.append(Suggestion("name_amount", rules.of("name_amount"), d.dossier_id, d.code,
                                              request.request_id if request else None,
                                              request.reference if request else None, transfer.amount))
    if transfer.account_id is not None and len(suggestions) < 3 and wanted("amount_only"):
        add("amount_only", lookup.open_requests_asking(transfer.account_id, transfer.amount, limit=5))
    suggestions.sort(key=lambda s: -s.confidence)
    return replace(decision, suggestions=suggestions[:10])


__all__ = ["Allocation", "Decision", "DossierFacts", "Lookup", "MatchRules", "RequestFacts", "Suggestion",
           "TransferFacts", "code_key", "decide", "find_dossier_codes", "name_candidates", "near_references",
           "truncated_reference",
           "check_symbol"]
