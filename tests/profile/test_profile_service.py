"""The medical profile's use cases on a real database (SQLite, PostgreSQL): who fills in and reads
which section (PRF-1, PRF-2, ACC-7), every read and change traced (TR-1), bad input changing
nothing, the operator's feed (DOC-1, DOC-9) and the deletion at closing (PRF-2, LC-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import add_patient, add_pro, add_representative, patient_ctx, pro_ctx
from sqlalchemy import func, select

from carnet import clock
from carnet.access import acts as access_acts
from carnet.access import pro as pro_cases
from carnet.access.rules import Section
from carnet.access.space import read_history
from carnet.audit.models import Trace
from carnet.context import AccessMode, RequestContext
from carnet.errors import Forbidden, Invalid, NotFound
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.profile import entourage as ent
from carnet.profile import service as profile
from carnet.profile.feed import import_care
from carnet.profile.models import PROFILE_TABLES
from carnet.profile.rules import ContactIn, EntryIn, MeasureIn, VaccinationIn
from carnet.runtime import Runtime

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PENICILLIN = EntryIn(Section.ALLERGIES, "Pénicilline", category="medication", criticality="high")


def _traces(rt: Runtime, patient: Patient, action: str) -> list[Trace]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(Trace)
                .where(Trace.patient_id == patient.id, Trace.action == action)
                .order_by(Trace.seq)
            )
        )


def _rows(rt: Runtime, patient_id: str) -> int:
    with rt.transaction() as session:
        counts: list[int] = [
            session.execute(
                select(func.count()).select_from(m).where(m.patient_id == patient_id)  # type: ignore[attr-defined]
            ).scalar_one()
            for m in PROFILE_TABLES
        ]
        return sum(counts)


def _care(patient: Patient, **overrides: str) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "ins": patient.ins,
        "date": "2026-10-01",
        "act": "CONSULTATION",
        "rpps": "10000000001",
        "finess": "",
        "pharmacy": "",
        "label": "Consultation",
    }
    row.update(overrides)
    return row


def test_prf_2_the_patient_fills_in_a_section_and_reads_it_back_traced(rt: Runtime) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    added = profile.add_entry(rt, ctx, patient.id, PENICILLIN)
    [found] = profile.list_entries(rt, ctx, patient.id, Section.ALLERGIES)
    assert (found.id, found.label, found.criticality) == (added.id, "Pénicilline", "high")
    [change] = _traces(rt, patient, "change_profile")
    assert (change.target, change.why) == ("profile:allergies", "patient")
    [read] = _traces(rt, patient, "read_profile")
    assert (read.target, read.outcome) == ("profile:allergies", "allowed")
    changed = profile.update_entry(
        rt,
        ctx,
        patient.id,
        added.id,
        EntryIn(Section.ALLERGIES, "Amoxicilline", category="medication"),
        version=1,
    )
    assert (changed.label, changed.version) == ("Amoxicilline", 2)
    profile.delete_entry(rt, ctx, patient.id, Section.ALLERGIES, added.id)
    assert profile.list_entries(rt, ctx, patient.id, Section.ALLERGIES) == []


def test_prf_1_bad_input_is_refused_and_changes_nothing(rt: Runtime) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    for bad in (
        MeasureIn("weight", 0, "kg", AT),
        MeasureIn("weight", 900, "kg", AT),
        MeasureIn("weight", 70, "lb", AT),
        MeasureIn("blood_pressure", 80, "mm[Hg]", AT, value2=120),
        MeasureIn("weight", 70, "kg", AT + timedelta(days=30)),
        MeasureIn("weight", 70, "kg", datetime(1950, 1, 1, tzinfo=UTC)),
        MeasureIn("12345-6", 70, "kg", AT),
    ):
        with pytest.raises(Invalid):
            profile.add_measure(rt, ctx, patient.id, bad)
    with pytest.raises(Invalid):
        profile.add_entry(rt, ctx, patient.id, EntryIn(Section.TREATMENTS, "x" * 201))
    assert _rows(rt, patient.id) == 0
    assert _traces(rt, patient, "change_profile") == []


def test_prf_1_measures_come_back_as_series_with_bmi_computed(rt: Runtime) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    profile.add_measure(rt, ctx, patient.id, MeasureIn("height", 1.70, "m", AT - timedelta(days=9)))
    for week, kilos in enumerate((72.0, 71.4, 70.9)):
        at = AT - timedelta(days=7 * (2 - week))
        profile.add_measure(rt, ctx, patient.id, MeasureIn("weight", kilos, "kg", at))
    profile.add_measure(rt, ctx, patient.id, MeasureIn("blood_pressure", 13, "cm[Hg]", AT, 8.2))
    series = {s.kind.key: s for s in profile.measures(rt, ctx, patient.id)}
    assert [p.value for p in series["weight"].points] == [72.0, 71.4, 70.9]
    assert series["height"].points[0].value == 170
    assert series["bmi"].points[-1].value == 24.5
    assert (
        series["blood_pressure"].points[0].value,
        series["blood_pressure"].points[0].value2,
    ) == (
        130,
        82,
    )


def test_acc_7_pros_read_vaccinations_care_and_entourage_only(rt: Runtime) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    doctor = add_pro(rt)
    pro_cases.declare_consent(rt, pro_ctx(doctor), patient.id)
    profile.add_entry(rt, ctx, patient.id, PENICILLIN)
    profile.add_vaccination(rt, ctx, patient.id, VaccinationIn("ROR", date(1990, 6, 1)))
    ent.save_contact(rt, ctx, patient.id, ContactIn("trusted_person", "Marie", "MARTIN", "SIS"))
    as_pro = pro_ctx(doctor)
    assert profile.readable_sections(rt, as_pro, patient.id) == [
        Section.VACCINATIONS,
        Section.REIMBURSED_CARE,
        Section.ENTOURAGE,
    ]
    assert [v.vaccine.code for v in profile.vaccinations(rt, as_pro, patient.id).given] == ["ROR"]
    assert ent.entourage(rt, as_pro, patient.id).trusted_person is not None
    with pytest.raises(NotFound):
        profile.list_entries(rt, as_pro, patient.id, Section.ALLERGIES)
    with pytest.raises(NotFound):
        profile.measures(rt, as_pro, patient.id)
    denied = [t for t in _traces(rt, patient, "read_profile") if t.outcome == "denied"]
    assert [(t.target, t.why) for t in denied] == [
        ("profile:allergies", "section_not_for_pros"),
        ("profile:measures", "section_not_for_pros"),
    ]
    # ACC-6: an emergency reads the same three sections.
    stranger = add_pro(rt)
    urgent = pro_ctx(stranger, mode=AccessMode.BRIS_DE_GLACE, reason="patient inconscient")
    assert profile.vaccinations(rt, urgent, patient.id).given
    with pytest.raises(NotFound):
        profile.list_entries(rt, pro_ctx(add_pro(rt)), patient.id, Section.ALLERGIES)


def test_acc_7_pros_write_no_section_prf_2(rt: Runtime) -> None:
    patient = add_patient(rt)
    doctor = add_pro(rt)
    pro_cases.declare_consent(rt, pro_ctx(doctor), patient.id)
    with pytest.raises(Forbidden):
        profile.add_vaccination(rt, pro_ctx(doctor), patient.id, VaccinationIn("ROR", AT.date()))
    with pytest.raises(Forbidden):
        profile.add_entry(rt, pro_ctx(doctor), patient.id, PENICILLIN)
    [refused, _] = [t for t in _traces(rt, patient, "change_profile")]
    assert (refused.outcome, refused.why) == ("denied", "patient_fills_profile")
    assert _rows(rt, patient.id) == 0


def test_prf_2_representatives_fill_in_a_minors_profile_the_minor_does_not(rt: Runtime) -> None:
    child = add_patient(rt, age=8)
    parent = add_patient(rt, age=40)
    add_representative(rt, child, parent)
    profile.add_vaccination(
        rt, patient_ctx(parent), child.id, VaccinationIn("HEXA", clock.today() - timedelta(days=1))
    )
    [given] = profile.vaccinations(rt, patient_ctx(parent), child.id).given
    [change] = _traces(rt, child, "change_profile")
    assert (change.why, change.on_behalf_of) == ("representative", child.id)
    assert given.vaccine.code == "HEXA"
    with pytest.raises(NotFound):
        profile.add_entry(rt, patient_ctx(child), child.id, PENICILLIN)
    stranger = add_patient(rt)
    with pytest.raises(NotFound):
        profile.vaccinations(rt, patient_ctx(stranger), child.id)


def test_prf_2_a_created_profile_is_fed_by_the_operator_not_filled_in(rt: Runtime) -> None:
    patient = add_patient(rt, state=ProfileState.CREATED)
    with pytest.raises(NotFound):
        profile.add_entry(rt, patient_ctx(patient), patient.id, PENICILLIN)
    report = import_care(
        rt.uow,
        RequestContext.operator(),
        [_care(patient, act="VACCINATION", label="Vaccin grippe", vaccine="GRIPPE")],
    )
    assert (report.added, report.vaccinations, report.errors) == (1, 1, [])


def test_doc_1_care_import_is_idempotent_reports_bad_lines_and_feeds_vaccinations(
    rt: Runtime,
) -> None:
    patient, other = add_patient(rt), add_patient(rt)
    closed = add_patient(rt, state=ProfileState.CLOSED)
    rows = [
        _care(patient),
        _care(patient, act="PHARMACIE", rpps="", pharmacy="690000001", label="Délivrance"),
        _care(patient, act="VACCINATION", label="Vaccin ROR", vaccine="03"),
        _care(other),
        _care(patient, ins="123"),
        _care(patient, act="MAGIE"),
        _care(patient, date="2026-13-01"),
        _care(patient, date="2027-01-01"),
        _care(patient, rpps=""),
        _care(patient, act="VACCINATION", vaccine=""),
        _care(patient, label="z" * 201),
        _care(closed),
        _care(patient, date="1970-01-01"),
    ]
    first = import_care(rt.uow, RequestContext.operator(), rows)
    assert (first.added, first.vaccinations, first.unchanged) == (4, 1, 0)
    assert [e.line for e in first.errors] == list(range(6, 15))
    assert all(e.fr and e.en and e.fr != e.en for e in first.errors)
    again = import_care(rt.uow, RequestContext.operator(), rows)
    assert (again.added, again.unchanged, len(again.errors)) == (0, 4, 9)
    ctx = patient_ctx(patient)
    care = profile.care(rt, ctx, patient.id)
    assert sorted(line.act.code for line in care) == ["CONSULTATION", "PHARMACIE", "VACCINATION"]
    [vaccination] = profile.vaccinations(rt, ctx, patient.id).given
    assert (vaccination.vaccine.code, vaccination.source) == ("ROR", "operator")
    with pytest.raises(Forbidden):
        profile.delete_vaccination(rt, ctx, patient.id, vaccination.id)
    [fed] = _traces(rt, patient, "import_care")
    assert (fed.target, fed.why, fed.actor_kind) == (
        "profile:reimbursed_care",
        "operator_feed",
        "operator",
    )


def test_doc_9_a_minors_secret_acts_never_enter_the_record(rt: Runtime) -> None:
    minor = add_patient(rt, age=16)
    parent = add_patient(rt)
    add_representative(rt, minor, parent)
    grown = add_patient(rt, age=19)
    two_years_ago = (clock.today() - timedelta(days=730)).isoformat()
    report = import_care(
        rt.uow,
        RequestContext.operator(),
        [
            _care(minor, act="IVG", label="IVG médicamenteuse"),
            _care(minor, act="CONTRACEPTION_URGENCE", label="Pilule du lendemain"),
            _care(minor, label="Consultation demandée secrète", secret="1"),
            _care(minor, act="PHARMACIE", label="Délivrance"),
            _care(grown, act="CONTRACEPTION", label="Contraception", date=two_years_ago),
            _care(grown, act="CONTRACEPTION", label="Contraception adulte"),
        ],
    )
    assert (report.added, report.kept_out) == (2, 4)
    assert [c.label for c in profile.care(rt, patient_ctx(parent), minor.id)] == ["Délivrance"]
    assert [c.label for c in profile.care(rt, patient_ctx(grown), grown.id)] == [
        "Contraception adulte"
    ]


def test_prf_2_entourage_one_trusted_person_and_directives(rt: Runtime) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    trusted = ent.save_contact(
        rt, ctx, patient.id, ContactIn("trusted_person", "Marie", "MARTIN", "SIS", "0612345678")
    )
    with pytest.raises(Invalid) as refused:
        ent.save_contact(rt, ctx, patient.id, ContactIn("trusted_person", "Paul", "X", "FRND"))
    assert refused.value.code == "one_trusted_person"
    ent.save_contact(
        rt, ctx, patient.id, ContactIn("trusted_person", "Marie", "DURAND", "SIS"), trusted.id
    )
    ent.save_contact(rt, ctx, patient.id, ContactIn("relative", "Jean", "MARTIN", "FTH"))
    written = ent.write_directives(
        rt, ctx, patient.id, {"situation": "B", "resuscitation": "refuse"}
    )
    pdf = b"%PDF-1.4\nmes directives\n%%EOF\n"
    uploaded = ent.upload_directives(rt, ctx, patient.id, pdf, "application/pdf")
    found = ent.entourage(rt, ctx, patient.id)
    assert found.trusted_person is not None
    assert found.trusted_person.last_name == "DURAND"
    assert {d.id for d in found.directives} == {written.id, uploaded.id}
    view, data = ent.directive_file(rt, ctx, patient.id, uploaded.id)
    assert (data, view.file_size) == (pdf, len(pdf))
    with pytest.raises(NotFound):
        ent.directive_file(rt, ctx, patient.id, written.id)
    with rt.transaction() as session:
        from carnet.profile.models import Directive

        stored = session.get(Directive, (patient.id, uploaded.id))
        assert stored is not None
        assert stored.file_sealed is not None
        assert b"mes directives" not in stored.file_sealed  # sealed with the patient's key


def test_tr_1_acc_7_an_administrator_does_not_see_the_patients_section_reads_in_the_history(
    rt: Runtime,
) -> None:
    patient = add_patient(rt)
    ctx = patient_ctx(patient)
    doctor = add_pro(rt)
    pro_cases.declare_consent(rt, pro_ctx(doctor), patient.id)
    with rt.transaction() as session:
        access_acts.designate_administrator(session, ctx, patient.id, doctor.rpps)
    profile.add_entry(rt, ctx, patient.id, PENICILLIN)
    profile.add_vaccination(rt, ctx, patient.id, VaccinationIn("ROR", date(1990, 1, 1)))
    mine = read_history(rt, ctx, patient.id).entries
    assert {e.action for e in mine} >= {"change_profile"}
    theirs = read_history(rt, pro_ctx(doctor), patient.id)
    targets = {
        row.target for row in theirs.rows if row.action in ("change_profile", "read_profile")
    }
    assert targets == {"profile:vaccinations"}


def test_prf_2_lc_5_delete_profile_deletes_every_profile_row_of_that_patient(rt: Runtime) -> None:
    patient, other = add_patient(rt), add_patient(rt)
    for person in (patient, other):
        ctx = patient_ctx(person)
        profile.add_entry(rt, ctx, person.id, PENICILLIN)
        profile.add_measure(rt, ctx, person.id, MeasureIn("weight", 70, "kg", AT))
        profile.add_vaccination(rt, ctx, person.id, VaccinationIn("ROR", date(1990, 1, 1)))
        ent.save_contact(rt, ctx, person.id, ContactIn("relative", "Jean", "MARTIN", "FTH"))
        ent.write_directives(rt, ctx, person.id, {"situation": "B", "surgery": "accept"})
        import_care(rt.uow, RequestContext.operator(), [_care(person)])
    assert _rows(rt, patient.id) == 6  # one row in each profile table
    with rt.transaction() as session:
        deleted = profile.delete_profile(session, patient.id)
    assert deleted == 6
    assert _rows(rt, patient.id) == 0
    assert _rows(rt, other.id) == 6
