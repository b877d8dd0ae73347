"""What the medical profile accepts (PRF-1, PRF-2): values, units, codes, dates, text. Pure.

Each check returns the value as it is stored, or raises ``Invalid`` with a French and an English
message saying what is wrong; nothing is stored then. Impossible values (a weight of 0 or 900
kg, a systolic pressure below the diastolic), wrong units, codes the catalogues do not know,
dates in the future or before birth and text over its limit are refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from carnet.access.rules import Section
from carnet.errors import Invalid
from carnet.profile import catalog
from carnet.profile.catalog import MEASURES, CalendarDose, MeasureKind

#: Control characters but line breaks and tabs.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LABEL_MAX = 200
TEXT_MAX = 1000
NAME_MAX = 100
LOT_MAX = 40
DIRECTIVE_FILE_MAX = 5 * 1024 * 1024  # DOC-8's limit for what a patient uploads


# ------------------------------------------------------------------------------------------
# Text, codes, dates
# ------------------------------------------------------------------------------------------


def text(value: str | None, limit: int, what: tuple[str, str], *, required: bool = False) -> str:
    """``value`` trimmed; refused when required and empty, over ``limit`` characters, or
    holding control characters (line breaks and tabs aside)."""
    found = (value or "").strip()
    if required and not found:
        raise Invalid(f"{what[0]} : à renseigner.", f"{what[1]}: required.", code="missing")
    if len(found) > limit:
        raise Invalid(
            f"{what[0]} : {limit} caractères au plus ({len(found)} reçus).",
            f"{what[1]}: {limit} characters at most ({len(found)} received).",
            code="too_long",
        )
    if _CONTROLS.search(found):
        raise Invalid(
            f"{what[0]} : caractères de contrôle refusés.",
            f"{what[1]}: control characters refused.",
            code="bad_text",
        )
    return found


def has_controls(value: str) -> bool:
    return _CONTROLS.search(value) is not None


def optional_text(value: str | None, limit: int, what: tuple[str, str]) -> str | None:
    return text(value, limit, what) or None


def known(code: str | None, table: dict[str, Any], what: tuple[str, str]) -> str:
    """A code of one of the catalogues, or ``Invalid`` naming the codes it knows."""
    if code is None or code not in table:
        shown = ", ".join(sorted(table)[:20])
        raise Invalid(
            f"{what[0]} : code inconnu « {code or ''} » (attendu : {shown}).",
            f"{what[1]}: unknown code '{code or ''}' (expected: {shown}).",
            code="unknown_code",
        )
    return code


def past_day(day: date, born: date, today: date, what: tuple[str, str]) -> date:
    """A date of the patient's life: not after today, not before his birth."""
    if day > today:
        raise Invalid(
            f"{what[0]} : date dans le futur ({day:%d/%m/%Y}).",
            f"{what[1]}: date in the future ({day.isoformat()}).",
            code="future_date",
        )
    if day < born:
        raise Invalid(
            f"{what[0]} : date antérieure à la naissance ({day:%d/%m/%Y}).",
            f"{what[1]}: date before birth ({day.isoformat()}).",
            code="before_birth",
        )
    return day


# ------------------------------------------------------------------------------------------
# Measures (LOINC, UCUM)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureIn:
    """A measure as entered: its kind (``catalog.MEASURES`` key, or its LOINC code), value and
    UCUM unit; a blood pressure carries the diastolic in ``value2``."""

    kind: str
    value: float
    unit: str
    measured_at: datetime
    value2: float | None = None


@dataclass(frozen=True)
class Measured:
    """A checked measure: in the catalogue's unit, rounded to its decimals."""

    kind: MeasureKind
    value: float
    value2: float | None
    measured_at: datetime


def _label(kind: MeasureKind) -> tuple[str, str]:
    return kind.label_fr, kind.label_en


def _in_unit(kind: MeasureKind, value: float, unit: str) -> float:
    factor = kind.units.get(unit)
    if factor is None:
        accepted = ", ".join(kind.units)
        raise Invalid(
            f"{kind.label_fr} : unité refusée « {unit} » (acceptées : {accepted}).",
            f"{kind.label_en}: unit refused '{unit}' (accepted: {accepted}).",
            code="bad_unit",
        )
    return value * factor


def _bounded(kind: MeasureKind, value: float) -> float:
    """In the catalogue's unit, rounded; impossible values refused."""
    if not math.isfinite(value) or not kind.min <= value <= kind.max:
        shown = f"{value:g}" if math.isfinite(value) else "?"
        raise Invalid(
            f"{kind.label_fr} impossible : {shown} {kind.unit} "
            f"(entre {kind.min:g} et {kind.max:g} {kind.unit}).",
            f"Impossible {kind.label_en.lower()}: {shown} {kind.unit} "
            f"(between {kind.min:g} and {kind.max:g} {kind.unit}).",
            code="impossible_value",
        )
    return round(value, kind.decimals)


