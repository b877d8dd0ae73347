"""The CapabilityStatement: what this server really supports, and nothing more."""

from __future__ import annotations

from typing import Any

import carnet
from carnet.http.fhir.profile_capability import (
    consent_reads,
    patient_operations,
    profile_resources,
)


def _params(*names: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in names]


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "kind": "instance",
        "software": {"name": "Carnet", "version": carnet.__version__},
        "implementation": {"description": "Carnet — DMP (PDSm / IHE MHD)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "patchFormat": ["application/json-patch+json", "application/merge-patch+json"],
        "instantiates": [
            "https://interop.esante.gouv.fr/ig/fhir/pdsm/CapabilityStatement/PDSm-DocumentRecipient"
        ],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens: Pro Santé Connect (OpenID Connect) or the instance's own.",
                },
                "interaction": [
                    {"code": "transaction", "documentation": "ITI-65 Provide Document Bundle"}
                ],
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": _params(("identifier", "token")),
                        "operation": patient_operations(),
                    },
                    {
                        "type": "Consent",
                        "interaction": [{"code": "create"}, *consent_reads()["interaction"]],
                        "searchParam": consent_reads()["searchParam"],
                    },
                    {
                        "type": "DocumentReference",
                        "interaction": [
                            {"code": "create"},
                            {"code": "read"},
                            {"code": "vread"},
                            {"code": "search-type"},
                            {"code": "patch"},
                        ],
                        "conditionalUpdate": False,
                        "searchParam": _params(
                            ("patient", "reference"),
                            ("patient.identifier", "token"),
                            ("status", "token"),
                            ("type", "token"),
                            ("category", "token"),
                            ("date", "date"),
                            ("period", "date"),
                            ("author.identifier", "token"),
                            ("security-label", "token"),
                            ("identifier", "token"),
                            ("isArchived", "token"),
                            ("_count", "number"),
                        ),
                    },
                    {"type": "Binary", "interaction": [{"code": "read"}]},
                    {
                        "type": "List",
                        "documentation": "IHE MHD SubmissionSets (ITI-66)",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": _params(
                            ("patient", "reference"),
                            ("patient.identifier", "token"),
                            ("code", "token"),
                            ("identifier", "token"),
                            ("status", "token"),
                            ("date", "date"),
                        ),
                    },
                    {
                        "type": "AuditEvent",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": _params(
                            ("patient", "reference"),
                            ("patient.identifier", "token"),
                            ("_count", "number"),
                        ),
                    },
                    *profile_resources(),
                ],
            }
        ],
    }
