"""A statement file's lines as the import stages them, read in this process or in a process
of its own.

Parsing is Python work and the import's filing mostly waits on the database: a reader thread
shares one core with the filing (the GIL), a reader process uses the second one. A large file
that is a real file (a descriptor the child can read) is read by a child process
(``python -m reconciliation.inbound.statement_reading``), which sends its events back over a
pipe in batches (pickle): the section starts and ends as they are, every line flattened to the
tuple the staging table takes (``flat_line``: plain strings and numbers, 0.5 µs to unpickle
where a ``StatementEntry`` takes 13). A smaller file, or a stream with no descriptor, is read
here with the same flattening. Either way the caller gets the same batches, in file order, and
a refusal (``StatementError``, an amount over the limit...) as the reader raised it.
"""
from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from datetime import timezone
from pathlib import Path
from typing import IO, Any, Iterator

from bank_adapters.statements import StatementEntry, read_statement

log = logging.getLogger(__name__)
REVERSAL_SUFFIX = "#R"  # a reversal is stored under its reference with this suffix
PROCESS_FROM = 1 << 20  # bytes from which a file is read by a process of its own (startup ~0.1 s)
BATCH = 2000  # lines per message

# One line, flattened: what the staging table holds, the caller's sequence number aside.
FLAT_FIELDS = ("section_index", "line_no", "bank_ref", "amount", "direction", "booked_at", "booked_on",
               "value_date", "content", "counter_account", "counter_name", "counter_bank", "virtual_account",
               "reversal", "pending", "synthetic_ref")
Batch = tuple[int, list[Any]]  # (bytes read so far, events: SectionStart, flat line tuples, SectionEnd)


def key_ref(bank_ref: str, reversal: bool) -> str:
    """The reference a line is stored under: a reversal may carry the reference of what it reverses."""
    return bank_ref + REVERSAL_SUFFIX if reversal else bank_ref


def flat_line(entry: StatementEntry, postgresql: bool) -> tuple:
    """The line as the staging table takes it: UTC times as text (naive for SQLite, as the
    service stores them there; with the offset for PostgreSQL's ``timestamptz``), dates as ISO
    text, texts cut to their columns."""
    t = entry.transfer
    booked = t.booked_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ")
    return (entry.section_index, entry.line_no, key_ref(t.bank_ref, t.reversal), t.amount, t.direction,
            booked + "+00:00" if postgresql else booked, entry.booking_date.isoformat(),
            t.value_date.isoformat() if t.value_date else None, t.content or "", _cut(t.counter_account, 40),
            _cut(t.counter_name, 200), _cut(t.counter_bank, 60), _cut(t.virtual_account, 40), t.reversal,
            t.pending, entry.synthetic_ref)


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _batches(stream: IO[bytes], fmt: str, postgresql: bool) -> Iterator[Batch]:
    """The file's events in batches, flattened, read in this process."""
    items: list[Any] = []
    for event in read_statement(stream, fmt=fmt):
        if type(event) is StatementEntry:
            items.append(flat_line(event, postgresql))
            if len(items) >= BATCH:
                yield _position(stream), items
                items = []
        else:
            items.append(event)
    yield _position(stream), items


def _position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):  # a reader that holds the file itself
        return 0


def _descriptor(stream: IO[bytes]) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):  # in memory (BytesIO): read here
        return None


def read_lines(stream: IO[bytes], fmt: str, size: int, *, postgresql: bool) -> Iterator[Batch]:
    """The events of the statement in ``stream`` (a seekable binary file at its start) in
    batches, from a child process when the file is large and has a descriptor, else read here.
    Leaves the stream at its start."""
    descriptor = _descriptor(stream) if size >= PROCESS_FROM else None
    try:
        if descriptor is None:
            yield from _batches(stream, fmt, postgresql)
        else:
            stream.seek(0)
            yield from _from_child(descriptor, fmt, postgresql)
    finally:
        stream.seek(0)


def reader_command(descriptor: int, fmt: str, postgresql: bool) -> list[str]:
    """The child's command line: this module, run by the same interpreter."""
    return [sys.executable, "-m", "reconciliation.inbound.statement_reading", str(descriptor), fmt,
            "postgresql" if postgresql else "sqlite"]


def _from_child(descriptor: int, fmt: str, postgresql: bool) -> Iterator[Batch]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}
    try:
        child = subprocess.Popen(reader_command(descriptor, fmt, postgresql), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, pass_fds=(descriptor,), cwd=root, env=env)
    except OSError as exc:  # no process to be had (limits, a sandbox): read here, more slowly
        log.warning("statement reader process not started (%s): reading in this process", exc)
        with os.fdopen(os.dup(descriptor), "rb") as stream:
            stream.seek(0)
            yield from _batches(stream, fmt, postgresql)
        return
    messages, reader = _drained(child.stdout)
    ended = False  # the thread's last message taken: it has stopped
    try:
        while True:
            kind, body = messages.get()
            ended = kind != "batch"
            if kind == "batch":
                yield body
            elif kind == "error":
                raise body
            elif kind == "done":
                global last_reader_peak_kb
                last_reader_peak_kb = body
                return
            else:  # the pipe ended without a word
                raise RuntimeError("the statement reader process stopped before the end of the file "
                                   f"(exit code {child.wait()})")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        while not ended:  # the import stopped early: let the thread reach the pipe's end, then stop
            ended = messages.get()[0] != "batch"
        reader.join()
        child.stdout.close()


last_reader_peak_kb: int | None = None  # the last reader process's peak resident memory (benchmarks)
DEPTH = 16  # batches read ahead of the import (~30,000 lines, ~10 MB)


def _drained(pipe) -> tuple[queue.Queue, threading.Thread]:
    """The child's messages, read from the pipe by a thread as they come: the child never waits
    on a pipe of 64 KB while the import writes a batch to the database. The thread ends at the
    pipe's end (the child finished or was killed)."""
    messages: queue.Queue = queue.Queue(maxsize=DEPTH)

    def read() -> None:
        while True:
            try:
                message = pickle.load(pipe)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                messages.put(("ended", None))
                return
            messages.put(message)
            if message[0] != "batch":
                return

    thread = threading.Thread(target=read, name="statement-reader", daemon=True)
    thread.start()
    return messages, thread


def _send_error(out, exc: BaseException) -> None:
    """The reader's refusal, whole when it survives pickling (``StatementError`` and its kinds
    do), else as a ``ValueError`` (a value the readers refuse) or a ``RuntimeError`` (a fault)."""
    try:
        body = pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(body)
    except Exception:  # noqa: BLE001 - an exception that does not survive the trip is described instead
        if isinstance(exc, ValueError):
            exc = ValueError(str(exc))
        else:
            exc = RuntimeError("the statement reader failed: " + "".join(traceback.format_exception(exc)).strip())
        body = pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(body)


def _peak_kb() -> int | None:
    """This process's peak resident memory since it started (Linux), for whoever measures."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None


def main(argv: list[str]) -> int:
    descriptor, fmt, dialect = int(argv[0]), argv[1], argv[2]
    out = sys.stdout.buffer
    stream = os.fdopen(descriptor, "rb", closefd=False, buffering=1 << 20)
    stream.seek(0)
    try:
        for batch in _batches(stream, fmt, dialect == "postgresql"):
            pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
    except BrokenPipeError:  # the import stopped reading (an error while staging): nothing to say
        return 1
    except BaseException as exc:  # noqa: BLE001 - handed to the import, raised there
        _send_error(out, exc)
        out.flush()
        return 0
    pickle.dump(("done", _peak_kb()), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
