"""The unit of work: one transaction per use case, and what runs after its commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """Hands out transactions; a use case commits once, then its after-commit callbacks run.

    Callbacks are where a use case talks to the outside (wake a worker, send a reply): never
    before its data is durable. Any exception rolls the transaction back whole; a refusal's
    traces are appended afterwards by ``Runtime.transaction``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
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
        for callback in callbacks:
            callback()


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
