"""Issue 16, « every door, bad input »: each malformed body on every route that takes one is a
clear 4xx (French, then English), never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from live_api import Api

from carnet.http.fhir.shapes import fhir_document_id

MALFORMED: dict[str, bytes] = {
    "null": b"null",
    "array": b"[]",
    "string": b'"x"',
    "number": b"42",
    "array_of_strings": b'["x", 1, null]',
    "deep_array": b"[" * 100_000 + b"]" * 100_000,
    "deep_object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "truncated": b'{"resourceType": "Bundle", ',
    "not_utf8": b'{"title": "\xff\xfe"}',
}


def _body_routes(api: Api) -> list[tuple[str, str]]:
    """Every route of the JSON API and of FHIR that reads a body, from the OpenAPI document."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in ("post", "put", "patch") and path.startswith(("/api/", "/fhir"))
    ]


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path.replace("{", "").replace("}", "")


def _assert_clear_4xx(answer: httpx.Response, what: str) -> None:
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    _assert_clear(answer, what)


def _assert_clear(answer: httpx.Response, what: str) -> None:
    """A refusal in the door's shape; a route that reads no body may answer 2xx."""
    assert answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    if answer.status_code < 400:
        return
    if answer.request.url.path.startswith("/fhir"):
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome", what
        assert outcome["issue"][0]["diagnostics"], what
    else:
        body = answer.json()
        assert body["message"], what
        assert body["message_en"], what


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_issue16_malformed_bodies_are_4xx_on_every_route(api: Api, kind: str) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(pro), patient)
    values = {
        "patient_id": patient.id,
        "document_id": document.id,
        "fhir_id": fhir_document_id(document),
        "rpps": pro.rpps,
    }
    failures = []
    for method, path in _body_routes(api):
        url = _fill(path, values)
        params = {"identifier": "x", "patient": patient.id} if method == "PATCH" else None
        for headers in (api.as_pro(pro), api.as_patient(patient)):
            content_type = (
                "application/fhir+json" if path.startswith("/fhir") else "application/json"
            )
            answer = api.client.request(
                method,
                url,
                content=MALFORMED[kind],
                params=params,
                headers={**headers, "Content-Type": content_type},
            )
            try:
                _assert_clear(answer, f"{method} {path} {kind}")
            except (AssertionError, ValueError) as failure:
                failures.append(str(failure)[:200])
    assert not failures, "\n".join(failures)


def test_issue16_json_nested_too_deep_is_refused_with_a_clear_message(api: Api) -> None:
    """A depth limit checked before parsing: the message says what is wrong, in both languages."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    deep = b"[" * 100_000 + b"]" * 100_000
    fhir = api.client.post(
        "/fhir/DocumentReference",
        content=deep,
        headers={**api.as_pro(pro), "Content-Type": "application/fhir+json"},
    )
    assert fhir.status_code == 400, fhir.text[:300]
    issue = fhir.json()["issue"][0]
    assert "profondeur" in issue["diagnostics"]
    assert "depth" in issue["details"]["text"]
    api_answer = api.client.post(
        f"/api/v1/patients/{patient.id}/requests",
        content=deep,
        headers={**api.as_patient(patient), "Content-Type": "application/json"},
    )
    body = api.refusal(api_answer, 400)
    assert body["error"] == "json_too_deep"
    assert "profondeur" in body["message"]
    assert "depth" in body["message_en"]


def test_issue16_json_at_a_reasonable_depth_still_goes_through(api: Api) -> None:
    """The limit refuses pathological nesting only: a FHIR body 20 levels deep is read."""
    _, pro = add_patient(api.rt), add_pro(api.rt)
    nested: Any = {"resourceType": "Consent"}
    for _ in range(20):
        nested = {"extension": [nested]}
    answer = api.client.post(
        "/fhir/Consent",
        content=json.dumps(nested),
        headers={**api.as_pro(pro), "Content-Type": "application/fhir+json"},
    )
    assert answer.status_code in (400, 404, 422), answer.text[:300]
    assert "depth" not in answer.text


@pytest.mark.parametrize(
    "operations",
    [[1], ["x"], [None], [[]], [{"op": 1}], [{"op": "replace", "path": 3}], [{}]],
    ids=["number", "string", "null", "array", "op_number", "path_number", "empty"],
)
def test_issue16_json_patch_with_non_object_operations_is_4xx(
    api: Api, operations: list[Any]
) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(pro), patient)
    answer = api.client.patch(
        f"/fhir/DocumentReference/{fhir_document_id(document)}",
        content=json.dumps(operations),
        headers={**api.as_pro(pro), "Content-Type": "application/json-patch+json"},
    )
    _assert_clear_4xx(answer, json.dumps(operations))
    again = api.client.get(
        f"/fhir/DocumentReference/{fhir_document_id(document)}", headers=api.as_pro(pro)
    )
    assert again.status_code == 200
    assert again.headers["ETag"] == 'W/"1"'


@pytest.mark.parametrize(
    ("method", "act"),
    [
        ("POST", "block"),
        ("POST", "unblock"),
        ("POST", "authorise"),
        ("PUT", "administrator"),
        ("DELETE", "administrator"),
    ],
)
def test_issue16_acc_3_an_act_on_a_pro_key_that_names_nobody_is_a_clear_4xx(
    api: Api, method: str, act: str
) -> None:
    """A patient's act on a pro whose key cannot be a pro's (the fuzzer's: too long for the
    column, other characters) is refused in the door's words and changes nothing — PostgreSQL
    refused the row with a 500 before."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    path = f"/api/v1/patients/{patient.id}/pros"
    for key in ("qpÙ~:v\U000ef4c8úÐLæúí\U000f5b5cÆ", "1234567890123", "abcdefghijk"):
        answer = api.client.request(method, f"{path}/{key}/{act}", headers=api.as_patient(patient))
        _assert_clear_4xx(answer, f"{act} {key!r}")
        assert answer.json()["error"] == "rpps_invalid"
    relations = api.client.get(path, headers=api.as_patient(patient)).json()
    assert [r for r in relations if r.get("rpps") != pro.rpps] == []
    assert (
        api.client.post(f"{path}/{pro.rpps}/block", headers=api.as_patient(patient)).status_code
        == 204
    )
