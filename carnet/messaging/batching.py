"""Group commit: the SMTP side's reads and writes, many sessions' per transaction.

``Batcher.run`` queues a piece of work and waits; one waiting thread at a time leads: it runs
everything queued in one transaction (https://www.sqlite.org/wal.html: one writer at a time)
and hands each its result: one commit — one fsync — for all the messages that arrived
meanwhile, and no session queueing alone for the write lock. Then it hands the lead to the
first of those that arrived since, and goes back to its own sender: a leader that ran batch
after batch while work kept coming kept its own 250 waiting as long — seconds under a storm
(issue 19, ``bench/load.py`` at 128 clients). Work is written "checks first, then rows": a
``Refusal`` leaves nothing behind and fails that item alone; any other error fails the whole
batch, whose senders are answered "try again later" (nothing of theirs was committed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.orm import Session

from carnet.errors import Refusal
from carnet.runtime import Runtime

T = TypeVar("T")


@dataclass
class Batch:
    """One transaction's shared state: what a capability gathers across items (``shared``), and
    the steps that run once every item has had its turn (``after``), in order."""

    shared: dict[str, Any] = field(default_factory=dict)
    after: list[Callable[[Session], None]] = field(default_factory=list)


@dataclass
class _Item(Generic[T]):
    work: Callable[[Session, Batch], T]
    #: Set once the item ran (``done``), or when its thread is to lead the next batch.
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    result: T | None = None
    error: BaseException | None = None


class Batcher:
    """The instance's one group committer (``Runtime.state(Batcher)``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Item[Any]] = []
        self._leading = False

    def run(self, rt: Runtime, work: Callable[[Session, Batch], T]) -> T:
        item: _Item[T] = _Item(work)
        with self._lock:
            self._pending.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.wake.wait()
        if not item.done:  # the first to come, or handed the lead: still queued, so in the batch
            self._lead_once(rt)
        if item.error is not None:
            raise item.error
        return cast(T, item.result)  # set whenever the work ran without an error

    def _lead_once(self, rt: Runtime) -> None:
        """Run what is queued, answer each, then hand the lead to the first queued since."""
        with self._lock:
            items, self._pending = self._pending, []
        try:
            _run(rt, items)
        except BaseException as error:
            for item in items:
                if item.error is None:
                    item.error = error
        finally:
            for item in items:
                item.done = True
                item.wake.set()
            with self._lock:
                if self._pending:
                    self._pending[0].wake.set()  # not done: it leads, the rest follow it
                else:
                    self._leading = False


def _run(rt: Runtime, items: list[_Item[Any]]) -> None:
    with rt.transaction() as session:
        batch = Batch()
        with session.no_autoflush:
            for item in items:
                try:
                    item.result = item.work(session, batch)
                except Refusal as refusal:
                    item.error = refusal
            for step in batch.after:
                step(session)
