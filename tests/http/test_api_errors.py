"""Unexpected failures still answer in the agreed shape (INTERFACES.md: JSON with French and
English; OperationOutcome on FHIR), and say nothing of the patient."""

from __future__ import annotations

import pytest
from factories import add_patient, add_pro
from live_api import Api

from carnet.records import reading


def _broken(*_: object, **__: object) -> None:
    raise RuntimeError("bug with personal data: Claire MARTIN")


def test_unexpected_error_is_json_in_both_languages(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    monkeypatch.setattr(reading, "list_documents", _broken)
    monkeypatch.setattr("carnet.http.api.pro.records.list_documents", _broken)
    answer = api.client.get(f"/api/v1/pro/patients/{patient.id}/documents", headers=api.as_pro(pro))
    assert answer.status_code == 500
    body = api.refusal(answer, 500)
    assert body["error"] == "internal_error"
    assert "Claire" not in answer.text


def test_unexpected_error_on_fhir_is_an_operation_outcome(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    monkeypatch.setattr("carnet.http.fhir.routes.records.list_documents", _broken)
    answer = api.client.get(
        "/fhir/DocumentReference",
        params={"patient": patient.id, "status": "current"},
        headers=api.as_pro(pro),
    )
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer.json()["issue"][0]["code"] == "exception"


def test_an_error_says_nothing_was_recorded_only_when_true(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose use cases committed before a bug does not claim that nothing was
    recorded; one that committed nothing does."""
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    url = f"/api/v1/pro/patients/{patient.id}/documents"
    # The server drops a connection after an unexpected error: one connection per request.
    headers = {**api.as_pro(pro), "Connection": "close"}

    def commits_then_breaks(*_: object, **__: object) -> None:
        with api.rt.transaction():
            pass  # a use case that went through
        raise RuntimeError("bug after a commit")

    monkeypatch.setattr("carnet.http.api.pro.records.list_documents", _broken)
    untouched = api.refusal(api.client.get(url, headers=headers), 500)
    assert "Rien n'a été enregistré" in untouched["message"]
    monkeypatch.setattr("carnet.http.api.pro.records.list_documents", commits_then_breaks)
    partial = api.refusal(api.client.get(url, headers=headers), 500)
    assert "Rien n'a été enregistré" not in partial["message"]
    assert "Part of the request may have been recorded" in partial["message_en"]
