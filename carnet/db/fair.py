"""Fair waiting for the database (issue 19): slots handed out in arrival order.

SQLite has one writer, and every use case writes (a read leaves a trace), so its transactions
run one at a time whatever we do. Left to SQLite's busy handler, waiting transactions sleep and
retry: whoever retries at the right moment passes, others wait again, and under load the tail
grows far faster than the median. Taking a slot here first, in arrival order, then ``BEGIN
IMMEDIATE`` (which then finds the database free), makes everyone wait their turn. On PostgreSQL
the same slots bound how many transactions run at once (CPU, not connections, is what two cores
lack).

Past a bound on how many may wait, a request is answered at once (``Overloaded``: 503 with
Retry-After) rather than joining a queue it would wait in for seconds.
"""

from __future__ import annotations

import threading
from collections import deque


class QueueFull(Exception):
    """More are already waiting than the bound allows."""


class FairSlots:
    """A counting semaphore that serves its waiters first come, first served."""

    def __init__(self, slots: int, max_waiting: int | None = None) -> None:
        if slots < 1:
            raise ValueError("at least one slot")
        self.slots = slots
        self.max_waiting = max_waiting
        self._free = slots
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def free(self) -> int:
        return self._free

    def acquire(self, timeout: float, *, bounded: bool = True) -> bool:
        """Take a slot in arrival order: ``False`` after ``timeout`` seconds; ``QueueFull`` at
        once when ``bounded`` and ``max_waiting`` others already wait."""
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return True
            if bounded and self.max_waiting is not None and len(self._waiting) >= self.max_waiting:
                raise QueueFull
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True  # the releaser handed its slot over to us
        with self._lock:
            if turn.is_set():  # handed over while timing out: keep it
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        """Hand the slot to the first in line, else free it."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1
