"""The matcher as a pure function: each outcome, its rule, its evidence, and the guarantee
that a damaged reference never matches. The records it consults are given as plain data
(an in-memory ``Lookup``); the same rules against the database are in test_reconcile.py."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from payments.references import ALPHABET, check_symbol, new_reference
from reconciliation.matching.matcher import (DossierFacts, MatchRules, RequestFacts, TransferFacts, decide, find_dossier_codes,
                                    near_references, truncated_reference)

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


class Records:
    """The service's records as the matcher sees them, in memory."""

    def __init__(self, requests=(), dossiers=()):
        self.by_ref = {r.reference: r for r in requests}
        self.by_code = {}
        for d in dossiers:
            self.by_code[d.code.replace(".", "").replace("-", "")] = d

    def requests(self, references):
        return {r: self.by_ref[r] for r in references if r in self.by_ref}

    def dossiers(self, code_keys):
        return {k: self.by_code[k] for k in code_keys if k in self.by_code}

    def open_requests_asking(self, account_id, amount, limit):
        return [r for r in self.by_ref.values() if r.amount == amount and r.status == "open"][:limit]

    def references_starting(self, prefix, limit):
        return [r for ref, r in self.by_ref.items() if ref.startswith(prefix)][:limit]

    def dossiers_named(self, names, amount, limit):
        return []  # these records know no applicants' names: the name rule has its own tests


def request(amount=8000, paid=0, status="open", agency=1, dossier_remaining=None, reference=None, dossier_id=10,
            code="000.20.01.H26-261125-0001") -> RequestFacts:
    return RequestFacts(request_id=dossier_id * 10, reference=reference or new_reference(), dossier_id=dossier_id,
                        dossier_code=code, agency_id=agency, amount=amount, amount_paid=paid, status=status,
                        expires_at=NOW + timedelta(days=1),
                        dossier_remaining=amount - paid if dossier_remaining is None else dossier_remaining)


def transfer(content, amount=8000, agency=1, account=5, direction="in") -> TransferFacts:
    return TransferFacts(amount=amount, direction=direction, account_id=account, agency_id=agency, content=content,
                         booked_at=NOW)


def test_exact_payment_matches_automatically():
    r = request()
    d = decide(transfer(f"MBVCB.3278907687.{r.reference} PHI LE PHI.CT tu 0011001234567 NGUYEN VAN A"), Records([r]))
    assert (d.rule, d.outcome, d.exception, d.confidence) == ("reference_exact", "matched", None, 1.0)
    assert [(a.request_id, a.amount) for a in d.allocations] == [(r.request_id, 8000)]
    assert d.evidence["reference"] == r.reference


def test_partial_payment_allocates_and_flags_the_difference():
    r = request(amount=10000)
    d = decide(transfer(r.reference, amount=6000), Records([r]))
    assert (d.outcome, d.exception, d.excess) == ("partial", "amount_mismatch", 0)
    assert [a.amount for a in d.allocations] == [6000]


def test_overpayment_pays_the_dossier_and_holds_the_excess():
    r = request(amount=8000)
    d = decide(transfer(r.reference, amount=10000), Records([r]))
    assert (d.outcome, d.exception, d.excess) == ("overpaid", "overpaid", 2000)
    assert [a.amount for a in d.allocations] == [10000]


def test_a_second_payment_of_a_paid_request_is_a_duplicate_held_for_refund():
    r = request(paid=8000, status="paid", dossier_remaining=0)
    d = decide(transfer(r.reference), Records([r]))
    assert (d.outcome, d.exception, d.excess) == ("duplicate", "duplicate_payment", 8000)


@pytest.mark.parametrize("status", ["expired", "cancelled"])
def test_money_for_a_closed_request_is_accepted_and_flagged(status):
    r = request(status=status)
    d = decide(transfer(r.reference), Records([r]))
    assert (d.outcome, d.exception) == ("closed", "request_closed")
    assert d.allocations


def test_several_references_are_split_when_the_amount_adds_up():
    a, b = request(amount=8000, dossier_id=1), request(amount=28000, dossier_id=2)
    d = decide(transfer(f"{a.reference} {b.reference}", amount=36000), Records([a, b]))
    assert (d.rule, d.outcome) == ("references_sum", "split")
    assert sorted((x.dossier_id, x.amount) for x in d.allocations) == [(1, 8000), (2, 28000)]


def test_several_references_that_do_not_add_up_go_to_a_person_with_suggestions():
    a, b = request(amount=8000, dossier_id=1), request(amount=28000, dossier_id=2)
    d = decide(transfer(f"{a.reference} {b.reference}", amount=30000), Records([a, b]))
    assert (d.outcome, d.exception, d.allocations) == ("review", "amount_mismatch", [])
    assert {s.reference for s in d.suggestions} == {a.reference, b.reference}


def test_a_damaged_reference_never_matches_but_is_suggested():
    r = request()
    body = r.reference[2:]
    position = 3
    wrong = ALPHABET[(ALPHABET.index(body[position]) + 1) % len(ALPHABET)]
    damaged = "HS" + body[:position] + wrong + body[position + 1:]
    d = decide(transfer(f"IBFT {damaged} LE PHI"), Records([r]))
    assert d.allocations == [] and d.exception == "unknown_reference"
    assert [s.reference for s in d.suggestions] == [r.reference]
    assert d.suggestions[0].rule == "damaged_reference"


