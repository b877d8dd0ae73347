"""Engines: SQLite (WAL, foreign keys, busy timeout, durable commits) or PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: A pooled PostgreSQL connection older than this is replaced at its next checkout.
RECYCLE_SECONDS = 1800


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # No pre-ping: it cost a round trip on every checkout (issue 19). A connection is recycled
    # before servers or firewalls drop idle ones; one found dead mid-request invalidates the
    # pool (SQLAlchemy), and that request is answered 503 with Retry-After (http.errors), never
    # half-done: its transaction never committed.
    engine = create_engine(
        url, echo=echo, pool_recycle=RECYCLE_SECONDS, pool_size=10, max_overflow=20
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        """Sessions in UTC: psycopg then hands timestamps with ``datetime.UTC`` itself, which
        ``UtcDateTime`` passes as they are, where a server zone (``Etc/UTC``, ``Europe/Paris``)
        made it convert every value read (bench/listing.py on PostgreSQL: 2.02x -> 1.74-1.84x
        the bare select). Set once per connection, by a statement rather than a startup
        option, which poolers such as PgBouncer refuse. And cursors that describe their
        results only when asked (``lazy_description_cursor``)."""
        dbapi_connection.cursor_factory = lazy_description_cursor()
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit

    return engine


@cache
def lazy_description_cursor() -> type[Any]:
    """psycopg's cursor, but ``description`` builds its ``Column``s only when one is read.

    SQLAlchemy reads ``cursor.description`` after every statement, and for a compiled statement
    whose result it has seen before only asks whether it is ``None``; psycopg built a ``Column``
    per column of the result each time (name decoded, type looked up): for a listing's 34
    columns, more CPU than the rows it fetched (issue 19). Imported here, not at module level:
    SQLite-only installs need no psycopg."""
    import psycopg
    from psycopg.pq import ExecStatus

    tuples = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)

    class LazyDescriptionCursor(psycopg.Cursor[Any]):
        @property  # a sequence, not the list psycopg declares: all a DB-API reader may assume
        def description(self) -> Sequence[psycopg.Column] | None:  # type: ignore[override]
            result = self.pgresult
            if result and (result.nfields or result.status in tuples):
                return _Description(
                    SimpleNamespace(
                        pgresult=result, _encoding=self._encoding, adapters=self.adapters
                    ),
                    result.nfields,
                )
            return None

    return LazyDescriptionCursor


class _Description(Sequence[Any]):
    """The columns of one result, built on first use from what the cursor held then (the
    cursor may have moved to another result since)."""

    __slots__ = ("_columns", "_count", "_source")

    def __init__(self, source: SimpleNamespace, count: int) -> None:
        self._source, self._count = source, count
        self._columns: list[Any] | None = None

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if self._columns is None:
            from psycopg import Column

            self._columns = [Column(self._source, i) for i in range(self._count)]  # type: ignore[arg-type]
        return self._columns[index]


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (``_begin_immediate``).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MB: a register's indexes outgrow 2 MB
        cursor.close()

    # Every use case writes (reads leave a trace), so take the write lock up front: two
    # deferred transactions upgrading at once would fail with SQLITE_BUSY instead of waiting.
    # The dialect's own begin, not a "begin" event: any connection event makes SQLAlchemy
    # dispatch four more (empty) events around every statement, ~9 % of an upload's CPU on
    # tmpfs (issue 18); sent on the driver's connection, whose execution path is far shorter.
    engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
    return engine


def _begin_immediate(dbapi_connection: Any) -> None:
    dbapi_connection.execute("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
