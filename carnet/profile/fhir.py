"""The medical profile in FHIR R4 (valid for ``fhir.resources`` R4B): plain dicts built from the
profile's views. Observation (vital-signs profile), Immunization, AllergyIntolerance, Condition,
FamilyMemberHistory, MedicationStatement, RelatedPerson, and advance directives as Consent
(scope ``adr``). The FHIR door serves them; the synthesis a patient adds to his documents carries
them too (``profile.ips``): hence here, in the capability, and not in the door.

https://hl7.org/fhir/R4/observation-vitalsigns.html, https://hl7.org/fhir/R4/immunization.html
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from carnet.access.rules import Section
from carnet.profile import catalog
from carnet.profile.catalog import CVX, LOINC, ROLE_CODE, UCUM, MeasureKind
from carnet.profile.views import (
    CareLineView,
    ContactView,
    DirectiveView,
    EntryView,
    MeasureView,
    Point,
    VaccinationView,
)

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
IMMUNIZATION_ORIGIN = "http://terminology.hl7.org/CodeSystem/immunization-origin"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
CONTACT_ROLE = "https://carnet.example/fhir/CodeSystem/contact-role"
HISTORY_KIND = "https://carnet.example/fhir/CodeSystem/history-kind"
ID_NAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
FINESS = "urn:oid:1.2.250.1.71.4.2.2"


# ------------------------------------------------------------------------------------------
# Ids: the patient and the row in one id, as for documents
# ------------------------------------------------------------------------------------------


def resource_id(patient_id: str, row_id: str, prefix: str = "") -> str:
    """Patient and row in one id (base32, 52 characters): a read finds its patient directly.
    ``prefix`` marks a computed resource (``bmi-``: the BMI of that weight)."""
    raw = bytes.fromhex(patient_id) + bytes.fromhex(row_id)
    return prefix + base64.b32encode(raw).decode().rstrip("=").lower()


def parse_resource_id(fhir_id: str) -> tuple[str, str, str] | None:
    """``(prefix, patient_id, row_id)``, or None for an id Carnet never gave."""
    prefix = "bmi-" if fhir_id.startswith("bmi-") else ""
    try:
        raw = base64.b32decode(fhir_id.removeprefix(prefix).upper() + "====", casefold=False)
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 32:
        return None
    return prefix, raw[:16].hex(), raw[16:].hex()


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _patient(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _meta(updated: datetime | None, version: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if version is not None:
        meta["versionId"] = str(version)
    if updated is not None:
        meta["lastUpdated"] = instant(updated)
    return meta


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


# ------------------------------------------------------------------------------------------
# Observation
# ------------------------------------------------------------------------------------------


def _quantity(kind: MeasureKind, value: float) -> dict[str, Any]:
    return {"value": value, "unit": kind.unit, "system": UCUM, "code": kind.unit}


def _range(kind: MeasureKind) -> list[dict[str, Any]]:
    if kind.low is None and kind.high is None:
        return []
    found: dict[str, Any] = {}
    if kind.low is not None:
        found["low"] = _quantity(kind, kind.low)
    if kind.high is not None:
        found["high"] = _quantity(kind, kind.high)
    return [found]


def observation(
    patient_id: str, kind: MeasureKind, point: Point, *, fhir_id: str | None = None
) -> dict[str, Any]:
    """A measure as an Observation; a blood pressure as the vital-signs panel with its two
    components (systolic, diastolic)."""
    category = "vital-signs" if kind.vital else "laboratory"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id or resource_id(patient_id, point.id),
        "status": "final",
        "category": [{"coding": [_coding(OBSERVATION_CATEGORY, category)]}],
        "code": {"coding": [_coding(LOINC, kind.loinc, kind.label_en)], "text": kind.label_fr},
        "subject": _patient(patient_id),
        "effectiveDateTime": instant(point.at),
        "performer": [_patient(patient_id)],
    }
    if kind.vital:
        resource["meta"] = {"profile": [VITAL_SIGNS_PROFILE]}
    if kind.key == "blood_pressure":
        systolic, diastolic = catalog.MEASURES["systolic"], catalog.MEASURES["diastolic"]
        resource["component"] = [
            {
                "code": {"coding": [_coding(LOINC, part.loinc, part.label_en)]},
                "valueQuantity": _quantity(part, value),
                "referenceRange": _range(part),
            }
            for part, value in ((systolic, point.value), (diastolic, point.value2 or 0.0))
        ]
        for component in resource["component"]:
            if not component["referenceRange"]:
                del component["referenceRange"]
        return resource
    resource["valueQuantity"] = _quantity(kind, point.value)
    if _range(kind):
        resource["referenceRange"] = _range(kind)
    if kind.computed and kind.key == "bmi":
        weight = resource_id(patient_id, point.id) if point.id else None
        if weight:
            resource["derivedFrom"] = [{"reference": f"Observation/{weight}"}]
    return resource


def measure_observation(patient_id: str, m: MeasureView) -> dict[str, Any]:
    return observation(patient_id, m.kind, Point(m.id, m.measured_at, m.value, m.value2))


def bmi_observation(patient_id: str, weight_id: str, at: datetime, value: float) -> dict[str, Any]:
    """The BMI computed at a weight (id ``bmi-`` + the weight's id)."""
    return observation(
        patient_id,
        catalog.MEASURES["bmi"],
        Point(weight_id, at, value),
        fhir_id=resource_id(patient_id, weight_id, "bmi-"),
    )


# ------------------------------------------------------------------------------------------
# Immunization
# ------------------------------------------------------------------------------------------


def immunization(patient_id: str, v: VaccinationView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": resource_id(patient_id, v.id),
        "meta": _meta(v.updated_at),
        "status": "completed",
        "vaccineCode": {
            "coding": [_coding(CVX, v.vaccine.cvx, v.vaccine.label_en)],
            "text": v.vaccine.label_fr,
        },
        "patient": _patient(patient_id),
        "occurrenceDateTime": v.given_on.isoformat(),
        # Reported by the patient, or from the insurer's records: not the one who vaccinated.
        "primarySource": False,
        "reportOrigin": _concept(
            IMMUNIZATION_ORIGIN, "record" if v.source == "operator" else "recall"
        ),
    }
    if v.lot:
        resource["lotNumber"] = v.lot
    if v.dose:
        resource["protocolApplied"] = [{"doseNumberPositiveInt": v.dose}]
    return resource


# ------------------------------------------------------------------------------------------
# AllergyIntolerance, Condition, FamilyMemberHistory, MedicationStatement
# ------------------------------------------------------------------------------------------


def allergy_intolerance(patient_id: str, e: EntryView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": resource_id(patient_id, e.id),
        "meta": _meta(e.updated_at, e.version),
        "clinicalStatus": _concept(ALLERGY_CLINICAL, "active"),
        # Reported by the patient: not confirmed by a clinician.
        "verificationStatus": _concept(ALLERGY_VERIFICATION, "unconfirmed"),
        "type": e.kind or "allergy",
        "code": {"text": e.label},
        "patient": _patient(patient_id),
        "recordedDate": instant(e.updated_at),
    }
    if e.category:
        resource["category"] = [e.category]
    if e.criticality:
        resource["criticality"] = e.criticality
    if e.start_date:
        resource["onsetDateTime"] = e.start_date.isoformat()
    if e.detail:
        resource["reaction"] = [{"manifestation": [{"text": e.detail}]}]
    return resource


def condition(patient_id: str, e: EntryView) -> dict[str, Any]:
    """A health condition, or a personal history (an antécédent: inactive unless said)."""
    history = e.kind == "personal"
    status = "inactive" if history else (e.status or "active")
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": resource_id(patient_id, e.id),
        "meta": _meta(e.updated_at, e.version),
        "clinicalStatus": _concept(CONDITION_CLINICAL, status),
        "category": [
            {
                "coding": [_coding(CONDITION_CATEGORY, "problem-list-item")],
                **({"text": "Antécédent personnel"} if history else {}),
            }
        ],
        "code": {"text": e.label},
        "subject": _patient(patient_id),
        "recordedDate": instant(e.updated_at),
    }
    if e.start_date:
        resource["onsetDateTime"] = e.start_date.isoformat()
    if e.detail:
        resource["note"] = [{"text": e.detail}]
    return resource


