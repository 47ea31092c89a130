"""VietQR payload encode and decode rates, ours against the PyPI libraries, same inputs, same run.

    .venv/bin/python bench/bench_vietqr.py [--inputs 2000] [--repeats 7]

One process, one core. Each rate is the median of the repeats of a full pass over the inputs.
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qr_pay  # noqa: E402  napas-qr-python
from vietnam_qr_pay import QRPay  # noqa: E402

from qr.banks import all_banks  # noqa: E402
from qr.vietqr import decode, encode_transfer  # noqa: E402


def make_inputs(count: int, seed: int = 766) -> list[dict]:
    rng = random.Random(seed)
    bins = [bank.bin for bank in all_banks()]
    words = ["HS", "LE PHI", "PHI", "TRUOC BA", "DAT DAI", "HO TICH", "KHAI SINH"]
    inputs = []
    for _ in range(count):
        reference = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(10))
        purpose = f"{reference} {rng.choice(words)}"[:25]
        inputs.append({
            "bin": rng.choice(bins),
            "account": "".join(rng.choice(string.digits) for _ in range(rng.randint(8, 15))),
            "amount": rng.randint(1, 5_000_000) * 1000,
            "purpose": purpose,
        })
    return inputs


def rate(fn, items, repeats: int) -> float:
    fn(items[0])  # warm-up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        timings.append(time.perf_counter() - start)
    return len(items) / statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    inputs = make_inputs(args.inputs)
    payloads = [encode_transfer(**item) for item in inputs]

    # All three must agree on these inputs, or the comparison means nothing.
    for item, payload in zip(inputs, payloads):
        assert QRPay.init_viet_qr(bank_bin=item["bin"], bank_number=item["account"], amount=str(item["amount"]),
                                  purpose=item["purpose"]).build() == payload
        assert qr_pay.QRPay(bin_id=item["bin"], consumer_id=item["account"], transaction_amount=item["amount"],
                            purpose_of_transaction=item["purpose"]).code == payload

    encoders = {
        "ours (qr.vietqr)": lambda i: encode_transfer(**i),
        "vietnam-qr-pay 1.0.0": lambda i: QRPay.init_viet_qr(
            bank_bin=i["bin"], bank_number=i["account"], amount=str(i["amount"]), purpose=i["purpose"]).build(),
        "napas-qr-python 0.2.0": lambda i: qr_pay.QRPay(
            bin_id=i["bin"], consumer_id=i["account"], transaction_amount=i["amount"],
            purpose_of_transaction=i["purpose"]).code,
    }
    decoders = {
        "ours (qr.vietqr)": decode,
        "vietnam-qr-pay 1.0.0": QRPay,
        "napas-qr-python 0.2.0": qr_pay.decode,
    }
    print(f"# VietQR payload rates — {args.inputs} inputs, median of {args.repeats} passes, one core")
    print(f"# Python {platform.python_version()}, {platform.machine()}, {platform.system()}")
    print()
    print("| library | encode /s | decode /s |")
    print("| --- | ---: | ---: |")
    results = {}
    for name in encoders:
        enc = rate(encoders[name], inputs, args.repeats)
        dec = rate(decoders[name], payloads, args.repeats)
        results[name] = (enc, dec)
        print(f"| {name} | {enc:,.0f} | {dec:,.0f} |")
    ours = results["ours (qr.vietqr)"]
    best_other = (max(v[0] for k, v in results.items() if not k.startswith("ours")),
                  max(v[1] for k, v in results.items() if not k.startswith("ours")))
    print()
    print(f"ours / fastest other: encode {ours[0] / best_other[0]:.2f}×, decode {ours[1] / best_other[1]:.2f}×")


if __name__ == "__main__":
    main()
