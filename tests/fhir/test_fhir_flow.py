"""The FHIR door as practice software uses it (fhirpy over real HTTP): PDSm / IHE MHD, TD0.2.

Every resource Carnet returns is parsed with the R4B models.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from factories import add_patient, add_pro, patient_ctx
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from live_api import Api

from carnet.access import acts as access_acts
from carnet.context import AccessMode, AuthLevel
from carnet.demo.load import pdf
from carnet.identity.models import Pro
from carnet.population.models import Patient

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
TRE_A07 = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"
AUTHORISATION = "https://carnet.example/fhir/StructureDefinition/dmp-authorisation-status"
FHIR_JSON = "application/fhir+json"


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Parses with fhir.resources (R4B), entries of bundles included."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        if "resource" in entry:
            valid(entry["resource"])
    return resource


def client(
    api: Api,
    pro: Pro,
    mode: AccessMode | None = None,
    reason: str | None = None,
    level: AuthLevel = AuthLevel.CPS,
) -> SyncFHIRClient:
    headers = api.as_pro(pro, mode=mode, reason=reason, level=level)
    return SyncFHIRClient(
        f"{api.url}/fhir", authorization=headers.pop("Authorization"), extra_headers=headers
    )


def http(
    api: Api, pro: Pro, mode: AccessMode | None = None, reason: str | None = None
) -> dict[str, str]:
    return api.as_pro(pro, mode=mode, reason=reason)


def document_reference(
    patient: Patient,
    content: bytes,
    *,
    type_code: str = "11488-4",
    unique_id: str,
    labels: tuple[str, ...] = (),
    replaces: str | None = None,
    attachment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": unique_id},
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": type_code}]},
        "subject": {"identifier": {"system": INS_NIR, "value": patient.ins}},
        "description": f"Document {unique_id}",
        "securityLabel": [{"coding": [{"system": TRE_A07, "code": code}]} for code in labels],
        "content": [
            {
                "attachment": attachment
                or {
                    "contentType": "application/pdf",
                    "url": f"urn:uuid:{unique_id}-bin",
                    "size": len(content),
                    "hash": base64.b64encode(
                        hashlib.sha1(content, usedforsecurity=False).digest()
                    ).decode(),
                }
            }
        ],
    }
    if replaces:
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return resource


def provide_bundle(*documents: tuple[dict[str, Any], bytes]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:submission-set",
            "resource": {"resourceType": "List", "status": "current", "mode": "working"},
            "request": {"method": "POST", "url": "List"},
        }
    ]
    for resource, content in documents:
        binary_url = resource["content"][0]["attachment"]["url"]
        entries.append(
            {
                "fullUrl": f"urn:uuid:{resource['masterIdentifier']['value']}",
                "resource": resource,
                "request": {"method": "POST", "url": "DocumentReference"},
            }
        )
        entries.append(
            {
                "fullUrl": binary_url,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": base64.b64encode(content).decode(),
                },
                "request": {"method": "POST", "url": "Binary"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def search(
    api: Api,
    pro: Pro,
    patient: Patient,
    mode: AccessMode | None = None,
    reason: str | None = None,
    params: dict[str, str] | None = None,
    **more: str,
) -> dict[str, Any]:
    query = {
        "patient.identifier": f"{INS_NIR}|{patient.ins}",
        "status": "current",
        **(params or {}),
        **more,
    }
    answer = api.client.get(
        "/fhir/DocumentReference", params=query, headers=http(api, pro, mode, reason)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    return valid(answer.json())


def ids(bundle: dict[str, Any]) -> list[str]:
    return sorted(e["resource"]["masterIdentifier"]["value"] for e in bundle["entry"])


def authorisation(api: Api, pro: Pro, patient: Patient) -> str:
    found = (
        client(api, pro).resources("Patient").search(identifier=f"{INS_NIR}|{patient.ins}").fetch()
    )
    assert len(found) == 1
    resource = valid(dict(found[0]))
    code: str = next(e["valueCode"] for e in resource["extension"] if e["url"] == AUTHORISATION)
    return code


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    rt = api.rt
    return {
        "patient": add_patient(rt),
        "gp": add_pro(rt, last_name="Généraliste"),
        "nurse": add_pro(rt, profession="60", specialty=None),
        "podiatrist": add_pro(rt, profession="80", specialty=None),
        "samu": add_pro(rt, samu_regulator=True),
        "emergency": add_pro(rt, last_name="Urgentiste"),
        "blocked": add_pro(rt, last_name="Bloqué"),
    }


def test_acc_2_fhir_whole_flow_as_practice_software(api: Api, world: dict[str, Any]) -> None:
    patient, gp = world["patient"], world["gp"]
    assert authorisation(api, gp, patient) == "NON_EXISTE"
    consent = client(api, gp).resource(
        "Consent",
        status="active",
        scope={"coding": [{"code": "patient-privacy"}]},
        category=[{"coding": [{"code": "INFA"}]}],
        patient={"identifier": {"system": INS_NIR, "value": patient.ins}},
    )
    consent.save()
    assert authorisation(api, gp, patient) == "VALIDE"

    first, second = pdf("premier"), pdf("second")
    answer = api.client.post(
        "/fhir",
        json=provide_bundle(
            (document_reference(patient, first, unique_id="1.2.3.1"), first),
            (document_reference(patient, second, unique_id="1.2.3.2", type_code="34112-3"), second),
        ),
        headers=http(api, gp),
    )
    assert answer.status_code == 200, answer.text
    response = valid(answer.json())
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created"] * 5

    found = search(api, gp, patient)
    assert ids(found) == ["1.2.3.1", "1.2.3.2"]
    entry = next(
        e["resource"]
        for e in found["entry"]
        if e["resource"]["masterIdentifier"]["value"] == "1.2.3.1"
    )
    binary = api.client.get(
        f"/fhir/{entry['content'][0]['attachment']['url']}", headers=http(api, gp)
    )
    assert binary.status_code == 200
    assert binary.headers["content-type"] == "application/pdf"
    assert binary.content == first
    as_fhir = api.client.get(
        f"/fhir/{entry['content'][0]['attachment']['url']}",
        headers={**http(api, gp), "Accept": FHIR_JSON},
    )
    assert base64.b64decode(valid(as_fhir.json())["data"]) == first

    replacement = pdf("premier, corrigé")
    answer = api.client.post(
        "/fhir",
        json=provide_bundle(
            (
                document_reference(patient, replacement, unique_id="1.2.3.3", replaces=entry["id"]),
                replacement,
            ),
        ),
        headers=http(api, gp),
    )
    assert answer.status_code == 200, answer.text
    assert ids(search(api, gp, patient)) == ["1.2.3.2", "1.2.3.3"]
    superseded = search(api, gp, patient, status="superseded")
    assert ids(superseded) == ["1.2.3.1"]

    current = next(
        e["resource"]
        for e in search(api, gp, patient)["entry"]
        if e["resource"]["masterIdentifier"]["value"] == "1.2.3.3"
    )
    masked = api.client.patch(
        f"/fhir/DocumentReference/{current['id']}",
        json=[
            {
                "op": "add",
                "path": "/securityLabel/-",
                "value": {"coding": [{"system": TRE_A07, "code": "MASQUE_PS"}]},
            },
        ],
        headers={
            **http(api, gp),
            "Content-Type": "application/json-patch+json",
            "If-Match": f'W/"{current["meta"]["versionId"]}"',
        },
    )
    assert masked.status_code == 200, masked.text
    resource = valid(masked.json())
    assert {c["code"] for label in resource["securityLabel"] for c in label["coding"]} == {
        "MASQUE_PS"
    }
    assert resource["meta"]["versionId"] == "2"

    nurse = world["nurse"]
    _consent(api, nurse, patient)
    # 1.2.3.3 is masked now (DOC-4), and a hospital stay report (34112-3) is outside a nurse's
    # habilitation (ACC-1): she sees nothing; the author still sees everything (DOC-5).
    assert ids(search(api, nurse, patient)) == []
    assert ids(search(api, gp, patient)) == ["1.2.3.2", "1.2.3.3"]


def _published(api: Api, world: dict[str, Any]) -> Patient:
    patient: Patient = world["patient"]
    gp = world["gp"]
    stay, assessment = pdf("séjour"), pdf("bilan")
    answer = api.client.post(
        "/fhir",
        json=provide_bundle(
            (document_reference(patient, stay, unique_id="stay", type_code="34112-3"), stay),
            (
                document_reference(
                    patient, assessment, unique_id="assessment", type_code="47420-5"
                ),
                assessment,
            ),
        ),
        headers=http(api, gp),
    )
    assert answer.status_code == 200, answer.text
    return patient


def _consent(api: Api, pro: Pro, patient: Patient) -> None:
    body = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"code": "INFA"}]}],
        "patient": {"identifier": {"system": INS_NIR, "value": patient.ins}},
    }
    answer = api.client.post("/fhir/Consent", json=body, headers=http(api, pro))
    assert answer.status_code == 201, answer.text
    valid(answer.json())


def test_acc_1_podiatrist_facing_a_hospital_stay_report(api: Api, world: dict[str, Any]) -> None:
    patient = _published(api, world)
    _consent(api, world["podiatrist"], patient)
    assert ids(search(api, world["podiatrist"], patient)) == ["assessment"]


def test_acc_3_blocked_pro_sees_nothing_and_is_told_interdit(
    api: Api, world: dict[str, Any]
) -> None:
    patient = _published(api, world)
    blocked = world["blocked"]
    _consent(api, blocked, patient)
    with api.rt.transaction() as session:
        access_acts.block_pro(session, patient_ctx(patient), patient.id, blocked.rpps)
    assert authorisation(api, blocked, patient) == "INTERDIT"
    assert search(api, blocked, patient)["entry"] == []
    assert search(api, blocked, patient, AccessMode.BRIS_DE_GLACE, "arrêt cardiaque")["entry"] == []


def test_acc_6_samu_regulator_reads_without_consent(api: Api, world: dict[str, Any]) -> None:
    patient = _published(api, world)
    assert search(api, world["samu"], patient)["entry"] == []
    assert ids(search(api, world["samu"], patient, AccessMode.CENTRE_DE_REGULATION)) == [
        "assessment",
        "stay",
    ]


def test_acc_6_bris_de_glace_needs_a_reason_and_shows_in_audit_events(
    api: Api, world: dict[str, Any]
) -> None:
    patient, pro = _published(api, world), world["emergency"]
    no_reason = api.client.get(
        "/fhir/DocumentReference",
        params={"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current"},
        headers=http(api, pro, AccessMode.BRIS_DE_GLACE),
    )
    # issue 16: an error the caller can act on, not an empty Bundle
    assert no_reason.status_code == 400, no_reason.text
    assert valid(no_reason.json())["issue"][0]["details"]["coding"][0]["code"] == "reason_required"
    assert ids(search(api, pro, patient, AccessMode.BRIS_DE_GLACE, "Patient inconscient")) == [
        "assessment",
        "stay",
    ]
    events = api.client.get(
        "/fhir/AuditEvent",
        params={"patient.identifier": f"{INS_NIR}|{patient.ins}"},
        headers=api.as_patient(patient),
    )
    assert events.status_code == 200, events.text
    bundle = valid(events.json())
    emergencies = [e["resource"] for e in bundle["entry"] if "purposeOfEvent" in e["resource"]]
    assert emergencies
    assert all(e["purposeOfEvent"][0]["coding"][0]["code"] == "BTG" for e in emergencies)
    allowed = {e["purposeOfEvent"][0]["text"] for e in emergencies if e["outcome"] == "0"}
    assert allowed == {"Patient inconscient"}
    refused = [e for e in emergencies if e["outcome"] != "0"]
    assert refused  # the attempt without a reason is traced too


def test_tr_1_audit_events_are_not_for_other_pros(api: Api, world: dict[str, Any]) -> None:
    patient = _published(api, world)
    answer = api.client.get(
        "/fhir/AuditEvent",
        params={"patient.identifier": f"{INS_NIR}|{patient.ins}"},
        headers=http(api, world["gp"]),
    )
    assert answer.status_code == 404
    outcome = valid(answer.json())
    assert outcome["issue"][0]["code"] == "not-found"