def family_member_history(patient_id: str, e: EntryView) -> dict[str, Any]:
    relation = e.relation or "FAMMEMB"
    label = catalog.RELATIONSHIPS.get(relation, (relation, relation))
    item: dict[str, Any] = {"code": {"text": e.label}}
    if e.start_date:
        item["onsetString"] = e.start_date.isoformat()
    if e.detail:
        item["note"] = [{"text": e.detail}]
    return {
        "resourceType": "FamilyMemberHistory",
        "id": resource_id(patient_id, e.id),
        "meta": _meta(e.updated_at, e.version),
        "status": "completed",
        "patient": _patient(patient_id),
        "date": e.updated_at.date().isoformat(),
        "relationship": {"coding": [_coding(ROLE_CODE, relation, label[1])], "text": label[0]},
        "condition": [item],
    }


def medication_statement(patient_id: str, e: EntryView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": resource_id(patient_id, e.id),
        "meta": _meta(e.updated_at, e.version),
        "status": e.status or "active",
        "medicationCodeableConcept": {"text": e.label},
        "subject": _patient(patient_id),
        "dateAsserted": instant(e.updated_at),
        "informationSource": _patient(patient_id),
    }
    period = {
        k: v.isoformat() for k, v in (("start", e.start_date), ("end", e.end_date)) if v is not None
    }
    if period:
        resource["effectivePeriod"] = period
    if e.detail:
        resource["dosage"] = [{"text": e.detail}]
    return resource


