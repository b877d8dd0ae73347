"""One remote document: one fetch at a time shared by every waiter, no lock held while fetching,
rate-limited, served stale while a fresh copy is fetched, dropped after its grace."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from carnet.auth.remote import ProviderError, RemoteDocument, wait_blocking, wait_for
from carnet.clock import FixedClock

from .real_provider import wait_until


class Source:
    """What the document is fetched from: answers when told, counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def __call__(self) -> str:
        self.calls += 1
        self.release.wait(5)
        if self.fail:
            raise ProviderError("HTTP 503 from the test source")
        return f"copy {self.calls}"


def document(source: Source) -> RemoteDocument[str]:
    return RemoteDocument("test", source, refresh_after=300, grace=3600, min_interval=10)


def test_oidc_first_copy_is_fetched_in_the_background(clock: FixedClock) -> None:
    source = Source()
    source.release.clear()
    doc = document(source)
    started = time.monotonic()
    assert doc.current() is None
    assert time.monotonic() - started < 0.1, "current() never waits"
    pending = doc.refresh()
    assert pending is not None
    assert doc.refresh() is pending, "one fetch in flight, shared"
    source.release.set()
    assert wait_blocking(pending, 2)
    assert doc.current() == "copy 1"
    assert source.calls == 1


def test_oidc_waiters_share_one_fetch_without_holding_a_thread(clock: FixedClock) -> None:
    source = Source()
    source.release.clear()
    doc = document(source)

    async def many() -> list[bool]:
        pending = doc.refresh()
        assert pending is not None
        waiters = [wait_for(pending, 2) for _ in range(100)]
        asyncio.get_running_loop().call_later(0.2, source.release.set)
        return await asyncio.gather(*waiters)

    before = threading.active_count()
    assert asyncio.run(many()) == [True] * 100
    assert threading.active_count() <= before + 1
    assert source.calls == 1


def test_oidc_wait_is_bounded_and_the_fetch_goes_on(clock: FixedClock) -> None:
    source = Source()
    source.release.clear()
    doc = document(source)
    pending = doc.refresh()
    assert pending is not None
    started = time.monotonic()
    assert asyncio.run(wait_for(pending, 0.2)) is False
    assert time.monotonic() - started < 0.5
    source.release.set()
    wait_until(lambda: doc.current() == "copy 1")


def test_oidc_fetches_are_rate_limited_whatever_their_outcome(clock: FixedClock) -> None:
    source = Source()
    source.fail = True
    doc = document(source)
    pending = doc.refresh()
    assert pending is not None
    assert wait_blocking(pending, 2)
    with pytest.raises(ProviderError):
        pending.result()
    assert doc.failed
    assert doc.refresh() is None, "no new fetch within min_interval"
    clock.advance(timedelta(seconds=10))
    source.fail = False
    pending = doc.refresh()
    assert pending is not None
    assert wait_blocking(pending, 2)
    assert (doc.current(), doc.failed, source.calls) == ("copy 2", False, 2)


def test_oidc_stale_copy_served_while_refreshed_then_dropped_after_grace(
    clock: FixedClock,
) -> None:
    source = Source()
    doc = document(source)
    pending = doc.refresh()
    assert pending is not None
    assert wait_blocking(pending, 2)
    clock.advance(timedelta(seconds=301))
    source.fail = True
    assert doc.current() == "copy 1", "stale but served"
    wait_until(lambda: doc.failed)
    clock.advance(timedelta(seconds=3300))
    assert doc.current() is None, "past its grace, a copy is dropped"
