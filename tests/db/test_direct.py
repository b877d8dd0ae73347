"""Issues 18 and 19: ``db.direct.Prepared`` runs the hottest statements on the driver's cursor,
and must answer exactly what SQLAlchemy's own execution answers — same rows, same Python types
(aware UTC datetimes, dates, booleans, bytes, nulls), the statement's own constants bound, the
same errors — on SQLite and on PostgreSQL, while SQLAlchemy's listeners still hear it."""

from __future__ import annotations

import gc
import sys
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from support import NOW, PG_URL

from carnet.db.base import table_of
from carnet.db.direct import Prepared
from carnet.ids import new_id
from carnet.population.models import Patient

PATIENTS = table_of(Patient)
_COLUMNS = (
    Patient.id,
    Patient.ins,
    Patient.birth_date,
    Patient.created_at,
    Patient.activated_at,
    Patient.activation_code_hash,
    Patient.email,
    Patient.state,
)
NEW_ROW = (
    "id",
    "ins",
    "ins_status",
    "birth_names",
    "first_names",
    "sex",
    "birth_date",
    "birth_place",
    "state",
    "created_at",
    "updated_at",
)
BY_STATE = select(*_COLUMNS).where(
    Patient.state == bindparam("state"), Patient.ins != "000000000000000"
)


def _add(engine: Engine, ins: str, **values: Any) -> str:
    patient_id = new_id()
    row = {
        "id": patient_id,
        "ins": ins,
        "ins_status": "VALI",
        "birth_names": "MARTIN",
        "first_names": "Claire",
        "sex": "F",
        "birth_date": date(1985, 4, 12),
        "birth_place": "75056",
        "state": "created",
        "created_at": NOW,
        "updated_at": NOW,
    } | values
    with engine.begin() as connection:
        connection.execute(insert(PATIENTS), row)
    return patient_id


def test_issue_19_prepared_rows_are_sqlalchemys_rows(engine: Engine) -> None:
    """Every kind of value read back as SQLAlchemy's own execution reads it, row for row."""
    _add(engine, "285047505601245", activated_at=NOW + timedelta(days=2), email="c@example.org")
    _add(engine, "185047505601289", activation_code_hash=b"\x00\xffcode")
    _add(engine, "000000000000000")  # the statement's own constant excludes it
    _add(engine, "285047505601246", state="opposed")
    with engine.begin() as connection:
        ours = Prepared(BY_STATE).all(connection, {"state": "created"})
        theirs = [tuple(r) for r in connection.execute(BY_STATE, {"state": "created"})]
    assert sorted(ours) == sorted(theirs)
    assert len(ours) == 2
    for row in ours:
        assert isinstance(row[2], date)
        assert row[3] == NOW
        assert row[3].utcoffset() == timedelta(0)
    assert {row[4] for row in ours} == {NOW + timedelta(days=2), None}
    assert {row[5] for row in ours} == {b"\x00\xffcode", None}


def test_issue_19_prepared_binds_values_as_sqlalchemy_does(engine: Engine) -> None:
    """Dates and aware datetimes go in through the columns' own types: what the driver stores
    compares equal to what SQLAlchemy stored."""
    patient_id = _add(engine, "285047505601245")
    later = NOW + timedelta(hours=5)
    move = Prepared(
        update(PATIENTS)
        .where(Patient.id == bindparam("key"))
        .values(activated_at=bindparam("at", type_=PATIENTS.c.activated_at.type))
    )
    since = Prepared(select(Patient.id).where(Patient.activated_at >= bindparam("since")))
    with engine.begin() as connection:
        assert move.execute(connection, {"key": patient_id, "at": later}) == 1
        assert move.execute(connection, {"key": "nobody", "at": later}) == 0
    with engine.begin() as connection:
        assert (
            connection.execute(
                select(Patient.activated_at).where(Patient.id == patient_id)
            ).scalar_one()
            == later
        )
        assert since.all(connection, {"since": later}) == [(patient_id,)]
        assert since.all(connection, {"since": later + timedelta(microseconds=1)}) == []


def test_issue_19_prepared_one_or_none(engine: Engine) -> None:
    patient_id = _add(engine, "285047505601245")
    _add(engine, "185047505601289")
    one = Prepared(select(Patient.id, Patient.state).where(Patient.id == bindparam("key")))
    with engine.begin() as connection:
        assert one.one_or_none(connection, {"key": patient_id}) == (patient_id, "created")
        assert one.one_or_none(connection, {"key": "nobody"}) is None
        with pytest.raises(ValueError, match="more than one"):
            Prepared(select(Patient.id)).one_or_none(connection)


def test_issue_19_prepared_duplicate_key_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    """A driver error comes out as SQLAlchemy's: the doors' error handling (503 for a lost
    connection, 409 for a conflict) sees the same exceptions on both paths."""
    patient_id = _add(engine, "285047505601245")
    again = Prepared(
        insert(PATIENTS).values(
            {name: bindparam(name, type_=PATIENTS.c[name].type) for name in NEW_ROW}
        )
    )
    row = {
        "id": patient_id,
        "ins": "185047505601289",
        "ins_status": "VALI",
        "birth_names": "X",
        "first_names": "Y",
        "sex": "M",
        "birth_date": date(1985, 4, 12),
        "birth_place": "75056",
        "state": "created",
        "created_at": NOW,
        "updated_at": NOW,
    }
    with pytest.raises(IntegrityError), engine.begin() as connection:
        again.execute(connection, row)
    with engine.begin() as connection:
        again.execute(connection, row | {"id": new_id()})
        count = connection.execute(select(Patient.id)).all()
    assert len(count) == 2