def entry_resource(patient_id: str, e: EntryView) -> dict[str, Any]:
    """A line of a section as its resource."""
    if e.section is Section.ALLERGIES:
        return allergy_intolerance(patient_id, e)
    if e.section is Section.TREATMENTS:
        return medication_statement(patient_id, e)
    if e.section is Section.HISTORY and e.kind == "family":
        return family_member_history(patient_id, e)
    return condition(patient_id, e)


# ------------------------------------------------------------------------------------------
# Entourage et volontés: RelatedPerson, Consent (advance directives)
# ------------------------------------------------------------------------------------------


def related_person(patient_id: str, c: ContactView) -> dict[str, Any]:
    role = catalog.CONTACT_ROLES[c.role]
    relation = c.relationship_label
    telecom = [{"system": "phone", "value": c.phone}] if c.phone else []
    if c.email:
        telecom.append({"system": "email", "value": c.email})
    resource: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": resource_id(patient_id, c.id),
        "meta": _meta(c.updated_at),
        "active": True,
        "patient": _patient(patient_id),
        "relationship": [
            {"coding": [_coding(CONTACT_ROLE, c.role, role[1])], "text": role[0]},
            {"coding": [_coding(ROLE_CODE, c.relationship, relation[1])], "text": relation[0]},
        ],
        "name": [{"family": c.last_name, "given": c.first_names.split()}],
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def directive_text(d: DirectiveView) -> str:
    """Directives written online, as the model's questions and the patient's answers."""
    choices = {
        (name, key): fr
        for name, options in catalog.DIRECTIVE_CHOICES.items()
        for key, fr, _ in options
    }
    lines = [f"Directives anticipées du {d.written_on:%d/%m/%Y}"]
    for question in catalog.DIRECTIVE_QUESTIONS:
        answer = d.answers.get(question.id)
        if answer is None:
            continue
        shown = choices.get((question.choices, answer), answer) if question.choices else answer
        lines.append(f"\n{question.fr}\n→ {shown}")
    return "\n".join(lines)


def consent(patient_id: str, d: DirectiveView, data: bytes | None = None) -> dict[str, Any]:
    """Advance directives as a Consent of scope ``adr`` (advanced care directive): the answers
    written online as text, or the uploaded PDF (its bytes when ``data`` is given)."""
    if d.kind == "form":
        text = directive_text(d).encode()
        attachment: dict[str, Any] = {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(text).decode(),
            "title": "Directives anticipées (formulaire)",
        }
    else:
        attachment = {
            "contentType": "application/pdf",
            "title": "Directives anticipées (PDF)",
            "size": d.file_size or 0,
        }
        if d.file_sha256:
            attachment["hash"] = base64.b64encode(bytes.fromhex(d.file_sha256)).decode()
        if data is not None:
            attachment["data"] = base64.b64encode(data).decode()
    return {
        "resourceType": "Consent",
        "id": resource_id(patient_id, d.id),
        "meta": _meta(d.updated_at),
        "status": "active",
        "scope": _concept(CONSENT_SCOPE, "adr", "Advanced Care Directive"),
        "category": [_concept(CONSENT_CATEGORY, "acd", "Advance Directive")],
        "patient": _patient(patient_id),
        "dateTime": d.written_on.isoformat(),
        "sourceAttachment": attachment,
        "policyRule": {"text": "Directives anticipées (code de la santé publique, L. 1111-11)"},
    }


# ------------------------------------------------------------------------------------------
# Reimbursed care (in the summary only): as a plain list of what was reimbursed
# ------------------------------------------------------------------------------------------


def care_text(lines: tuple[CareLineView, ...]) -> str:
    return "\n".join(f"{c.care_date:%d/%m/%Y} — {c.act.label_fr} — {c.label}" for c in lines)