def measure_kind(code: str) -> MeasureKind:
    """A measure by Carnet's key or by LOINC code."""
    found = MEASURES.get(code) or catalog.MEASURES_BY_LOINC.get(code)
    if found is None:
        known(code, MEASURES, ("Mesure", "Measure"))
    assert found is not None
    return found


def check_measure(m: MeasureIn, born: date, now: datetime) -> Measured:
    kind = measure_kind(m.kind)
    if kind.computed:
        raise Invalid(
            f"{kind.label_fr} : calculé par Carnet, il ne se saisit pas.",
            f"{kind.label_en}: computed by Carnet, not entered.",
            code="computed_measure",
        )
    if kind.key in ("systolic", "diastolic"):
        raise Invalid(
            "La tension se saisit en une fois : systolique puis diastolique.",
            "Blood pressure is entered as one reading: systolic then diastolic.",
            code="blood_pressure_as_one",
        )
    if m.measured_at > now:
        raise Invalid(
            f"{kind.label_fr} : mesure dans le futur.",
            f"{kind.label_en}: measure in the future.",
            code="future_date",
        )
    past_day(m.measured_at.date(), born, now.date(), _label(kind))
    if kind.key == "blood_pressure":
        return _blood_pressure(m, kind)
    if m.value2 is not None:
        raise Invalid(
            f"{kind.label_fr} : une seule valeur.",
            f"{kind.label_en}: one value only.",
            code="one_value",
        )
    value = _bounded(kind, _in_unit(kind, m.value, m.unit))
    return Measured(kind, value, None, m.measured_at)


