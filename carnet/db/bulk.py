"""Many rows at once, straight to the driver.

SQLAlchemy's Core ``executemany`` runs every value of every row through its type machinery;
for a million-row import that costs several times what the database does. Here the caller
converts what needs converting once (``to_driver``: a batch's timestamp is the same for every
row) and hands tuples, which the drivers bind fastest.

On PostgreSQL the rows go by ``COPY`` (issue 18): an ``executemany`` there is still one
``INSERT`` per row, each parsed, planned and answered by the server, which made a population
import several times slower than on SQLite; ``COPY`` streams the batch as one statement. SQLite
has no ``COPY`` and its ``executemany`` runs in-process, so it keeps it.

``COPY`` goes in PostgreSQL's binary format where every column's type has one psycopg writes in
C (text, dates, timestamps, bytes, integers, booleans): a timestamp is then eight bytes, not a
text psycopg formats and the server parses again. A profile's row and its code's cost our side
a quarter of their text form's CPU (0.22 against 0.85 s for 200,000 of each), and the server
less too. A table with another type of column goes as text.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError

from carnet.db.direct import forget_lost

#: Citus relays a worker's unique violation during ``COPY`` as an internal error (SQLSTATE XX000)
#: carrying the worker's message: known by its text, it is the duplicate key it is.
_CITUS_DUPLICATE = "duplicate key value violates unique constraint"


def converter(
    connection: Connection, column: ColumnElement[Any], *, never_null: bool = False
) -> Callable[[Any], Any]:
    """What SQLAlchemy would do to a value of ``column`` before sending it to the driver
    (``never_null``: the caller has no ``None`` to pass, one check less per value). Taken once
    from ``connection``, then used without it: from another thread, after the connection has
    gone back to its pool (an import makes its next batch's rows ahead, in a thread of its
    own)."""
    processor = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    if processor is None:
        return _same
    if never_null:
        return processor
    return lambda value: None if value is None else processor(value)


def to_driver(connection: Connection, column: ColumnElement[Any], value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would have sent)."""
    return converter(connection, column)(value)


def _copies(dialect: Dialect) -> bool:
    """Whether ``insert_many`` writes by ``COPY`` on this dialect (psycopg's PostgreSQL)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _same(value: Any) -> Any:
    return value


def _checked_names(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[str, str]:
    """The table's and the columns' names as the statement spells them, every column checked
    to be the table's (the names are then safe to paste into SQL)."""
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    quote = dialect.identifier_preparer.quote
    return dialect.identifier_preparer.format_table(table), ", ".join(quote(c) for c in columns)


