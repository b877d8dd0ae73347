"""The medical profile's part of the CapabilityStatement: its resources, what may be done to each,
their search parameters, and the IPS operation on Patient."""

from __future__ import annotations

from typing import Any

from carnet.http.fhir.profile_routes import READABLE, WRITABLE

_SEARCH = {
    "Observation": (("patient", "reference"), ("code", "token"), ("date", "date")),
    "Immunization": (("patient", "reference"), ("date", "date")),
}


def profile_resources() -> list[dict[str, Any]]:
    found = []
    for kind in READABLE:
        if kind == "Consent":
            continue  # one entry per type: the PDSm Consent's (``consent_reads``)
        interactions = ["read", "search-type"]
        if kind in WRITABLE:
            interactions += ["create", "update", "delete"]
        params = (*_SEARCH.get(kind, (("patient", "reference"),)), ("patient.identifier", "token"))
        found.append(
            {
                "type": kind,
                "interaction": [{"code": code} for code in interactions],
                "searchParam": [{"name": n, "type": t} for n, t in params],
            }
        )
    return found


def patient_operations() -> list[dict[str, str]]:
    """On Patient: the International Patient Summary."""
    return [
        {"name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"}
    ]


def consent_reads() -> dict[str, list[dict[str, str]]]:
    """What the profile adds to Consent (advance directives, scope ``adr``): read and search."""
    return {
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "patient", "type": "reference"},
            {"name": "patient.identifier", "type": "token"},
        ],
    }
