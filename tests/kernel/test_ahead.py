"""Issue 18 (LC-1 at scale): ``carnet.ahead`` makes an import's next batch while this one is
stored — in order, errors in their place, nothing left running when the caller stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

import pytest

from carnet.ahead import ahead

_WHO: ContextVar[str] = ContextVar("who", default="nobody")


def _running() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "carnet-ahead"]


def test_issue_18_items_come_in_their_order_each_made_once() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for n in range(50):
            made.append(n)
            yield n

    assert list(ahead(items(), depth=3)) == list(range(50))
    assert made == list(range(50))
    assert _running() == []


def test_issue_18_items_are_made_while_the_caller_works() -> None:
    """The next item is ready when the caller comes back for it: the thread made it meanwhile."""
    started: list[float] = []

    def items() -> Iterator[int]:
        for n in range(3):
            started.append(time.monotonic())
            yield n

    seen = ahead(items())
    assert next(seen) == 0
    deadline = time.monotonic() + 5
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(started) >= 2  # the second was made before the caller asked for it
    assert list(seen) == [1, 2]


def test_issue_18_an_error_making_an_item_reaches_the_caller_in_its_place() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    got: list[int] = []

    def take_all() -> None:
        for item in ahead(items()):
            got.append(item)

    with pytest.raises(UnicodeDecodeError):
        take_all()
    assert got == [1, 2]
    assert _running() == []


def test_issue_18_a_caller_stopping_early_stops_the_thread() -> None:
    made: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    def store_until_it_fails() -> None:
        for item in ahead(endless()):
            if item == 3:
                raise RuntimeError("stored badly")

    with pytest.raises(RuntimeError, match="stored badly"):
        store_until_it_fails()
    assert _running() == []
    assert len(made) <= 4 + 1 + 1  # the four taken, one waiting, one being handed over
    closed = ahead(endless())
    assert next(closed) == 0
    closed.close()
    assert _running() == []


def test_issue_18_the_thread_sees_the_callers_context() -> None:
    token = _WHO.set("the operator's import")
    try:
        seen = list(ahead(_WHO.get() for _ in range(2)))
    finally:
        _WHO.reset(token)
    assert seen == ["the operator's import"] * 2
