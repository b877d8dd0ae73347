"""The whole medical profile in FHIR R4, for the patient's full export (LC-6): every section his
side may read, every measure (not only the last, as the IPS gives), each read traced."""

from __future__ import annotations

from typing import Any

from carnet.access.record import Record
from carnet.access.rules import Section
from carnet.profile import fhir
from carnet.profile.summary import summary_of


def export_resources(record: Record) -> list[dict[str, Any]]:
    summary = summary_of(record)
    pid = summary.patient.id
    out: list[dict[str, Any]] = [
        fhir.entry_resource(pid, e) for entries in summary.entries.values() for e in entries
    ]
    if Section.MEASURES in summary.sections:
        out += [
            fhir.observation(pid, s.kind, point)
            for s in summary.series
            if not s.kind.computed  # the BMI is derived from the weights exported here
            for point in s.points
        ]
    if summary.vaccinations is not None:
        out += [fhir.immunization(pid, v) for v in summary.vaccinations.given]
    if summary.entourage is not None:
        out += [fhir.related_person(pid, c) for c in summary.entourage.contacts]
        out += [fhir.consent(pid, d) for d in summary.entourage.directives]
    return out