def test_issue_19_listeners_hear_prepared_statements(engine: Engine) -> None:
    """``before_cursor_execute`` hears the SQL and the driver's parameters (tests count round
    trips by it; bench/scale.py explains each statement with them)."""
    heard: list[tuple[str, Any]] = []

    def spy(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        heard.append((statement, parameters))

    prepared = Prepared(BY_STATE)
    event.listen(engine, "before_cursor_execute", spy)
    try:
        with engine.begin() as connection:
            prepared.all(connection, {"state": "created"})
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    ((statement, parameters),) = heard
    assert "FROM patients" in statement
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert set(values) == {"created", "000000000000000"}


def test_issue_19_prepared_refuses_sql_that_depends_on_its_values(engine: Engine) -> None:
    """An expanding ``IN`` is rendered again at each execution: not a statement to prepare."""
    expanding = Prepared(
        select(Patient.id).where(Patient.state.in_(bindparam("states", expanding=True)))
    )
    with engine.begin() as connection, pytest.raises(ValueError, match="depends on its values"):
        expanding.all(connection, {"states": ["created"]})


def test_issue_19_a_missing_parameter_is_an_error_not_a_null(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(KeyError):
        Prepared(BY_STATE).all(connection, {})


def test_issue_19_prepared_fills_python_defaults_as_sqlalchemy_does(engine: Engine) -> None:
    """A column left out of an ``INSERT`` (or ``UPDATE``) gets its Python-side default, a
    constant or a call made at each execution — what SQLAlchemy's execution would send."""
    made = iter(range(1, 100))
    metadata = MetaData()
    table = Table(
        "direct_defaults",
        metadata,
        Column("id", String(20), primary_key=True),
        Column("kind", String(20), nullable=False, default="plain"),
        Column("turn", Integer, nullable=False, default=lambda: next(made)),
        Column("touched", Integer, nullable=True, onupdate=lambda: 1000 + next(made)),
    )
    metadata.create_all(engine)
    try:
        add = Prepared(insert(table).values(id=bindparam("id")))
        touch = Prepared(update(table).where(table.c.id == bindparam("key")).values(kind="x"))
        with engine.begin() as connection:
            add.execute(connection, {"id": "a"})
            add.execute(connection, {"id": "b"})
            touch.execute(connection, {"key": "b"})
            rows = sorted(connection.execute(select(table)).all())
        assert [tuple(r) for r in rows] == [("a", "plain", 1, None), ("b", "x", 2, 1003)]
    finally:
        metadata.drop_all(engine)


class _Seen(NamedTuple):
    id: str
    ins: str
    birth_date: date
    created_at: datetime
    activated_at: datetime | None
    activation_code_hash: bytes | None
    email: str | None
    state: str


def test_issue_19_prepared_rows_made_by_the_callers_row_type(engine: Engine) -> None:
    """``made`` builds each row with the caller's type from the converted values."""
    patient_id = _add(engine, "285047505601245")
    with engine.begin() as connection:
        (row,) = Prepared(BY_STATE).made(_Seen._make, connection, {"state": "created"})
    assert isinstance(row, _Seen)
    assert (row.id, row.birth_date, row.created_at) == (patient_id, date(1985, 4, 12), NOW)


@pytest.mark.skipif(not PG_URL, reason="a dropped connection is a PostgreSQL server's event")
def test_issue_19_a_lost_connection_takes_its_pool_along_and_closes_it() -> None:
    """The server drops every connection of a pool (a restart, a network cut): the statement
    that meets one fails as SQLAlchemy's disconnect error, the next gets a fresh connection, and
    the dead ones are closed, not left for the collector (psycopg warns of each open one)."""
    from carnet.db.engine import make_engine

    assert PG_URL is not None
    engine = make_engine(PG_URL)
    one = Prepared(select(literal(1)).where(literal(1) == bindparam("k")))
    try:
        held = [engine.connect() for _ in range(3)]
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in held]
        for connection in held:
            connection.close()  # back to the pool, idle
        admin = make_engine(PG_URL)
        with admin.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM unnest(%(pids)s::int[]) AS pid",
                {"pids": pids},
            )
        admin.dispose()
        with pytest.raises(DBAPIError) as lost, engine.begin() as connection:
            one.all(connection, {"k": 1})
        assert lost.value.connection_invalidated
        unraisable: list[Any] = []
        previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
        try:
            gc.collect()
        finally:
            sys.unraisablehook = previous
        assert not [u for u in unraisable if isinstance(u.exc_value, ResourceWarning)]
        with engine.begin() as connection:
            assert one.all(connection, {"k": 1}) == [(1,)]
    finally:
        engine.dispose()
