"""Issue 18 (LC-1, DOC-1 at scale): ``db.bulk.insert_many``, the imports' writer, sends its rows
by ``COPY`` on PostgreSQL and by ``executemany`` on SQLite, with the same result on both: every
value the imports send comes back as written, a duplicate key is SQLAlchemy's
``IntegrityError`` and the transaction keeps none of the batch."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Enum, MetaData, String, Table, event, select
from sqlalchemy.exc import IntegrityError
from support import NOW

from carnet.db.base import UtcDateTime, table_of
from carnet.db.bulk import (
    Formatted,
    Rows,
    converter,
    formatter,
    insert_many,
    inserting,
    select_in,
    to_driver,
)
from carnet.ids import new_id
from carnet.population.models import Patient, PatientIns
from carnet.population.service import INS_LOOKUP, NEW_PATIENT, hash_code
from carnet.profile.feed import CARE_COLUMNS
from carnet.profile.models import CareLine

#: Text with COPY's own separators and escapes (tab, newline, backslash, its ``\N`` for null).
AWKWARD = "O'Brien\tde\\la\nRoche \\N «é»"


def _patient_row(connection: Any, ins: str, names: str) -> tuple[Any, ...]:
    """A new profile's row as ``population.service.import_batch`` sends it (``NEW_PATIENT``)."""
    columns = Patient.__table__.c
    at = to_driver(connection, columns.created_at, NOW)
    born = converter(connection, columns.birth_date, never_null=True)(date(1985, 4, 12))
    code = to_driver(connection, columns.activation_code_hash, hash_code(ins))
    return (
        new_id(),
        ins,
        "VALI",
        names,
        "Claire",
        None,
        "F",
        born,
        "75056",
        None,
        "+33 6 12 34 56 78",
        "created",
        at,
        at,
        None,
        code,
        at,
    )


def test_issue_18_insert_many_writes_every_kind_of_value_the_imports_send(engine: Engine) -> None:
    """Text (COPY's separators included), nulls, dates, aware timestamps, bytes, booleans."""
    with engine.begin() as connection:
        row = _patient_row(connection, "285047505601245", AWKWARD)
        insert_many(connection, table_of(Patient), NEW_PATIENT, [row])
        care = (
            row[0],
            "c" * 32,
            date(2026, 3, 2),
            "PHARMACIE",
            None,
            "750000001",
            None,
            AWKWARD,
            None,
            True,
            to_driver(connection, CareLine.__table__.c.imported_at, NOW),
        )
        insert_many(connection, table_of(CareLine), CARE_COLUMNS, [care])
    with engine.connect() as connection:
        patient = connection.execute(select(Patient).where(Patient.id == row[0])).one()
        line = connection.execute(select(CareLine)).one()
    assert patient.birth_names == AWKWARD
    assert (patient.used_name, patient.email, patient.opposed_at) == (None, None, None)
    assert patient.birth_date == date(1985, 4, 12)
    assert patient.created_at == NOW
    assert patient.activation_expires_at == NOW
    assert patient.activation_code_hash == hash_code("285047505601245")
    assert patient.phone == "+33 6 12 34 56 78"
    assert (line.label, line.secret, line.rpps, line.care_date) == (
        AWKWARD,
        True,
        None,
        date(2026, 3, 2),
    )
    assert line.imported_at == NOW


