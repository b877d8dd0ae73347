"""What a patient's software sends to write his medical profile, read into the profile's inputs.

Each body is first parsed with ``fhir.resources`` (R4B): a resource that is not valid FHIR is
refused as such; then the few elements Carnet keeps are taken. The values themselves (codes,
units, dates…) are checked by the profile's rules, like any other entry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from carnet.access.rules import Section
from carnet.errors import Invalid
from carnet.profile.catalog import CVX, LOINC, ROLE_CODE, UCUM
from carnet.profile.fhir import CONTACT_ROLE
from carnet.profile.rules import ContactIn, EntryIn, MeasureIn, VaccinationIn


def checked(body: Any, resource_type: str) -> dict[str, Any]:
    """``body`` as a valid R4B resource of ``resource_type``, or ``Invalid``."""
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        raise Invalid(
            f"Une ressource {resource_type} est attendue.",
            f"A {resource_type} resource is expected.",
            code="bad_resource",
        )
    try:
        get_fhir_model_class(resource_type).model_validate(body)
    except (ValidationError, ValueError) as error:
        first = str(error).splitlines()[1:2] or ["?"]
        raise Invalid(
            f"Ressource {resource_type} invalide : {first[0].strip()}.",
            f"Invalid {resource_type} resource: {first[0].strip()}.",
            code="bad_resource",
        ) from None
    return body


def patient_of(reference: dict[str, Any] | None) -> str:
    """The patient a resource is about (``Patient/<id>``)."""
    found = (reference or {}).get("reference") or ""
    if not found.startswith("Patient/") or len(found) <= len("Patient/"):
        raise Invalid(
            "La référence au patient (Patient/<id>) manque.",
            "The reference to the patient (Patient/<id>) is missing.",
            code="missing_patient",
        )
    return str(found.removeprefix("Patient/"))


def _code(concept: dict[str, Any] | None, system: str) -> str | None:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") == system and coding.get("code"):
            return str(coding["code"])
    return None


def _text(concept: dict[str, Any] | None) -> str:
    concept = concept or {}
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding", []):
        if coding.get("display"):
            return str(coding["display"])
    return ""


def _moment(value: str | None) -> datetime:
    if not value:
        raise Invalid("La date manque.", "The date is missing.", code="missing")
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"Date illisible : {value}.", f"Unreadable date: {value}.", code="bad_date"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _day(value: str | None) -> date | None:
    return _moment(value).date() if value else None


def _quantity(q: dict[str, Any] | None) -> tuple[float, str]:
    q = q or {}
    if q.get("value") is None:
        raise Invalid("La valeur manque.", "The value is missing.", code="missing")
    if q.get("system") not in (None, UCUM):
        raise Invalid(
            "Unité : le code UCUM est attendu (http://unitsofmeasure.org).",
            "Unit: the UCUM code is expected (http://unitsofmeasure.org).",
            code="bad_unit",
        )
    return float(q["value"]), str(q.get("code") or q.get("unit") or "")


def measure(body: dict[str, Any]) -> tuple[str, MeasureIn]:
    """An Observation: a measure (LOINC), or the blood pressure panel and its components."""
    code = _code(body.get("code"), LOINC)
    if code is None:
        raise Invalid("Code LOINC attendu.", "A LOINC code is expected.", code="unknown_code")
    at = _moment(body.get("effectiveDateTime"))
    patient = patient_of(body.get("subject"))
    if body.get("component"):
        parts = {_code(c.get("code"), LOINC): c.get("valueQuantity") for c in body["component"]}
        systolic, unit = _quantity(parts.get("8480-6"))
        diastolic, unit2 = _quantity(parts.get("8462-4"))
        if unit != unit2:
            raise Invalid(
                "La tension : une seule unité.", "Blood pressure: one unit.", code="bad_unit"
            )
        return patient, MeasureIn(code, systolic, unit, at, diastolic)
    value, unit = _quantity(body.get("valueQuantity"))
    return patient, MeasureIn(code, value, unit, at)


def vaccination(body: dict[str, Any]) -> tuple[str, VaccinationIn]:
    code = _code(body.get("vaccineCode"), CVX)
    if code is None:
        raise Invalid(
            "Code CVX du vaccin attendu.",
            "The vaccine's CVX code is expected.",
            code="unknown_code",
        )
    given = _day(body.get("occurrenceDateTime"))
    assert given is not None
    protocol = (body.get("protocolApplied") or [{}])[0]
    return patient_of(body.get("patient")), VaccinationIn(
        code, given, protocol.get("doseNumberPositiveInt"), body.get("lotNumber")
    )


def _status(concept: dict[str, Any] | None, default: str) -> str:
    for coding in (concept or {}).get("coding", []):
        if coding.get("code"):
            return str(coding["code"])
    return default


def entry(body: dict[str, Any]) -> tuple[str, EntryIn]:
    """AllergyIntolerance, Condition, FamilyMemberHistory or MedicationStatement."""
    kind = body["resourceType"]
    if kind == "AllergyIntolerance":
        reaction = (body.get("reaction") or [{}])[0]
        manifestation = (reaction.get("manifestation") or [{}])[0]
        return patient_of(body.get("patient")), EntryIn(
            Section.ALLERGIES,
            _text(body.get("code")),
            detail=_text(manifestation) or None,
            kind=body.get("type"),
            category=(body.get("category") or [None])[0],
            criticality=body.get("criticality"),
            start_date=_day(body.get("onsetDateTime")),
        )
    if kind == "Condition":
        status = _status(body.get("clinicalStatus"), "active")
        history = status == "inactive"
        return patient_of(body.get("subject")), EntryIn(
            Section.HISTORY if history else Section.CONDITIONS,
            _text(body.get("code")),
            detail=((body.get("note") or [{}])[0]).get("text"),
            kind="personal" if history else None,
            status=None if history else status,
            start_date=_day(body.get("onsetDateTime")),
        )
    if kind == "FamilyMemberHistory":
        item = (body.get("condition") or [{}])[0]
        return patient_of(body.get("patient")), EntryIn(
            Section.HISTORY,
            _text(item.get("code")),
            detail=((item.get("note") or [{}])[0]).get("text"),
            kind="family",
            relation=_code(body.get("relationship"), ROLE_CODE),
        )
    period = body.get("effectivePeriod") or {}
    return patient_of(body.get("subject")), EntryIn(
        Section.TREATMENTS,
        _text(body.get("medicationCodeableConcept")),
        detail=((body.get("dosage") or [{}])[0]).get("text"),
        status=body.get("status"),
        start_date=_day(period.get("start")),
        end_date=_day(period.get("end")),
    )


def contact(body: dict[str, Any]) -> tuple[str, ContactIn]:
    """A RelatedPerson: the trusted person or a relative (``contact-role``), his relationship
    (v3 RoleCode), name and telecom."""
    role = relationship = None
    for concept in body.get("relationship") or []:
        role = role or _code(concept, CONTACT_ROLE)
        relationship = relationship or _code(concept, ROLE_CODE)
    name = (body.get("name") or [{}])[0]
    telecom = {t.get("system"): t.get("value") for t in body.get("telecom") or []}
    return patient_of(body.get("patient")), ContactIn(
        role or "relative",
        " ".join(name.get("given") or []),
        name.get("family") or "",
        relationship or "",
        telecom.get("phone"),
        telecom.get("email"),
    )
