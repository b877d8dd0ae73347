"""The pros' JSON API over a real socket: data from factories, the act under test over HTTP."""

from __future__ import annotations

import base64
import hashlib

import httpx
from factories import (
    PDF,
    add_patient,
    add_pro,
    pro_ctx,
    upload,
)
from live_api import Api

import carnet
from carnet.context import AccessMode, AuthLevel
from carnet.demo.load import pdf
from carnet.ids import new_id
from carnet.notify.service import deliver_pending
from carnet.population.models import Patient

V1 = "/api/v1/pro"


def docs_url(patient_id: str) -> str:
    return f"{V1}/patients/{patient_id}/documents"


def document_in(text: str = "Compte rendu", **fields: object) -> dict[str, object]:
    """A pro's upload body: a small PDF in base64, a consultation report unless told."""
    body: dict[str, object] = {
        "type_code": "11488-4",
        "title": text,
        "mime_type": "application/pdf",
        "content_base64": base64.b64encode(pdf(text)).decode(),
    }
    body.update(fields)
    return body


def listed(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["documents"]]


def notifications(api: Api, patient: Patient) -> list[dict[str, object]]:
    deliver_pending(api.rt.uow, None, "x@y")
    response = api.client.get(
        f"/api/v1/patients/{patient.id}/notifications", headers=api.as_patient(patient)
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def test_acc_2_consent_then_listing(api: Api) -> None:
    patient, author, pro = add_patient(api.rt), add_pro(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(author), patient)
    headers = api.as_pro(pro)

    # Without the ticked box, and nothing he wrote himself (DOC-5): as if there were no record.
    missing = api.client.get(docs_url(new_id()), headers=headers)
    for url in (docs_url(patient.id), f"{docs_url(patient.id)}/{document.id}"):
        refused = api.client.get(url, headers=headers)
        assert (refused.status_code, refused.json()) == (404, api.refusal(missing, 404))
    assert (
        api.client.get(
            f"/api/v1/patients/{patient.id}/pros", headers=api.as_patient(patient)
        ).json()
        == []
    )

    consent = api.client.post(f"{V1}/patients/{patient.id}/consent", headers=headers)
    assert consent.status_code == 204, consent.text
    assert listed(api.client.get(docs_url(patient.id), headers=headers)) == [document.id]
    assert api.client.get(f"{docs_url(patient.id)}/{document.id}", headers=headers).is_success

    relations = api.client.get(
        f"/api/v1/patients/{patient.id}/pros", headers=api.as_patient(patient)
    ).json()
    assert [(r["rpps"], r["authorised"]) for r in relations] == [(pro.rpps, True)]
    search = api.client.post(f"{V1}/patients/search", json={"ins": patient.ins}, headers=headers)
    assert search.json()["authorisation"] == "VALIDE"


def test_acc_3_blocked_pro_gets_404_like_missing(api: Api) -> None:
    patient, author, pro = add_patient(api.rt), add_pro(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(author), patient)
    headers = api.as_pro(pro)
    assert api.client.post(f"{V1}/patients/{patient.id}/consent", headers=headers).is_success
    blocked = api.client.post(
        f"/api/v1/patients/{patient.id}/pros/{pro.rpps}/block", headers=api.as_patient(patient)
    )
    assert blocked.status_code == 204, blocked.text

    missing = api.client.get(docs_url(new_id()), headers=headers)
    api.refusal(missing, 404)
    emergency = api.as_pro(pro, mode=AccessMode.BRIS_DE_GLACE, reason="Detresse respiratoire")
    for response in (
        api.client.get(docs_url(patient.id), headers=headers),
        api.client.get(f"{docs_url(patient.id)}/{document.id}", headers=headers),
        api.client.get(f"{docs_url(patient.id)}/{document.id}/content", headers=headers),
        api.client.post(f"{V1}/patients/{patient.id}/consent", headers=headers),
        api.client.get(docs_url(patient.id), headers=emergency),
    ):
        assert (response.status_code, response.json()) == (404, missing.json())

    search = api.client.post(f"{V1}/patients/search", json={"ins": patient.ins}, headers=headers)
    assert search.json()["authorisation"] == "INTERDIT"


def test_acc_6_bris_de_glace_needs_reason_header(api: Api) -> None:
    patient, author, pro = add_patient(api.rt), add_pro(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(author), patient)
    url = f"{docs_url(patient.id)}/{document.id}"

    no_reason = api.as_pro(pro, mode=AccessMode.BRIS_DE_GLACE)
    api.refusal(api.client.get(docs_url(patient.id), headers=no_reason), 404)
    api.refusal(api.client.get(url, headers=no_reason), 404)

    reason = "Patiente inconsciente, urgences vitales"
    emergency = api.as_pro(pro, mode=AccessMode.BRIS_DE_GLACE, reason=reason)
    assert listed(api.client.get(docs_url(patient.id), headers=emergency)) == [document.id]
    assert api.client.get(f"{url}/content", headers=emergency).content == PDF

    history = api.client.get(
        f"/api/v1/patients/{patient.id}/history", headers=api.as_patient(patient)
    ).json()["entries"]
    reads = [
        (e["outcome"], e["reason"])
        for e in history
        if e["action"] == "read_document" and e["mode"] == "bris-de-glace"
    ]
    assert reads == [("allowed", reason), ("denied", None)]  # newest first
    texts = [str(n["text"]) for n in notifications(api, patient) if n["kind"] == "emergency_access"]
    assert texts
    assert all("(mode : bris de glace)" in text for text in texts)

    bad_mode = api.client.get(
        docs_url(patient.id), headers={**api.as_pro(pro), "X-Access-Mode": "urgence"}
    )
    assert api.refusal(bad_mode, 422)["error"] == "bad_access_mode"


def test_acc_6_centre_de_regulation_for_samu_regulator(api: Api) -> None:
    patient, author = add_patient(api.rt), add_pro(api.rt)
    regulator, other = add_pro(api.rt, samu_regulator=True), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(author), patient)

    samu = api.as_pro(regulator, mode=AccessMode.CENTRE_DE_REGULATION)
    assert listed(api.client.get(docs_url(patient.id), headers=samu)) == [document.id]
    not_a_regulator = api.as_pro(other, mode=AccessMode.CENTRE_DE_REGULATION)
    api.refusal(api.client.get(docs_url(patient.id), headers=not_a_regulator), 404)
    texts = [str(n["text"]) for n in notifications(api, patient) if n["kind"] == "emergency_access"]
    assert texts
    assert all("(mode : centre de régulation (SAMU-Centre 15))" in text for text in texts)

    refused = api.client.put(
        f"/api/v1/patients/{patient.id}/settings/emergency",
        json={"samu": False, "others": True, "masked": False},
        headers=api.as_patient(patient),
    )
    assert refused.status_code == 200, refused.text
    samu = api.as_pro(regulator, mode=AccessMode.CENTRE_DE_REGULATION)
    api.refusal(api.client.get(docs_url(patient.id), headers=samu), 404)
    api.refusal(api.client.get(f"{docs_url(patient.id)}/{document.id}", headers=samu), 404)


