"""FHIR JSON responses and OperationOutcome."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic_core import to_json

from carnet.errors import Refusal
from carnet.http.fhir.codes import FHIR_JSON

ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
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
    """Canonical JSON, built from plain dicts: no model round trip per resource on the way out.

    Written by orjson: a search's Bundle is a thousand or so bytes of plain JSON a document,
    and orjson writes dicts of strings, numbers and booleans three to five times faster than
    Pydantic's writer (``pydantic_core.to_json``: 3–6 µs a DocumentReference, issue 18), byte
    for byte the same (``tests/fhir/test_fhir_json.py``). What orjson would write otherwise
    than Pydantic, or not at all (a datetime, a dataclass, a ``Decimal``, an integer past 64
    bits), goes to Pydantic's writer, as everything did before."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=_HANDED_ON)
        except orjson.JSONEncodeError:
            return to_json(content)


#: Types orjson writes in a spelling of its own (a datetime's offset) or as Pydantic might not:
#: handed on to the fallback rather than written.
_HANDED_ON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


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


class BadRequest(Refusal):
    """A search FHIR cannot run as asked (unknown status, a parameter refused under
    ``Prefer: handling=strict``, a bris de glace with no reason)."""

    code = "bad_request"
    status = 400


class NotAcceptable(Refusal):
    """The caller asked for a format this server does not write (FHIR XML)."""

    code = "not_acceptable"
    status = 406


class UnsupportedMediaType(Refusal):
    """A body in a format this server does not read (FHIR XML)."""

    code = "unsupported_media_type"
    status = 415


def json_body_only(request: Request) -> None:
    """A body sent as XML is refused as such (415), not misread as broken JSON."""
    if _xml(request.headers.get("content-type", "").split(";")[0].strip().lower()):
        raise UnsupportedMediaType(
            "Ce serveur FHIR ne lit que du JSON (application/fhir+json) : XML non pris en charge.",
            "This FHIR server reads JSON only (application/fhir+json): XML is not supported.",
        )


def _xml(media_type: str) -> bool:
    return media_type == "xml" or media_type.endswith(("/xml", "+xml"))


def _media_range(part: str) -> tuple[str, bool]:
    """``type/subtype`` and whether it is accepted at all (``q=0`` refuses it)."""
    media, *params = (p.strip().lower() for p in part.split(";"))
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return media, float(value) > 0
            except ValueError:
                return media, True
    return media, bool(media)


async def json_only(request: Request) -> None:
    """FHIR XML is not written here (the CapabilityStatement says JSON): a request that asks
    only for XML — ``_format=xml`` or an ``Accept`` naming XML types and nothing else — is
    answered 406 with an OperationOutcome rather than JSON it did not ask for."""
    wanted = request.query_params.get("_format", "").strip().lower()
    accepted = [
        media for media, q in map(_media_range, request.headers.get("accept", "").split(",")) if q
    ]
    if _xml(wanted) or (accepted and all(_xml(a) for a in accepted)):
        raise NotAcceptable(
            "Ce serveur FHIR ne répond qu'en JSON (application/fhir+json) : XML non pris en charge.",
            "This FHIR server answers in JSON only (application/fhir+json): XML is not supported.",
        )
