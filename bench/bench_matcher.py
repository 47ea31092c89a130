"""The matcher on a corpus: altered contents of issued requests must all match correctly, and
real-looking bank contents that name no request must never match automatically.

    .venv/bin/python bench/bench_matcher.py [--requests 10000] [--negatives 100000] [--seed 766]

Positives: ``--requests`` issued payment requests (references drawn as the service draws
them); for each, the simulator's bank alterations (``simulator.contents``: a
random combination of prefixes, suffixes, case, diacritics, punctuation, spaces, line breaks,
truncation, dropped content) applied to its QR purpose, paid with the exact amount. Correct
means: allocated to that request, whole; or, where the alteration destroyed the reference
(``contents.keeps_reference`` says which), not allocated to anything.

Negatives: ``--negatives`` contents in the shapes of DOMAIN.md's "Transfers in practice"
(bank wrappers, names, account numbers, trace and FT numbers, dates, free text, and "HS"
followed by letters and digits) with no reference in them, judged against the same issued
requests (with amounts that could match): none may be allocated.

The matcher is the service's (``reconciliation.matching.matcher.decide``) with its default rules; the
requests are looked up in memory, as the decision itself is pure.
"""
from __future__ import annotations

import argparse
import random
import string
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.contents import account_number, alter, keeps_reference, payer_name  # noqa: E402
from payments.references import new_reference, purpose_for  # noqa: E402
from reconciliation.matching.matcher import DossierFacts, MatchRules, RequestFacts, TransferFacts, decide  # noqa: E402
from qr.text import search_key  # noqa: E402

NOW = datetime(2026, 11, 25, 3, tzinfo=timezone.utc)
WORDS = ["CHUYEN TIEN", "CK", "TRA TIEN HANG", "NOP TIEN", "HOC PHI", "TIEN NHA", "THANH TOAN", "UNG HO",
         "LE PHI", "PHI DICH VU", "MUA HANG", "HS SO", "HO SO DAT", "TRA NO", "GUI ME", "TIEN DIEN"]
WRAPPERS = ["MBVCB.{n10}.{text}.CT tu {acct} {name} toi {acct2} {name2}", "{trace}.{ddmmyy}.{hhmmss}.{text}",
            "CT nhanh 247 den: {text}", "Chuyen tien den tu NAPAS Noi dung: {text}", "IBFT {text}", "QR - {text}",
            "{text} FT{yy}{n9}", "{text} Ma giao dich Trace{n6}", "{text} (CT1111)", "MOMO-{n10}-{text}",
            "ZP{n12} {text}", "TKThe :{acct}, tai {bank}. {text}", "{text}"]
BANKS = ["Vietcombank", "VietinBank", "BIDV", "Agribank", "MBBank", "Techcombank"]


class Records:
    def __init__(self, requests: list[RequestFacts], names: dict[int, str] | None = None) -> None:
        self.by_ref = {r.reference: r for r in requests}
        # the applicants' names (the name rule): the negatives carry payers' names of the same kind
        self.by_name: dict[str, list[RequestFacts]] = {}
        for r in requests:
            if names and r.dossier_id in names:
                self.by_name.setdefault(search_key(names[r.dossier_id]), []).append(r)

    def dossiers_named(self, names, amount, limit):
        found = [DossierFacts(r.dossier_id, r.dossier_code, r.agency_id, r.dossier_remaining)
                 for n in names for r in self.by_name.get(n, ()) if r.dossier_remaining == amount]
        return found[:limit]

    def requests(self, references):
        return {r: self.by_ref[r] for r in references if r in self.by_ref}

    def dossiers(self, code_keys):
        return {}

    def open_requests_asking(self, account_id, amount, limit):
        return []

    def references_starting(self, prefix, limit):
        return [r for ref, r in self.by_ref.items() if ref.startswith(prefix)][:limit]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def negative(rng: random.Random) -> str:
    text = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
    if rng.random() < 0.3:  # the shape of a reference, but not one: "HS" and junk
        text += " HS" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.randint(3, 12)))
    if rng.random() < 0.3:
        text += " " + payer_name(rng)
    wrapper = rng.choice(WRAPPERS)
    return wrapper.format(text=text, n10=digits(rng, 10), n9=digits(rng, 9), n6=digits(rng, 6), n12=digits(rng, 12),
                          acct=account_number(rng), acct2=account_number(rng), name=payer_name(rng),
                          name2=payer_name(rng), trace=digits(rng, 6), ddmmyy="251126", hhmmss="093012",
                          yy="26", bank=rng.choice(BANKS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--negatives", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=766)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    amounts = [8000, 28000, 100_000, 1_000_000, 1_528_000]
    requests = [RequestFacts(request_id=i, reference=new_reference(), dossier_id=i, dossier_code=f"D{i}", agency_id=1,
                             amount=rng.choice(amounts), amount_paid=0, status="open",
                             expires_at=NOW + timedelta(days=1), dossier_remaining=0) for i in range(args.requests)]
    requests = [RequestFacts(**{**r.__dict__, "dossier_remaining": r.amount}) for r in requests]
    records, rules = Records(requests, {r.dossier_id: payer_name(rng) for r in requests}), MatchRules()
    started = time.perf_counter()
    right = wrong = kept = lost = 0
    for request in requests:
        content, names = alter(purpose_for(request.reference), "combo", rng)
        decision = decide(TransferFacts(request.amount, "in", 1, 1, content, NOW), records, rules)
        allocated = [(a.request_id, a.amount) for a in decision.allocations]
        if keeps_reference(names):
            kept += 1
            ok = allocated == [(request.request_id, request.amount)]
        else:
            lost += 1
            ok = allocated in ([], [(request.request_id, request.amount)])  # destroyed: no wrong match
        right += ok
        wrong += not ok
    positive_time = time.perf_counter() - started
    started = time.perf_counter()
    automatic = suggested = 0
    for _ in range(args.negatives):
        decision = decide(TransferFacts(rng.choice(amounts), "in", 1, 1, negative(rng), NOW), records, rules)
        automatic += bool(decision.allocations)
        suggested += bool(decision.suggestions)
    negative_time = time.perf_counter() - started
    print(f"# The matcher on a corpus (seed {args.seed})\n")
    print("| corpus | texts | result | decisions/s |")
    print("| --- | ---: | --- | ---: |")
    print(f"| altered contents of issued requests | {args.requests:,} | {right:,} correct "
          f"({100 * right / args.requests:.2f} %), {wrong} wrong; {kept:,} kept the reference, {lost:,} lost it "
          f"(none of those matched elsewhere) | {args.requests / positive_time:,.0f} |")
    print(f"| bank contents without a reference | {args.negatives:,} | {automatic} automatic matches, "
          f"{suggested:,} suggestions for a person | {args.negatives / negative_time:,.0f} |")
    if wrong or automatic:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
