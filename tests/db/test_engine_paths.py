"""What every statement goes through, kept short (issue 19: CPU per request): SQLite's write
lock taken at BEGIN without any connection event, PostgreSQL results described only when
asked — and both still doing what callers rely on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from carnet.db.engine import make_engine


def test_issue_19_sqlite_takes_the_write_lock_at_begin_without_connection_events(
    tmp_path: Path,
) -> None:
    """TR-1 (every read leaves a trace: every transaction writes): the lock is taken up front,
    so two transactions never both upgrade and fail with SQLITE_BUSY; and no connection event
    is listened to, which would make SQLAlchemy dispatch four more around every statement."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        assert not engine._has_events
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (a INTEGER)"))
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))  # a read: the lock is held all the same
            other = sqlite3.connect(tmp_path / "lock.db", timeout=0.05, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    finally:
        engine.dispose()


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cursors")
    return engine


def test_issue_19_a_result_is_described_as_psycopg_describes_it(pg: Engine) -> None:
    """The columns, read after the cursor moved to another result, are those of the result
    they were asked of; a statement that returns nothing has no description."""
    import psycopg

    with pg.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute("SELECT 1 AS one, 'x'::text AS two, now() AS three")
        ours = cursor.description
        plain = psycopg.Cursor(raw)
        plain.execute("SELECT 1 AS one, 'x'::text AS two, now() AS three")
        theirs = plain.description
        cursor.execute("SELECT 2 AS other")  # ours is read only now
        assert ours is not None
        assert theirs is not None
        assert len(ours) == len(theirs) == 3
        assert [tuple(c) for c in ours] == [tuple(c) for c in theirs]
        assert [c.name for c in ours] == ["one", "two", "three"]
        cursor.execute("CREATE TEMPORARY TABLE described (a integer)")
        assert cursor.description is None
        cursor.execute("SELECT a FROM described")  # no rows, still a result with columns
        assert cursor.description is not None
        assert cursor.description[0].name == "a"
        assert connection.execute(text("SELECT 3 AS n, 'y' AS m")).mappings().one() == {
            "n": 3,
            "m": "y",
        }
