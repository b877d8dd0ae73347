"""The declarative base and column types shared by every capability's tables.

Patient tables are keyed ``(patient_id, id)``: the patient's key leads every primary key so the
schema can be distributed by patient (Citus ``create_distributed_table(..., 'patient_id')``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, MetaData, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # SQLite keeps datetimes as text. Its generic processors (text <-> naive datetime) chained
    # with the two methods above cost more than the query when a listing reads hundreds of
    # rows or an import writes a million: one step each way instead, in SQLAlchemy's own text
    # format (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC), so stored values compare as before.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_bind

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_result
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            return _psycopg_result
        return super().result_processor(dialect, coltype)


def _sqlite_bind(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def _psycopg_result(value: datetime | None) -> datetime | None:
    # Sessions are in UTC (``db.engine``): psycopg's value is already what we hand out.
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _sqlite_result(value: str | None) -> datetime | None:
    # An offset in the text is five times cheaper than ``.replace(tzinfo=UTC)`` afterwards.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012 - read once by SQLAlchemy


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as one (``__table__`` is typed as any ``FromClause``), for
    Core statements on hot paths."""
    return cast(Table, model.__table__)
