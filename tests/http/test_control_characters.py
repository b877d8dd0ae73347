"""Issue 16: control characters (CR, LF, NUL and the other C0, DEL, C1) are refused in an
emergency reason on every door (JSON, FHIR, web), 500 characters at most, and in document
titles and file names — a clear 422 in French and English, nothing stored."""

from __future__ import annotations

import base64
from urllib.parse import quote

import httpx
import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from live_api import Api
from web_support import Site, form_token

from carnet.context import AccessMode
from carnet.demo.load import pdf
from carnet.http.fhir.codes import INS_NIR
from carnet.http.fhir.shapes import fhir_document_id
from carnet.identity import portal
from carnet.records import service as records
from carnet.texts import checked_reason, checked_title, has_controls

BAD = {"cr_lf": "Patient inconscient\r\nX-Injected: 1", "nul": "inconscient\x00", "bell": "a\x07b"}


def _emergency(api: Api, pro: object, reason: str) -> dict[str, str]:
    headers = api.as_pro(pro, mode=AccessMode.BRIS_DE_GLACE)  # type: ignore[arg-type]
    headers["X-Access-Reason"] = quote(reason)  # percent-encoded UTF-8, as INTERFACES.md says
    return headers


@pytest.mark.parametrize("kind", sorted(BAD))
def test_issue16_reason_with_control_characters_refused_on_json_and_fhir(
    api: Api, kind: str
) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    headers = _emergency(api, pro, BAD[kind])
    json_answer = api.client.get(f"/api/v1/pro/patients/{patient.id}/documents", headers=headers)
    assert api.refusal(json_answer, 422)["error"] == "bad_reason"
    fhir = api.client.get(
        "/fhir/DocumentReference",
        params={"patient": patient.id, "status": "current"},
        headers=headers,
    )
    assert fhir.status_code == 422
    assert "contrôle" in fhir.json()["issue"][0]["diagnostics"]


def test_issue16_reason_of_500_characters_at_most(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    url = f"/api/v1/pro/patients/{patient.id}/documents"
    long = api.client.get(url, headers=_emergency(api, pro, "é" * 501))
    assert "500" in api.refusal(long, 422)["message_en"]
    fits = api.client.get(url, headers=_emergency(api, pro, "é\t" * 250))
    assert fits.status_code == 200, fits.text


def test_issue16_reason_with_control_characters_refused_on_the_web(http_site: Site) -> None:
    """The portal's text area: its line breaks become spaces; a NUL is refused."""
    patient, pro = add_patient(http_site.rt), add_pro(http_site.rt)
    with httpx.Client(base_url=http_site.url) as client:
        token = form_token(client, "/pro/")
        assert client.post("/pro/demo", data={"csrf": token, "rpps": pro.rpps}).status_code < 400
        page = f"/pro/patients/{patient.id}"
        token = form_token(client, page)
        mode = {"csrf": token, "mode": AccessMode.BRIS_DE_GLACE.value}
        refused = client.post(page + "/mode", data={**mode, "reason": "coma\x00"})
        assert refused.status_code == 422
        assert "contrôle" in refused.text
        too_long = client.post(page + "/mode", data={**mode, "reason": "x" * 501})
        assert too_long.status_code == 422
        typed = client.post(page + "/mode", data={**mode, "reason": "Coma,\r\nSAMU en route"})
        assert typed.status_code < 400, typed.text[:300]
        session = portal.current(http_site.rt.uow, client.cookies["carnet_pro"])
    assert session is not None
    chosen = portal.mode_for(http_site.rt.uow, session, patient.id)
    assert chosen == (AccessMode.BRIS_DE_GLACE, "Coma, SAMU en route")


@pytest.mark.parametrize("title", ["Compte\x00rendu", "Compte\nrendu", "Compte\trendu", "\x1b[31m"])
def test_issue16_titles_with_control_characters_refused_on_the_json_api(
    api: Api, title: str
) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    content = pdf("CR")
    answer = api.client.post(
        f"/api/v1/pro/patients/{patient.id}/documents",
        json={
            "type_code": "11488-4",
            "title": title,
            "mime_type": "application/pdf",
            "content_base64": base64.b64encode(content).decode(),
        },
        headers=api.as_pro(pro),
    )
    assert api.refusal(answer, 422)["error"] == "bad_title"
    listed = api.client.get(
        f"/api/v1/patients/{patient.id}/documents", headers=api.as_patient(patient)
    )
    assert listed.json()["documents"] == []


def test_issue16_file_names_with_control_characters_refused_on_upload(api: Api) -> None:
    """The patient's multipart upload: the file name is the title when none is given."""
    patient = add_patient(api.rt)
    answer = api.client.post(
        f"/api/v1/patients/{patient.id}/documents",
        files={"file": ("ordonnance\x00.pdf", pdf("x"), "application/pdf")},
        data={"title": ""},
        headers=api.as_patient(patient),
    )
    assert api.refusal(answer, 422)["error"] in ("bad_title", "invalid_request")
    titled = api.client.post(
        f"/api/v1/patients/{patient.id}/documents",
        files={"file": ("ordonnance.pdf", pdf("x"), "application/pdf")},
        data={"title": "Ordonnance\r\nde juin"},
        headers=api.as_patient(patient),
    )
    assert api.refusal(titled, 422)["error"] == "bad_title"


def test_issue16_titles_with_control_characters_refused_on_fhir(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    content = pdf("CR")
    body = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.99"},
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"identifier": {"system": INS_NIR, "value": patient.ins}},
        "description": "CR\x00",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "title": "CR\nX",
                    "data": base64.b64encode(content).decode(),
                }
            }
        ],
    }
    answer = api.client.post(
        "/fhir/DocumentReference",
        json=body,
        headers={**api.as_pro(pro), "Content-Type": "application/fhir+json"},
    )
    assert answer.status_code == 422, answer.text[:300]
    assert "contrôle" in answer.json()["issue"][0]["diagnostics"]


def test_issue16_text_checks_are_pure() -> None:
    assert checked_reason(None) is None
    assert checked_reason("coma\tSAMU") == "coma\tSAMU"
    assert checked_title("Compte rendu — échographie") == "Compte rendu — échographie"
    for control in ("\x00", "\r", "\n", "\x1f", "\x7f", "\x85", "\u2028"):
        assert has_controls(f"a{control}b", tab=True)
    assert not has_controls("a\tb", tab=True)
    assert has_controls("a\tb")


def test_issue16_existing_documents_with_plain_titles_still_upload(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(pro), patient, title="Échographie « T2 »")
    assert records.get_document(api.rt, pro_ctx(pro), patient.id, document.id).title
    assert fhir_document_id(document)
