"""The hottest statements, compiled once and run on the driver's own cursor.

SQLAlchemy builds and compiles our statements (dialects, types, Citus included) but its
execution path costs ~40-50 µs of CPU a statement over the bare driver (cache-key lookup,
execution context, parameter processing, result metadata) and the ORM session's bookkeeping
more: for a listing's four statements, more CPU than the driver and the database together
(issues 18, 19). A ``Prepared`` statement is compiled by SQLAlchemy once per dialect; each
execution then converts the bound values and the result columns exactly as SQLAlchemy would
(the types' own processors) and hands the SQL to the cursor of the transaction's connection.

What SQLAlchemy still does for these statements: the engine's ``before_cursor_execute``
listeners hear them (tests count round trips, ``bench/scale.py`` explains them), and a driver
error comes out as the same ``sqlalchemy.exc.DBAPIError`` subclass, a lost connection
invalidated with the rest of its pool.

Only for statements whose SQL does not depend on the values (no expanding ``IN``, no
``literal_execute``): those are refused when compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

Convert = Callable[[Any], Any]
T = TypeVar("T")
_NONE: Mapping[str, Any] = {}
#: Plans kept per statement: one engine (its dialect) in a server, many in a test run.
_DIALECTS = 8


@dataclass(frozen=True)
class _Plan:
    """A statement as one dialect's driver takes it."""

    sql: str
    #: The parameters in the driver's order (positional styles), else ``None`` (a dict).
    order: tuple[str, ...] | None
    #: Values the statement itself holds (``status != 'deleted'``), converted once.
    fixed: Mapping[str, Any]
    #: The caller's parameters and how each value is converted (``None``: as it is).
    given: tuple[tuple[str, Convert | None], ...]
    #: Columns whose default is computed at each execution (``default=new_id``).
    computed: tuple[tuple[str, Callable[[Any], Any], Convert | None], ...]
    #: The result columns that are converted, and how (by position).
    readers: tuple[tuple[int, Convert], ...]