def test_swapped_neighbours_are_suggested_too():
    r = request()
    ref = r.reference
    swapped = ref[:4] + ref[5] + ref[4] + ref[6:]
    if swapped == ref:
        pytest.skip("equal neighbours")
    assert ref in near_references(swapped)


def test_no_reference_at_all():
    d = decide(transfer("CHUYEN TIEN CHO ME", amount=123000), Records([request()]))
    assert (d.rule, d.outcome, d.exception, d.allocations) == ("no_reference", "unmatched", "unknown_reference", [])


def test_money_out_is_ignored():
    r = request()
    d = decide(transfer(r.reference, direction="out"), Records([r]))
    assert (d.outcome, d.allocations, d.exception) == ("ignored", [], None)


def test_an_unknown_account_is_never_allocated():
    r = request()
    d = decide(transfer(r.reference, account=None, agency=None), Records([r]))
    assert (d.outcome, d.exception, d.allocations) == ("review", "unknown_account", [])
    assert [s.reference for s in d.suggestions] == []  # the reference is valid: no look-alike


def test_another_agencys_account_is_for_a_person():
    r = request(agency=1)
    d = decide(transfer(r.reference, agency=2), Records([r]))
    assert (d.outcome, d.exception, d.allocations) == ("review", "wrong_account", [])
    assert [s.reference for s in d.suggestions] == [r.reference]


def test_dossier_code_in_full_or_without_punctuation():
    dossier = DossierFacts(dossier_id=7, code="000.00.12.H26-261125-0001", agency_id=1, remaining=28000)
    records = Records(dossiers=[dossier])
    for content in ("THANH TOAN HO SO 000.00.12.H26-261125-0001", "nop phi ho so 0000012H262611250001",
                    "MBVCB.123.000.00.12.H26-261125-0001.CT tu 123"):
        d = decide(transfer(content, amount=28000), records)
        assert (d.rule, d.outcome, [a.dossier_id for a in d.allocations]) == ("dossier_code_exact", "matched", [7]), content
    other = decide(transfer("THANH TOAN HO SO 000.00.12.H26-261125-0001", amount=20000), records)
    assert (other.outcome, other.exception, other.allocations) == ("review", "amount_mismatch", [])
    assert other.suggestions[0].dossier_id == 7


def test_thresholds_are_data():
    r = request()
    strict = MatchRules.from_data({"auto_threshold": 0.99, "confidence": {"reference_partial": 0.8}})
    d = decide(transfer(r.reference, amount=4000), Records([r]), strict)
    assert (d.outcome, d.allocations, d.exception) == ("review", [], "amount_mismatch")
    assert d.suggestions and d.suggestions[0].reference == r.reference
    silent = MatchRules.from_data({"suggest_threshold": 0.9, "auto_threshold": 0.99,
                                   "confidence": {"reference_partial": 0.8}})
    assert decide(transfer(r.reference, amount=4000), Records([r]), silent).suggestions == []
    with pytest.raises(ValueError, match="unknown matching rule"):
        MatchRules.from_data({"confidence": {"nonsense": 0.5}})
    with pytest.raises(ValueError, match="must not be above"):
        MatchRules.from_data({"suggest_threshold": 0.95, "auto_threshold": 0.9})
    with pytest.raises(ValueError):
        MatchRules.from_data({"auto_threshold": 1.5})


def test_a_truncated_reference_is_suggested_by_its_start():
    r = request()
    d = decide(transfer("MBVCB.3278907687." + r.reference[:8]), Records([r]))
    assert truncated_reference("MBVCB.3278907687." + r.reference[:8]) == r.reference[:8]
    assert d.allocations == []
    assert [s.rule for s in d.suggestions] == ["truncated_reference"]


def test_find_dossier_codes_reads_codes_glued_to_bank_prefixes():
    keys = find_dossier_codes("MBVCB.3278907687.000.00.12.H26-261125-0001.CT tu 0011")
    assert "0000012H262611250001" in keys
    assert find_dossier_codes("CHUYEN TIEN 0987654321") == []


def test_every_issued_reference_is_found_after_the_banks_alterations():
    """The simulator's altered contents for many references match exactly, except where the
    alteration destroys the content (then nothing matches)."""
    import random

    from simulator.contents import alter, keeps_reference

    rng = random.Random(766)
    requests = [request(dossier_id=i, amount=1000 * (i % 90 + 1)) for i in range(1, 400)]
    records = Records(requests)
    for r in requests:
        purpose = f"{r.reference} PHI LE PHI"
        content, names = alter(purpose, "combo", rng)
        d = decide(transfer(content, amount=r.amount), records)
        if keeps_reference(names):
            assert [(a.request_id, a.amount) for a in d.allocations] == [(r.request_id, r.amount)], (content, names)
        else:
            assert all(a.request_id == r.request_id for a in d.allocations), (content, names)
