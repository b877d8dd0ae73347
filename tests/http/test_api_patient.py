"""The patient's JSON API over a real socket: data from factories, the act under test over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from factories import (
    PDF,
    add_patient,
    add_pro,
    add_representative,
    new_ins,
    pro_ctx,
    upload,
)
from live_api import Api
from sqlalchemy import select

from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.auth.instance import issue_patient_token
from carnet.clock import FixedClock
from carnet.demo.load import pdf
from carnet.ids import new_id
from carnet.notify.service import deliver_pending
from carnet.population.models import Patient
from carnet.records.content import PATIENT_MAX_BYTES

V1 = "/api/v1"


def docs_url(patient_id: str) -> str:
    return f"{V1}/patients/{patient_id}/documents"


def listed(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["documents"]]


def as_utc(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def refused_like_missing(api: Api, url: str, missing_url: str, headers: dict[str, str]) -> None:
    """Same status, same body: what may not be seen answers exactly like what does not exist."""
    refused, missing = (
        api.client.get(url, headers=headers),
        api.client.get(missing_url, headers=headers),
    )
    assert (refused.status_code, refused.json()) == (404, api.refusal(missing, 404))


def test_doc_4_patient_masks_nurse_no_longer_sees_admin_does(api: Api) -> None:
    patient = add_patient(api.rt)
    author, admin, traitant = add_pro(api.rt), add_pro(api.rt), add_pro(api.rt)
    nurse = add_pro(api.rt, profession="60", specialty=None, first_name="Thomas")
    document = upload(api.rt, pro_ctx(author), patient, type_code="11502-2", title="Bilan")
    mine = api.as_patient(patient)
    for pro in (nurse, admin):
        consent = f"{V1}/pro/patients/{patient.id}/consent"
        assert api.client.post(consent, headers=api.as_pro(pro)).status_code == 204
    designated = api.client.put(
        f"{V1}/patients/{patient.id}/pros/{admin.rpps}/administrator", headers=mine
    )
    assert designated.status_code == 204, designated.text
    chosen = api.client.put(
        f"{V1}/patients/{patient.id}/settings/medecin-traitant",
        json={"rpps": traitant.rpps},
        headers=mine,
    )
    assert chosen.status_code == 204, chosen.text
    pro_docs = f"{V1}/pro/patients/{patient.id}/documents"
    assert listed(api.client.get(pro_docs, headers=api.as_pro(nurse))) == [document.id]

    masked = api.client.post(
        f"{docs_url(patient.id)}/{document.id}/mask", json={"masked": True}, headers=mine
    )
    assert masked.status_code == 200, masked.text
    assert masked.json()["confidentiality"] == ["MASQUE_PS"]

    assert listed(api.client.get(pro_docs, headers=api.as_pro(nurse))) == []
    refused_like_missing(
        api, f"{pro_docs}/{document.id}", f"{pro_docs}/{new_id()}", api.as_pro(nurse)
    )
    for sees_it in (admin, author, traitant):  # ACC-4, DOC-5, ACC-5
        assert listed(api.client.get(pro_docs, headers=api.as_pro(sees_it))) == [document.id]
    assert listed(api.client.get(docs_url(patient.id), headers=mine)) == [document.id]


def send_file(api: Api, patient: Patient, name: str, content: bytes) -> httpx.Response:
    """The patient's upload form: a file (here announced as a PDF by its name and type), a title."""
    return api.client.post(
        docs_url(patient.id),
        files={"file": (name, content, "application/pdf")},
        data={"title": name},
        headers=api.as_patient(patient),
    )


def test_doc_8_patient_upload_multipart_checks_content(api: Api) -> None:
    patient = add_patient(api.rt)

    not_a_pdf = send_file(api, patient, "ordonnance.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")
    refusal = api.refusal(not_a_pdf, 422)
    assert refusal["error"] == "unsupported_format"
    assert "PDF, TXT, RTF, JPEG ou TIFF" in refusal["message"]
    assert "PDF, TXT, RTF, JPEG or TIFF" in refusal["message_en"]
    text_named_pdf = api.refusal(send_file(api, patient, "ordonnance.pdf", b"juste du texte"), 422)
    assert text_named_pdf["error"] == "content_mismatch"

    too_big = PDF + b"\n" * (PATIENT_MAX_BYTES + 1 - len(PDF))
    assert len(too_big) == PATIENT_MAX_BYTES + 1
    oversized = api.refusal(send_file(api, patient, "scanner.pdf", too_big), 422)
    assert oversized["error"] == "too_large"
    assert "5 Mo" in oversized["message"]
    assert "5 MB" in oversized["message_en"]

    assert listed(api.client.get(docs_url(patient.id), headers=api.as_patient(patient))) == []