class Prepared:
    """One statement, planned per dialect on first use (module-level constants: a plan is a
    few compiled strings, kept for the process's life)."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan] = {}

    def all(
        self, connection: Connection, params: Mapping[str, Any] = _NONE
    ) -> list[tuple[Any, ...]]:
        """Every row, converted as SQLAlchemy would."""
        return self.made(tuple, connection, params)

    def made(
        self,
        make: Callable[[Sequence[Any]], T],
        connection: Connection,
        params: Mapping[str, Any] = _NONE,
    ) -> list[T]:
        """Every row, converted, as ``make`` builds it from the row's values (a named tuple's
        ``_make``: no plain tuple built on the way)."""
        plan, cursor = self._run(connection, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        readers = plan.readers
        if not readers:
            return [make(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for index, read in readers:
                value = values[index]
                if value is not None:
                    values[index] = read(value)
            converted.append(make(values))
        return converted

    def one_or_none(
        self, connection: Connection, params: Mapping[str, Any] = _NONE
    ) -> tuple[Any, ...] | None:
        """The one row, or ``None``; more than one is a programming error."""
        rows = self.all(connection, params)
        if len(rows) > 1:
            raise ValueError("more than one row")
        return rows[0] if rows else None

    def execute(self, connection: Connection, params: Mapping[str, Any] = _NONE) -> int:
        """A statement without result (``INSERT``, ``UPDATE``): the rows it touched."""
        _, cursor = self._run(connection, params)
        try:
            count: int = cursor.rowcount
        finally:
            cursor.close()
        return count

    def _run(self, connection: Connection, params: Mapping[str, Any]) -> tuple[_Plan, Any]:
        dialect = connection.dialect
        plan = self._plans.get(dialect)
        if plan is None:
            if len(self._plans) >= _DIALECTS:  # engines come and go (tests): keep a few
                self._plans.clear()
            plan = self._plans[dialect] = _plan(self.statement, dialect)
        values = dict(plan.fixed)
        for name, convert in plan.given:
            values[name] = _converted(convert, params[name])
        for name, make, convert in plan.computed:
            # SQLAlchemy's wrapper of a plain callable ignores its context.
            values[name] = _converted(convert, make(None))
        driver_params: Any = values if plan.order is None else tuple(values[n] for n in plan.order)
        cursor = connection.connection.cursor()
        # The engine's listeners (a connection's own dispatcher joins them anew at each look-up,
        # which cost more than the check): tests and benches listen on the engine.
        listeners = connection.engine.dispatch.before_cursor_execute
        if listeners:
            for listener in listeners:
                listener(connection, cursor, plan.sql, driver_params, None, False)
        try:
            cursor.execute(plan.sql, driver_params)
        except Exception as error:
            cursor.close()
            raise _wrapped(connection, plan.sql, driver_params, error) from error
        return plan, cursor


@lru_cache(maxsize=64)
def row_insert(table: Table, columns: tuple[str, ...]) -> Prepared:
    """One row's ``INSERT`` into ``table``, its values bound by column name (an act's document,
    trace or notification: one row each, the usual case)."""
    return Prepared(
        insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in columns})
    )


def _plan(statement: ClauseElement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError("not a SQL statement")
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("its SQL depends on its values (expanding or literal parameters)")
    if compiled.escaped_bind_names:
        raise ValueError("a parameter name the driver cannot take as it is")
    fixed: dict[str, Any] = {}
    given: list[tuple[str, Convert | None]] = []
    computed: list[tuple[str, Callable[[Any], Any], Convert | None]] = []
    # Columns the statement leaves out but whose default Python supplies (``INSERT`` of a
    # table, ``onupdate``): SQLAlchemy computes them at each execution, so do we.
    defaults = {c.key: c for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
    for bind, name in compiled.bind_names.items():
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        column = defaults.get(bind.key)
        if column is not None:
            default = column.onupdate if column in compiled.update_prefetch else column.default
            if isinstance(default, ScalarElementColumnDefault):
                fixed[name] = _converted(convert, default.arg)
            elif isinstance(default, CallableColumnDefault):
                computed.append((name, default.arg, convert))
            else:
                raise ValueError(f"{column.key}: a default SQLAlchemy alone knows how to run")
        elif bind.required:
            given.append((name, convert))
        else:
            fixed[name] = _converted(convert, bind.effective_value)
    columns: Sequence[Any] = getattr(statement, "selected_columns", ())
    found = (c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    readers = tuple((i, read) for i, read in enumerate(found) if read is not None)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _Plan(compiled.string, order, fixed, tuple(given), tuple(computed), readers)


def _converted(convert: Convert | None, value: Any) -> Any:
    """``value`` as the driver takes it (``None`` passes as it is, as SQLAlchemy passes it)."""
    return value if convert is None or value is None else convert(value)


def _wrapped(connection: Connection, sql: str, params: Any, error: Exception) -> Exception:
    """The driver's ``error`` as SQLAlchemy would have raised it (``IntegrityError`` for a
    duplicate key…), the connection invalidated when it was lost; anything else as it is."""
    dialect = connection.dialect
    dbapi: Any = dialect.loaded_dbapi
    if not isinstance(error, dbapi.Error):
        return error
    raw: Any = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(error, raw, None)
    if lost:
        forget_lost(connection, error)
    wrapped: Exception = DBAPIError.instance(
        sql, params, error, dbapi.Error, connection_invalidated=lost
    )
    return wrapped


def forget_lost(connection: Connection, error: BaseException) -> None:
    """The server dropped ``connection``: invalidate it, and the pool's other connections with
    it, as SQLAlchemy's own execution does on a disconnect — a server restart or a network cut
    drops them all, and the next request must not meet one of them (tests/http/test_load.py).
    The pool is replaced and its idle connections closed (left open, the driver warns when they
    are collected); one another thread holds fails on its own if it was dropped too."""
    connection.invalidate(error)
    connection.engine.dispose()
