"""How long a printable VietQR card takes next to the bare QR code.

    .venv/bin/python bench/bench_card.py [--runs N] [--warmup W]

Times, on one payload and in one process: ``qrcode.make(payload)`` saved as PNG in memory
(the baseline), and ``qr.card.render_card`` for a6/png, a6/pdf and receipt80/png. The cases
are interleaved run by run so that a busy machine slows them all alike; each is warmed up
first (fonts loaded, fixed texts stamped), and its very first call is reported apart.
Prints a Markdown table (median and p95 in ms, and their ratio to the bare QR's) and the
method. It only reports: the exit status is 0 whatever the numbers.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import PIL  # noqa: E402
import qrcode  # noqa: E402

from qr.card import CardInfo, render_card  # noqa: E402
from qr.vietqr import encode_transfer  # noqa: E402

PAYLOAD = encode_transfer("970415", "113366668888", 1_500_000, "HS7K2M9QXA4 LE PHI")
INFO = CardInfo(
    payload=PAYLOAD,
    bank_bin="970415",
    account="113366668888",
    account_holder="VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI - CHI NHÁNH ĐỐNG ĐA",
    amount=1_500_000,
    transfer_content="HS7K2M9QXA4 LE PHI",
    dossier_code="000.00.12.H26-261125-0001",
    procedure_name="Đăng ký biến động đất đai, tài sản gắn liền với đất",
    agency_name="Phường Hoàn Kiếm",
    valid_until=datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc),
    reference="HS7K2M9QXA4",
)


def bare_qr() -> bytes:
    buffer = io.BytesIO()
    qrcode.make(PAYLOAD).save(buffer)
    return buffer.getvalue()


CASES = {
    "bare `qrcode.make(payload)` → PNG": bare_qr,
    "`render_card` a6 / png": lambda: render_card(INFO, "a6", "png"),
    "`render_card` a6 / pdf": lambda: render_card(INFO, "a6", "pdf"),
    "`render_card` receipt80 / png": lambda: render_card(INFO, "receipt80", "png"),
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per case (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs per case first (default 20)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")

    first: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for name, case in CASES.items():
        start = time.perf_counter()
        sizes[name] = len(case())
        first[name] = (time.perf_counter() - start) * 1000
    for _ in range(args.warmup):
        for case in CASES.values():
            case()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, case in CASES.items():
            start = time.perf_counter()
            case()
            samples[name].append((time.perf_counter() - start) * 1000)

    base = next(iter(CASES))
    base_median = statistics.median(samples[base])
    base_p95 = percentile(samples[base], 0.95)
    print("| case | median ms | p95 ms | median × bare | p95 × bare | first call ms | output bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, values in samples.items():
        median, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"| {name} | {median:.2f} | {p95:.2f} | {median / base_median:.2f} | {p95 / base_p95:.2f} "
              f"| {first[name]:.1f} | {sizes[name]:,} |")
    print()
    print(f"Method: {args.runs} timed runs per case after {args.warmup} warm-up runs, cases interleaved run "
          f"by run, one process, `time.perf_counter`; payload of {len(PAYLOAD)} characters "
          f"(QR version from `qrcode`, error correction M). "
          f"Machine: {cpu_name()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"Pillow {PIL.__version__}, qrcode {qrcode_version()}.")
    return 0


def qrcode_version() -> str:
    try:
        from importlib.metadata import version

        return version("qrcode")
    except Exception:  # pragma: no cover - metadata missing
        return "?"


if __name__ == "__main__":
    sys.exit(main())
