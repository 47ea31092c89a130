"""The public disclosure's files (PNG chart, CSV, XLSX) cached by what they show.

Drawing the chart or writing the file costs about 140 ms of CPU, and anyone may ask for them
as often as they like. Each file is kept in this process, keyed by (month, format, language,
data version), where the data version is a digest of the built disclosure: when a figure of
the month changes, the version changes, and the file is made again. The same version is also
the response's ETag, so a browser or proxy that has it gets ``304 Not Modified`` with no body.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any, Callable

_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
MAX_FILES = 64  # a few months in each format and language; a file is at most a few hundred KB

_files: OrderedDict[tuple, bytes] = OrderedDict()
_lock = threading.Lock()
stats = {"made": 0, "served": 0}  # for tests and the curious


def data_version(disclosure: Any) -> str:
    """A digest of the figures the disclosure shows (its dataclasses' repr), not of the moment it
    was built: the same figures are the same file."""
    import dataclasses

    figures = dataclasses.replace(disclosure, generated_at=None)
    text = _ADDRESS.sub("", repr(figures))  # the reference rows (agencies) print as objects
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def cached_file(key: tuple, make: Callable[[], bytes]) -> bytes:
    """The file for ``key``, made once per key by ``make``."""
    with _lock:
        body = _files.get(key)
        if body is not None:
            _files.move_to_end(key)
            stats["served"] += 1
            return body
    body = make()
    with _lock:
        _files[key] = body
        _files.move_to_end(key)
        while len(_files) > MAX_FILES:
            _files.popitem(last=False)
        stats["made"] += 1
    return body


def clear() -> None:
    with _lock:
        _files.clear()