def test_doc_8_patient_upload_goes_to_espace_personnel_up_to_5_mb(api: Api) -> None:
    patient = add_patient(api.rt)
    accepted = send_file(api, patient, "ordonnance.pdf", PDF)
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["category"], accepted.json()["author_kind"]) == (
        "ESPACE_PERSO",
        "patient",
    )
    just_right = PDF + b"\n" * (PATIENT_MAX_BYTES - len(PDF))
    assert send_file(api, patient, "scanner.pdf", just_right).status_code == 201
    assert len(listed(api.client.get(docs_url(patient.id), headers=api.as_patient(patient)))) == 2


def test_tr_1_history_newest_first_100_a_page(api: Api, fixed_clock: FixedClock) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    start = fixed_clock.now()
    with api.rt.transaction() as session:
        for _ in range(130):
            fixed_clock.advance(timedelta(seconds=1))
            trail.record(session, pro_ctx(pro), Action.FIND_PATIENT, patient_id=patient.id)
    url, mine = f"{V1}/patients/{patient.id}/history", api.as_patient(patient)

    first = api.client.get(url, headers=mine).json()
    assert (first["page"], first["page_size"], first["total"]) == (1, 100, 130)
    moments = [as_utc(e["at"]) for e in first["entries"]]
    assert moments == [start + timedelta(seconds=s) for s in range(130, 30, -1)]
    assert {(e["actor"], e["profession"], e["action"]) for e in first["entries"]} == {
        ("Dr Louis Bernard", "médecin", "find_patient")
    }

    second = api.client.get(url, params={"page": 2}, headers=mine).json()
    # Reading page 1 was itself traced (TR-1: the patient's own acts too), newest of all.
    assert (second["page"], second["total"]) == (2, 131)
    moments = [as_utc(e["at"]) for e in second["entries"]]
    assert moments == [start + timedelta(seconds=s) for s in range(31, 0, -1)]
    newest = api.client.get(url, headers=mine).json()["entries"][0]
    assert (newest["action"], newest["actor"]) == ("read_history", "Vous")


