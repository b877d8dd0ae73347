"""The medical profile's use cases (PRF-1, PRF-2): reading a section, filling it in, and deleting
the whole profile at closing (LC-5). Each opens the record through the gate
(``Purpose.PROFILE``), reads through ``record.profile`` (decided and traced, ACC-7), checks the
values (``profile.rules``) and writes the row with its trace in one transaction. Entourage et
volontés is in ``profile.entourage``; summaries in ``profile.summary``; the operator's feed in
``profile.feed``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict

from sqlalchemy import delete
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access.record import Record
from carnet.access.rules import Purpose, Section, section_target
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Forbidden, PreconditionFailed
from carnet.ids import new_id
from carnet.profile import rules
from carnet.profile.models import PROFILE_TABLES, Measure, ProfileEntry, Vaccination
from carnet.profile.rules import EntryIn, MeasureIn, VaccinationIn, next_doses
from carnet.profile.views import (
    CareLineView,
    EntryView,
    MeasureView,
    Series,
    Vaccinations,
    VaccinationView,
    series_of,
)
from carnet.runtime import Runtime


def open_profile(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, action: Action
) -> Record:
    """The record opened for its profile (refused like an absent record, traced)."""
    return gate.open(
        session, rt, ctx, purpose=Purpose.PROFILE, action=action, patient_id=patient_id
    )


def trace_change(record: Record, section: Section, op: str, row_id: str) -> None:
    """Trace a change of ``section`` (TR-1), under the rule that allowed it."""
    decision = record.profile.check_write(section)
    record.trace(
        Action.CHANGE_PROFILE,
        why=decision.why,
        target=section_target(section),
        detail={"op": op, "id": row_id},
    )


def readable_sections(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[Section]:
    """The sections the requester may read (ACC-7), nothing of them read."""
    with rt.transaction() as session:
        return open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE).profile.readable()


# ------------------------------------------------------------------------------------------
# Treatments, allergies, history, conditions
# ------------------------------------------------------------------------------------------


def list_entries(
    rt: Runtime, ctx: RequestContext, patient_id: str, section: Section
) -> list[EntryView]:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE)
        return [EntryView.of(row) for row in record.profile.entries(section)]


def add_entry(rt: Runtime, ctx: RequestContext, patient_id: str, new: EntryIn) -> EntryView:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(new.section)
        checked = rules.check_entry(new, record.patient.birth_date, clock.today())
        now = clock.now()
        row = ProfileEntry(
            patient_id=record.patient_id,
            id=new_id(),
            **{k: v for k, v in asdict(checked).items() if k != "section"},
            section=checked.section.value,
            author_id=ctx.actor_id,
            created_at=now,
            updated_at=now,
            version=1,
        )
        session.add(row)
        trace_change(record, checked.section, "add", row.id)
        session.flush()
        return EntryView.of(row)


def update_entry(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    entry_id: str,
    new: EntryIn,
    *,
    version: int | None = None,
) -> EntryView:
    """The line replaced by ``new``; ``version`` (If-Match) must be the current one if given."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(new.section)
        row = record.profile.entry(new.section, entry_id, Action.CHANGE_PROFILE)
        if version is not None and version != row.version:
            raise PreconditionFailed(
                "Cette ligne a changé depuis votre lecture.", "This line changed since you read it."
            )
        checked = rules.check_entry(new, record.patient.birth_date, clock.today())
        for name, value in asdict(checked).items():
            if name != "section":
                setattr(row, name, value)
        row.updated_at, row.version = clock.now(), row.version + 1
        trace_change(record, checked.section, "update", row.id)
        session.flush()
        return EntryView.of(row)


def delete_entry(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    section: Section | Collection[Section],
    entry_id: str,
) -> None:
    """A line deleted (``section``: where it may be; a FHIR Condition names two)."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        for one in [section] if isinstance(section, Section) else sorted(section):
            record.profile.check_write(one)
        row = record.profile.entry(section, entry_id, Action.CHANGE_PROFILE)
        session.delete(row)
        trace_change(record, Section(row.section), "delete", entry_id)


# ------------------------------------------------------------------------------------------
# Measures
# ------------------------------------------------------------------------------------------


def measures(
    rt: Runtime, ctx: RequestContext, patient_id: str, codes: Collection[str] | None = None
) -> list[Series]:
    """Each measure over time (``codes``: LOINC, all by default), BMI computed; one trace."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE)
        return series_of(record.profile.measures(codes))


def measure_list(
    rt: Runtime, ctx: RequestContext, patient_id: str, codes: Collection[str] | None = None
) -> list[MeasureView]:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE)
        return [MeasureView.of(p) for p in record.profile.measures(codes)]


def _measure_row(record: Record, ctx: RequestContext, m: MeasureIn, row_id: str) -> Measure:
    checked = rules.check_measure(m, record.patient.birth_date, clock.now())
    return Measure(
        patient_id=record.patient_id,
        id=row_id,
        code=checked.kind.loinc,
        value=checked.value,
        value2=checked.value2,
        unit=checked.kind.unit,
        measured_at=checked.measured_at,
        author_id=ctx.actor_id,
        created_at=clock.now(),
    )


