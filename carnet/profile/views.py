"""The profile as its use cases hand it to the doors: plain frozen values, labels resolved in
French and English, no ORM row (doors import no models)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from carnet.access.record_profile import MeasurePoint
from carnet.access.rules import Section
from carnet.profile import catalog
from carnet.profile.catalog import MeasureKind
from carnet.profile.models import CareLine, Contact, Directive, ProfileEntry, Vaccination
from carnet.profile.rules import NextDose, bmi_series, measure_kind


def _pair(table: dict[str, tuple[str, str]], code: str | None) -> tuple[str, str] | None:
    return table.get(code) if code else None


@dataclass(frozen=True)
class EntryView:
    id: str
    section: Section
    label: str
    detail: str | None
    kind: str | None
    category: str | None
    criticality: str | None
    relation: str | None
    status: str | None
    start_date: date | None
    end_date: date | None
    updated_at: datetime
    version: int

    @staticmethod
    def of(row: ProfileEntry) -> EntryView:
        return EntryView(
            row.id,
            Section(row.section),
            row.label,
            row.detail,
            row.kind,
            row.category,
            row.criticality,
            row.relation,
            row.status,
            row.start_date,
            row.end_date,
            row.updated_at,
            row.version,
        )

    @property
    def relation_label(self) -> tuple[str, str] | None:
        return _pair(catalog.RELATIONSHIPS, self.relation)


@dataclass(frozen=True)
class Point:
    id: str
    at: datetime
    value: float
    value2: float | None = None


@dataclass(frozen=True)
class Series:
    """One measure over time, for a chart: its kind (label, unit, normal range) and points."""

    kind: MeasureKind
    points: tuple[Point, ...]

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None


def series_of(points: list[MeasurePoint]) -> list[Series]:
    """Points grouped by measure, in the catalogue's order; BMI computed from weight and
    height."""
    grouped: dict[str, list[Point]] = {}
    for p in points:
        grouped.setdefault(p.code, []).append(Point(p.id, p.measured_at, p.value, p.value2))
    weight, height = catalog.MEASURES["weight"], catalog.MEASURES["height"]
    computed = bmi_series(
        [(p.at, p.value) for p in grouped.get(weight.loinc, [])],
        [(p.at, p.value) for p in grouped.get(height.loinc, [])],
    )
    bmi = catalog.MEASURES["bmi"]
    if computed:
        # A BMI point keeps the id of the weight it is computed from (FHIR: ``bmi-<weight>``).
        weight_ids = {p.at: p.id for p in grouped[weight.loinc]}
        grouped[bmi.loinc] = [Point(weight_ids[at], at, value) for at, value in computed]
    return [
        Series(kind, tuple(grouped[kind.loinc]))
        for kind in catalog.MEASURES.values()
        if kind.loinc in grouped
    ]


@dataclass(frozen=True)
class MeasureView:
    id: str
    kind: MeasureKind
    value: float
    value2: float | None
    unit: str
    measured_at: datetime

    @staticmethod
    def of(p: MeasurePoint) -> MeasureView:
        return MeasureView(p.id, measure_kind(p.code), p.value, p.value2, p.unit, p.measured_at)


@dataclass(frozen=True)
class VaccinationView:
    id: str
    vaccine: catalog.Vaccine
    given_on: date
    dose: int | None
    lot: str | None
    source: str
    updated_at: datetime

    @staticmethod
    def of(row: Vaccination) -> VaccinationView:
        return VaccinationView(
            row.id,
            catalog.VACCINES[row.vaccine],
            row.given_on,
            row.dose,
            row.lot,
            row.source,
            row.updated_at,
        )


@dataclass(frozen=True)
class Vaccinations:
    """The vaccinations given and, per the French calendar, the next dose of each series."""

    given: tuple[VaccinationView, ...]
    next_doses: tuple[NextDose, ...]


@dataclass(frozen=True)
class CareLineView:
    id: str
    care_date: date
    act: catalog.CareAct
    rpps: str | None
    finess: str | None
    pharmacy_finess: str | None
    label: str
    vaccine: str | None

    @staticmethod
    def of(row: CareLine) -> CareLineView:
        return CareLineView(
            row.id,
            row.care_date,
            catalog.CARE_ACTS[row.act],
            row.rpps,
            row.finess,
            row.pharmacy_finess,
            row.label,
            row.vaccine,
        )


@dataclass(frozen=True)
class ContactView:
    id: str
    role: str
    first_names: str
    last_name: str
    relationship: str
    phone: str | None
    email: str | None
    note: str | None
    updated_at: datetime

    @staticmethod
    def of(row: Contact) -> ContactView:
        return ContactView(
            row.id,
            row.role,
            row.first_names,
            row.last_name,
            row.relationship,
            row.phone,
            row.email,
            row.note,
            row.updated_at,
        )

    @property
    def role_label(self) -> tuple[str, str]:
        return catalog.CONTACT_ROLES[self.role]

    @property
    def relationship_label(self) -> tuple[str, str]:
        return catalog.RELATIONSHIPS.get(self.relationship, (self.relationship,) * 2)


@dataclass(frozen=True)
class DirectiveView:
    id: str
    kind: str  # form | file
    answers: dict[str, str]
    file_size: int | None
    file_sha256: str | None
    written_on: date
    updated_at: datetime

    @staticmethod
    def of(row: Directive) -> DirectiveView:
        return DirectiveView(
            row.id,
            row.kind,
            json.loads(row.answers) if row.answers else {},
            row.file_size,
            row.file_sha256,
            row.written_on,
            row.updated_at,
        )


@dataclass(frozen=True)
class Entourage:
    contacts: tuple[ContactView, ...]
    directives: tuple[DirectiveView, ...]

    @property
    def trusted_person(self) -> ContactView | None:
        return next((c for c in self.contacts if c.role == "trusted_person"), None)


@dataclass(frozen=True)
class PatientLine:
    """Who the profile is of, for a summary's header."""

    id: str
    ins: str
    first_names: str
    birth_names: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class Summary:
    """What the reader may see of the whole profile at one moment (the IPS, « Ajouter à mon
    dossier »): each section he may read, and only those."""

    patient: PatientLine
    made_at: datetime
    sections: tuple[Section, ...]
    entries: dict[Section, tuple[EntryView, ...]]
    series: tuple[Series, ...]
    vaccinations: Vaccinations | None
    care: tuple[CareLineView, ...]
    entourage: Entourage | None
