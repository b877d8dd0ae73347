"""Group commit: the SMTP side's reads and writes, many sessions' per transaction.

``Batcher.run`` queues a piece of work and waits; the first waiting thread runs everything queued
in one transaction (https://www.sqlite.org/wal.html: one writer at a time), again while more
comes, then hands each its result: one commit — one fsync — for all the messages that arrived
meanwhile, and no session queueing alone for the write lock. Work is written "checks first, then
rows": a ``Refusal`` leaves nothing behind and fails that item alone; any other error fails the
whole batch, whose senders are answered "try again later" (nothing of theirs was committed).
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
    done: threading.Event = field(default_factory=threading.Event)
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
        if lead:
            self._lead(rt)
        item.done.wait()
        if item.error is not None:
            raise item.error
        return cast(T, item.result)  # set whenever the work ran without an error

    def _lead(self, rt: Runtime) -> None:
        while True:
            with self._lock:
                items, self._pending = self._pending, []
                if not items:
                    self._leading = False
                    return
            try:
                _run(rt, items)
            except BaseException as error:
                for item in items:
                    if item.error is None:
                        item.error = error
            for item in items:
                item.done.set()


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
