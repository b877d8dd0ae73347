"""The FHIR door's edges: publication checks, PATCH limits, paging, errors as OperationOutcome."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

from factories import add_patient, add_pro, new_ins
from live_api import Api
from test_fhir_flow import FHIR_JSON, INS_NIR, TRE_A07, document_reference, http, ids, search, valid

from carnet.clock import FixedClock
from carnet.context import AuthLevel
from carnet.demo.load import pdf
from carnet.population.rules import ProfileState


def simplified(patient: Any, content: bytes, unique_id: str, **kwargs: Any) -> dict[str, Any]:
    attachment = {"contentType": "application/pdf", "data": base64.b64encode(content).decode()}
    return document_reference(
        patient, content, unique_id=unique_id, attachment=attachment, **kwargs
    )


def outcome(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    body = valid(answer.json())
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"]
    assert body["issue"][0]["details"]["text"]
    return body


def test_capability_statement_parses(api: Api) -> None:
    statement = valid(api.client.get("/fhir/metadata").json())
    assert statement["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in statement["rest"][0]["resource"]} == {
        "Patient",
        "Consent",
        "DocumentReference",
        "Binary",
        "AuditEvent",
        "List",  # IHE MHD SubmissionSets (issue 16)
        # The medical profile (tests/fhir/test_fhir_profile.py).
        "Observation",
        "Immunization",
        "AllergyIntolerance",
        "Condition",
        "FamilyMemberHistory",
        "MedicationStatement",
        "RelatedPerson",
    }
    types = [r["type"] for r in statement["rest"][0]["resource"]]
    assert len(types) == len(set(types)), types


def test_doc_7_iti_105_publish_is_idempotent_on_master_identifier(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    content = pdf("ITI-105")
    first = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(patient, content, "uid-1"),
        headers=http(api, pro),
    )
    assert first.status_code == 201, first.text
    again = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(patient, content, "uid-1"),
        headers=http(api, pro),
    )
    assert valid(again.json())["id"] == valid(first.json())["id"]
    conflict = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(patient, pdf("autre"), "uid-1"),
        headers=http(api, pro),
    )
    assert outcome(conflict, 409)["issue"][0]["code"] == "conflict"


def test_doc_7_declared_hash_must_match(api: Api) -> None:
    """The SHA-1 as FHIR says (its 20 bytes, base64), or as some senders write it (its hex
    text, base64); any other value is refused and nothing is stored."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    wrong = simplified(patient, pdf("x"), "uid-hash")
    wrong["content"][0]["attachment"]["hash"] = base64.b64encode(b"0" * 20).decode()
    outcome(api.client.post("/fhir/DocumentReference", json=wrong, headers=http(api, pro)), 422)
    content = pdf("x")
    sha1 = hashlib.sha1(content, usedforsecurity=False)
    for n, declared in enumerate((sha1.digest(), sha1.hexdigest().encode())):
        body = simplified(patient, content, f"uid-hash-{n}")
        body["content"][0]["attachment"]["hash"] = base64.b64encode(declared).decode()
        answer = api.client.post("/fhir/DocumentReference", json=body, headers=http(api, pro))
        assert answer.status_code == 201, answer.text
    assert ids(search(api, pro, patient)) == ["uid-hash-0", "uid-hash-1"]


def test_doc_3_invisible_to_representatives_only_for_minors(api: Api) -> None:
    adult, minor, pro = add_patient(api.rt), add_patient(api.rt, age=12), add_pro(api.rt)
    labels = ("INVISIBLE_REPRESENTANTS_LEGAUX",)
    refused = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(adult, pdf("a"), "u1", labels=labels),
        headers=http(api, pro),
    )
    assert "mineur" in outcome(refused, 422)["issue"][0]["diagnostics"]
    accepted = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(minor, pdf("m"), "u2", labels=labels),
        headers=http(api, pro),
    )
    assert accepted.status_code == 201