def test_issue_18_a_duplicate_key_is_an_integrity_error_and_none_of_the_batch_stays(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        insert_many(connection, table_of(PatientIns), ("ins", "patient_id"), [("1" * 15, "a")])
    batch = [("2" * 15, "b"), ("3" * 15, "c"), ("1" * 15, "d")]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_many(connection, table_of(PatientIns), ("ins", "patient_id"), batch)
    with engine.connect() as connection:
        rows = connection.execute(select(PatientIns.ins, PatientIns.patient_id)).all()
    assert [tuple(r) for r in rows] == [("1" * 15, "a")]
    with engine.begin() as connection:  # the pool's connection is sound after the failure
        insert_many(connection, table_of(PatientIns), ("ins", "patient_id"), batch[:2])
    with engine.connect() as connection:
        assert len(connection.execute(select(PatientIns.ins)).all()) == 3


def test_issue_18_on_postgresql_the_rows_go_by_copy_not_one_insert_each(engine: Engine) -> None:
    """``COPY`` runs on the driver's connection, below SQLAlchemy: no ``INSERT`` passes through
    its execution events there, where SQLite's ``executemany`` is one statement for the batch."""
    seen: list[tuple[str, bool]] = []

    def spy(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        seen.append((statement, many))

    rows = [(f"{n:015d}", f"p{n}") for n in range(50)]
    event.listen(engine, "before_cursor_execute", spy)
    try:
        with engine.begin() as connection:
            insert_many(connection, table_of(PatientIns), ("ins", "patient_id"), rows)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    inserts = [(s, many) for s, many in seen if s.lstrip().upper().startswith("INSERT")]
    if engine.dialect.name == "postgresql":
        assert inserts == []
    else:
        assert len(inserts) == 1
        assert inserts[0][1] is True
    with engine.connect() as connection:
        assert len(connection.execute(select(PatientIns.ins)).all()) == 50


def test_issue_18_a_converter_works_from_another_thread_once_its_connection_is_gone(
    engine: Engine,
) -> None:
    """``converter`` (the import's reader thread makes the next batch's rows with it while the
    batch before is stored): taken once from a connection, then used from another thread after
    that connection went back to the pool; what the database keeps is the same instant."""
    column = Patient.__table__.c.created_at
    with engine.connect() as connection:
        convert = converter(connection, column)
    made: list[object] = []
    thread = threading.Thread(target=lambda: made.extend([convert(NOW), convert(None)]))
    thread.start()
    thread.join()
    at, nothing = made
    assert nothing is None
    with engine.begin() as connection:
        row = list(_patient_row(connection, "285047505601245", "DURAND"))
        row[NEW_PATIENT.index("created_at")] = row[NEW_PATIENT.index("updated_at")] = at
        insert_many(connection, table_of(Patient), NEW_PATIENT, [tuple(row)])
    with engine.connect() as connection:
        patient = connection.execute(select(Patient).where(Patient.id == row[0])).one()
    assert patient.created_at == patient.updated_at == NOW


def test_issue_18_rows_formatted_by_another_thread_are_stored_as_they_were(
    engine: Engine,
) -> None:
    """``formatter`` (the import's reader makes the next batch's ``COPY`` form while the batch
    before is stored): taken from a connection, used by another thread once that connection
    went back to the pool; the rows stored are those given, on both databases (SQLite keeps the
    tuples as they are)."""
    with engine.connect() as connection:
        ready = formatter(connection, table_of(Patient), NEW_PATIENT)
        rows = [
            _patient_row(connection, "285047505601245", AWKWARD),
            _patient_row(connection, "285047505601246", "DURAND"),
        ]
    made: list[Rows] = []
    thread = threading.Thread(target=lambda: made.append(ready(rows)))
    thread.start()
    thread.join()
    batch = made[0]
    assert isinstance(batch, Formatted) is (engine.dialect.name == "postgresql")
    with engine.begin() as connection:
        insert_many(connection, table_of(Patient), NEW_PATIENT, batch)
    with engine.connect() as connection:
        stored = connection.execute(
            select(*(Patient.__table__.c[c] for c in NEW_PATIENT)).order_by(Patient.ins)
        ).all()
    assert [(r.id, r.birth_names, r.birth_date, r.created_at) for r in stored] == [
        (row[0], row[3], date(1985, 4, 12), NOW) for row in rows
    ]
    assert [r.activation_code_hash for r in stored] == [hash_code(row[1]) for row in rows]


def test_issue_18_rows_formatted_for_one_table_are_refused_for_another(engine: Engine) -> None:
    with engine.connect() as connection:
        batch = formatter(connection, table_of(PatientIns), INS_LOOKUP)([("1" * 15, "a")])
    if not isinstance(batch, Formatted):
        pytest.skip("rows are formatted ahead for PostgreSQL's COPY only")
    with pytest.raises(ValueError, match="another statement"), engine.begin() as connection:
        insert_many(connection, table_of(PatientIns), ("patient_id", "ins"), batch)
    with engine.connect() as connection:
        assert connection.execute(select(PatientIns.ins)).all() == []


def test_issue_18_a_column_of_a_type_copy_does_not_send_in_binary_goes_as_text(
    engine: Engine,
) -> None:
    """``COPY`` goes in PostgreSQL's binary format only for the column types psycopg writes in
    C; a table with another (here an enumeration, a type of the database's own) goes as text,
    and is stored the same, on both databases."""
    notes = Table(
        "bulk_notes",
        MetaData(),
        Column("id", String(8), primary_key=True),
        Column("mood", Enum("calm", "tense", name="bulk_mood")),
        Column("at", UtcDateTime),
    )
    with engine.begin() as connection:
        notes.create(connection)
        try:
            at = converter(connection, notes.c.at)(NOW)
            insert_many(connection, notes, ("id", "mood", "at"), [("n1", "tense", at)])
            row = connection.execute(select(notes)).one()
        finally:
            notes.drop(connection)
    assert (row.id, row.mood, row.at) == ("n1", "tense", NOW)


def test_issue_18_rows_inserted_as_they_are_made_and_none_if_the_maker_fails(
    engine: Engine,
) -> None:
    """``inserting``: every row added inside the block is stored; an error inside it (the
    import's own, not the database's) leaves none of them, on both databases."""
    columns = ("ins", "patient_id")

    def insert(rows: list[tuple[str, str]], *, then_fail: bool = False) -> None:
        with (
            engine.begin() as connection,
            inserting(connection, table_of(PatientIns), columns) as add,
        ):
            for row in rows:
                add(row)
            if then_fail:
                raise ZeroDivisionError

    insert([(f"{n:015d}", f"p{n}") for n in range(30)])
    with pytest.raises(ZeroDivisionError):
        insert([("9" * 15, "late")], then_fail=True)
    with engine.connect() as connection:
        rows = connection.execute(select(PatientIns.ins)).all()
    assert sorted(r.ins for r in rows) == [f"{n:015d}" for n in range(30)]
    with pytest.raises(IntegrityError):  # a duplicate key: the database's error
        insert([("8" * 15, "new"), (f"{0:015d}", "again")])
    with engine.connect() as connection:
        assert len(connection.execute(select(PatientIns.ins)).all()) == 30


@pytest.mark.parametrize(
    "keys",
    [
        ["000000000000001", "000000000000003", "nobody"],
        [""],  # split, a lone empty text would be no key at all
        ["", "000000000000002"],
        ["line\nbreak", "000000000000001"],  # a line break: the keys go as an array
    ],
    ids=["text", "lone-empty", "empty-and-text", "line-break"],
)
def test_issue_18_select_in_finds_the_rows_of_the_keys_given(
    engine: Engine, keys: list[str]
) -> None:
    stored = [("000000000000001", "a"), ("000000000000002", "b"), ("000000000000003", "c")]
    stored += [("", "empty"), ("line\nbreak", "broken")]
    with engine.begin() as connection:
        insert_many(connection, table_of(PatientIns), ("ins", "patient_id"), stored)
    with engine.connect() as connection:
        found = select_in(connection, table_of(PatientIns), ("ins", "patient_id"), "ins", keys)
    assert sorted(found) == sorted(row for row in stored if row[0] in keys)