def test_id_5_cpe_token_may_upload_but_not_read(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    cpe = api.as_pro(pro, level=AuthLevel.CPE)

    uploaded = api.client.post(docs_url(patient.id), json=document_in(), headers=cpe)
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["id"]

    # Even his own document: reading a DMP needs a CPS or e-CPS, refused as such (the card level
    # alone decides, so the refusal says nothing of the patient).
    for url in (
        docs_url(patient.id),
        f"{docs_url(patient.id)}/{document_id}",
        f"{docs_url(patient.id)}/{document_id}/content",
    ):
        refused = api.refusal(api.client.get(url, headers=cpe), 403)
        assert refused["error"] == "level_too_low"
        assert "CPS ou e-CPS" in refused["message"]
        assert "CPS card or e-CPS" in refused["message_en"]
    assert listed(api.client.get(docs_url(patient.id), headers=api.as_pro(pro))) == [document_id]


def test_doc_1_pro_upload_json_base64_201_and_idempotent_resend(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    body = document_in(
        "Consultation du jour", unique_id="urn:oid:1.2.3.4.5", service_date="2026-11-20"
    )

    first = api.client.post(docs_url(patient.id), json=body, headers=api.as_pro(pro))
    assert first.status_code == 201, first.text
    created = first.json()
    content = pdf("Consultation du jour")
    assert created["unique_id"] == "urn:oid:1.2.3.4.5"
    assert (created["type_code"], created["category"]) == ("11488-4", "CPT_REND")
    assert (created["author_kind"], created["author_id"]) == ("pro", pro.rpps)
    assert (created["size"], created["sha256"]) == (
        len(content),
        hashlib.sha256(content).hexdigest(),
    )
    assert (created["service_date"], created["confidentiality"]) == ("2026-11-20", ["N"])

    again = api.client.post(docs_url(patient.id), json=body, headers=api.as_pro(pro))
    assert again.status_code == 201, again.text
    assert again.json() == created
    assert listed(api.client.get(docs_url(patient.id), headers=api.as_pro(pro))) == [created["id"]]
    read = api.client.get(
        f"{docs_url(patient.id)}/{created['id']}/content", headers=api.as_pro(pro)
    )
    assert (read.content, read.headers["content-type"]) == (content, "application/pdf")
    assert read.headers["x-content-sha256"] == created["sha256"]

    garbled = api.client.post(
        docs_url(patient.id), json=document_in(content_base64="%%%"), headers=api.as_pro(pro)
    )
    assert api.refusal(garbled, 422)["error"] == "bad_base64"


def test_doc_7_same_unique_id_other_bytes_409(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    first = api.client.post(
        docs_url(patient.id),
        json=document_in("Version A", unique_id="uid-1"),
        headers=api.as_pro(pro),
    )
    assert first.status_code == 201, first.text

    other = api.client.post(
        docs_url(patient.id),
        json=document_in("Version B", unique_id="uid-1"),
        headers=api.as_pro(pro),
    )
    assert api.refusal(other, 409)["error"] == "unique_id_conflict"
    assert listed(api.client.get(docs_url(patient.id), headers=api.as_pro(pro))) == [
        first.json()["id"]
    ]
    kept = api.client.get(
        f"{docs_url(patient.id)}/{first.json()['id']}/content", headers=api.as_pro(pro)
    )
    assert kept.content == pdf("Version A")


def test_doc_3_invisible_to_patient_then_shown(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    uploaded = api.client.post(
        docs_url(patient.id),
        json=document_in("Résultats à annoncer", invisible_patient=True),
        headers=api.as_pro(pro),
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["confidentiality"] == ["INVISIBLE_PATIENT"]
    document_id = uploaded.json()["id"]
    mine = f"/api/v1/patients/{patient.id}/documents"

    assert listed(api.client.get(mine, headers=api.as_patient(patient))) == []
    hidden = api.client.get(f"{mine}/{document_id}", headers=api.as_patient(patient))
    missing = api.client.get(f"{mine}/{new_id()}", headers=api.as_patient(patient))
    assert (hidden.status_code, hidden.json()) == (404, api.refusal(missing, 404))

    shown = api.client.post(
        f"{docs_url(patient.id)}/{document_id}/show-to-patient", headers=api.as_pro(pro)
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["confidentiality"] == ["N"]
    assert listed(api.client.get(mine, headers=api.as_patient(patient))) == [document_id]
    texts = [str(n["text"]) for n in notifications(api, patient) if n["kind"] == "document_added"]
    assert texts == ["Un nouveau document a été ajouté à votre dossier : Résultats à annoncer."]


def test_another_patients_document_answers_like_a_missing_one(api: Api) -> None:
    patient, other, pro = add_patient(api.rt), add_patient(api.rt), add_pro(api.rt)
    upload(api.rt, pro_ctx(pro), patient)
    elsewhere = upload(api.rt, pro_ctx(pro), other)
    headers = api.as_pro(pro)

    for suffix in ("", "/content"):
        missing = api.client.get(f"{docs_url(patient.id)}/{new_id()}{suffix}", headers=headers)
        foreign = api.client.get(f"{docs_url(patient.id)}/{elsewhere.id}{suffix}", headers=headers)
        api.refusal(missing, 404)
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
        assert foreign.headers.get("content-length") == missing.headers.get("content-length")


def test_missing_or_invalid_token_is_401(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    url = docs_url(patient.id)
    signed_elsewhere = httpx.Headers(api.as_pro(pro))["authorization"][:-8] + "AAAAAAAA"
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": signed_elsewhere},
    ):
        refused = api.client.get(url, headers=headers)
        api.refusal(refused, 401)
        assert refused.headers["www-authenticate"] == "Bearer"
    assert api.refusal(api.client.get(url), 401)["error"] == "token_missing"

    as_patient = api.client.get(url, headers=api.as_patient(patient))
    assert api.refusal(as_patient, 403)["error"] == "forbidden"


def test_id_1_ins_never_in_an_api_url(api: Api) -> None:
    """The INS is searched in a body; every later call names the patient by his internal id."""
    patient, author, pro = add_patient(api.rt), add_pro(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(author), patient)
    urls: list[str] = []
    api.client.event_hooks["request"].append(lambda request: urls.append(str(request.url)))
    headers = api.as_pro(pro)

    found = api.client.post(f"{V1}/patients/search", json={"ins": patient.ins}, headers=headers)
    assert found.status_code == 200, found.text
    assert found.json() == {"patient_id": patient.id, "active": True, "authorisation": "NON_EXISTE"}
    patient_id = found.json()["patient_id"]
    assert api.client.post(f"{V1}/patients/{patient_id}/consent", headers=headers).is_success
    assert listed(api.client.get(docs_url(patient_id), headers=headers)) == [document.id]
    assert api.client.get(
        f"{docs_url(patient_id)}/{document.id}/content", headers=headers
    ).is_success

    assert len(urls) == 4
    assert not [u for u in urls if patient.ins in u or patient.ins[:13] in u]
    paths = api.client.get("/openapi.json").json()["paths"]
    parameters = {
        p["name"].lower()
        for path, operations in paths.items()
        if path.startswith("/api/")
        for operation in operations.values()
        for p in operation.get("parameters", [])
        if p["in"] in ("path", "query")
    }
    assert "patient_id" in parameters
    assert not [name for name in parameters if "ins" in name or "nir" in name]


def test_healthz_answers_the_version(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": carnet.__version__}


def test_openapi_lists_the_routes(api: Api) -> None:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["version"] == carnet.__version__
    operations = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    p, pp = "/api/v1/patients/{patient_id}", "/api/v1/pro/patients/{patient_id}"
    assert {
        ("GET", "/healthz"),
        ("GET", "/api/v1/me"),
        ("GET", f"{p}/documents"),
        ("POST", f"{p}/documents"),
        ("GET", f"{p}/documents/{{document_id}}/content"),
        ("POST", f"{p}/documents/{{document_id}}/mask"),
        ("GET", f"{p}/history"),
        ("GET", f"{p}/notifications"),
        ("PUT", f"{p}/settings/emergency"),
        ("POST", f"{p}/pros/{{rpps}}/block"),
        ("POST", "/api/v1/pro/patients/search"),
        ("POST", f"{pp}/consent"),
        ("GET", f"{pp}/documents"),
        ("POST", f"{pp}/documents"),
        ("GET", f"{pp}/documents/{{document_id}}/content"),
        ("POST", f"{pp}/documents/{{document_id}}/show-to-patient"),
        ("POST", f"{pp}/documents/{{document_id}}/replace"),
    } <= operations


def test_errors_are_json_in_french_and_english(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    headers = api.as_pro(pro)

    incomplete = api.client.post(docs_url(patient.id), json={"title": "?"}, headers=headers)
    refusal = api.refusal(incomplete, 422)
    assert refusal["error"] == "invalid_request"
    assert "content_base64" in refusal["message"]
    assert "content_base64" in refusal["message_en"]
    not_json = api.client.post(
        docs_url(patient.id),
        content=b"{",
        headers={**headers, "Content-Type": "application/json"},
    )
    api.refusal(not_json, 422)
    api.refusal(api.client.get(f"{V1}/no-such-thing", headers=headers), 404)
    api.refusal(api.client.delete(f"{V1}/patients/search", headers=headers), 405)
    api.refusal(api.client.get(docs_url(patient.id)), 401)
