"""Byte-stream plumbing: look at the head of an upload without losing it, and give the
zip-based readers the seekable file they need without reading a large upload into memory."""
from __future__ import annotations

import io
import shutil
import tempfile
from typing import BinaryIO

HEAD_SIZE = 64 * 1024
_SPOOL_LIMIT = 16 * 1024 * 1024  # larger non-seekable uploads go to a temporary file


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: the bytes a peek took, given back."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        return len(data)


def peek(stream: BinaryIO, size: int = HEAD_SIZE) -> tuple[bytes, BinaryIO]:
    """The first ``size`` bytes, and a stream that still starts at the beginning."""
    if _seekable(stream):
        start = stream.tell()
        head = stream.read(size)
        stream.seek(start)
        return head, stream
    head = b""
    while len(head) < size:
        chunk = stream.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head, io.BufferedReader(_Prefixed(head, stream), buffer_size=HEAD_SIZE)


def seekable(stream: BinaryIO) -> BinaryIO:
    """The stream itself when it can seek, else a spooled copy (zip files need seeking)."""
    if _seekable(stream):
        return stream
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT)
    shutil.copyfileobj(stream, copy, 1024 * 1024)
    copy.seek(0)
    return copy  # type: ignore[return-value]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False
