"""Work made ready by a thread of its own while the caller waits on the database.

An import is a loop of two halves: reading and checking a batch of the file (Python's work) and
storing it (mostly waiting for the database). Done in turn, the waits add up; here the next
batch is read and checked while the database stores this one.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator, Iterable
from queue import Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")

#: How often a thread kept waiting by a caller that has stopped looks whether it should stop.
_POLL = 0.1
_ITEM, _ERROR, _END = "item", "error", "end"


def ahead(items: Iterable[T], *, depth: int = 1) -> Generator[T, None, None]:
    """``items`` in their order, each made by a thread of its own up to ``depth`` items before
    the caller asks for it. An error making an item is raised to the caller in that item's
    place; when the caller stops early (an error of its own, ``close``), the thread stops at its
    next item. The thread runs in a copy of the caller's context (its clock, its log fields)."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def handed(kind: str, value: object) -> bool:
        """``value`` given to the caller; ``False`` if the caller has stopped."""
        while not stop.is_set():
            try:
                queue.put((kind, value), timeout=_POLL)
            except Full:
                continue
            return True
        return False

    def make() -> None:
        try:
            for item in items:
                if not handed(_ITEM, item):
                    return
        except BaseException as error:
            handed(_ERROR, error)
            return
        handed(_END, None)

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(make,), name="carnet-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