def test_id_5_cpe_publishes_but_does_not_read(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    cpe = api.as_pro(pro, level=AuthLevel.CPE)
    created = api.client.post(
        "/fhir/DocumentReference", json=simplified(patient, pdf("cpe"), "cpe-1"), headers=cpe
    )
    assert created.status_code == 201, created.text
    found = api.client.get(
        "/fhir/DocumentReference",
        headers=cpe,
        params={"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current"},
    )
    assert found.status_code == 403, found.text
    outcome = valid(found.json())
    issue = outcome["issue"][0]
    assert issue["code"] == "security"
    assert issue["details"]["coding"][0]["code"] == "level_too_low"
    assert "CPS ou e-CPS" in issue["diagnostics"]
    assert "CPS card or e-CPS" in issue["details"]["text"]
    document_id = created.json()["id"]
    for url in (f"/fhir/DocumentReference/{document_id}", f"/fhir/Binary/{document_id}"):
        refused = api.client.get(url, headers=cpe)
        assert refused.status_code == 403, refused.text
        assert valid(refused.json())["issue"][0]["code"] == "security"
    # The same for a patient who does not exist: it is about the card, not the record.
    unknown = api.client.get(
        "/fhir/DocumentReference",
        headers=cpe,
        params={"patient.identifier": f"{INS_NIR}|{new_ins()}", "status": "current"},
    )
    assert (unknown.status_code, unknown.json()["issue"][0]["code"]) == (403, "security")


def test_patch_limits_and_effects(api: Api, fixed_clock: FixedClock) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    created = valid(
        api.client.post(
            "/fhir/DocumentReference",
            json=simplified(patient, pdf("p"), "patch-1"),
            headers=http(api, pro),
        ).json()
    )
    url = f"/fhir/DocumentReference/{created['id']}"
    headers = {**http(api, pro), "Content-Type": "application/json-patch+json"}
    for path in ("/description", "/type", "/content/0/attachment/title", "/subject"):
        refused = api.client.patch(
            url, json=[{"op": "replace", "path": path, "value": "x"}], headers=headers
        )
        assert outcome(refused, 405)["issue"][0]["code"] == "not-supported"
    stale = api.client.patch(
        url,
        json=[{"op": "replace", "path": "/status", "value": "current"}],
        headers={**headers, "If-Match": 'W/"7"'},
    )
    outcome(stale, 412)
    fixed_clock.advance(timedelta(minutes=5))
    archived = api.client.patch(
        url,
        json=[{"op": "replace", "path": "/extension/0/valueBoolean", "value": True}],
        headers=headers,
    )
    assert valid(archived.json())["extension"][0]["valueBoolean"] is True
    # Never changed, a document was last updated when created; changed, when it was changed.
    assert created["meta"]["lastUpdated"] == created["date"]
    assert archived.json()["meta"]["lastUpdated"] > created["meta"]["lastUpdated"]
    assert archived.json()["date"] == created["date"]
    assert ids(search(api, pro, patient, isArchived="false")) == []
    assert ids(search(api, pro, patient, isArchived="true")) == ["patch-1"]
    conditional = api.client.patch(
        "/fhir/DocumentReference",
        params={"identifier": "patch-1", "patient.identifier": f"{INS_NIR}|{patient.ins}"},
        json=[{"op": "replace", "path": "/status", "value": "entered-in-error"}],
        headers=headers,
    )
    assert conditional.status_code == 200, conditional.text
    assert valid(conditional.json())["status"] == "entered-in-error"
    assert search(api, pro, patient)["entry"] == []


def test_iti_67_paging_and_filters(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    for n, type_code in enumerate(["11488-4", "11488-4", "18748-4"]):
        labels = ("MASQUE_PS",) if n == 0 else ()
        api.client.post(
            "/fhir/DocumentReference",
            json=simplified(patient, pdf(str(n)), f"page-{n}", type_code=type_code, labels=labels),
            headers=http(api, pro),
        )
    first = search(api, pro, patient, _count="2")
    assert first["total"] == 3
    assert len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = valid(api.client.get(next_url, headers=http(api, pro)).json())
    assert len(second["entry"]) == 1
    seen = {e["resource"]["masterIdentifier"]["value"] for e in first["entry"] + second["entry"]}
    assert seen == {"page-0", "page-1", "page-2"}
    assert ids(search(api, pro, patient, type="http://loinc.org|18748-4")) == ["page-2"]
    assert ids(search(api, pro, patient, params={"security-label": f"{TRE_A07}|MASQUE_PS"})) == [
        "page-0"
    ]
    assert ids(
        search(
            api,
            pro,
            patient,
            params={"author.identifier": f"urn:oid:1.2.250.1.71.4.2.1|8{pro.rpps}"},
        )
    ) == ["page-0", "page-1", "page-2"]
    assert ids(search(api, pro, patient, category="urn:oid:1.2.250.1.213.1.1.4.1|31")) == ["page-2"]
    assert ids(search(api, pro, patient, date="ge2026-11-24")) == ["page-0", "page-1", "page-2"]
    assert ids(search(api, pro, patient, date="lt2026-11-24")) == []


def test_acc_9_another_patients_document_answers_like_a_missing_one(api: Api) -> None:
    mine, other, pro, stranger = (
        add_patient(api.rt),
        add_patient(api.rt),
        add_pro(api.rt),
        add_pro(api.rt),
    )
    created = valid(
        api.client.post(
            "/fhir/DocumentReference",
            json=simplified(other, pdf("o"), "o-1"),
            headers=http(api, pro),
        ).json()
    )
    hidden = api.client.get(f"/fhir/DocumentReference/{created['id']}", headers=http(api, stranger))
    missing = api.client.get("/fhir/DocumentReference/" + "a" * 52, headers=http(api, stranger))
    garbage = api.client.get("/fhir/Binary/not-an-id", headers=http(api, stranger))
    assert hidden.status_code == missing.status_code == garbage.status_code == 404
    assert hidden.json() == missing.json() == garbage.json()
    assert mine.id != other.id


def test_td02_patient_search_states(api: Api) -> None:
    pro = add_pro(api.rt)
    opposed = add_patient(api.rt, state=ProfileState.OPPOSED)
    closed = add_patient(api.rt, state=ProfileState.CLOSED)
    unknown = api.client.get(
        "/fhir/Patient", params={"identifier": f"{INS_NIR}|{opposed.ins}"}, headers=http(api, pro)
    )
    assert valid(unknown.json())["total"] == 0
    found = valid(
        api.client.get(
            "/fhir/Patient",
            params={"identifier": f"{INS_NIR}|{closed.ins}"},
            headers=http(api, pro),
        ).json()
    )
    patient = found["entry"][0]["resource"]
    assert patient["active"] is False
    assert any(e["url"].endswith("profile-closure-date") for e in patient["extension"])
    bad_system = api.client.get(
        "/fhir/Patient", params={"identifier": f"urn:oid:9.9|{closed.ins}"}, headers=http(api, pro)
    )
    outcome(bad_system, 422)
    bad_key = api.client.get(
        "/fhir/Patient",
        params={"identifier": f"{INS_NIR}|{closed.ins[:13]}00"},
        headers=http(api, pro),
    )
    assert "clé" in outcome(bad_key, 422)["issue"][0]["diagnostics"]


def test_errors_are_operation_outcomes(api: Api) -> None:
    outcome(api.client.get("/fhir/DocumentReference", params={"status": "current"}), 401)
    pro = add_pro(api.rt)
    outcome(
        api.client.get(
            "/fhir/DocumentReference", params={"status": "current"}, headers=http(api, pro)
        ),
        422,
    )
    outcome(api.client.post("/fhir", content=b"{not json", headers=http(api, pro)), 422)
    outcome(api.client.post("/fhir", json={"resourceType": "Patient"}, headers=http(api, pro)), 422)
    outcome(api.client.get("/fhir/Nothing", headers=http(api, pro)), 404)
