"""Issue 12, finding 1: a document its reader could never see leaks into his history once its
author deletes it — a minor's confidential act shown to the parent. Black-box: a real server over
real HTTP; the history through its three doors (JSON, FHIR AuditEvent, the web page).

Findings 2…7: ``test_one_road_findings_upload.py`` and ``test_one_road_findings_more.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from doors import (
    V1,
    audit_events,
    document_body,
    events_text,
    fhir_id_as_the_author_sees_it,
    json_history,
    web_history,
)
from factories import add_patient, add_pro, add_representative, pro_ctx, upload
from live_api import Api

from carnet.population.models import Patient

DOCUMENT_ACTIONS = {
    "upload_document",
    "replace_document",
    "delete_document",
    "archive_document",
    "unarchive_document",
    "mask_document",
    "unmask_document",
    "show_to_patient",
    "read_document",
}
SHARED = "Vaccination ROR"


@dataclass(frozen=True)
class Reading:
    """A record, who reads its history, and the upload flag that hides a document from him."""

    record: Patient
    reader: Patient
    hiding: dict[str, object]


def reading(api: Api, reader_is: str) -> Reading:
    """A minor and her parent (DOC-3: invisible to the representatives), or an adult and
    himself (DOC-3: invisible to the patient until the announcement consultation)."""
    if reader_is == "representative":
        child = add_patient(api.rt, age=15, first_names="Léa", birth_names="DUBOIS")
        parent = add_patient(api.rt, age=44, first_names="Paul", birth_names="DUBOIS", sex="M")
        add_representative(api.rt, child, parent)
        return Reading(child, parent, {"invisible_representatives": True})
    patient = add_patient(api.rt)
    return Reading(patient, patient, {"invisible_patient": True})


READERS = pytest.mark.parametrize("reader_is", ["representative", "patient"])


@dataclass(frozen=True)
class HiddenThenDeleted:
    """A record's reader, a document he may see, and one he never could, since deleted."""

    record: Patient
    reader: Patient
    hidden_id: str
    hidden_fhir_id: str
    hidden_title: str


def hidden_then_deleted(api: Api, reader_is: str) -> HiddenThenDeleted:
    """A document hidden from the reader, uploaded then deleted by its author over HTTP."""
    case, author = reading(api, reader_is), add_pro(api.rt, last_name="Auteur")
    upload(api.rt, pro_ctx(author), case.record, title=SHARED, type_code="87273-9")
    title, unique_id = "Contraception d'urgence", "urn:oid:1.2.250.99.1"
    docs = f"{V1}/pro/patients/{case.record.id}/documents"
    body = document_body(title, type_code="57833-6", unique_id=unique_id) | case.hiding
    uploaded = api.client.post(docs, json=body, headers=api.as_pro(author))
    assert uploaded.status_code == 201, uploaded.text
    hidden_id = uploaded.json()["id"]
    fhir_id = fhir_id_as_the_author_sees_it(api, author, case.record, unique_id)
    deleted = api.client.delete(f"{docs}/{hidden_id}", headers=api.as_pro(author))
    assert deleted.status_code == 204, deleted.text
    return HiddenThenDeleted(case.record, case.reader, hidden_id, fhir_id, title)


@READERS
def test_doc_3_deleted_invisible_document_stays_out_of_json_history(
    api: Api, reader_is: str
) -> None:
    case = hidden_then_deleted(api, reader_is)
    entries = json_history(api, api.as_patient(case.reader), case.record.id)
    titles = {e["document_title"] for e in entries}
    assert SHARED in titles  # the history is there, with the document he may see
    assert case.hidden_id not in {e["document_id"] for e in entries}
    assert case.hidden_title not in titles
    # Nor that something was deleted: the only document deleted is the one he never could see.
    assert "delete_document" not in {e["action"] for e in entries}


@READERS
def test_doc_3_deleted_invisible_document_stays_out_of_fhir_audit_events(
    api: Api, reader_is: str
) -> None:
    case = hidden_then_deleted(api, reader_is)
    body = audit_events(api, api.as_patient(case.reader), case.record.id)
    assert "upload_document" in body  # the shared document's upload is there
    assert case.hidden_fhir_id not in body
    assert case.hidden_id not in body
    assert case.hidden_title not in events_text(body)
    assert "delete_document" not in body


