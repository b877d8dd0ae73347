"""One clock (issue 18, TR-1's timestamps): every timestamp read back is the same instant, as
an aware UTC datetime, whatever zone it was written in and whatever zone the server runs in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, literal, select

from carnet.db.base import UtcDateTime, _psycopg_result
from carnet.db.engine import make_engine

PARIS_NOON = datetime(2026, 7, 14, 12, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Paris"))


def _written_and_read(engine: Engine, at: datetime) -> datetime:
    """``at`` sent to the database and read back, both ways through ``UtcDateTime``."""
    with engine.connect() as connection:
        value: datetime = connection.execute(select(literal(at, UtcDateTime()))).scalar_one()
    return value


def test_issue_18_a_timestamp_reads_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    read = _written_and_read(engine, PARIS_NOON)
    assert read == PARIS_NOON
    assert read.tzinfo is UTC
    assert read.hour == 10  # noon in Paris in July is 10:00 UTC


def test_issue_18_a_server_in_another_zone_changes_nothing(engine: Engine) -> None:
    """A URL (or a server) that sets another session zone: ours is set after it, and wins."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a session time zone is PostgreSQL's")
    url = engine.url.update_query_dict({"options": "-c TimeZone=Asia/Tokyo"})
    other = make_engine(url.render_as_string(hide_password=False))
    try:
        with other.connect() as connection:
            assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
        read = _written_and_read(other, PARIS_NOON)
    finally:
        other.dispose()
    assert read == PARIS_NOON
    assert read.tzinfo is UTC


def test_issue_18_psycopg_values_in_any_zone_are_handed_out_in_utc() -> None:
    tokyo = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    fixed = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    for value in (tokyo, fixed, PARIS_NOON.astimezone(UTC)):
        out = _psycopg_result(value)
        assert out == value
        assert out is not None
        assert out.tzinfo is UTC
    assert _psycopg_result(None) is None
    naive = _psycopg_result(datetime(2026, 1, 1, 9, 0))
    assert naive == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
