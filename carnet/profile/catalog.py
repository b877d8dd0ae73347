"""The medical profile's catalogues, read from the data files beside this module: measures
(LOINC codes, UCUM units, plausible bounds, normal ranges), vaccines (CVX), the French
vaccination calendar, the kinds of reimbursed act, relationships, and the official model of
advance directives. Data, not code: the operator's agenda (AG-1) reads the same calendar."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CVX = "http://hl7.org/fhir/sid/cvx"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CARE_ACT_SYSTEM = "https://carnet.example/fhir/CodeSystem/care-act"


def _text(name: str) -> str:
    return resources.files("carnet.profile").joinpath(f"data/{name}").read_text("utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    lines = (line for line in _text(name).splitlines() if not line.startswith("#"))
    return list(csv.DictReader(lines))


def _number(text: str) -> float | None:
    return float(text) if text else None


@dataclass(frozen=True)
class MeasureKind:
    key: str
    loinc: str
    label_fr: str
    label_en: str
    unit: str
    #: UCUM unit accepted → factor to ``unit``.
    units: dict[str, float]
    decimals: int
    min: float
    max: float
    low: float | None
    high: float | None
    vital: bool
    computed: bool


def _measure(r: dict[str, str]) -> MeasureKind:
    units = {}
    for part in r["units"].split("|"):
        code, _, factor = part.partition("=")
        units[code] = float(factor)
    return MeasureKind(
        r["key"],
        r["loinc"],
        r["label_fr"],
        r["label_en"],
        r["unit"],
        units,
        int(r["decimals"]),
        float(r["min"]),
        float(r["max"]),
        _number(r["low"]),
        _number(r["high"]),
        r["vital"] == "1",
        r["computed"] == "1",
    )


MEASURES: dict[str, MeasureKind] = {m.key: m for m in map(_measure, _rows("measures.csv"))}
MEASURES_BY_LOINC: dict[str, MeasureKind] = {m.loinc: m for m in MEASURES.values()}
#: What a patient enters: blood pressure as one reading (systolic over diastolic); BMI computed.
ENTERED = tuple(
    k for k, m in MEASURES.items() if not m.computed and k not in ("systolic", "diastolic")
)


@dataclass(frozen=True)
class Vaccine:
    code: str
    cvx: str
    label_fr: str
    label_en: str
    series: tuple[str, ...]


VACCINES: dict[str, Vaccine] = {
    r["code"]: Vaccine(
        r["code"], r["cvx"], r["label_fr"], r["label_en"], tuple(r["series"].split("|"))
    )
    for r in _rows("vaccines.csv")
}
VACCINES_BY_CVX: dict[str, Vaccine] = {v.cvx: v for v in VACCINES.values()}


@dataclass(frozen=True)
class CalendarDose:
    series: str
    dose: int
    label_fr: str
    label_en: str
    age_months: int
    every_months: int | None
    #: Past this age (months), the dose is no longer caught up.
    until_months: int | None


def _calendar() -> dict[str, tuple[CalendarDose, ...]]:
    found: dict[str, list[CalendarDose]] = {}
    for r in _rows("calendar.csv"):
        dose = CalendarDose(
            r["series"],
            int(r["dose"]),
            r["label_fr"],
            r["label_en"],
            int(r["age_months"]),
            int(r["every_months"]) if r["every_months"] else None,
            int(r["until_months"]) if r["until_months"] else None,
        )
        found.setdefault(dose.series, []).append(dose)
    return {series: tuple(sorted(d, key=lambda x: x.dose)) for series, d in found.items()}


CALENDAR: dict[str, tuple[CalendarDose, ...]] = _calendar()
SERIES: dict[str, tuple[str, str]] = {
    r["series"]: (r["label_fr"], r["label_en"]) for r in _rows("series.csv")
}


@dataclass(frozen=True)
class CareAct:
    code: str
    label_fr: str
    label_en: str
    minor_secret: bool
    vaccination: bool


def _flag(text: str) -> bool:
    return text == "1"


CARE_ACTS: dict[str, CareAct] = {
    r["code"]: CareAct(
        r["code"], r["label_fr"], r["label_en"], _flag(r["minor_secret"]), _flag(r["vaccination"])
    )
    for r in _rows("care_acts.csv")
}

RELATIONSHIPS: dict[str, tuple[str, str]] = {
    r["code"]: (r["label_fr"], r["label_en"]) for r in _rows("relationships.csv")
}


@dataclass(frozen=True)
class Question:
    id: str
    fr: str
    en: str
    #: The name of its list of choices, or None for free text of ``text_limit`` characters.
    choices: str | None
    text_limit: int
    required: bool


def _form() -> tuple[tuple[Question, ...], dict[str, tuple[tuple[str, str, str], ...]]]:
    data: dict[str, Any] = json.loads(_text("directives_form.json"))
    questions = tuple(
        Question(
            q["id"],
            q["fr"],
            q["en"],
            q.get("choices"),
            int(q.get("text", 0)),
            bool(q.get("required", False)),
        )
        for q in data["questions"]
    )
    choices = {
        name: tuple((c[0], c[1], c[2]) for c in options)
        for name, options in data["choices"].items()
    }
    return questions, choices


DIRECTIVE_QUESTIONS, DIRECTIVE_CHOICES = _form()

# Small FHIR value sets the sections use (R4: AllergyIntolerance, Condition, MedicationStatement).
ALLERGY_TYPES = {"allergy": ("Allergie", "Allergy"), "intolerance": ("Intolérance", "Intolerance")}
ALLERGY_CATEGORIES = {
    "food": ("Alimentaire", "Food"),
    "medication": ("Médicament", "Medication"),
    "environment": ("Environnement", "Environment"),
    "biologic": ("Produit biologique", "Biologic"),
}
CRITICALITIES = {
    "low": ("Faible", "Low"),
    "high": ("Élevée", "High"),
    "unable-to-assess": ("Inconnue", "Unknown"),
}
TREATMENT_STATUSES = {
    "active": ("En cours", "Active"),
    "completed": ("Terminé", "Completed"),
    "stopped": ("Arrêté", "Stopped"),
}
CONDITION_STATUSES = {
    "active": ("Active", "Active"),
    "remission": ("En rémission", "In remission"),
    "resolved": ("Guérie", "Resolved"),
}
HISTORY_KINDS = {
    "personal": ("Antécédent personnel", "Personal history"),
    "family": ("Antécédent familial", "Family history"),
}
CONTACT_ROLES = {
    "trusted_person": ("Personne de confiance", "Trusted person"),
    "relative": ("Proche à prévenir", "Relative to contact"),
}