@READERS
def test_doc_3_deleted_invisible_document_stays_out_of_web_history(
    api: Api, reader_is: str
) -> None:
    case = hidden_then_deleted(api, reader_is)
    page = web_history(api, case.reader, case.record.id)
    assert SHARED in page
    assert case.hidden_title not in page
    assert case.hidden_id not in page
    assert "a supprimé" not in page


def test_acc_4_deleted_document_an_administrator_may_not_read_stays_out_of_his_history(
    api: Api,
) -> None:
    """ACC-1, ACC-4: an administrator reads the whole history, but a nurse still reads only the
    types of her profession: a consultation report she never could read, deleted, stays out.
    (Masking hides nothing from an administrator, ACC-4: habilitation is what applies here.)"""
    patient = add_patient(api.rt)
    doctor, nurse = add_pro(api.rt), add_pro(api.rt, profession="60", specialty=None)
    consent = api.client.post(f"{V1}/pro/patients/{patient.id}/consent", headers=api.as_pro(nurse))
    assert consent.status_code == 204, consent.text
    named = api.client.put(
        f"{V1}/patients/{patient.id}/pros/{nurse.rpps}/administrator",
        headers=api.as_patient(patient),
    )
    assert named.status_code == 204, named.text
    upload(api.rt, pro_ctx(doctor), patient, title="Vaccination grippe", type_code="87273-9")
    title = "Consultation addictologie"
    report = upload(api.rt, pro_ctx(doctor), patient, title=title, type_code="11488-4")
    deleted = api.client.delete(
        f"{V1}/pro/patients/{patient.id}/documents/{report.id}", headers=api.as_pro(doctor)
    )
    assert deleted.status_code == 204, deleted.text

    entries = json_history(api, api.as_pro(nurse), patient.id, pro_side=True)
    assert "Vaccination grippe" in {e["document_title"] for e in entries}
    assert report.id not in {e["document_id"] for e in entries}
    assert title not in {e["document_title"] for e in entries}
    assert "delete_document" not in {e["action"] for e in entries}
    body = audit_events(api, api.as_pro(nurse), patient.id)
    assert report.id not in body
    assert title not in events_text(body)
    assert "delete_document" not in body


@READERS
def test_doc_3_superseded_or_archived_invisible_document_stays_out_of_history(
    api: Api, reader_is: str
) -> None:
    """Not a finding today (the history hides these while they are not deleted): kept so that
    the rewrite keeps them hidden, at each door."""
    case, author = reading(api, reader_is), add_pro(api.rt)
    shared = upload(api.rt, pro_ctx(author), case.record, title=SHARED, type_code="87273-9")
    docs = f"{V1}/pro/patients/{case.record.id}/documents"
    hidden: dict[str, str] = {}
    for number, title in enumerate(("Contraception v1", "Suivi IVG")):
        body = document_body(title, type_code="57833-6", unique_id=f"urn:oid:1.2.250.99.{number}")
        sent = api.client.post(docs, json=body | case.hiding, headers=api.as_pro(author))
        assert sent.status_code == 201, sent.text
        hidden[title] = sent.json()["id"]
    replaced = api.client.post(
        f"{docs}/{hidden['Contraception v1']}/replace",
        json=document_body("Contraception v2", type_code="57833-6") | case.hiding,
        headers=api.as_pro(author),
    )
    assert replaced.status_code == 201, replaced.text
    hidden["Contraception v2"] = replaced.json()["id"]
    archived = api.client.patch(  # the author archives through the FHIR door (isArchived)
        "/fhir/DocumentReference",
        params={"identifier": "urn:oid:1.2.250.99.1", "patient": case.record.id},
        json=[{"op": "replace", "path": "/extension/0/valueBoolean", "value": True}],
        headers={**api.as_pro(author), "Content-Type": "application/json-patch+json"},
    )
    assert archived.status_code == 200, archived.text
    assert archived.json()["extension"][0]["valueBoolean"] is True

    theirs = api.as_patient(case.reader)
    entries = json_history(api, theirs, case.record.id)
    assert [e["document_id"] for e in entries if e["action"] in DOCUMENT_ACTIONS] == [shared.id]
    assert {e["document_title"] for e in entries} - {None} == {SHARED}
    events = events_text(audit_events(api, theirs, case.record.id))
    page = web_history(api, case.reader, case.record.id)
    for text in (*hidden, *hidden.values()):
        assert text not in events
        assert text not in page
