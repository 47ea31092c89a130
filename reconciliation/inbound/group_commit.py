"""Group commit for callbacks: the ones that arrive together in one process are journalled,
stored, matched and committed together.

Every callback costs two durable commits and a dozen statements when it goes alone; most of
that is per transaction, not per transfer. Here a request thread queues its callback; the
first thread to find nobody working becomes the leader, takes everything queued (up to
``max_batch``), runs it through ``ingest.process_batch`` with its own session, hands every
thread its answer, and passes the lead to the oldest callback still queued (whose thread is
waiting anyway), so no thread works for the others for more than one batch. A lone callback
is a batch of one. No extra thread, nothing to start or stop: it works the same under
gunicorn's threads, the test client and the CLI.

Durability is unchanged: each answer is given only after the commit that holds its callback.
"""
from __future__ import annotations

import logging
import threading
from collections import deque

from sqlalchemy.orm import Session

from bank_adapters.callbacks import CallbackResponse, Outcome

from reconciliation.inbound.ingest import IngestResult, Pending, process_batch

log = logging.getLogger(__name__)


class CallbackBatcher:
    def __init__(self, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[Pending] = deque()
        self._leading = False
        self._ready: dict[int, threading.Event] = {}
        # What happened, for tests and benchmarks.
        self.batches = 0
        self.largest = 0

    def submit(self, session: Session, item: Pending) -> IngestResult:
        """Queue ``item`` and return its result once its batch is committed."""
        ready = threading.Event()
        with self._lock:
            self._ready[id(item)] = ready
            self._queue.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            ready.wait()
            if item.result is not None:
                return item.result
            # The lead was handed to this thread: its callback heads the queue.
        batch: list[Pending] = []
        try:
            with self._lock:
                while self._queue and len(batch) < self.max_batch:
                    batch.append(self._queue.popleft())
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            process_batch(session, batch)
        finally:
            for other in batch:
                if other.result is None:  # process_batch itself was interrupted
                    other.result = _failed(other)
            with self._lock:
                for other in batch:
                    event = self._ready.pop(id(other))
                    if other is not item:
                        event.set()
                if self._queue:
                    self._ready[id(self._queue[0])].set()  # its result is None: it leads next
                else:
                    self._leading = False
        return item.result


def _failed(item: Pending) -> IngestResult:
    """The answer for a callback whose batch was cut off: nothing was promised, retry."""
    from bank_adapters.callbacks import get_adapter

    try:
        response = get_adapter(item.channel).respond(Outcome.FAILED, item.request, item.keys,
                                                     message="temporary failure")
    except Exception:
        log.exception("could not answer a %s callback", item.channel)
        response = CallbackResponse(500, b"temporary failure", "text/plain")
    return IngestResult(response, None, Outcome.FAILED)