def test_tr_2_notifications_after_outbox_delivery(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    url, mine = f"{V1}/patients/{patient.id}/notifications", api.as_patient(patient)
    headers = api.as_pro(pro)
    uploaded = api.client.post(
        f"{V1}/pro/patients/{patient.id}/documents",
        json={
            "type_code": "11488-4",
            "title": "Consultation",
            "mime_type": "application/pdf",
            "content_base64": "JVBERi0xLjQK",
        },
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert api.client.post(f"{V1}/pro/patients/{patient.id}/consent", headers=headers).is_success

    assert api.client.get(url, headers=mine).json() == []
    assert deliver_pending(api.rt.uow, None, "x@y") == 2
    found = {n["kind"]: n for n in api.client.get(url, headers=mine).json()}
    assert set(found) == {"document_added", "first_access"}
    assert found["document_added"]["text"] == (
        "Un nouveau document a été ajouté à votre dossier : Consultation."
    )
    assert (
        found["document_added"]["text_en"]
        == "A new document was added to your record: Consultation."
    )
    assert found["first_access"]["text"] == (
        "Dr Louis Bernard a accédé à votre dossier pour la première fois."
    )
    assert not any(n["read"] for n in found.values())

    read = api.client.post(f"{url}/{found['first_access']['id']}/read", headers=mine)
    assert read.status_code == 204, read.text
    after = {n["kind"]: n["read"] for n in api.client.get(url, headers=mine).json()}
    assert after == {"document_added": False, "first_access": True}
    assert deliver_pending(api.rt.uow, None, "x@y") == 0


def family(api: Api, child_age: int) -> tuple[Patient, Patient, str, str]:
    """A minor, her parent, a document she shares and one invisible to her representatives."""
    child = add_patient(api.rt, age=child_age, first_names="Léa", birth_names="DUBOIS")
    parent = add_patient(api.rt, age=44, first_names="Paul", birth_names="DUBOIS", sex="M")
    add_representative(api.rt, child, parent)
    pro = pro_ctx(add_pro(api.rt))
    shared = upload(api.rt, pro, child, title="Vaccination ROR", type_code="87273-9")
    private = upload(
        api.rt,
        pro,
        child,
        title="Contraception",
        type_code="57833-6",
        content=pdf("Contraception"),
        invisible_representatives=True,
    )
    return child, parent, shared.id, private.id


def test_acc_8_parent_sees_child_space_without_invisible_to_representatives(api: Api) -> None:
    child, parent, shared, private = family(api, child_age=15)
    theirs = api.as_patient(parent)

    spaces = api.client.get(f"{V1}/me", headers=theirs).json()["spaces"]
    assert [(s["patient_id"], s["relation"]) for s in spaces] == [
        (parent.id, "self"),
        (child.id, "legal_representative"),
    ]
    assert listed(api.client.get(docs_url(child.id), headers=theirs)) == [shared]
    for suffix in ("", "/content"):
        refused_like_missing(
            api,
            f"{docs_url(child.id)}/{private}{suffix}",
            f"{docs_url(child.id)}/{new_id()}{suffix}",
            theirs,
        )
    history = api.client.get(f"{V1}/patients/{child.id}/history", headers=theirs).json()
    assert history["entries"]
    assert private not in {e["document_id"] for e in history["entries"]}
    assert "Contraception" not in {e["document_title"] for e in history["entries"]}


def test_lc_7_parent_loses_access_at_18(api: Api, fixed_clock: FixedClock) -> None:
    child, parent, shared, private = family(api, child_age=17)
    assert listed(api.client.get(docs_url(child.id), headers=api.as_patient(parent))) == [shared]

    fixed_clock.advance(timedelta(days=366))
    theirs = api.as_patient(parent)  # a fresh token: the old one expired with the year

    spaces = api.client.get(f"{V1}/me", headers=theirs).json()["spaces"]
    assert [s["patient_id"] for s in spaces] == [parent.id]
    refused_like_missing(api, docs_url(child.id), docs_url(new_id()), theirs)
    refused_like_missing(
        api, f"{docs_url(child.id)}/{shared}", f"{docs_url(child.id)}/{new_id()}", theirs
    )
    hers = api.as_patient(child)
    assert sorted(listed(api.client.get(docs_url(child.id), headers=hers))) == sorted(
        [shared, private]
    )


def test_another_patients_document_or_space_answers_like_a_missing_one(api: Api) -> None:
    patient, other, pro = add_patient(api.rt), add_patient(api.rt), add_pro(api.rt)
    upload(api.rt, pro_ctx(pro), patient)
    elsewhere = upload(api.rt, pro_ctx(pro), other)
    mine = api.as_patient(patient)

    for suffix in ("", "/content"):
        refused_like_missing(
            api,
            f"{docs_url(patient.id)}/{elsewhere.id}{suffix}",
            f"{docs_url(patient.id)}/{new_id()}{suffix}",
            mine,
        )
    # ACC-9: someone else's space, however its id was learnt.
    refused_like_missing(api, docs_url(other.id), docs_url(new_id()), mine)
    refused_like_missing(
        api, f"{docs_url(other.id)}/{elsewhere.id}", f"{docs_url(new_id())}/{elsewhere.id}", mine
    )


def test_missing_or_invalid_token_is_401(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    url = docs_url(patient.id)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer e30.e30.c2ln"},
        {"Authorization": api.as_patient(patient)["Authorization"] + "x"},
    ):
        refused = api.client.get(url, headers=headers)
        api.refusal(refused, 401)
        assert refused.headers["www-authenticate"] == "Bearer"

    stranger = issue_patient_token(api.key, ins=new_ins(), ttl_seconds=60)
    unknown = api.client.get(url, headers={"Authorization": f"Bearer {stranger}"})
    assert api.refusal(unknown, 401)["error"] == "unknown_patient"
    as_pro = api.client.get(url, headers=api.as_pro(pro))
    assert api.refusal(as_pro, 403)["error"] == "forbidden"


def test_tr_1_refused_reads_of_the_patient_side_are_traced_by_what_they_tried(api: Api) -> None:
    """ACC-8: settings, pros and notifications are for the patient and who acts for him; anyone
    else with a patient's token gets "not found", and the trail says what was attempted."""
    patient = add_patient(api.rt)
    stranger = add_patient(api.rt, first_names="Paul", birth_names="DURAND")
    headers = api.as_patient(stranger)
    for part in ("settings", "pros", "notifications"):
        refused = api.client.get(f"{V1}/patients/{patient.id}/{part}", headers=headers)
        assert api.refusal(refused, 404)["error"] == "not_found"
    with api.rt.transaction() as session:
        denied = session.execute(
            select(Trace.action)
            .where(
                Trace.patient_id == patient.id,
                Trace.actor_id == stranger.id,
                Trace.outcome == "denied",
            )
            .order_by(Trace.seq)
        ).scalars()
        assert list(denied) == [
            Action.READ_SETTINGS,
            Action.READ_SETTINGS,
            Action.READ_NOTIFICATIONS,
        ]
