"""The unit of work: one transaction per use case, and what runs after its commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


def _commit(session: Session) -> None:
    try:
        for wait in session.info["before_commit"]:
            wait()
    except BaseException:
        session.rollback()
        raise
    session.commit()


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
