"""Issue 12, finding 2: re-sending an upload under a producer id (``unique_id``) already taken
tells a pro about a document he may not see — its metadata for the same bytes, its existence (a
409) for other bytes. FHIR uploads share the path. Black-box: a real server over real HTTP.

Outsiders are pros who may not see the original: one the patient blocked (ACC-3), one with no
care relation (ACC-2), a podiatrist whose profession does not read the type (ACC-1).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from doors import INS_NIR, V1, document_body, fhir_id_as_the_author_sees_it
from factories import add_patient, add_pro
from live_api import Api

from carnet.demo.load import pdf
from carnet.identity.models import Pro
from carnet.population.models import Patient


@dataclass(frozen=True)
class Original:
    patient: Patient
    author: Pro
    id: str
    fhir_id: str
    title: str
    sha256: str
    unique_id: str
    content: bytes


def original(api: Api) -> Original:
    """A masked consultation report its author uploaded under a producer id."""
    patient, author = add_patient(api.rt), add_pro(api.rt, last_name="Auteur")
    content, title, unique_id = pdf("Bilan psy"), "Bilan psychiatrique", "urn:oid:1.2.250.77.42"
    sent = api.client.post(
        f"{V1}/pro/patients/{patient.id}/documents",
        json=document_body(title, content, unique_id=unique_id, masked=True),
        headers=api.as_pro(author),
    )
    assert sent.status_code == 201, sent.text
    made = sent.json()
    fhir_id = fhir_id_as_the_author_sees_it(api, author, patient, unique_id)
    return Original(patient, author, made["id"], fhir_id, title, made["sha256"], unique_id, content)


def outsider(api: Api, first: Original, who: str) -> Pro:
    """A pro who may not see the original: blocked, unrelated, or a podiatrist (ACC-1)."""
    if who == "podiatrist":
        pro = add_pro(api.rt, profession="80", specialty=None, last_name="Podo")
    else:
        pro = add_pro(api.rt, last_name="Dehors")
    if who != "unrelated":
        consent = api.client.post(
            f"{V1}/pro/patients/{first.patient.id}/consent", headers=api.as_pro(pro)
        )
        assert consent.status_code == 204, consent.text
    if who == "blocked":
        blocked = api.client.post(
            f"{V1}/patients/{first.patient.id}/pros/{pro.rpps}/block",
            headers=api.as_patient(first.patient),
        )
        assert blocked.status_code == 204, blocked.text
    seen = api.client.get(
        f"{V1}/pro/patients/{first.patient.id}/documents/{first.id}", headers=api.as_pro(pro)
    )
    assert seen.status_code == 404, seen.text  # he may not see it: the finding's premise
    return pro


def fhir_reference(patient: Patient, title: str, unique_id: str, attachment: dict[str, Any]) -> Any:
    return {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": unique_id},
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"identifier": {"system": INS_NIR, "value": patient.ins}},
        "description": title,
        "content": [{"attachment": attachment}],
    }


def provide_bundle(reference: dict[str, Any], content: bytes) -> dict[str, Any]:
    """ITI-65: a submission set, one document and its Binary."""
    data = base64.b64encode(content).decode()
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:submission-set",
                "resource": {"resourceType": "List", "status": "current", "mode": "working"},
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": "urn:uuid:document-1",
                "resource": reference,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": "urn:uuid:binary-1",
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": data,
                },
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }


def send(api: Api, door: str, pro: Pro, patient: Patient, content: bytes, unique_id: str) -> str:
    """A pro's upload under ``unique_id`` through one door: the raw answer, status first."""
    title, headers = "Envoi du cabinet", api.as_pro(pro)
    if door == "json":
        answer = api.client.post(
            f"{V1}/pro/patients/{patient.id}/documents",
            json=document_body(title, content, unique_id=unique_id),
            headers=headers,
        )
    elif door == "fhir-iti-105":
        data = {"contentType": "application/pdf", "data": base64.b64encode(content).decode()}
        reference = fhir_reference(patient, title, unique_id, data)
        answer = api.client.post("/fhir/DocumentReference", json=reference, headers=headers)
    else:
        url = {"contentType": "application/pdf", "url": "urn:uuid:binary-1"}
        reference = fhir_reference(patient, title, unique_id, url)
        answer = api.client.post("/fhir", json=provide_bundle(reference, content), headers=headers)
    return f"{answer.status_code} {answer.text}"


def assert_nothing_of(first: Original, answer: str) -> None:
    for secret in (first.id, first.fhir_id, first.title, first.author.rpps, "MASQUE_PS"):
        assert secret not in answer, (secret, answer)


OUTSIDERS = pytest.mark.parametrize("who", ["blocked", "unrelated", "podiatrist"])


@OUTSIDERS
@pytest.mark.parametrize("door", ["json", "fhir-iti-105", "fhir-iti-65"])
def test_doc_1_resend_of_an_unseen_unique_id_returns_nothing_of_the_original(
    api: Api, who: str, door: str
) -> None:
    """The same bytes under the same producer id: not one field of the original comes back (its
    SHA-256 is his own bytes' and is not checked here)."""
    first = original(api)
    pro = outsider(api, first, who)
    assert_nothing_of(first, send(api, door, pro, first.patient, first.content, first.unique_id))


@OUTSIDERS
@pytest.mark.parametrize("door", ["json", "fhir-iti-105"])
def test_doc_1_unique_id_conflict_does_not_confirm_an_unseen_document(
    api: Api, who: str, door: str
) -> None:
    """Other bytes under a producer id a document he may not see has: he is answered as under
    an id no document has (today's 409 tells him the id exists in this record)."""
    first = original(api)
    pro = outsider(api, first, who)
    taken = send(api, door, pro, first.patient, pdf("Autre contenu"), first.unique_id)
    fresh = send(api, door, pro, first.patient, pdf("Autre contenu 2"), "urn:oid:1.2.250.77.43")
    assert_nothing_of(first, taken)
    assert first.sha256 not in taken
    assert taken.split(" ", 1)[0] == fresh.split(" ", 1)[0], (taken, fresh)
