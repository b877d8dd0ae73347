"""What the profile's pages show, shaped for the templates and the charts: links to the sections
the reader may see, and each measure's points as uPlot draws them (seconds since the epoch and
values; the unit, the normal range and the label beside). Presentation only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from carnet.access.rules import Section
from carnet.access.wording import SECTION_TEXT
from carnet.profile.views import Series
from carnet.texts import N_

#: Each section's page, under /espace/<id>/profil/, and what it holds.
PAGES: dict[Section, tuple[str, str]] = {
    Section.MEASURES: ("mesures", "Poids, taille, tension, glycémie… et leurs courbes"),
    Section.VACCINATIONS: ("vaccinations", "Vaccins reçus et prochains rappels"),
    Section.TREATMENTS: ("traitements", "Les traitements que vous prenez"),
    Section.ALLERGIES: ("allergies", N_("Allergies et intolérances")),
    Section.CONDITIONS: ("problemes", "Vos problèmes de santé"),
    Section.HISTORY: ("antecedents", "Antécédents personnels et familiaux"),
    Section.REIMBURSED_CARE: ("soins", "Les soins remboursés par l'Assurance Maladie"),
    Section.ENTOURAGE: ("entourage", "Personne de confiance, proches, directives anticipées"),
}


@dataclass(frozen=True)
class SectionLink:
    href: str
    label: str
    text: str


def section_links(patient_id: str, readable: list[Section]) -> list[SectionLink]:
    return [
        SectionLink(f"/espace/{patient_id}/profil/{slug}", SECTION_TEXT[section][0], text)
        for section, (slug, text) in PAGES.items()
        if section in readable
    ]


def chart_data(series: list[Series]) -> list[dict[str, Any]]:
    """One chart per measure: x in seconds, y (and y2, the diastolic), unit, normal range."""
    return [
        {
            "key": s.kind.key,
            "label": s.kind.label_fr,
            "unit": s.kind.unit,
            "low": s.kind.low,
            "high": s.kind.high,
            "x": [int(p.at.timestamp()) for p in s.points],
            "y": [p.value for p in s.points],
            **(
                {"y2": [p.value2 for p in s.points], "label2": N_("Diastolique")}
                if s.kind.key == "blood_pressure"
                else {}
            ),
        }
        for s in series
    ]


def fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"