def _measure_view(row: Measure) -> MeasureView:
    return MeasureView(
        row.id,
        rules.measure_kind(row.code),
        row.value,
        row.value2,
        row.unit,
        row.measured_at,
    )


def add_measure(rt: Runtime, ctx: RequestContext, patient_id: str, m: MeasureIn) -> MeasureView:
    """PRF-1: a measure, in a few taps; impossible values, wrong units and future dates are
    refused."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.MEASURES)
        row = _measure_row(record, ctx, m, new_id())
        session.add(row)
        trace_change(record, Section.MEASURES, "add", row.id)
        return _measure_view(row)


def update_measure(
    rt: Runtime, ctx: RequestContext, patient_id: str, measure_id: str, m: MeasureIn
) -> MeasureView:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.MEASURES)
        old = record.profile.measure(measure_id, Action.CHANGE_PROFILE)
        row = _measure_row(record, ctx, m, measure_id)
        for name in ("code", "value", "value2", "unit", "measured_at", "author_id"):
            setattr(old, name, getattr(row, name))
        trace_change(record, Section.MEASURES, "update", measure_id)
        return _measure_view(old)


def delete_measure(rt: Runtime, ctx: RequestContext, patient_id: str, measure_id: str) -> None:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.MEASURES)
        session.delete(record.profile.measure(measure_id, Action.CHANGE_PROFILE))
        trace_change(record, Section.MEASURES, "delete", measure_id)


# ------------------------------------------------------------------------------------------
# Vaccinations
# ------------------------------------------------------------------------------------------


def vaccinations_of(record: Record, *, trace: bool = True) -> Vaccinations:
    given = [VaccinationView.of(row) for row in record.profile.vaccinations(trace=trace)]
    due = next_doses(
        record.patient.birth_date, clock.today(), [(v.vaccine.code, v.given_on) for v in given]
    )
    return Vaccinations(tuple(given), tuple(due))


def vaccinations(rt: Runtime, ctx: RequestContext, patient_id: str) -> Vaccinations:
    """The vaccinations given, and the next dose of each series of the French calendar."""
    with rt.transaction() as session:
        return vaccinations_of(open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE))


def _fed_by_operator(row: Vaccination) -> None:
    if row.source == "operator":
        raise Forbidden(
            "Cette vaccination vient de l'Assurance Maladie : elle ne se modifie pas ici.",
            "This vaccination comes from the insurer: it cannot be changed here.",
            code="fed_by_operator",
        )


def add_vaccination(
    rt: Runtime, ctx: RequestContext, patient_id: str, new: VaccinationIn
) -> VaccinationView:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.VACCINATIONS)
        checked = rules.check_vaccination(new, record.patient.birth_date, clock.today())
        now = clock.now()
        row = Vaccination(
            patient_id=record.patient_id,
            id=new_id(),
            vaccine=checked.vaccine,
            given_on=checked.given_on,
            dose=checked.dose,
            lot=checked.lot,
            source="patient",
            author_id=ctx.actor_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        trace_change(record, Section.VACCINATIONS, "add", row.id)
        return VaccinationView.of(row)


def update_vaccination(
    rt: Runtime, ctx: RequestContext, patient_id: str, vaccination_id: str, new: VaccinationIn
) -> VaccinationView:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.VACCINATIONS)
        row = record.profile.vaccination(vaccination_id, Action.CHANGE_PROFILE)
        _fed_by_operator(row)
        checked = rules.check_vaccination(new, record.patient.birth_date, clock.today())
        row.vaccine, row.given_on, row.dose, row.lot = (
            checked.vaccine,
            checked.given_on,
            checked.dose,
            checked.lot,
        )
        row.updated_at = clock.now()
        trace_change(record, Section.VACCINATIONS, "update", row.id)
        return VaccinationView.of(row)


def delete_vaccination(
    rt: Runtime, ctx: RequestContext, patient_id: str, vaccination_id: str
) -> None:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.VACCINATIONS)
        row = record.profile.vaccination(vaccination_id, Action.CHANGE_PROFILE)
        _fed_by_operator(row)
        session.delete(row)
        trace_change(record, Section.VACCINATIONS, "delete", vaccination_id)


def care(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[CareLineView]:
    """The history of reimbursed care, as the operator fed it (DOC-1), DOC-9 applied."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE)
        return [CareLineView.of(row) for row in record.profile.care_lines()]


# ------------------------------------------------------------------------------------------
# Closing (PRF-2, LC-5)
# ------------------------------------------------------------------------------------------


def delete_profile(session: Session, patient_id: str) -> int:
    """PRF-2, LC-5: closing a profile deletes at once its medical profile and measures — every
    row of every profile table, in the caller's transaction (the lifecycle's closing, which
    traces the closure). The number of rows deleted."""
    deleted = 0
    for model in PROFILE_TABLES:
        result = session.execute(
            delete(model).where(model.patient_id == patient_id),  # type: ignore[attr-defined]
            execution_options={"synchronize_session": False},
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted
