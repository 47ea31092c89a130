"""The process's own Prometheus metrics (counters and histograms), and the registry a scrape
reads them from.

With several gunicorn workers each process counts on its own: set ``PROMETHEUS_MULTIPROC_DIR``
(an empty directory, emptied at every start: ``deploy/gunicorn.conf.py`` does it) in the
environment before the app is imported, and ``prometheus_client`` keeps the values in files
there that a scrape adds up across the workers. Without it (one process, tests) the values
live in memory. The gauges read from the database are computed at scrape time (``ops.metrics``).
"""
from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

CALLBACKS = Counter("hanoi_callbacks_total", "Callbacks answered, by channel and outcome.", ("channel", "outcome"))
CALLBACK_SECONDS = Histogram(
    "hanoi_callback_duration_seconds", "Time from reading a callback to its answer, by channel and outcome.",
    ("channel", "outcome"), buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """Where a scrape reads the counters: every worker's files in multiprocess mode, else this
    process's own registry (which also has the process and platform collectors)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def observe_callback(channel: str, outcome: str, seconds: float) -> None:
    CALLBACKS.labels(channel, outcome).inc()
    CALLBACK_SECONDS.labels(channel, outcome).observe(seconds)
