"""The profile's life over real HTTP (INTERFACES.md): ``POST …/close`` with its confirmation,
``POST …/oppose``, ``GET …/export`` answering 202 while it is built then the zip, the patient's
requests, a representative activating a space, a lost code asked for without logging in; a pro's
upload into a closed DMP told so (DOC-1)."""

from __future__ import annotations

import io
import json
import time
import zipfile

from doors import document_body
from factories import add_patient, add_pro, add_representative, pro_ctx, upload
from fhir.resources.R4B.bundle import Bundle
from live_api import Api

from carnet.population.rules import ProfileState

V1 = "/api/v1"


def test_lc_5_doc_1_closing_over_http_then_a_pro_s_upload_is_told_the_dmp_is_closed(
    api: Api,
) -> None:
    claire, doctor = add_patient(api.rt), add_pro(api.rt)
    upload(api.rt, pro_ctx(doctor), claire)
    mine = api.as_patient(claire)
    url = f"{V1}/patients/{claire.id}/close"
    unconfirmed = api.client.post(url, json={"delete_archives": True}, headers=mine)
    assert api.refusal(unconfirmed, 422)["error"] == "confirmation_required"
    closed = api.client.post(url, json={"confirm": True, "delete_archives": False}, headers=mine)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["state"] == "closed"
    assert body["deletion_due"] is None
    assert body["archive_until"].startswith("2036-")
    sent = api.client.post(
        f"{V1}/pro/patients/{claire.id}/documents",
        json=document_body("Compte rendu"),
        headers=api.as_pro(doctor),
    )
    refusal = api.refusal(sent, 409)
    assert refusal["error"] == "dmp_closed"
    assert "DMP" in refusal["message"]
    assert "fermé" in refusal["message"]
    unknown = api.client.post(
        f"{V1}/pro/patients/{'0' * 32}/documents",
        json=document_body("Compte rendu"),
        headers=api.as_pro(doctor),
    )
    assert api.refusal(unknown, 404)["error"] == "not_found"  # unknown stays unknown
    again = api.client.post(url, json={"confirm": True}, headers=mine)
    assert api.refusal(again, 404)["error"] == "not_found"


def test_lc_6_opposing_over_http_needs_its_confirmation(api: Api) -> None:
    claire = add_patient(api.rt)
    url = f"{V1}/patients/{claire.id}/oppose"
    assert api.refusal(api.client.post(url, json={}, headers=api.as_patient(claire)), 422)
    done = api.client.post(url, json={"confirm": True}, headers=api.as_patient(claire))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "opposed"


def test_lc_6_the_export_answers_202_while_built_then_the_zip(api: Api) -> None:
    claire, doctor = add_patient(api.rt), add_pro(api.rt)
    for n in range(3):
        upload(api.rt, pro_ctx(doctor), claire, title=f"Bilan {n}")
    url = f"{V1}/patients/{claire.id}/export"
    first = api.client.get(url, headers=api.as_patient(claire))
    assert first.status_code == 202, first.text
    assert first.json()["state"] in ("queued", "building", "ready")
    assert first.json()["total"] == 3
    deadline = time.monotonic() + 30
    while True:
        answer = api.client.get(url, headers=api.as_patient(claire))
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        assert answer.status_code == 202
        time.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert len([n for n in archive.namelist() if n.startswith("documents/")]) == 3
    Bundle.model_validate(json.loads(archive.read("fhir/bundle.json")))
    stranger = add_patient(api.rt)
    assert api.refusal(api.client.get(url, headers=api.as_patient(stranger)), 404)


def test_lc_6_requests_reach_the_operator(api: Api) -> None:
    claire = add_patient(api.rt)
    url = f"{V1}/patients/{claire.id}/requests"
    made = api.client.post(
        url,
        json={"kind": "rectification", "text": "Mon nom d'usage est Durand."},
        headers=api.as_patient(claire),
    )
    assert made.status_code == 201, made.text
    bad = api.client.post(
        url, json={"kind": "suppression", "text": "x"}, headers=api.as_patient(claire)
    )
    assert api.refusal(bad, 422)


def test_lc_7_a_parent_activates_his_child_s_space_over_http(api: Api) -> None:
    parent = add_patient(api.rt)
    child = add_patient(api.rt, age=10, state=ProfileState.CREATED, email=None)
    add_representative(api.rt, child, parent)
    url = f"{V1}/patients/{child.id}/activate"
    unanswered = api.client.post(url, json={}, headers=api.as_patient(parent))
    assert api.refusal(unanswered, 422)["error"] == "samu_question"
    done = api.client.post(url, json={"emergency_samu": True}, headers=api.as_patient(parent))
    assert done.status_code == 204, done.text
    listed = api.client.get(f"{V1}/patients/{child.id}/documents", headers=api.as_patient(parent))
    assert listed.status_code == 200


def test_lc_4_a_lost_code_is_asked_for_without_telling_who_has_a_profile(api: Api) -> None:
    created = add_patient(api.rt, state=ProfileState.CREATED)
    url = f"{V1}/activation/code-request"
    known = api.client.post(
        url, json={"ins": created.ins, "birth_date": created.birth_date.isoformat()}
    )
    unknown = api.client.post(url, json={"ins": "1" * 15, "birth_date": "1990-01-01"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
