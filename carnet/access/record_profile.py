"""A record's medical profile (PRF-1), as its requester may see it (ACC-7, DOC-9): each section
read is decided by ``rules.decide_section`` and traced, allowed or refused (TR-1), its trace
naming the section (``profile:<section>``) so that the history shows it only to who may read
that section. Filling a section in is decided here too (``check_write``, PRF-2, DOC-1); the
profile's use cases write the rows and trace the act."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from carnet.access.rules import (
    CareLineFacts,
    Decision,
    Purpose,
    Section,
    Why,
    decide_section,
    may_write_section,
    reimbursement_line_shown,
    section_target,
)
from carnet.audit.rules import Action
from carnet.errors import Forbidden
from carnet.population.rules import MAJORITY_AGE, age_on
from carnet.profile.models import CareLine, Contact, Directive, Measure, ProfileEntry, Vaccination
from carnet.profile.rules import minor_secret

if TYPE_CHECKING:
    from carnet.access.record import Record


class MeasurePoint(NamedTuple):
    """One measure as charts and the API read it: plain values, no ORM state."""

    id: str
    code: str
    value: float
    value2: float | None
    unit: str
    measured_at: datetime


_POINTS = select(
    Measure.id, Measure.code, Measure.value, Measure.value2, Measure.unit, Measure.measured_at
)


class Profile:
    def __init__(self, record: Record) -> None:
        self.record = record
        # A record opened for the profile, or for the patient's own space (MSG-10 reads the
        # pharmacies of his reimbursed care there); any other purpose finds nothing.
        record.require(Action.READ_PROFILE, Purpose.PROFILE, Purpose.SPACE)

    # -- decisions -------------------------------------------------------------------------

    def decide(self, section: Section) -> Decision:
        r = self.record
        return decide_section(r.facts, r.entry, section)

    def readable(self) -> list[Section]:
        """The sections the requester may read, in the profile's order (nothing is read)."""
        return [s for s in Section if self.decide(s).allowed]

    def _read(self, section: Section, count: int, detail: dict[str, object] | None = None) -> None:
        self.record.trace(
            Action.READ_PROFILE,
            why=self.decide(section).why,
            target=section_target(section),
            detail={"count": count, **(detail or {})},
        )

    def open_section(self, section: Section, action: Action = Action.READ_PROFILE) -> Decision:
        """The requester may read ``section``, or the read is refused (traced) like an absent
        one."""
        decision = self.decide(section)
        if not decision.allowed:
            self.record.refuse(action, decision.why, target=section_target(section))
        return decision

    def check_write(self, section: Section, action: Action = Action.CHANGE_PROFILE) -> Decision:
        """PRF-2, DOC-1: the requester may fill ``section`` in, or the act is refused (traced)."""
        r = self.record
        decision = may_write_section(r.facts, section)
        if not decision.allowed:
            refusal = (
                Forbidden(
                    "Vous ne pouvez pas modifier cette rubrique du profil médical.",
                    "You may not change this section of the medical profile.",
                    code="section_not_writable",
                )
                if self.decide(section).allowed or r.is_pro
                else None
            )
            r.refuse(action, decision.why, target=section_target(section), refusal=refusal)
        return decision

    # -- treatments, allergies, history, conditions ----------------------------------------

    def entries(self, section: Section) -> list[ProfileEntry]:
        self.open_section(section)
        r = self.record
        rows = list(
            r.session.scalars(
                select(ProfileEntry)
                .where(ProfileEntry.patient_id == r.patient_id, ProfileEntry.section == section)
                .order_by(ProfileEntry.start_date.desc(), ProfileEntry.created_at.desc())
            )
        )
        self._read(section, len(rows))
        return rows

    def entry(
        self, section: Section | Collection[Section], entry_id: str, action: Action
    ) -> ProfileEntry:
        """One line to act on (the act traces itself); absent or of another section: refused.
        ``section`` may be several (a FHIR Condition is a condition or a personal history)."""
        r = self.record
        sections = {section} if isinstance(section, Section) else set(section)
        row = r.session.get(ProfileEntry, (r.patient_id, entry_id))
        if row is None or row.section not in sections:
            r.refuse(action, Why.ABSENT, target=section_target(min(sections)))
        return row

    # -- measures --------------------------------------------------------------------------

    def measures(self, codes: Collection[str] | None = None) -> list[MeasurePoint]:
        """The measures (of ``codes``, LOINC), by code then time: one trace."""
        self.open_section(Section.MEASURES)
        r = self.record
        query = _POINTS.where(Measure.patient_id == r.patient_id)
        if codes is not None:
            query = query.where(Measure.code.in_(sorted(codes)))
        rows = r.session.execute(query.order_by(Measure.code, Measure.measured_at)).all()
        points = [MeasurePoint._make(row) for row in rows]
        self._read(Section.MEASURES, len(points))
        return points

    def measure(self, measure_id: str, action: Action) -> Measure:
        r = self.record
        row = r.session.get(Measure, (r.patient_id, measure_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=section_target(Section.MEASURES))
        return row

    # -- vaccinations ----------------------------------------------------------------------

    def vaccinations(self, *, trace: bool = True) -> list[Vaccination]:
        self.open_section(Section.VACCINATIONS)
        r = self.record
        rows = list(
            r.session.scalars(
                select(Vaccination)
                .where(Vaccination.patient_id == r.patient_id)
                .order_by(Vaccination.given_on.desc(), Vaccination.id)
            )
        )
        if trace:
            self._read(Section.VACCINATIONS, len(rows))
        return rows

    def vaccination(self, vaccination_id: str, action: Action) -> Vaccination:
        r = self.record
        row = r.session.get(Vaccination, (r.patient_id, vaccination_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=section_target(Section.VACCINATIONS))
        return row

    # -- reimbursed care (DOC-1, DOC-9) ----------------------------------------------------

    def _shown(self, rows: Sequence[CareLine]) -> list[CareLine]:
        """DOC-9 on every read, though the feed already keeps such lines out."""
        r = self.record
        born = r.patient.birth_date
        return [
            row
            for row in rows
            if reimbursement_line_shown(
                r.facts,
                r.entry,
                CareLineFacts(
                    minor_secret(row.act, row.secret), age_on(born, row.care_date) < MAJORITY_AGE
                ),
            ).allowed
        ]

    def care_lines(self, limit: int = 2000) -> list[CareLine]:
        """The reimbursed care, newest first (the last ``limit`` lines): one trace."""
        self.open_section(Section.REIMBURSED_CARE)
        r = self.record
        rows = r.session.scalars(
            select(CareLine)
            .where(CareLine.patient_id == r.patient_id)
            .order_by(CareLine.care_date.desc(), CareLine.id)
            .limit(limit)
        )
        shown = self._shown(list(rows))
        self._read(Section.REIMBURSED_CARE, len(shown))
        return shown

    def pharmacies(self) -> set[str]:
        """MSG-10: the pharmacies (FINESS) of the reimbursed care, for the patient's side."""
        self.open_section(Section.REIMBURSED_CARE)
        r = self.record
        rows = r.session.scalars(
            select(CareLine).where(
                CareLine.patient_id == r.patient_id, CareLine.pharmacy_finess.is_not(None)
            )
        )
        found = {row.pharmacy_finess for row in self._shown(list(rows)) if row.pharmacy_finess}
        self._read(Section.REIMBURSED_CARE, len(found), {"part": "pharmacies"})
        return found

    # -- Entourage et volontés -------------------------------------------------------------

    def contacts(self, *, trace: bool = True) -> list[Contact]:
        self.open_section(Section.ENTOURAGE)
        r = self.record
        rows = list(
            r.session.scalars(
                select(Contact)
                .where(Contact.patient_id == r.patient_id)
                .order_by(Contact.role.desc(), Contact.created_at)
            )
        )
        if trace:
            self._read(Section.ENTOURAGE, len(rows), {"part": "contacts"})
        return rows

    def contact(self, contact_id: str, action: Action) -> Contact:
        r = self.record
        row = r.session.get(Contact, (r.patient_id, contact_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=section_target(Section.ENTOURAGE))
        return row

    def directives(self, *, trace: bool = True) -> list[Directive]:
        self.open_section(Section.ENTOURAGE)
        r = self.record
        rows = list(
            r.session.scalars(
                select(Directive)
                .where(Directive.patient_id == r.patient_id)
                .order_by(Directive.written_on.desc(), Directive.created_at.desc())
            )
        )
        if trace:
            self._read(Section.ENTOURAGE, len(rows), {"part": "directives"})
        return rows

    def directive(self, directive_id: str, action: Action = Action.READ_PROFILE) -> Directive:
        """One directive (its file, to read or to delete): absent is refused."""
        self.open_section(Section.ENTOURAGE, action)
        r = self.record
        row = r.session.get(Directive, (r.patient_id, directive_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=section_target(Section.ENTOURAGE))
        return row

    def traced(self, section: Section, count: int) -> None:
        """One trace for a section read in parts (contacts and directives together)."""
        self._read(section, count)
