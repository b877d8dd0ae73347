"""Issue 16: FHIR that generic clients can follow — every reference and Location Carnet returns
resolves, reads carry ETags, version reads, the SubmissionSet (``List``, ITI-66) — over real HTTP,
with fhirpy where a client follows references by itself."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from factories import add_patient, add_pro
from fhirpy import SyncFHIRClient
from live_api import Api
from test_fhir_door import outcome, simplified
from test_fhir_flow import (
    FHIR_JSON,
    INS_NIR,
    TRE_A07,
    client,
    document_reference,
    http,
    provide_bundle,
    search,
    valid,
)

from carnet.audit.proofs import check_inclusion
from carnet.audit.rules import Action
from carnet.clock import FixedClock
from carnet.context import AccessMode
from carnet.demo.load import pdf
from carnet.http.fhir.shapes import AUDIT_KINDS
from carnet.identity.models import Pro
from carnet.population.models import Patient
from carnet.transparency import service as transparency


@pytest.fixture
def pair(api: Api) -> tuple[Patient, Pro]:
    return add_patient(api.rt), add_pro(api.rt, last_name="Généraliste")


def _consent(api: Api, pro: Pro, patient: Patient) -> Any:
    body = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"code": "INFA"}]}],
        "patient": {"identifier": {"system": INS_NIR, "value": patient.ins}},
    }
    return api.client.post("/fhir/Consent", json=body, headers=http(api, pro))


def _publish(api: Api, pro: Pro, patient: Patient, *unique_ids: str) -> dict[str, Any]:
    contents = [(document_reference(patient, pdf(u), unique_id=u), pdf(u)) for u in unique_ids]
    answer = api.client.post("/fhir", json=provide_bundle(*contents), headers=http(api, pro))
    assert answer.status_code == 200, answer.text
    return valid(answer.json())


def _get(api: Api, pro: Pro, location: str, **headers: str) -> Any:
    """GET a Location as answered: absolute, or relative to the FHIR base."""
    url = location if location.startswith("http") else f"{api.url}/fhir/{location}"
    return api.client.get(url, headers={**http(api, pro), **headers})


def test_issue_16_every_location_after_iti_65_resolves(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    assert _consent(api, gp, patient).status_code == 201
    response = _publish(api, gp, patient, "loc.1", "loc.2")
    entries = [e["response"] for e in response["entry"]]
    assert all(e["status"] == "201 Created" and e["location"] for e in entries)
    kinds = [e["location"].split("/")[0] for e in entries]
    assert kinds == ["List", "DocumentReference", "Binary", "DocumentReference", "Binary"]
    for entry in entries:
        answer = _get(api, gp, entry["location"], Accept=FHIR_JSON)
        assert answer.status_code == 200, (entry, answer.text)
        resource = valid(answer.json())
        assert resource["resourceType"] == entry["location"].split("/")[0]
        if resource["resourceType"] == "DocumentReference":
            assert answer.headers["ETag"] == entry["etag"] == 'W/"1"'
    # each Binary entry is its document's content
    document = _get(api, gp, entries[1]["location"]).json()
    assert entries[2]["location"] == document["content"][0]["attachment"]["url"]
    # the SubmissionSet lists both documents
    listed = _get(api, gp, entries[0]["location"]).json()
    assert listed["code"]["coding"][0]["code"] == "submissionset"
    assert sorted(e["item"]["reference"] for e in listed["entry"]) == sorted(
        e["location"].rsplit("/_history", 1)[0]
        for e in entries
        if "DocumentReference" in e["location"]
    )


def test_issue_16_subject_resolves_to_the_patient_td0_2(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, "subj.1")
    found = (
        client(api, gp)
        .resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current"})
    )
    document = found.fetch()[0]
    subject = document["subject"].to_resource()  # fhirpy follows the reference
    assert subject["id"] == patient.id
    assert subject["identifier"][0]["value"] == patient.ins
    as_pro = _get(api, gp, f"Patient/{patient.id}")
    assert as_pro.status_code == 200
    assert as_pro.headers["ETag"] == 'W/"1"'
    resource = valid(as_pro.json())
    assert {e["url"]: e.get("valueCode") for e in resource["extension"]}[
        "https://carnet.example/fhir/StructureDefinition/dmp-authorisation-status"
    ] == "VALIDE"
    # the patient reads himself (no authorisation status: that is a pro's)
    own = api.client.get(f"/fhir/Patient/{patient.id}", headers=api.as_patient(patient))
    assert own.status_code == 200
    assert all("dmp-authorisation" not in e["url"] for e in valid(own.json())["extension"])


def test_issue_16_patient_read_refused_answers_like_absent(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    other = add_patient(api.rt)
    refused = api.client.get(f"/fhir/Patient/{patient.id}", headers=api.as_patient(other))
    absent = api.client.get(f"/fhir/Patient/{'0' * 32}", headers=api.as_patient(other))
    assert outcome(refused, 404) == outcome(absent, 404)
    # a pro who knows the id learns what TD0.2 tells him by INS: his status, not the record
    stranger = add_pro(api.rt, last_name="Inconnu")
    read = valid(_get(api, stranger, f"Patient/{patient.id}").json())
    assert "NON_EXISTE" in [e.get("valueCode") for e in read["extension"]]
    assert outcome(_get(api, gp, f"Patient/{'0' * 32}"), 404)["issue"][0]["code"] == "not-found"


def test_issue_16_vread_and_etags(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    _consent(api, gp, patient)
    created = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(patient, pdf("v"), "vread.1"),
        headers=http(api, gp),
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == 'W/"1"'
    fhir_id = created.json()["id"]
    assert created.headers["Location"].endswith(f"/fhir/DocumentReference/{fhir_id}/_history/1")
    assert _get(api, gp, created.headers["Location"]).status_code == 200
    fhir = client(api, gp)
    assert fhir.reference("DocumentReference", fhir_id).to_resource()["meta"]["versionId"] == "1"
    vread = fhir.execute(f"DocumentReference/{fhir_id}/_history/1", method="get")
    assert vread["meta"]["versionId"] == "1"
    archived = api.client.patch(
        f"/fhir/DocumentReference/{fhir_id}",
        json=[
            {
                "op": "add",
                "path": "/extension/0/valueBoolean",
                "value": True,
            }
        ],
        headers={**http(api, gp), "Content-Type": "application/json-patch+json"},
    )
    assert archived.status_code == 200, archived.text
    assert archived.headers["ETag"] == 'W/"2"'
    now = _get(api, gp, f"DocumentReference/{fhir_id}/_history/2")
    assert now.status_code == 200
    assert now.headers["ETag"] == 'W/"2"'
    # earlier metadata versions are not kept: 404, not a wrong answer
    outcome(_get(api, gp, f"DocumentReference/{fhir_id}/_history/1"), 404)
    outcome(_get(api, gp, f"DocumentReference/{fhir_id}/_history/x"), 404)


def test_issue_16_consent_location_resolves_for_its_author_only(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    created = _consent(api, gp, patient)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == 'W/"1"'
    location = created.headers["Location"]
    read = _get(api, gp, location)
    assert read.status_code == 200, read.text
    resource = valid(read.json())
    assert resource == valid(created.json())
    assert resource["status"] == "active"
    assert resource["patient"]["reference"] == f"Patient/{patient.id}"
    other = add_pro(api.rt, last_name="Autre")
    _consent(api, other, patient)
    outcome(_get(api, other, location), 404)
    outcome(api.client.get(location, headers=api.as_patient(patient)), 404)
    never = location.rsplit("-", 1)[0] + "-10000000000"
    outcome(_get(api, add_pro(api.rt, last_name="Jamais"), never), 404)


def test_issue_16_iti_66_finds_the_submission_sets(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    _consent(api, gp, patient)
    first = _publish(api, gp, patient, "set.1", "set.2")
    _publish(api, gp, patient, "set.3")
    fhir = client(api, gp)
    lists = (
        fhir.resources("List")
        .search(**{"patient.identifier": f"{INS_NIR}|{patient.ins}", "code": "submissionset"})
        .fetch()
    )
    assert len(lists) == 2
    by_location = {f"List/{found['id']}": found for found in lists}
    both = by_location[first["entry"][0]["response"]["location"]]
    assert sorted(len(found["entry"]) for found in lists) == [1, 2]
    assert len(both["entry"]) == 2
    for found in lists:
        valid(dict(found))
    # documents resolve from the List with a generic client
    document = both["entry"][0]["item"].to_resource()
    assert document["resourceType"] == "DocumentReference"
    target = f"{INS_NIR}|{patient.ins}"
    for params, expected in (
        ({"status": "current"}, 2),
        ({"status": "retired"}, 0),
        ({"date": "ge2020-01-01"}, 2),
        ({"date": "lt2020-01-01"}, 0),
        ({"code": "folder"}, 0),
    ):
        answer = api.client.get(
            "/fhir/List", params={"patient.identifier": target, **params}, headers=http(api, gp)
        )
        assert answer.status_code == 200, answer.text
        assert valid(answer.json())["total"] == expected, params
    bad = api.client.get(
        "/fhir/List", params={"patient.identifier": target, "status": "x"}, headers=http(api, gp)
    )
    outcome(bad, 400)
    # another patient's set, read by a pro who cannot see it: 404
    stranger = add_pro(api.rt, last_name="Étranger")
    outcome(_get(api, stranger, first["entry"][0]["response"]["location"]), 404)


def test_issue_16_iti_65_at_fhir_slash_is_not_redirected(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    content = pdf("slash")
    answer = api.client.post(
        "/fhir/",
        json=provide_bundle((document_reference(patient, content, unique_id="slash.1"), content)),
        headers=http(api, gp),
    )
    assert answer.status_code == 200, answer.text
    assert search(api, gp, patient)["entry"]


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"Accept": "application/fhir+xml"}, {}),
        ({"Accept": "application/xml, text/xml;q=0.5"}, {}),
        ({}, {"_format": "xml"}),
        ({}, {"_format": "application/fhir+xml"}),
    ],
)
def test_issue_16_xml_is_answered_406_with_an_outcome(
    api: Api, pair: tuple[Patient, Pro], headers: dict[str, str], params: dict[str, str]
) -> None:
    patient, gp = pair
    for path in ("/fhir/metadata", f"/fhir/Patient/{patient.id}", "/fhir/Observation"):
        answer = api.client.get(path, params=params, headers={**http(api, gp), **headers})
        body = outcome(answer, 406)
        assert body["issue"][0]["code"] == "not-supported"


def test_issue_16_json_or_anything_is_still_answered(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    for accept in (
        "application/fhir+json",
        "application/fhir+xml;q=0.9, application/fhir+json",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/json, application/xml;q=0",
    ):
        answer = api.client.get(
            f"/fhir/Patient/{patient.id}", headers={**http(api, gp), "Accept": accept}
        )
        assert answer.status_code == 200, (accept, answer.text)
    json_format = api.client.get("/fhir/metadata", params={"_format": "json"})
    assert json_format.status_code == 200


def test_issue_16_audit_event_pages_follow_a_cursor_with_no_duplicates(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    """Each page read is itself traced (TR-1): by offset, newest first, pages shifted and
    repeated lines; by cursor, the pages read are exactly the history as it was."""
    patient, gp = pair
    _consent(api, gp, patient)
    for n in range(4):
        _publish(api, gp, patient, f"audit.{n}")
    params = {"patient": patient.id, "_count": "3"}
    first = api.client.get("/fhir/AuditEvent", params=params, headers=api.as_patient(patient))
    assert first.status_code == 200, first.text
    bundle = valid(first.json())
    total = bundle["total"]
    assert total >= 5
    seen = [e["resource"]["id"] for e in bundle["entry"]]
    assert len(seen) == 3
    while link := next((x["url"] for x in bundle["link"] if x["relation"] == "next"), None):
        answer = api.client.get(link, headers=api.as_patient(patient))
        assert answer.status_code == 200, answer.text
        bundle = valid(answer.json())
        assert len(bundle["entry"]) <= 3
        seen += [e["resource"]["id"] for e in bundle["entry"]]
    assert len(seen) == len(set(seen)) == total
    # a generic client pages the same way
    fhir = api_client_as_patient(api, patient)
    every = fhir.resources("AuditEvent").search(patient=patient.id).limit(4).fetch_all()
    ids = [e["id"] for e in every]
    assert len(ids) == len(set(ids))
    assert set(seen) <= set(ids)


def api_client_as_patient(api: Api, patient: Patient) -> SyncFHIRClient:
    return SyncFHIRClient(f"{api.url}/fhir", authorization=api.as_patient(patient)["Authorization"])


def test_issue_16_document_reference_pages_by_cursor_and_count(
    api: Api, pair: tuple[Patient, Pro], fixed_clock: FixedClock
) -> None:
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, *(f"page.{n}" for n in range(5)))
    fhir = client(api, gp)
    search_set = fhir.resources("DocumentReference").search(
        **{"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current"}
    )
    first = search_set.limit(2).fetch()
    assert len(first) == 2
    every = search_set.limit(2).fetch_all()
    values = [d["masterIdentifier"]["value"] for d in every]
    assert sorted(values) == [f"page.{n}" for n in range(5)]
    # a page taken after the list grew stays where it was: no repeat, nothing skipped
    page = search(api, gp, patient, _count="2")
    next_url = next(x["url"] for x in page["link"] if x["relation"] == "next")
    assert "_cursor=" in next_url
    assert "_offset" not in next_url
    fixed_clock.advance(timedelta(minutes=1))  # newer: it lists first, before the cursor
    _publish(api, gp, patient, "page.new")
    rest = valid(api.client.get(next_url, headers=http(api, gp)).json())
    before = {e["resource"]["masterIdentifier"]["value"] for e in page["entry"]}
    after = {e["resource"]["masterIdentifier"]["value"] for e in rest["entry"]}
    assert not before & after
    assert "page.new" not in after
    outcome(api.client.get(next_url.replace("_cursor=", "_cursor=x"), headers=http(api, gp)), 422)


def test_issue_16_bris_de_glace_without_reason_is_an_error_whatever_the_record(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    """ACC-6: the missing reason is said (400), for a patient that exists or not: decided on
    the request alone. The attempt is still traced (tests/fhir/test_fhir_flow.py)."""
    patient, gp = pair
    no_reason = http(api, gp, AccessMode.BRIS_DE_GLACE)
    for ins in (patient.ins, "299999999999999"):
        for path in ("/fhir/DocumentReference", "/fhir/List"):
            answer = api.client.get(
                path,
                params={"patient.identifier": f"{INS_NIR}|{ins}", "status": "current"},
                headers=no_reason,
            )
            body = outcome(answer, 400)
            assert body["issue"][0]["details"]["coding"][0]["code"] == "reason_required"
    observations = api.client.get(
        "/fhir/Observation", params={"patient": patient.id}, headers=no_reason
    )
    outcome(observations, 400)
    with_reason = http(api, gp, AccessMode.BRIS_DE_GLACE, "Patient inconscient")
    assert search(api, gp, patient, AccessMode.BRIS_DE_GLACE, "Patient inconscient")
    assert (
        api.client.get(
            "/fhir/Observation", params={"patient": patient.id}, headers=with_reason
        ).status_code
        == 200
    )


def test_issue_16_unknown_search_parameters_warned_or_refused_when_strict(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, "warn.1")
    lenient = search(api, gp, patient, params={"_sort": "-date", "foo": "bar"})
    outcomes = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    issue = outcomes[0]["resource"]["issue"][0]
    assert issue["severity"] == "warning"
    assert issue["expression"] == ["_sort", "foo"]
    assert [
        e["resource"]["masterIdentifier"]["value"]
        for e in lenient["entry"]
        if e["search"]["mode"] == "match"
    ] == ["warn.1"]
    strict = api.client.get(
        "/fhir/DocumentReference",
        params={
            "patient.identifier": f"{INS_NIR}|{patient.ins}",
            "status": "current",
            "foo": "bar",
        },
        headers={**http(api, gp), "Prefer": "handling=strict"},
    )
    assert "foo" in outcome(strict, 400)["issue"][0]["diagnostics"]
    for path, params in (
        ("/fhir/AuditEvent", {"patient": patient.id, "foo": "1"}),
        ("/fhir/Observation", {"patient": patient.id, "foo": "1"}),
        ("/fhir/Observation", {"patient": patient.id, "_count": "1"}),  # not honoured there
        ("/fhir/List", {"patient": patient.id, "foo": "1"}),
        ("/fhir/Patient", {"identifier": f"{INS_NIR}|{patient.ins}", "foo": "1"}),
    ):
        headers = api.as_patient(patient) if "AuditEvent" in path else http(api, gp)
        warned = api.client.get(path, params=params, headers=headers)
        assert warned.status_code == 200, (path, warned.text)
        bundle = valid(warned.json())
        assert [e["search"]["mode"] for e in bundle["entry"]].count("outcome") == 1, path
        refused = api.client.get(
            path, params=params, headers={**headers, "Prefer": "handling=strict"}
        )
        outcome(refused, 400)
    # with the parameters known, strict handling changes nothing
    assert (
        api.client.get(
            "/fhir/DocumentReference",
            params={
                "patient.identifier": f"{INS_NIR}|{patient.ins}",
                "status": "current",
                "_count": "5",
            },
            headers={**http(api, gp), "Prefer": "handling=strict"},
        ).status_code
        == 200
    )


def test_issue_16_unknown_status_is_refused(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    answer = api.client.get(
        "/fhir/DocumentReference",
        params={"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current,bogus"},
        headers=http(api, gp),
    )
    assert "bogus" in outcome(answer, 400)["issue"][0]["diagnostics"]


def test_doc_6_fhir_lists_archived_documents_like_the_json_api(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    """DOC-6: archived documents are out of default lists — on the JSON API and on FHIR alike;
    isArchived=true asks for them (only), isArchived=true,false for everything."""
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, "kept", "shelved")
    shelved = next(
        e["resource"]
        for e in search(api, gp, patient)["entry"]
        if e["resource"]["masterIdentifier"]["value"] == "shelved"
    )
    archived = api.client.patch(
        f"/fhir/DocumentReference/{shelved['id']}",
        json=[{"op": "replace", "path": "/extension/0/valueBoolean", "value": True}],
        headers={**http(api, gp), "Content-Type": "application/json-patch+json"},
    )
    assert archived.status_code == 200, archived.text
    as_json = api.client.get(f"/api/v1/pro/patients/{patient.id}/documents", headers=http(api, gp))
    assert [d["unique_id"] for d in as_json.json()["documents"]] == ["kept"]
    assert [
        e["resource"]["masterIdentifier"]["value"] for e in search(api, gp, patient)["entry"]
    ] == ["kept"]
    only = search(api, gp, patient, isArchived="true")
    assert [e["resource"]["masterIdentifier"]["value"] for e in only["entry"]] == ["shelved"]
    both = search(api, gp, patient, isArchived="true,false")
    assert sorted(e["resource"]["masterIdentifier"]["value"] for e in both["entry"]) == [
        "kept",
        "shelved",
    ]
    with_json = api.client.get(
        f"/api/v1/pro/patients/{patient.id}/documents",
        params={"archived": "true"},
        headers=http(api, gp),
    )
    assert sorted(d["unique_id"] for d in with_json.json()["documents"]) == ["kept", "shelved"]
    outcome(
        api.client.get(
            "/fhir/DocumentReference",
            params={"patient": patient.id, "status": "current", "isArchived": "maybe"},
            headers=http(api, gp),
        ),
        400,
    )


CONTAINED = [
    {
        "resourceType": "PractitionerRole",
        "id": "author-role",
        "practitioner": {"reference": "#author"},
        "organization": {"reference": "#org"},
        "code": [{"coding": [{"system": "urn:oid:1.2.250.1.71.1.2.7", "code": "10"}]}],
    },
    {
        "resourceType": "Practitioner",
        "id": "author",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000099999"}],
        "name": [{"family": "AUTRE", "given": ["Anne"]}],
    },
    {
        "resourceType": "Organization",
        "id": "org",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1123456789"}],
        "name": "Cabinet du Parc",
    },
    {
        "resourceType": "Patient",
        "id": "src",
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "277076322082910"}],
    },
]
PDSM_METADATA: dict[str, Any] = {
    "contained": CONTAINED,
    "identifier": [
        {
            "use": "official",
            "system": "urn:ietf:rfc:3986",
            "value": "urn:uuid:0d6c6a4b-4b8e-4b9a-9d2c-0a1b2c3d4e5f",
        }
    ],
    "author": [{"reference": "#author-role"}, {"reference": "#org"}],
    "context": {
        "facilityType": {
            "coding": [
                {
                    "system": "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
                    "code": "SA07",
                }
            ]
        },
        "practiceSetting": {
            "coding": [
                {
                    "system": "https://mos.esante.gouv.fr/NOS/TRE_A00-ProducteurDocNonPS/FHIR/TRE-A00-ProducteurDocNonPS",
                    "code": "ETABLISSEMENT",
                }
            ]
        },
        "sourcePatientInfo": {"reference": "#src"},
    },
}
FORMAT = {
    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
}


def _with_pdsm_metadata(resource: dict[str, Any]) -> dict[str, Any]:
    resource = {**resource, **PDSM_METADATA}
    resource["masterIdentifier"] = {
        "system": "urn:ietf:rfc:3986",
        "value": resource["masterIdentifier"]["value"],
        "use": "usual",
    }
    content = dict(resource["content"][0])
    content["format"] = FORMAT
    content["attachment"] = {**content["attachment"], "language": "fr-FR"}
    resource["content"] = [content]
    return resource


def _kept(resource: dict[str, Any], gp: Pro) -> None:
    assert resource["contained"] == CONTAINED
    assert resource["author"] == PDSM_METADATA["author"]
    assert resource["identifier"] == PDSM_METADATA["identifier"]
    assert resource["masterIdentifier"]["use"] == "usual"
    for key in ("facilityType", "practiceSetting", "sourcePatientInfo"):
        assert resource["context"][key] == PDSM_METADATA["context"][key]
    assert resource["content"][0]["format"] == FORMAT
    assert resource["content"][0]["attachment"]["language"] == "fr-FR"
    uploader = [e for e in resource["extension"] if e["url"].endswith("document-uploader")]
    assert uploader[0]["valueReference"]["identifier"]["value"] == "8" + gp.rpps


def test_issue_16_pdsm_metadata_kept_as_submitted(api: Api, pair: tuple[Patient, Pro]) -> None:
    """Author (PractitionerRole and Organization, contained), entryUUID, format, language,
    facility type, practice setting, sourcePatientInfo: returned as sent, on ITI-65 and ITI-105;
    the pro whose token uploaded is still the uploader (and the author searched by identifier)."""
    patient, gp = pair
    _consent(api, gp, patient)
    content = pdf("metadata")
    bundle = provide_bundle(
        (_with_pdsm_metadata(document_reference(patient, content, unique_id="meta.1")), content)
    )
    answer = api.client.post("/fhir", json=bundle, headers=http(api, gp))
    assert answer.status_code == 200, answer.text
    location = answer.json()["entry"][1]["response"]["location"]
    _kept(valid(_get(api, gp, location).json()), gp)
    simple = _with_pdsm_metadata(simplified(patient, pdf("meta 2"), "meta.2"))
    created = api.client.post("/fhir/DocumentReference", json=simple, headers=http(api, gp))
    assert created.status_code == 201, created.text
    _kept(valid(created.json()), gp)
    mine = search(
        api, gp, patient, params={"author.identifier": f"urn:oid:1.2.250.1.71.4.2.1|8{gp.rpps}"}
    )
    assert sorted(e["resource"]["masterIdentifier"]["value"] for e in mine["entry"]) == [
        "meta.1",
        "meta.2",
    ]
    for entry in mine["entry"]:
        _kept(entry["resource"], gp)
    # the author the producer named is found too: his own id, his structure's
    for named in (
        "urn:oid:1.2.250.1.71.4.2.1|810000099999",
        "urn:oid:1.2.250.1.71.4.2.2|1123456789",
    ):
        theirs = search(api, gp, patient, params={"author.identifier": named})
        assert len(theirs["entry"]) == 2, named
    nobody = search(
        api, gp, patient, params={"author.identifier": "urn:oid:1.2.250.1.71.4.2.1|899"}
    )
    assert nobody["entry"] == []


def test_issue_16_type_class_mismatch_refused_naming_both(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, gp = pair
    resource = simplified(patient, pdf("classe"), "class.1")  # 11488-4: class 10
    resource["category"] = [{"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.1", "code": "11"}]}]
    answer = api.client.post("/fhir/DocumentReference", json=resource, headers=http(api, gp))
    body = outcome(answer, 422)
    assert "11" in body["issue"][0]["diagnostics"]
    assert "11488-4" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["details"]["coding"][0]["code"] == "type_class_mismatch"
    assert search(api, gp, patient, params={"isArchived": "true,false"})["entry"] == []
    resource["category"][0]["coding"][0]["code"] = "10"
    agreed = api.client.post("/fhir/DocumentReference", json=resource, headers=http(api, gp))
    assert agreed.status_code == 201, agreed.text


IS_ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-isArchived"


def test_issue_16_fhirpy_patch_without_bending(api: Api, pair: tuple[Patient, Pro]) -> None:
    """fhirpy's ``patch()`` sends the fields to change as an object (``application/json``):
    taken as a JSON Merge Patch, limited like JSON Patch to status, securityLabel and
    isArchived."""
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, "fhirpy.1")
    fhir = client(api, gp)
    document = (
        fhir.resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS_NIR}|{patient.ins}", "status": "current"})
        .first()
    )
    assert document is not None
    document.patch(extension=[{"url": IS_ARCHIVED, "valueBoolean": True}])
    assert document["meta"]["versionId"] == "2"
    assert search(api, gp, patient, isArchived="true")["entry"][0]["resource"]["id"] == document.id
    label = [{"coding": [{"system": TRE_A07, "code": "MASQUE_PS"}]}]
    patched = fhir.patch("DocumentReference", document.id, securityLabel=label)
    assert patched["securityLabel"] == label
    assert patched["meta"]["versionId"] == "3"
    # the same limits as JSON Patch: anything else is 405, and nothing changed
    refused = api.client.patch(
        f"/fhir/DocumentReference/{document.id}",
        json={"description": "autre titre"},
        headers={**http(api, gp), "Content-Type": "application/merge-patch+json"},
    )
    assert "/description" in outcome(refused, 405)["issue"][0]["diagnostics"]
    unarchived = api.client.patch(
        f"/fhir/DocumentReference/{document.id}",
        json={"extension": [{"url": IS_ARCHIVED, "valueBoolean": False}]},
        headers={
            **http(api, gp),
            "Content-Type": "application/merge-patch+json",
            "If-Match": 'W/"3"',
        },
    )
    assert unarchived.status_code == 200, unarchived.text
    assert unarchived.headers["ETag"] == 'W/"4"'


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ([1, "x"], "application/json-patch+json"),
        ([{"path": "/status"}], "application/json-patch+json"),
        ({"status": "entered-in-error"}, "application/json-patch+json"),
        (
            [{"op": "replace", "path": "/status", "value": "current"}],
            "application/merge-patch+json",
        ),
        (None, "application/json"),
        ("x", "application/json"),
        ({"securityLabel": "x"}, "application/merge-patch+json"),
        ({"extension": [{"valueBoolean": True}]}, "application/merge-patch+json"),
        ({"resourceType": "Parameters", "parameter": []}, "application/fhir+json"),
    ],
)
def test_issue_16_malformed_patches_are_4xx(
    api: Api, pair: tuple[Patient, Pro], body: Any, content_type: str
) -> None:
    patient, gp = pair
    created = api.client.post(
        "/fhir/DocumentReference",
        json=simplified(patient, pdf("p"), "bad.patch"),
        headers=http(api, gp),
    )
    assert created.status_code == 201, created.text
    fhir_id = created.json()["id"]
    answer = api.client.patch(
        f"/fhir/DocumentReference/{fhir_id}",
        content=json.dumps(body),
        headers={**http(api, gp), "Content-Type": content_type},
    )
    assert 400 <= answer.status_code < 500, answer.text
    outcome(answer, answer.status_code)
    assert _get(api, gp, f"DocumentReference/{fhir_id}/_history/1").status_code == 200


def test_tr_3_audit_events_carry_their_inclusion_proof(api: Api, pair: tuple[Patient, Pro]) -> None:
    """Issue 17's leftover: a pro's software (or the patient's) checks each AuditEvent against
    the signed log with the key alone — the same proof as the JSON API's."""
    patient, gp = pair
    _consent(api, gp, patient)
    _publish(api, gp, patient, "proof.1")
    before = api.client.get(
        "/fhir/AuditEvent", params={"patient": patient.id}, headers=api.as_patient(patient)
    )
    assert all(
        "extension" not in e["resource"] for e in valid(before.json())["entry"]
    )  # no head yet
    transparency.advance(api.rt)
    key = base64.b64decode(api.client.get("/api/v1/transparency/key").json()["public_key"])
    answer = api.client.get(
        "/fhir/AuditEvent", params={"patient": patient.id}, headers=api.as_patient(patient)
    )
    events = [e["resource"] for e in valid(answer.json())["entry"]]
    proven = [e for e in events if "extension" in e]
    assert proven
    for event in proven:
        extension = event["extension"][0]
        assert extension["url"].endswith("trace-inclusion-proof")
        proof = json.loads(base64.b64decode(extension["valueAttachment"]["data"]))
        assert proof["trace_id"] == event["id"]
        assert check_inclusion(proof, key) == []
        same = api.client.get(
            f"/api/v1/patients/{patient.id}/history/{event['id']}/proof",
            headers=api.as_patient(patient),
        )
        assert same.json()["inclusion_path"] == proof["inclusion_path"]


def test_issue_17_every_trace_action_has_an_audit_event_mapping() -> None:
    """AUDIT_KINDS maps every Action (profile and lifecycle acts included): a new act must say
    what it is on FHIR, not fall back silently."""
    assert set(Action) <= set(AUDIT_KINDS)
    interactions = {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "history",
        "create",
        "search-type",
        "transaction",
        "batch",
        "operation",
    }
    assert {kind for kind, _ in AUDIT_KINDS.values()} <= interactions
    assert {code for _, code in AUDIT_KINDS.values()} <= {"C", "R", "U", "D", "E"}


@pytest.mark.parametrize("body", ["null", "[]", '"x"', "1", "{}", '{"resourceType": 3}', "{"])
@pytest.mark.parametrize("path", ["/fhir", "/fhir/", "/fhir/DocumentReference", "/fhir/Consent"])
def test_issue_16_bodies_that_are_not_resources_are_4xx(
    api: Api, pair: tuple[Patient, Pro], path: str, body: str
) -> None:
    """The malformed bodies that answered 500 (null, [], a string…): a 4xx OperationOutcome."""
    _, gp = pair
    answer = api.client.post(
        path, content=body, headers={**http(api, gp), "Content-Type": FHIR_JSON}
    )
    assert 400 <= answer.status_code < 500, answer.text
    outcome(answer, answer.status_code)


def test_issue_16_an_xml_body_is_415(api: Api, pair: tuple[Patient, Pro]) -> None:
    patient, gp = pair
    xml = '<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>'
    for path, headers in (
        ("/fhir", http(api, gp)),
        ("/fhir/DocumentReference", http(api, gp)),
        ("/fhir/Observation", api.as_patient(patient)),
    ):
        answer = api.client.post(
            path, content=xml, headers={**headers, "Content-Type": "application/fhir+xml"}
        )
        assert outcome(answer, 415)["issue"][0]["code"] == "not-supported"


def test_issue_16_profile_resources_carry_their_version_as_etag(
    api: Api, pair: tuple[Patient, Pro]
) -> None:
    patient, _ = pair
    me = api.as_patient(patient)
    allergy = {
        "resourceType": "AllergyIntolerance",
        "patient": {"reference": f"Patient/{patient.id}"},
        "code": {"text": "Arachide"},
        "category": ["food"],
    }
    created = api.client.post("/fhir/AllergyIntolerance", json=allergy, headers=me)
    assert created.status_code == 201, created.text
    version = created.json()["meta"]["versionId"]
    assert created.headers["ETag"] == f'W/"{version}"'
    read = api.client.get(f"/fhir/{created.headers['Location']}", headers=me)
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == f'W/"{version}"'
    allergy["criticality"] = "high"
    updated = api.client.put(
        f"/fhir/AllergyIntolerance/{created.json()['id']}", json=allergy, headers=me
    )
    assert updated.headers["ETag"] == f'W/"{updated.json()["meta"]["versionId"]}"'
