"""FHIR JSON responses and OperationOutcome."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from carnet.http.fhir.codes import FHIR_JSON

ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}
"""FHIR issue types (http://hl7.org/fhir/issue-type) by HTTP status; a refusal may name its own
(``security`` for ID-5's level refusal)."""


class FhirResponse(Response):
    """Canonical JSON, built from plain dicts: no model round trip per resource on the way out."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def operation_outcome(
    status: int, code: str, fr: str, en: str, issue: str | None = None
) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue or ISSUE_CODES.get(status, "processing"),
                "details": {
                    "coding": [
                        {"system": "https://carnet.example/fhir/CodeSystem/errors", "code": code}
                    ],
                    "text": en,
                },
                "diagnostics": fr,
            }
        ],
    }
