"""Issue 16: a bounded schemathesis run over the JSON API's OpenAPI document — cases generated
from the schema (valid ones and malformed ones), sent over HTTP to the running server with real
tokens — and not one answer is a 5xx. Bounded: a fixed number of cases, derandomized, so the
run takes seconds and fails the same way twice."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from factories import add_patient, add_pro, pro_ctx, upload
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from live_api import Api
from schemathesis import GenerationMode

MAX_CASES = 200


def test_issue16_schemathesis_finds_no_5xx_on_the_json_api(api: Api) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    document = upload(api.rt, pro_ctx(pro), patient)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json").include(path_regex="^/api/")
    as_pro, as_patient = api.as_pro(pro), api.as_patient(patient)
    cases = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE),
        schema.as_strategy(GenerationMode.NEGATIVE),
    )
    errors: list[str] = []
    statuses: list[int] = []
    session = requests.Session()

    @settings(
        max_examples=MAX_CASES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        path_parameters = case.path_parameters or {}
        if "patient_id" in path_parameters and len(statuses) % 2 == 0:
            path_parameters["patient_id"] = patient.id  # half the cases reach a real record
        if "document_id" in path_parameters:
            path_parameters["document_id"] = document.id
        headers = as_pro if "/pro/" in case.path else as_patient
        response = case.call(base_url=api.url, session=session, headers=headers)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            errors.append(f"{case.method} {case.formatted_path}: {response.status_code}")

    with session:
        run()
    assert errors == [], "\n".join(sorted(set(errors)))
    assert len(statuses) >= MAX_CASES // 2  # the run did run
    assert {200, 201, 204} & set(statuses), statuses  # and reached further than refusals
