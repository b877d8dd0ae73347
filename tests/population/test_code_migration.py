"""LC-4 across migration 0005: a code the operator mailed before the upgrade still activates.

The pending code moved from ``activation_codes`` to the profile's row; a letter already in the
post must keep working, and a code already used must not come back. Run on a database of its
own (SQLite file; a fresh PostgreSQL database when the suite runs on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from support import NOW, PG_URL

from carnet.blobs.crypto import load_or_create_master_key
from carnet.blobs.local import LocalBlobStore
from carnet.context import RequestContext
from carnet.db import migrate
from carnet.db.base import _sqlite_bind
from carnet.db.engine import make_engine
from carnet.db.uow import UnitOfWork
from carnet.errors import Invalid
from carnet.lifecycle.activation import activate_profile
from carnet.population.service import hash_code
from carnet.runtime import Runtime
from carnet.settings import Settings

INSERT_PATIENT = text(
    "INSERT INTO patients (id, ins, ins_status, birth_names, first_names, sex, birth_date, "
    "birth_place, state, created_at, updated_at) VALUES (:id, :ins, 'VALI', 'MARTIN', 'Claire', "
    "'F', :born, '75056', :state, :at, :at)"
)
INSERT_CODE = text(
    "INSERT INTO activation_codes (patient_id, id, code_hash, created_at, expires_at, used_at) "
    "VALUES (:pid, :id, :hash, :created, :expires, :used)"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    if PG_URL is None:
        made = make_engine(f"sqlite:///{tmp_path / 'migration.db'}")
        yield made
        made.dispose()
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "carnet_migration_0005"
    # The roles migration 0007 makes are the cluster's, not the database's: an earlier run's
    # would own nothing here and refuse the next upgrade; dropped before and after.
    roles = (f"{name}_owner", f"{name}_app")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        for role in roles:
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    made = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    try:
        yield made
    finally:
        made.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            for role in roles:
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_lc_4_a_letter_mailed_before_the_upgrade_still_activates(
    engine: Engine, tmp_path: Path
) -> None:
    migrate.upgrade(engine, "0004")
    sqlite = engine.dialect.name == "sqlite"

    def moment(days: int) -> object:
        value = NOW + timedelta(days=days)
        return _sqlite_bind(value) if sqlite else value

    with engine.begin() as connection:
        for pid, ins, state in (
            ("a" * 32, "285017505600112", "created"),
            ("b" * 32, "185017505600212", "activated"),
        ):
            connection.execute(
                INSERT_PATIENT,
                {
                    "id": pid,
                    "ins": ins,
                    "born": "1985-01-01" if sqlite else date(1985, 1, 1),
                    "state": state,
                    "at": moment(-10),
                },
            )
        codes = (
            ("a" * 32, "c1", "old-code", -10, -5, None),  # replaced by the next letter
            ("a" * 32, "c2", "new-code", -5, 80, None),
            ("b" * 32, "c3", "used-code", -10, 80, -2),
        )
        for pid, cid, code, created, expires, used in codes:
            connection.execute(
                INSERT_CODE,
                {
                    "pid": pid,
                    "id": cid,
                    "hash": hash_code(code),
                    "created": moment(created),
                    "expires": moment(expires),
                    "used": None if used is None else moment(used),
                },
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, activation_code_hash FROM patients")).all()
    kept: dict[str, bytes | None] = {r[0]: r[1] for r in rows}
    assert kept == {"a" * 32: hash_code("new-code"), "b" * 32: None}

    rt = Runtime(
        settings=Settings(data_dir=tmp_path / "data"),
        uow=UnitOfWork(engine),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        master_key=load_or_create_master_key(tmp_path / "master.key"),
    )
    operator = RequestContext.operator()
    for code in ("old-code", "used-code"):
        with pytest.raises(Invalid):
            activate_profile(
                rt,
                operator,
                code=code,
                birth_date=date(1985, 1, 1),
                email="claire@example.org",
                password="correct horse battery",
                emergency_samu=True,
            )
    patient = activate_profile(
        rt,
        operator,
        code="new-code",
        birth_date=date(1985, 1, 1),
        email="claire@example.org",
        password="correct horse battery",
        emergency_samu=True,
    )
    assert (patient.id, patient.state, patient.activation_code_hash) == (
        "a" * 32,
        "activated",
        None,
    )