@lru_cache(maxsize=64)
def _statement(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str:
    target, names = _checked_names(dialect, table, columns)
    if dialect.paramstyle in ("format", "pyformat"):  # psycopg
        marker = "%s"
    elif dialect.paramstyle == "qmark" or dialect.name == "sqlite":
        marker = "?"
    else:
        raise NotImplementedError(f"{dialect.name} ({dialect.paramstyle})")
    markers = ", ".join(marker for _ in columns)
    return f"INSERT INTO {target} ({names}) VALUES ({markers})"  # noqa: S608 - names checked above


#: PostgreSQL's names of the column types ``COPY`` sends in binary (psycopg's C writers); the
#: values are those SQLAlchemy's processors give for them (``str``, ``date``, aware
#: ``datetime``, ``bytes``, ``int``, ``bool``).
_BINARY_TYPES = frozenset(
    {
        "varchar",
        "text",
        "date",
        "timestamp with time zone",
        "bytea",
        "smallint",
        "integer",
        "bigint",
        "boolean",
    }
)


class _Copy(NamedTuple):
    statement: str
    types: tuple[str, ...] | None  # the columns' types, for the binary format; None: text


@lru_cache(maxsize=64)
def _copy_of(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> _Copy:
    target, names = _checked_names(dialect, table, columns)
    types = tuple(
        table.c[c].type.compile(dialect=dialect).split("(")[0].strip().lower() for c in columns
    )
    if _BINARY_TYPES.issuperset(types):
        return _Copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)", types)
    return _Copy(f"COPY {target} ({names}) FROM STDIN", None)


@dataclass(frozen=True, eq=False)
class Formatted:
    """Rows of one table already in ``COPY``'s binary form, header and trailer included
    (``formatter``): ``insert_many`` sends them in one write."""

    copy: _Copy  # the statement they were made for
    data: bytes
    count: int

    def __len__(self) -> int:
        return self.count


#: Rows for ``insert_many``: tuples, or their ``COPY`` form made ahead (``formatter``).
Rows = Sequence[tuple[Any, ...]] | Formatted


def formatter(
    connection: Connection, table: Table, columns: tuple[str, ...]
) -> Callable[[Sequence[tuple[Any, ...]]], Rows]:
    """What readies a batch of rows for ``insert_many``, taken once from ``connection`` and then
    used without it, by one other thread (an import's reader, while the batch before is stored).

    On PostgreSQL, for a table ``COPY`` sends in binary: the rows in that form, made by psycopg
    offline (a ``Copy`` writing to memory, never to the server: its documented ``FileWriter``
    use). The thread that talks to the server then sends a batch in one write, instead of
    formatting it a row at a time while the reader holds the interpreter: each row waited for
    its turn, and the server for the rows (issue 18). Elsewhere the rows as they are."""
    dialect = connection.dialect
    copy_of = _copy_of(dialect, table, columns) if _copies(dialect) else None
    if copy_of is None or copy_of.types is None:
        return _same  # the rows as they are
    import psycopg
    from psycopg.copy import FileWriter

    types = copy_of.types
    driver_connection: Any = connection.connection.driver_connection
    offline = driver_connection.cursor()  # executes nothing

    def formatted(rows: Sequence[tuple[Any, ...]]) -> Rows:
        out = io.BytesIO()
        with psycopg.Copy(offline, binary=True, writer=FileWriter(out)) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        return Formatted(copy_of, out.getvalue(), len(rows))

    return formatted


def insert_many(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Rows,
) -> None:
    """INSERT ``rows``: tuples in the order of ``columns``, values in the driver's form, or
    their ``COPY`` form made for this table and these columns (``formatter``), in the
    connection's transaction (``COPY`` on PostgreSQL)."""
    if not rows:
        return
    if isinstance(rows, Formatted):
        if rows.copy != _copy_of(connection.dialect, table, columns):
            raise ValueError(f"rows formatted for another statement than {table.name}'s")
        with _copying(connection, rows.copy) as copy:
            copy.write(rows.data)
        return
    with inserting(connection, table, columns) as add:
        for row in rows:
            add(row)


@contextmanager
def inserting(
    connection: Connection, table: Table, columns: tuple[str, ...]
) -> Iterator[Callable[[tuple[Any, ...]], None]]:
    """``insert_many`` a row at a time, as the caller makes them: on PostgreSQL the ``COPY`` is
    open while the caller works, so the server stores the rows it has while the next are made
    (a list, then its ``COPY``, waits for one then the other); elsewhere the rows are gathered
    and inserted when the block ends. Nothing else runs on the connection inside the block; an
    error inside it leaves none of the rows (the ``COPY`` is cancelled with it)."""
    dialect = connection.dialect
    if not _copies(dialect):
        rows: list[tuple[Any, ...]] = []
        yield rows.append
        if rows:
            connection.exec_driver_sql(_statement(dialect, table, columns), rows)
        return
    copy_of = _copy_of(dialect, table, columns)
    with _copying(connection, copy_of) as copy:
        if copy_of.types is not None:
            copy.set_types(copy_of.types)
        yield copy.write_row


@contextmanager
def _copying(connection: Connection, copy_of: _Copy) -> Iterator[Any]:
    """``COPY … FROM STDIN`` by psycopg's ``cursor.copy()``, its data written as it comes, on
    the connection's own driver connection, so inside its transaction. SQLAlchemy does not see
    this statement: a failure is raised as the same SQLAlchemy error an ``INSERT`` would have
    raised (``IntegrityError`` for a duplicate key, Citus's relayed one included), and a
    connection lost on the way is invalidated as SQLAlchemy would, its pool with it
    (``forget_lost``)."""
    import psycopg

    driver_connection: Any = connection.connection.driver_connection
    statement = copy_of.statement
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            yield copy
    except psycopg.Error as error:
        reason: Any = error  # SQLAlchemy types it as its DBAPI protocol's error
        lost = connection.dialect.is_disconnect(reason, driver_connection, None)
        if lost:
            forget_lost(connection, error)
        if _relayed_duplicate(error):
            raise IntegrityError(statement, None, reason) from error
        raise DBAPIError.instance(
            statement, None, error, psycopg.Error, connection_invalidated=lost
        ) from error


def _relayed_duplicate(error: Exception) -> bool:
    """A duplicate key that Citus's ``COPY`` relayed from a worker without its SQLSTATE."""
    import psycopg

    if not isinstance(error, psycopg.errors.InternalError_):
        return False
    primary = error.diag.message_primary or ""
    return primary.startswith(_CITUS_DUPLICATE)


def select_in(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    key: str,
    values: Sequence[Any],
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE key IN values``, for a batch of a few thousand keys.

    SQLAlchemy expands an IN list into one named parameter per value, which for 2,000 values
    costs it more than the database's 2,000 index look-ups; here the list goes to the driver
    as it is (``= ANY(array)`` on PostgreSQL; text keys as one text the server splits, which
    psycopg sends as it is where it writes an array a value at a time). Results are converted
    as SQLAlchemy would.
    """
    if not values:
        return []
    dialect = connection.dialect
    params: tuple[Any, ...]
    if dialect.paramstyle in ("format", "pyformat"):
        joined = _joined(values)
        params = (list(values),) if joined is None else (joined,)
        sql = _select_statement(dialect, table, columns, key, 0, joined is not None)
    else:
        params = tuple(values)
        sql = _select_statement(dialect, table, columns, key, len(values), False)
    processors = [
        table.c[c].type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
    ]
    rows = connection.exec_driver_sql(sql, params).all()
    if not any(processors):
        return [tuple(r) for r in rows]
    return [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True))
        for r in rows
    ]


def _joined(values: Sequence[Any]) -> str | None:
    """Text keys as one text, a line each, if every key is text without a line break; else
    ``None`` (the keys go as an array). A lone empty key stays an array: split, the empty text
    is no key at all."""
    if not all(type(v) is str for v in values):
        return None
    joined = "\n".join(values)
    return joined if joined and joined.count("\n") == len(values) - 1 else None


@lru_cache(maxsize=64)
def _select_statement(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    key: str,
    count: int,
    joined: bool,
) -> str:
    known = set(table.c.keys())
    if not set(columns) | {key} <= known:
        raise ValueError(f"not columns of {table.name}: {sorted(set(columns) | {key} - known)}")
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if dialect.paramstyle in ("format", "pyformat"):  # psycopg adapts a list to an array
        keys = "string_to_array(%s, E'\\n')" if joined else "%s"
        condition = f"{quote(key)} = ANY({keys})"
    elif dialect.paramstyle == "qmark" or dialect.name == "sqlite":
        condition = f"{quote(key)} IN ({', '.join('?' for _ in range(count))})"
    else:
        raise NotImplementedError(f"{dialect.name} ({dialect.paramstyle})")
    target = dialect.identifier_preparer.format_table(table)
    return f"SELECT {names} FROM {target} WHERE {condition}"  # noqa: S608 - names checked above
