"""Issue 16: security headers on every answer — JSON, FHIR, web pages, 404s, refusals and
errors; the API reference (/docs) served from the site's own files, under a policy that lets
its scripts run."""

from __future__ import annotations

import re

import httpx
import pytest
from factories import add_patient, add_pro
from live_api import Api
from web_support import Site

from carnet.records import reading

SECURE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _secured(answer: httpx.Response, *, page: bool = False) -> None:
    for name, value in SECURE.items():
        assert answer.headers.get(name) == value, (answer.request.url, name, answer.headers)
    assert answer.headers["x-frame-options"] in ("DENY", "SAMEORIGIN")
    policy = answer.headers["content-security-policy"]
    assert re.search(r"frame-ancestors '(none|self)'", policy), policy
    if not page:
        assert policy.startswith("default-src 'none'"), policy
    assert answer.headers["cache-control"] == "no-store", answer.request.url


def test_issue16_json_fhir_404_and_refusals_carry_security_headers(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    answers = [
        api.client.get(f"/api/v1/patients/{patient.id}/documents", headers=api.as_patient(patient)),
        api.client.get(
            "/fhir/DocumentReference",
            params={"patient": patient.id, "status": "current"},
            headers=api.as_pro(pro),
        ),
        api.client.get("/fhir/metadata"),
        api.client.get("/healthz"),
        api.client.get("/nowhere"),
        api.client.get("/fhir/Nowhere/1", headers=api.as_pro(pro)),
        api.client.get(f"/api/v1/patients/{patient.id}/documents"),  # 401
        api.client.post(
            f"/api/v1/patients/{patient.id}/requests",
            content=b"[" * 1000,
            headers={**api.as_patient(patient), "Content-Type": "application/json"},
        ),  # 400, answered by the intake middleware
        api.client.post(
            f"/api/v1/patients/{patient.id}/requests",
            json={"kind": 3},
            headers=api.as_patient(patient),
        ),  # 422
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 404, 401, 400, 422]
    for answer in answers:
        _secured(answer)


def test_issue16_a_500_carries_security_headers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    patient = add_patient(api.rt)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(reading, "list_documents", broken)
    monkeypatch.setattr("carnet.http.api.patient.records.list_documents", broken)
    answer = api.client.get(
        f"/api/v1/patients/{patient.id}/documents",
        headers={**api.as_patient(patient), "Connection": "close"},
    )
    assert answer.status_code == 500
    _secured(answer)


def test_issue16_web_pages_keep_their_own_policy(http_site: Site) -> None:
    with httpx.Client(base_url=http_site.url) as client:
        page = client.get("/connexion")
    assert page.status_code == 200
    _secured(page, page=True)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "SAMEORIGIN"


def test_issue16_docs_are_served_from_the_site_not_a_cdn(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui-bundle.js" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), page.text
    assert "<script>" not in page.text  # no inline script: the policy allows the site's only
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "cdn" not in policy
    for asset in (
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "/static/docs.js",
    ):
        served = api.client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/redoc").status_code == 404
