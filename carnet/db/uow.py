"""The unit of work: one transaction per use case, and what runs after its commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from carnet.db.fair import FairSlots, QueueFull
from carnet.errors import Overloaded

#: How long a transaction waits for its turn before it is answered 503 (SQLite's own busy
#: timeout, which it replaces for in-process waits).
WAIT_SECONDS = 30.0

_BUSY = (
    "Service très sollicité : rien n'a été enregistré, réessayez dans un instant.",
    "Service busy: nothing was recorded, try again in a moment.",
)


def overloaded() -> Overloaded:
    """The refusal past the queue's bound (503, Retry-After: 1)."""
    return Overloaded(*_BUSY, retry_after=1)


class _Session(Session):
    """A session that remembers its transaction's connection: the hot paths ask for it several
    times a request (the gate's query, the rows, the trace), and the ORM's answer goes through
    its transaction's bookkeeping each time (issue 19). Remembered for the innermost
    transaction: a savepoint's (``begin_nested``) is begun by the ORM's answer."""

    _held: tuple[SessionTransaction, Connection] | None = None

    def connection(self, *args: Any, **kwargs: Any) -> Connection:
        if args or kwargs:
            return super().connection(*args, **kwargs)
        held, current = self._held, self._transaction
        if held is not None and current is not None and held[0] is current:
            return held[1]
        connection = super().connection()
        transaction = self._transaction
        if transaction is not None:
            self._held = (transaction, connection)
        return connection


#: Whether this thread (or task) holds a slot now.
_HOLDING: ContextVar[bool] = ContextVar("carnet_holding_slot", default=False)


class UnitOfWork:
    """Hands out transactions; a use case commits once, then its after-commit callbacks run.

    Callbacks are where a use case talks to the outside (wake a worker, send a reply): never
    before its data is durable. Any exception rolls the transaction back whole; a refusal's
    traces are appended afterwards by ``Runtime.transaction``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_active: int | None = None,
        max_waiting: int | None = None,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        """``max_active`` transactions at once, taken in arrival order (``db.fair``): on SQLite
        always one, its one writer; on PostgreSQL none unless given. A door's request finding
        ``max_waiting`` others waiting is refused at once (``Overloaded``)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, class_=_Session, expire_on_commit=False)
        if engine.dialect.name == "sqlite":
            max_active = 1
        self.slots = FairSlots(max_active, max_waiting) if max_active else None
        self._wait_seconds = wait_seconds

    def saturated(self) -> bool:
        """Whether a door's new request would be refused now: no slot free and the queue at its
        bound. The doors answer such a request before any work (``http.intake``): under a storm
        a refusal then costs a fraction of a request, and the CPU goes to those waiting their
        turn — refusals that each verified a token first had left the accepted few waiting
        seconds (issue 19, 128 clients)."""
        slots = self.slots
        return (
            slots is not None
            and slots.max_waiting is not None
            and slots.free == 0
            and slots.waiting >= slots.max_waiting
        )

    @contextmanager
    def transaction(self, *, refusable: bool = True) -> Iterator[Session]:
        """One transaction. ``refusable=False``: never refused for load (a refusal's own
        traces, which must be written)."""
        holding = self._take_slot(refusable)
        try:
            session = self._sessions()
            callbacks: list[Callable[[], None]] = []
            session.info["after_commit"] = callbacks
            session.info["before_commit"] = []
            try:
                session.begin()
                try:
                    yield session
                except BaseException:
                    session.rollback()
                    raise
                _commit(session)
            finally:
                session.close()
        finally:
            if holding is not None:
                _HOLDING.reset(holding)
                assert self.slots is not None
                self.slots.release()
        for callback in callbacks:
            callback()

    def _take_slot(self, refusable: bool) -> Token[bool] | None:
        """Wait for a slot in arrival order; ``None`` when none is needed (no slots, or this
        thread already holds one: a transaction opened inside another waits as it always did,
        rather than for a slot its own caller holds)."""
        if self.slots is None or _HOLDING.get():
            return None
        commits = _COMMITS.get()
        # Only a door's request (it counts its commits) that has committed nothing yet may be
        # refused: later transactions of a request, workers and the CLI wait their turn.
        bounded = refusable and commits is not None and commits.count == 0
        try:
            taken = self.slots.acquire(self._wait_seconds, bounded=bounded)
        except QueueFull:
            raise overloaded() from None
        if not taken:
            raise overloaded()
        return _HOLDING.set(True)


@dataclass
class Commits:
    """How many transactions a request committed so far: an error answer says "nothing was
    recorded" only when that is true (a request may span several use cases)."""

    count: int = 0


#: The commits of the request being served (set by the door for each request; threads the
#: request hands work to inherit it).
_COMMITS: ContextVar[Commits | None] = ContextVar("carnet_commits", default=None)


@contextmanager
def counting_commits() -> Iterator[Commits]:
    commits = Commits()
    token = _COMMITS.set(commits)
    try:
        yield commits
    finally:
        _COMMITS.reset(token)


def _commit(session: Session) -> None:
    try:
        for wait in session.info["before_commit"]:
            wait()
    except BaseException:
        session.rollback()
        raise
    session.commit()
    commits = _COMMITS.get()
    if commits is not None:
        commits.count += 1


def before_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` just before the transaction commits; if it raises, nothing commits.

    For work started alongside the transaction that its rows depend on (a blob being written
    while the statements run): the commit waits for it, and fails with it.
    """
    callbacks: list[Callable[[], None]] = session.info.setdefault("before_commit", [])
    callbacks.append(callback)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction has committed (not if it rolls back)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault("after_commit", [])
    callbacks.append(callback)
