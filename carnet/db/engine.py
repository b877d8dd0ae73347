"""Engines: SQLite (WAL, foreign keys, busy timeout, durable commits) or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
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
    def _in_utc(dbapi_connection: Any, _record: Any) -> None:
        """Sessions in UTC: psycopg then hands timestamps with ``datetime.UTC`` itself, which
        ``UtcDateTime`` passes as they are, where a server zone (``Etc/UTC``, ``Europe/Paris``)
        made it convert every value read (bench/listing.py on PostgreSQL: 2.02x -> 1.74-1.84x
        the bare select). Set once per connection, by a statement rather than a startup
        option, which poolers such as PgBouncer refuse."""
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit

    return engine


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MB: a register's indexes outgrow 2 MB
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every use case writes (reads leave a trace), so take the write lock up front: two
        # deferred transactions upgrading at once would fail with SQLITE_BUSY instead of waiting.
        # Sent on the driver's connection: SQLAlchemy's execution path for a statement that
        # returns nothing cost more than SQLite's work (issue 19).
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
