"""A patient's record as each door shows it, for black-box tests against the live server
(``live_api``): the history through the JSON API, FHIR AuditEvent and the web page, a person's
web pages (a session cookie, no browser), a pro's upload body. Registered nowhere: imported."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

import httpx
from live_api import Api

from carnet.demo.load import pdf
from carnet.identity.models import Pro
from carnet.population.login import demo_login
from carnet.population.models import Patient
from carnet.web.deps import SESSION_COOKIE

V1 = "/api/v1"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"


def document_body(
    title: str, content: bytes | None = None, *, type_code: str = "11488-4", **fields: object
) -> dict[str, object]:
    """A pro's JSON upload: a small PDF (made from the title unless given), in base64."""
    return {
        "type_code": type_code,
        "title": title,
        "mime_type": "application/pdf",
        "content_base64": base64.b64encode(content or pdf(title)).decode(),
        **fields,
    }


def json_history(
    api: Api, headers: dict[str, str], patient_id: str, *, pro_side: bool = False
) -> list[dict[str, Any]]:
    """The history through the JSON API: the patient side's route, or the administrators'."""
    side = "/pro" if pro_side else ""
    answer = api.client.get(f"{V1}{side}/patients/{patient_id}/history", headers=headers)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def audit_events(api: Api, headers: dict[str, str], patient_id: str) -> str:
    """The FHIR AuditEvent search (a patient's token or a pro's), as the raw body."""
    answer = api.client.get("/fhir/AuditEvent", params={"patient": patient_id}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["resourceType"] == "Bundle"
    return answer.text


def events_text(body: str) -> str:
    """An AuditEvent bundle with its JSON escapes undone (titles and labels are matched in it)."""
    return json.dumps(json.loads(body), ensure_ascii=False)


def audit_agents(body: str) -> list[dict[str, Any]]:
    """The ``agent.who`` of every AuditEvent of a search bundle."""
    bundle = json.loads(body)
    return [
        agent["who"] for e in bundle.get("entry", []) for agent in e["resource"].get("agent", [])
    ]


def web_page(api: Api, person: Patient, path: str) -> httpx.Response:
    """A page of the patient's site for ``person``, logged in by the demo's one click."""
    opened = demo_login(api.rt.uow, api.rt.settings.model_copy(update={"demo": True}), person.ins)
    with httpx.Client(base_url=api.url, cookies={SESSION_COOKIE: opened.token}) as client:
        return client.get(path)


def web_history(api: Api, person: Patient, patient_id: str) -> str:
    """The history page as its reader reads it (HTML entities undone)."""
    page = web_page(api, person, f"/espace/{patient_id}/historique")
    assert page.status_code == 200, page.text[:500]
    return html.unescape(page.text)


def fhir_id_as_the_author_sees_it(api: Api, author: Pro, patient: Patient, unique_id: str) -> str:
    """A document's FHIR id, from its author's own FHIR search (no need to know its shape)."""
    answer = api.client.get(
        "/fhir/DocumentReference",
        params={"patient": patient.id, "status": "current", "identifier": unique_id},
        headers=api.as_pro(author),
    )
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert len(entries) == 1, answer.text
    found: str = entries[0]["resource"]["id"]
    return found