def _blood_pressure(m: MeasureIn, kind: MeasureKind) -> Measured:
    if m.value2 is None:
        raise Invalid(
            "Tension : la pression diastolique manque.",
            "Blood pressure: the diastolic pressure is missing.",
            code="missing",
        )
    systolic_kind, diastolic_kind = MEASURES["systolic"], MEASURES["diastolic"]
    systolic = _bounded(systolic_kind, _in_unit(kind, m.value, m.unit))
    diastolic = _bounded(diastolic_kind, _in_unit(kind, m.value2, m.unit))
    if systolic <= diastolic:
        raise Invalid(
            f"Tension impossible : la systolique ({systolic:g}) doit dépasser la diastolique "
            f"({diastolic:g}).",
            f"Impossible blood pressure: the systolic ({systolic:g}) must exceed the diastolic "
            f"({diastolic:g}).",
            code="systolic_below_diastolic",
        )
    return Measured(kind, systolic, diastolic, m.measured_at)


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body mass index, kg/m² (one decimal)."""
    metres = height_cm / 100
    return round(weight_kg / (metres * metres), 1)


def bmi_series(
    weights: list[tuple[datetime, float]], heights: list[tuple[datetime, float]]
) -> list[tuple[datetime, float]]:
    """BMI at each weight, with the height last measured before it (else the first one
    measured: an adult's height barely moves). Both lists in time order."""
    if not heights:
        return []
    out: list[tuple[datetime, float]] = []
    index, height = 0, heights[0][1]
    for at, weight in weights:
        while index < len(heights) and heights[index][0] <= at:
            height = heights[index][1]
            index += 1
        value = bmi(weight, height)
        if MEASURES["bmi"].min <= value <= MEASURES["bmi"].max:
            out.append((at, value))
    return out


# ------------------------------------------------------------------------------------------
# Sections of entries: treatments, allergies, history, conditions
# ------------------------------------------------------------------------------------------

ENTRY_SECTIONS = frozenset(
    {Section.TREATMENTS, Section.ALLERGIES, Section.HISTORY, Section.CONDITIONS}
)


@dataclass(frozen=True)
class EntryIn:
    """One line of a section: a treatment (``detail``: its dosage), an allergy or intolerance
    (``kind``, ``category``, ``criticality``; ``detail``: the reaction), a personal or family
    history (``kind``; ``relation`` for family), a health condition (``status``)."""

    section: Section
    label: str
    detail: str | None = None
    kind: str | None = None
    category: str | None = None
    criticality: str | None = None
    relation: str | None = None
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None


_LABELS: dict[Section, tuple[str, str]] = {
    Section.TREATMENTS: ("Traitement", "Treatment"),
    Section.ALLERGIES: ("Allergie ou intolérance", "Allergy or intolerance"),
    Section.HISTORY: ("Antécédent", "History"),
    Section.CONDITIONS: ("Problème de santé", "Health condition"),
}


def check_entry(e: EntryIn, born: date, today: date) -> EntryIn:
    if e.section not in ENTRY_SECTIONS:
        known(e.section.value, {s.value: s for s in ENTRY_SECTIONS}, ("Rubrique", "Section"))
    what = _LABELS[e.section]
    label = text(e.label, LABEL_MAX, what, required=True)
    detail = optional_text(e.detail, TEXT_MAX, (f"{what[0]} (précisions)", f"{what[1]} (details)"))
    blank = EntryIn(e.section, label, detail)
    family = e.section is Section.HISTORY and e.kind == "family"
    start = e.start_date
    if start is not None and not family:
        past_day(start, born, today, what)
    if start is not None and family:
        past_day(start, date.min, today, what)  # a relative's illness may predate the patient
    if e.section is Section.TREATMENTS:
        status = known(e.status or "active", catalog.TREATMENT_STATUSES, ("Statut", "Status"))
        end = e.end_date
        if end is not None and start is not None and end < start:
            raise Invalid(
                "Traitement : la fin précède le début.",
                "Treatment: the end comes before the start.",
                code="end_before_start",
            )
        return replace(blank, status=status, start_date=start, end_date=end)
    if e.section is Section.ALLERGIES:
        kind = known(e.kind or "allergy", catalog.ALLERGY_TYPES, ("Type", "Type"))
        category = (
            known(e.category, catalog.ALLERGY_CATEGORIES, ("Catégorie", "Category"))
            if e.category
            else None
        )
        criticality = (
            known(e.criticality, catalog.CRITICALITIES, ("Gravité", "Criticality"))
            if e.criticality
            else None
        )
        return replace(
            blank, kind=kind, category=category, criticality=criticality, start_date=start
        )
    if e.section is Section.HISTORY:
        kind = known(e.kind, catalog.HISTORY_KINDS, ("Type d'antécédent", "Kind of history"))
        relation = (
            known(e.relation, catalog.RELATIONSHIPS, ("Lien de parenté", "Relationship"))
            if kind == "family"
            else None
        )
        return replace(blank, kind=kind, relation=relation, start_date=start)
    status = known(e.status or "active", catalog.CONDITION_STATUSES, ("Statut", "Status"))
    return replace(blank, status=status, start_date=start)


# ------------------------------------------------------------------------------------------
# Vaccinations and the calendar
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaccinationIn:
    vaccine: str  # a code of ``catalog.VACCINES``, or its CVX code
    given_on: date
    dose: int | None = None
    lot: str | None = None


def vaccine_code(code: str) -> str:
    found = catalog.VACCINES.get(code) or catalog.VACCINES_BY_CVX.get(code)
    if found is None:
        known(code, catalog.VACCINES, ("Vaccin", "Vaccine"))
    assert found is not None
    return found.code


def check_vaccination(v: VaccinationIn, born: date, today: date) -> VaccinationIn:
    code = vaccine_code(v.vaccine)
    past_day(v.given_on, born, today, ("Vaccination", "Vaccination"))
    if v.dose is not None and not 1 <= v.dose <= 20:
        raise Invalid("Numéro de dose : de 1 à 20.", "Dose number: from 1 to 20.", code="bad_dose")
    lot = optional_text(v.lot, LOT_MAX, ("Numéro de lot", "Batch number"))
    return VaccinationIn(code, v.given_on, v.dose, lot)


@dataclass(frozen=True)
class NextDose:
    """The next dose of a series of the French calendar: due on ``due_on`` (overdue when past)."""

    series: str
    dose: CalendarDose
    due_on: date
    overdue: bool


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def next_doses(born: date, today: date, given: list[tuple[str, date]]) -> list[NextDose]:
    """For each series of the calendar: the next dose due, from the vaccinations ``given``
    (vaccine code, date). A yearly reminder comes back a year after the last one; a dose whose
    catch-up age has passed is not proposed. Soonest first."""
    age_now = (today.year - born.year) * 12 + today.month - born.month
    counted: dict[str, list[date]] = {}
    for code, day in given:
        vaccine = catalog.VACCINES.get(code)
        for series in vaccine.series if vaccine else ():
            counted.setdefault(series, []).append(day)
    found: list[NextDose] = []
    for series, doses in catalog.CALENDAR.items():
        days = sorted(counted.get(series, []))
        due: tuple[CalendarDose, date] | None = None
        for dose in doses[len(days) :]:
            if dose.until_months is None or age_now < dose.until_months:
                due = (dose, add_months(born, dose.age_months))
                break
        last = doses[-1]
        if due is None and len(days) >= len(doses) and last.every_months:
            due = (
                last,
                max(add_months(days[-1], last.every_months), add_months(born, last.age_months)),
            )
        if due is not None:
            found.append(NextDose(series, due[0], due[1], due[1] < today))
    return sorted(found, key=lambda n: (n.due_on, n.series))


# ------------------------------------------------------------------------------------------
# Entourage et volontés: trusted person, relatives, advance directives
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactIn:
    role: str  # catalog.CONTACT_ROLES
    first_names: str
    last_name: str
    relationship: str  # catalog.RELATIONSHIPS
    phone: str | None = None
    email: str | None = None
    note: str | None = None


def check_contact(c: ContactIn) -> ContactIn:
    role = known(c.role, catalog.CONTACT_ROLES, ("Rôle", "Role"))
    first = text(c.first_names, NAME_MAX, ("Prénom", "First name"), required=True)
    last = text(c.last_name, NAME_MAX, ("Nom", "Last name"), required=True)
    relationship = known(c.relationship, catalog.RELATIONSHIPS, ("Lien", "Relationship"))
    phone = optional_text(c.phone, 20, ("Téléphone", "Phone"))
    if phone is not None and (
        sum(ch.isdigit() for ch in phone) < 6 or any(ch not in "0123456789+ .-()" for ch in phone)
    ):
        raise Invalid(
            "Téléphone : des chiffres, et + . - ( ) ou des espaces.",
            "Phone: digits, and + . - ( ) or spaces.",
            code="bad_phone",
        )
    email = optional_text(c.email, 320, ("Adresse e-mail", "E-mail address"))
    if email is not None and ("@" not in email or " " in email):
        raise Invalid("Adresse e-mail invalide.", "Invalid e-mail address.", code="bad_email")
    note = optional_text(c.note, TEXT_MAX, ("Remarque", "Note"))
    return ContactIn(role, first, last, relationship, phone, email, note)


def check_one_trusted_person(role: str, others_trusted: int) -> None:
    """One trusted person at a time (code de la santé publique, L. 1111-6: « une personne de
    confiance »): replace the one named, rather than adding a second."""
    if role == "trusted_person" and others_trusted > 0:
        raise Invalid(
            "Une seule personne de confiance : modifiez celle qui est désignée.",
            "One trusted person only: change the one named.",
            code="one_trusted_person",
        )


def check_answers(answers: dict[str, str]) -> dict[str, str]:
    """Advance directives written online: answers to the official model's questions."""
    questions = {q.id: q for q in catalog.DIRECTIVE_QUESTIONS}
    out: dict[str, str] = {}
    for key, value in answers.items():
        question = questions.get(key)
        if question is None:
            known(key, questions, ("Question", "Question"))
            continue
        if question.choices is not None:
            if not value:
                continue
            choices = {c[0]: c for c in catalog.DIRECTIVE_CHOICES[question.choices]}
            out[key] = known(value, choices, (question.fr[:60], question.en[:60]))
        else:
            found = text(value, question.text_limit, (question.fr[:60], question.en[:60]))
            if found:
                out[key] = found
    for question in catalog.DIRECTIVE_QUESTIONS:
        if question.required and question.id not in out:
            text(None, 1, (question.fr, question.en), required=True)
    if len(out) <= sum(q.required for q in catalog.DIRECTIVE_QUESTIONS):
        raise Invalid(
            "Directives anticipées : répondez à au moins une question sur vos volontés.",
            "Advance directives: answer at least one question about your wishes.",
            code="empty_directives",
        )
    return out


def check_directive_file(data: bytes, declared_mime: str) -> None:
    """Advance directives uploaded as a PDF (PRF-1), 5 MB at most (DOC-8), checked on the
    content."""
    if not data:
        raise Invalid("Le fichier est vide.", "The file is empty.", code="empty")
    if len(data) > DIRECTIVE_FILE_MAX:
        raise Invalid("Le fichier dépasse 5 Mo.", "The file exceeds 5 MB.", code="too_large")
    if not data.startswith(b"%PDF-") or declared_mime.split(";")[0].strip() != "application/pdf":
        raise Invalid(
            "Directives anticipées : un fichier PDF est attendu.",
            "Advance directives: a PDF file is expected.",
            code="unsupported_format",
        )


# ------------------------------------------------------------------------------------------
# The operator's feed of reimbursed care (DOC-1, DOC-9)
# ------------------------------------------------------------------------------------------


def minor_secret(act: str, flagged: bool) -> bool:
    """DOC-9: an act a minor may keep from his representatives — by its kind (abortion,
    contraception…), or any act the feed flags as kept secret at the minor's request."""
    kind = catalog.CARE_ACTS.get(act)
    return flagged or bool(kind and kind.minor_secret)
