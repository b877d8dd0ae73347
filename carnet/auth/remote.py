"""A document of the OpenID provider (discovery, keys) kept off the request path.

Requests read the copy in hand and never fetch it themselves: a fetch runs in a thread of its own,
one at a time per document (every request that needs it waits on that same fetch, at most the
timeout, without holding a lock or a worker thread), and never more often than every
``min_interval`` whether it succeeded or not, so that neither a hung provider nor made-up key ids
pile up fetches. A copy older than ``refresh_after`` is still served while a fresh one is fetched
in the background; one older than ``grace`` is dropped, so that a provider unreachable for long
cannot keep keys it has since removed alive here for ever.

Ages and intervals follow :mod:`carnet.clock` (tests move it); waits are in real seconds.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import httpx

from carnet import clock
from carnet.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")


class ProviderError(Exception):
    """The provider did not answer, or not properly: ``reason`` says how, for the operator's log
    (never a user's data: URLs, statuses, error codes of the protocol)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fetch_json(url: str, *, timeout: float, max_bytes: int) -> object:
    """GET ``url`` as JSON, within ``timeout`` seconds in all (not per read), no redirect."""
    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ProviderError(f"HTTP {response.status_code} from {url}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ProviderError(f"answer over {max_bytes} bytes from {url}")
                if time.monotonic() > deadline:
                    raise ProviderError(f"answer slower than {timeout}s from {url}")
    except httpx.HTTPError as error:
        raise ProviderError(f"{type(error).__name__} from {url}") from None
    try:
        document: object = json.loads(body)
    except ValueError:
        raise ProviderError(f"not JSON from {url}") from None
    return document


async def wait_for(pending: Future[T], timeout: float) -> bool:
    """Awaits a fetch running in its thread without holding a worker thread: True once it ended
    (well or not), False after ``timeout`` seconds (the fetch goes on)."""
    wrapped = asyncio.wrap_future(pending)
    wrapped.add_done_callback(_consume)
    try:
        await asyncio.wait_for(asyncio.shield(wrapped), timeout)
    except TimeoutError:
        return False
    except Exception:
        return True
    return True


def wait_blocking(pending: Future[T], timeout: float) -> bool:
    """The same for callers that are threads already (the CLI, sync tests)."""
    done, _ = wait_futures([pending], timeout=timeout)
    return bool(done)


def _consume(future: asyncio.Future[T]) -> None:
    """Marks a failed fetch's exception as seen: it is logged once, where it happened."""
    if not future.cancelled():
        future.exception()


class RemoteDocument(Generic[T]):
    """One document, its age, and at most one fetch in flight."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[], T],
        *,
        refresh_after: float,
        grace: float,
        min_interval: float,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._refresh_after = timedelta(seconds=refresh_after)
        self._grace = timedelta(seconds=max(grace, refresh_after))
        self._min_interval = timedelta(seconds=min_interval)
        self._lock = threading.Lock()
        self._value: T | None = None
        self._fetched_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._inflight: Future[T] | None = None
        self.failed = False
        """Whether the last fetch failed (the provider is down, hangs, or answers nonsense)."""
        self.fetches = 0

    def current(self) -> T | None:
        """The copy in hand while within its grace (None otherwise); never waits. Past
        ``refresh_after`` a fetch starts in the background."""
        with self._lock:
            return self._current_locked(clock.now())

    def _current_locked(self, now: datetime) -> T | None:
        fetched = self._fetched_at
        if fetched is None or not (fetched <= now < fetched + self._grace):
            self._value = None
        if fetched is None or not (fetched <= now < fetched + self._refresh_after):
            self._start(now)
        return self._value

    def current_or_fetch(self) -> T | Future[T] | None:
        """The copy in hand, else the fetch to wait on, else None (the last fetch began less than
        ``min_interval`` ago and left nothing): one look under the lock, so that a fetch ending
        between a look at the copy and a call to :meth:`refresh` is not taken for a failure."""
        with self._lock:
            now = clock.now()
            value = self._current_locked(now)
            return value if value is not None else self._start(now)

    def refresh(self) -> Future[T] | None:
        """The fetch in flight, or a new one; None if the last began less than ``min_interval``
        ago (then the copy in hand, or its absence, is the answer for now)."""
        with self._lock:
            return self._start(clock.now())

    def _start(self, now: datetime) -> Future[T] | None:
        if self._inflight is not None:
            return self._inflight
        attempted = self._attempted_at
        if attempted is not None and attempted <= now < attempted + self._min_interval:
            return None
        self._attempted_at = now
        pending: Future[T] = Future()
        self._inflight = pending
        self.fetches += 1
        threading.Thread(
            target=self._run, args=(pending,), name=f"carnet-oidc-{self.name}", daemon=True
        ).start()
        return pending

    def _run(self, pending: Future[T]) -> None:
        try:
            value = self._fetch()
        except Exception as error:
            reason = error.reason if isinstance(error, ProviderError) else type(error).__name__
            log.warning("oidc_fetch_failed", document=self.name, reason=reason)
            with self._lock:
                self.failed = True
                self._inflight = None
            pending.set_exception(error)
            return
        with self._lock:
            self._value, self._fetched_at, self.failed = value, clock.now(), False
            self._inflight = None
        pending.set_result(value)
