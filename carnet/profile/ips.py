"""The International Patient Summary (HL7 IPS, https://hl7.org/fhir/uv/ips/) of what a reader may
see: a document Bundle — a Composition, the Patient, then each section's resources. A section the
reader may not read (ACC-7) says so (emptyReason ``withheld``) rather than disappearing: a doctor
knows the summary is partial, not that the patient has no allergy."""

from __future__ import annotations

import hashlib
from html import escape
from typing import Any

from carnet.access.rules import Section
from carnet.profile import fhir
from carnet.profile.catalog import LOINC
from carnet.profile.views import Summary
from carnet.texts import N_

EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"

#: (key, LOINC code, title in French, the section of the profile it comes from)
IPS_SECTIONS: tuple[tuple[str, str, str, Section], ...] = (
    ("medications", "10160-0", N_("Traitements"), Section.TREATMENTS),
    ("allergies", "48765-2", N_("Allergies et intolérances"), Section.ALLERGIES),
    ("problems", "11450-4", N_("Problèmes de santé"), Section.CONDITIONS),
    ("history", "11348-0", N_("Antécédents"), Section.HISTORY),
    ("immunizations", "11369-6", N_("Vaccinations"), Section.VACCINATIONS),
    ("vital_signs", "8716-3", N_("Mesures"), Section.MEASURES),
    ("advance_directives", "42348-3", N_("Entourage et volontés"), Section.ENTOURAGE),
)


def _narrative(lines: list[str]) -> dict[str, str]:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines) or "<li>—</li>"
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>',
    }


def _resources(summary: Summary, section: Section) -> list[dict[str, Any]]:
    pid = summary.patient.id
    if section in summary.entries:
        return [fhir.entry_resource(pid, e) for e in summary.entries[section]]
    if section is Section.VACCINATIONS and summary.vaccinations is not None:
        return [fhir.immunization(pid, v) for v in summary.vaccinations.given]
    if section is Section.MEASURES:
        # The last value of each measure, as a summary gives it.
        return [
            fhir.bmi_observation(pid, s.points[-1].id, s.points[-1].at, s.points[-1].value)
            if s.kind.computed
            else fhir.observation(pid, s.kind, s.points[-1])
            for s in summary.series
            if s.points
        ]
    if section is Section.ENTOURAGE and summary.entourage is not None:
        return [fhir.related_person(pid, c) for c in summary.entourage.contacts] + [
            fhir.consent(pid, d) for d in summary.entourage.directives
        ]
    return []


def _lines(resources: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in resources:
        code = (
            r.get("code")
            or r.get("vaccineCode")
            or r.get("medicationCodeableConcept")
            or r.get("scope")
        )
        text = (code or {}).get("text") or r["resourceType"]
        if "valueQuantity" in r:
            q = r["valueQuantity"]
            text += f" : {q['value']} {q['unit']}"
        if r["resourceType"] == "RelatedPerson":
            name = r["name"][0]
            text = f"{r['relationship'][0]['text']} : {' '.join(name['given'])} {name['family']}"
        if r["resourceType"] == "Consent":
            text = N_("Directives anticipées")
        out.append(text)
    return out


def _patient(summary: Summary) -> dict[str, Any]:
    p = summary.patient
    return {
        "resourceType": "Patient",
        "id": p.id,
        "identifier": [{"system": INS_NIR, "value": p.ins}],
        "name": [{"family": p.birth_names, "given": p.first_names.split()}],
        "gender": {"M": "male", "F": "female"}.get(p.sex, "unknown"),
        "birthDate": p.birth_date.isoformat(),
    }


def ips_bundle(summary: Summary, base: str) -> dict[str, Any]:
    """The IPS document Bundle of ``summary`` (what its reader may see); ``base`` is the FHIR
    server's address, for the entries' full URLs."""
    pid = summary.patient.id
    made = fhir.instant(summary.made_at)
    entries: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    for _, code, title, section in IPS_SECTIONS:
        part: dict[str, Any] = {
            "title": title,
            "code": {"coding": [{"system": LOINC, "code": code}]},
        }
        if section not in summary.sections:
            part["text"] = _narrative(["Non communiqué à ce lecteur."])
            part["emptyReason"] = {
                "coding": [
                    {"system": EMPTY_REASON, "code": "withheld", "display": "Information Withheld"}
                ]
            }
            sections.append(part)
            continue
        resources = _resources(summary, section)
        part["text"] = _narrative(_lines(resources))
        if resources:
            part["entry"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources]
        else:
            part["emptyReason"] = {"coding": [{"system": EMPTY_REASON, "code": "nilknown"}]}
        sections.append(part)
        entries.extend(
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        )
    seal = hashlib.sha256(f"{pid}|{made}|{summary.sections}".encode()).hexdigest()
    composition = {
        "resourceType": "Composition",
        "id": seal[:32],
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "date": made,
        "author": [{"reference": f"Patient/{pid}"}],
        "title": f"Synthèse du profil médical de {summary.patient.first_names} "
        f"{summary.patient.birth_names}",
        "confidentiality": "N",
        "section": sections,
    }
    return {
        "resourceType": "Bundle",
        "id": seal[32:64],
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(seal)}"},
        "type": "document",
        "timestamp": made,
        "entry": [
            {"fullUrl": f"{base}/Composition/{composition['id']}", "resource": composition},
            {"fullUrl": f"{base}/Patient/{pid}", "resource": _patient(summary)},
            *entries,
        ],
    }


def _uuid(digest: str) -> str:
    h = digest[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
