"""Statement parsing: throughput and peak memory per format and size, parse only.

    .venv/bin/python bench/bench_statement_parse.py [--sizes 10000 100000 1000000]
                                                     [--formats camt053 mt940 mt940-fallback csv ...]

For each format and size, the simulator's writers make a file of that many entries (one
account, one day, realistic contents) in a temporary directory; then a fresh subprocess
reads it with ``bank_adapters.statements.read_statement`` and reports the time spent reading
(every event consumed, nothing stored) and its peak resident memory (``ru_maxrss``), next to
the same process's memory just before reading (interpreter and libraries). Only the reading
is timed; one core.

Project goals for the whole import (parse + database) at 1,000,000 lines: under 30 s for
CSV and MT940, under 60 s for camt.053, under 300 MB peak.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = {
    # name: (writer fmt, writer kwargs)
    "camt053": ("camt053", {"version": "001.02"}),
    "camt053.08": ("camt053", {"version": "001.08"}),
    "mt940": ("mt940", {}),
    # The same MT940 file with every entry date written as four spaces (as ASN Bank does): the
    # fast reader cannot read one entry, the mt-940 package reads them all (the fallback path).
    "mt940-fallback": ("mt940", {}),
    # For reference: the plain MT940 file read whole by the mt-940 package (parse_statements).
    "mt-940-package": ("mt940", {}),
    "csv": ("csv", {"layout": "vietcombank"}),
    "csv-bidv": ("csv", {"layout": "bidv"}),
    "xlsx": ("xlsx", {"layout": "vietcombank"}),
    "xlsx-vietinbank": ("xlsx", {"layout": "vietinbank"}),
}
DEFAULT_FORMATS = ["camt053", "mt940", "mt940-fallback", "csv", "xlsx"]
DAY = date(2026, 11, 25)


class Transfers:
    """``count`` transfers of one day, re-iterable (the writers go over them twice), made on the fly."""

    def __init__(self, count: int, seed: int = 766, account: str = "113000012345") -> None:
        self.count, self.seed, self.account = count, seed, account

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        from bank_adapters.transfers import BankTransfer

        rng = random.Random(self.seed)
        start = datetime(2026, 11, 25, tzinfo=timezone(timedelta(hours=7))).astimezone(timezone.utc)
        step = 86_000 / max(self.count, 1)
        names = ["NGUYEN VAN AN", "TRAN THI BINH", "LE HOANG CUONG", "PHAM MINH DUC", "VU THI HA"]
        labels = ["LE PHI CAP GCN", "PHI TRUOC BA", "LE PHI HO TICH", "PHI DAT DAI", "LE PHI KHAI SINH"]
        for i in range(self.count):
            incoming = rng.random() < 0.97
            name = rng.choice(names)
            ref = "".join(rng.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(9))
            content = (f"MBVCB.{rng.randrange(10**9, 10**10)}.HS{ref} {rng.choice(labels)}.CT tu "
                       f"{rng.randrange(10**12, 10**13)} {name} toi {self.account} UBND QUAN BA DINH")
            yield BankTransfer(
                account=self.account, bank_ref=f"FT26329{i:09d}", amount=rng.randint(1, 5000) * 1000,
                direction="in" if incoming else "out", booked_at=start + timedelta(seconds=int(i * step)),
                content=content, counter_name=name, counter_account=str(rng.randrange(10**12, 10**13)))


def make_file(case: str, count: int, directory: Path) -> Path:
    from simulator.statement_files import write_statement

    fmt, kwargs = CASES[case]
    path = directory / f"{case}-{count}.{ {'camt053': 'xml', 'mt940': 'sta'}.get(fmt, fmt) }"
    with open(path, "wb") as out:
        write_statement(fmt, out, account="113000012345", bank_bin="970415", day_from=DAY, day_to=DAY,
                        opening_balance=125_000_000, transfers=Transfers(count), **kwargs)
    if case == "mt940-fallback":
        _quirk_every_entry(path)
    return path


_ENTRY_DATE = re.compile(rb"^(:61:\d{6})\d{4}")


def _quirk_every_entry(path: Path) -> None:
    """Rewrite every ``:61:YYMMDDMMDD`` as ``:61:YYMMDD    ``: the package reads every entry."""
    # Line by line: a child process inherits this one's peak memory (ru_maxrss survives exec).
    quirky = path.with_suffix(".quirky")
    with open(path, "rb") as source, open(quirky, "wb") as out:
        for line in source:
            out.write(_ENTRY_DATE.sub(rb"\1    ", line))
    quirky.replace(path)


def child(path: str) -> None:
    """Runs in the subprocess: read the file, print the measurements as JSON."""
    import resource

    if Path(path).name.startswith("mt-940-package"):
        return package_child(path)

    from bank_adapters.statements import SectionEnd, StatementEntry, balance_proof, read_statement

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    entries = 0
    proofs = []
    readers: set[str] = set()
    start = time.perf_counter()
    with open(path, "rb") as stream:
        for event in read_statement(stream):
            if type(event) is StatementEntry:
                entries += 1
            elif type(event) is SectionEnd:
                proofs.append(balance_proof(event).ok)
                readers.add(event.reader or "-")
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"entries": entries, "seconds": elapsed, "rss_before_kb": before, "rss_peak_kb": peak,
                      "proofs": proofs, "readers": sorted(readers)}))


def package_child(path: str) -> None:
    """The mt-940 package alone on the whole file: every statement parsed, the entries counted."""
    import resource

    import mt940

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with open(path, "rb") as stream:
        statements = mt940.parse_statements(stream.read().decode(), options=mt940.Options.all())
    entries = sum(len(statement) for statement in statements)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"entries": entries, "seconds": elapsed, "rss_before_kb": before, "rss_peak_kb": peak,
                      "proofs": [True], "readers": ["mt-940 alone"]}))


def measure(path: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=DEFAULT_FORMATS, choices=sorted(CASES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"Python {platform.python_version()} on {platform.machine()}, one process per case\n")
    print("| format | path | lines | file MB | parse s | µs/line | lines/s | RSS before MB | peak RSS MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="bench-statements-") as tmp:
        for case in args.formats:
            for size in args.sizes:
                path = make_file(case, size, Path(tmp))
                result = measure(path)
                assert result["entries"] == size and all(result["proofs"]), result
                seconds = result["seconds"]
                print(f"| {case} | {'+'.join(result['readers'])} | {size:,} | {path.stat().st_size / 1e6:.1f} | "
                      f"{seconds:.2f} | "
                      f"{seconds / size * 1e6:.1f} | {size / seconds:,.0f} | {result['rss_before_kb'] / 1024:.0f} | "
                      f"{result['rss_peak_kb'] / 1024:.0f} |", flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
