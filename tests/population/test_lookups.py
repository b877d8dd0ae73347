"""Issue 18: an INS and a pending activation code stay unique, and are found, through look-up
tables keyed by them (``patient_ins``, ``pending_codes``, migration 0017) — the guarantee that a
distributed register (Citus: ``patients`` by id) can no longer give on ``patients`` itself."""

from __future__ import annotations

import pytest
from factories import add_patient, new_ins
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from carnet.db.base import table_of
from carnet.population.models import PatientIns, PendingCode
from carnet.population.service import (
    ImportReport,
    Letter,
    hash_code,
    id_of_ins,
    import_batch,
    new_code,
    parse_batch,
    patient_by_code,
    patient_by_id,
    patient_by_ins,
)
from carnet.runtime import Runtime


def test_issue18_a_new_profile_is_found_by_its_ins_through_the_look_up(rt: Runtime) -> None:
    patient = add_patient(rt)
    with rt.transaction() as session:
        assert id_of_ins(session, patient.ins) == patient.id
        found = patient_by_ins(session, patient.ins)
        assert found is not None
        assert found.id == patient.id
        assert id_of_ins(session, "299017500000199") is None


def test_issue18_an_ins_is_held_by_one_profile_only(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(IntegrityError), rt.transaction() as session:
        session.execute(
            insert(table_of(PatientIns)), {"ins": patient.ins, "patient_id": "someone-else"}
        )


def test_issue18_a_pending_code_follows_the_profile_and_stays_unique(rt: Runtime) -> None:
    patient = add_patient(rt)
    with rt.transaction() as session:
        first = new_code(patient_by_id(session, patient.id), days=30)  # type: ignore[arg-type]
    with rt.transaction() as session:
        second = new_code(patient_by_id(session, patient.id), days=30)  # type: ignore[arg-type]
    with rt.transaction() as session:
        # The new letter's code replaced the old one, in the look-up as on the row.
        assert patient_by_code(session, first.code) is None
        found = patient_by_code(session, second.code)
        assert found is not None
        assert found.id == patient.id
        rows = session.execute(select(PendingCode.code_hash, PendingCode.patient_id)).all()
        assert rows == [(hash_code(second.code), patient.id)]
    with pytest.raises(IntegrityError), rt.transaction() as session:
        session.execute(
            insert(table_of(PendingCode)),
            {"code_hash": hash_code(second.code), "patient_id": "someone-else"},
        )
    with rt.transaction() as session:
        found = patient_by_id(session, patient.id)
        assert found is not None
        found.activation_code_hash = found.activation_expires_at = None  # used up
    with rt.transaction() as session:
        assert session.execute(select(PendingCode)).first() is None


def test_issue18_the_feed_writes_the_look_ups_of_the_profiles_it_creates(rt: Runtime) -> None:
    letters: list[Letter] = []
    row: dict[str, str | None] = {
        "ins": new_ins(),
        "birth_names": "DURAND",
        "first_names": "Anne",
        "sex": "F",
        "birth_date": "1985-01-01",
        "birth_place": "75056",
    }
    with rt.transaction() as session:
        report = ImportReport()
        import_batch(session, parse_batch([(2, row)]), report, 30, letters.append)
    assert report.errors == []
    assert report.created == 1
    with rt.transaction() as session:
        patient_id = id_of_ins(session, letters[0].ins)
        assert patient_id is not None
        found = patient_by_code(session, letters[0].code)
        assert found is not None
        assert found.id == patient_id
