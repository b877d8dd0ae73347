"""Resources as Carnet returns them: plain dicts, shaped after PDSm / IHE MHD and FR Core."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime
from typing import Any

from carnet.access.history import HistoryEntry
from carnet.access.pro import DeclaredConsent, FoundPatient
from carnet.audit.rules import Action
from carnet.http.fhir import codes
from carnet.population.models import Patient
from carnet.records.catalog import TYPES
from carnet.records.models import AnyDocument
from carnet.records.reading import confidentiality_codes


def fhir_document_id(d: AnyDocument) -> str:
    return fhir_id_of(d.patient_id, d.id)


def fhir_id_of(patient_id: str, document_id: str) -> str:
    """Patient and document in one id (base32, 52 characters): a read finds its shard directly.

    ``base64.b32encode`` of the 32 bytes, lower case, unpadded — written here two characters
    (ten bits) at a time from integers: the standard library's is pure Python, and a search
    makes one id per document. The first 24 characters are the patient's first 15 bytes alone,
    the same for every document of a search: made once a patient (issue 18; tests/fhir check
    every id against the library's)."""
    if len(patient_id) + len(document_id) != 64:  # not two of ids.new_id's: as the library does
        raw = bytes.fromhex(patient_id) + bytes.fromhex(document_id)
        return base64.b32encode(raw).decode().rstrip("=").lower()
    bits = int(patient_id[30:] + document_id, 16) << 4  # 136 bits, padded to 14 groups of ten
    return _patient_head(patient_id[:30]) + "".join(
        [_BASE32_PAIRS[bits >> s & 1023] for s in _TAIL]
    )


@functools.lru_cache(maxsize=1024)
def _patient_head(first_bytes: str) -> str:
    """The id's first 24 characters: a patient's first 15 bytes (30 hex digits, 120 bits)."""
    bits = int(first_bytes, 16)
    return "".join([_BASE32_PAIRS[bits >> shift & 1023] for shift in _HEAD])


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_PAIRS = [a + b for a in _BASE32 for b in _BASE32]
_HEAD = tuple(range(110, -1, -10))
_TAIL = tuple(range(130, -1, -10))


def parse_document_id(fhir_id: str) -> tuple[str, str] | None:
    try:
        raw = base64.b32decode(fhir_id.upper() + "====", casefold=False)
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 32:
        return None
    return raw[:16].hex(), raw[16:].hex()


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _security_label(code: str) -> dict[str, Any]:
    system = codes.V3_CONFIDENTIALITY if code == "N" else codes.TRE_A07
    return {"coding": [{"system": system, "code": code}]}


def _author(d: AnyDocument) -> dict[str, Any]:
    if d.author_kind == "pro":
        return {"identifier": {"system": codes.ID_NAT_PS, "value": "8" + d.author_id}}
    if d.author_kind == "patient":
        return {"reference": f"Patient/{d.author_id}"}
    return {"display": "Assurance Maladie"}


FHIR_STATUS = {"current": "current", "superseded": "superseded", "deleted": "entered-in-error"}


def document_reference(d: AnyDocument) -> dict[str, Any]:
    doc_type = TYPES.get(d.type_code)
    fhir_id, created = fhir_document_id(d), instant(d.created_at)
    updated = created if _same_moment(d.updated_at, d.created_at) else instant(d.updated_at)
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": fhir_id,
        "meta": {"versionId": str(d.meta_version), "lastUpdated": updated},
        "extension": [{"url": codes.IS_ARCHIVED, "valueBoolean": d.archived}],
        "masterIdentifier": {"system": codes.RFC3986, "value": d.unique_id},
        "status": FHIR_STATUS[d.status],
        "type": {
            "coding": [
                {
                    "system": d.type_system,
                    "code": d.type_code,
                    "display": doc_type.label if doc_type else d.type_code,
                }
            ]
        },
        "category": [{"coding": [{"system": codes.CLASS_SYSTEM, "code": d.class_code}]}],
        "subject": {"reference": f"Patient/{d.patient_id}"},
        "date": created,
        "author": [_author(d)],
        "description": d.title,
        "securityLabel": [_security_label(c) for c in confidentiality_codes(d)],
        "content": [
            {
                "attachment": {
                    "contentType": d.mime_type,
                    "size": d.size,
                    "title": d.title,
                    "hash": base64.b64encode(bytes.fromhex(d.sha1)).decode(),
                    "url": f"Binary/{fhir_id}",
                    "creation": created,
                }
            }
        ],
    }
    if d.service_date:
        resource["context"] = {"period": {"start": d.service_date.isoformat()}}
    if d.submitted:
        _as_submitted(resource, d)
    if d.replaces_id:
        target = fhir_id_of(d.patient_id, d.replaces_id)
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{target}"}}
        ]
    return resource


def _same_moment(a: datetime, b: datetime) -> bool:
    """Written alike by ``instant``: a document never changed was last updated when created."""
    return a == b and a.tzinfo == b.tzinfo


def _as_submitted(resource: dict[str, Any], d: AnyDocument) -> None:
    """PDSm metadata given back as the producer submitted it (``inbound.submitted_metadata``);
    when he named the author, the pro whose token uploaded it is still said, as the uploader."""
    kept: dict[str, Any] = json.loads(d.submitted or "{}")
    if "author" in kept:
        resource["author"] = kept["author"]
        resource["extension"].append({"url": codes.UPLOADER, "valueReference": _author(d)})
    for key in ("contained", "identifier", "masterIdentifier"):
        if key in kept:
            resource[key] = kept[key]
    context = {
        k: kept[k] for k in ("facilityType", "practiceSetting", "sourcePatientInfo") if k in kept
    }
    if context:
        resource["context"] = {**resource.get("context", {}), **context}
    content = resource["content"][0]
    if "format" in kept:
        content["format"] = kept["format"]
    if "language" in kept:
        content["attachment"]["language"] = kept["language"]


def authored_by(d: AnyDocument, identifier: str) -> bool:
    """ITI-67 ``author.identifier``: the pro who uploaded it (his idNatPs, ``8`` + RPPS), or an
    author the producer named (PDSm metadata kept as submitted: the author's own identifier,
    or that of a contained PractitionerRole's practitioner or organization)."""
    if d.author_id == identifier.removeprefix("8") or d.author_id == identifier:
        return True
    if not d.submitted:
        return False
    kept = json.loads(d.submitted)
    contained = {
        r.get("id"): r for r in kept.get("contained", []) if isinstance(r, dict) and r.get("id")
    }

    def identifiers(reference: dict[str, Any], depth: int = 0) -> set[str]:
        found = {str(reference.get("identifier", {}).get("value"))}
        target = contained.get(str(reference.get("reference", "")).removeprefix("#"))
        if target is not None and depth < 3:
            found |= {str(i.get("value")) for i in target.get("identifier", [])}
            for key in ("practitioner", "organization"):
                if isinstance(target.get(key), dict):
                    found |= identifiers(target[key], depth + 1)
        return found

    return any(identifier in identifiers(a) for a in kept.get("author", []) if isinstance(a, dict))


def patient_resource(found: FoundPatient, system: str) -> dict[str, Any]:
    p: Patient = found.patient
    extensions: list[dict[str, Any]] = [
        *(
            [{"url": codes.AUTHORISATION, "valueCode": found.authorisation.value}]
            if found.for_pro
            else []
        ),
        {
            "url": codes.BIRTH_PLACE,
            "valueAddress": {
                "extension": [
                    {
                        "url": codes.INSEE_CODE,
                        "valueCoding": {
                            "system": "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM",
                            "code": p.birth_place,
                        },
                    }
                ]
            },
        },
    ]
    if found.closed_at is not None:
        extensions.append({"url": codes.CLOSURE_DATE, "valueDateTime": instant(found.closed_at)})
    return {
        "resourceType": "Patient",
        "id": p.id,
        "extension": extensions,
        "identifier": [
            {
                "use": "official",
                "system": system,
                "value": p.ins,
                "type": {
                    "coding": [
                        {
                            "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                            "code": "INS-NIR",
                        }
                    ]
                },
            }
        ],
        "active": found.active,
        "name": [{"use": "official", "family": p.birth_names, "given": p.first_names.split()}],
        "gender": {"M": "male", "F": "female"}.get(p.sex, "unknown"),
        "birthDate": p.birth_date.isoformat(),
    }


CONSENT_PREFIX = "acc2-"


def declared_consent_id(patient_id: str, rpps: str) -> str:
    """ACC-2's consent as a FHIR id: the patient and the pro who declared it (readable by him)."""
    return f"{CONSENT_PREFIX}{patient_id}-{rpps}"


def parse_consent_id(fhir_id: str) -> tuple[str, str] | None:
    """``(patient_id, rpps)`` of a declared consent's id, or None for any other id."""
    if not fhir_id.startswith(CONSENT_PREFIX):
        return None
    patient_id, _, rpps = fhir_id.removeprefix(CONSENT_PREFIX).partition("-")
    if len(patient_id) != 32 or not rpps.isdigit() or len(rpps) > 20:
        return None
    return patient_id, rpps


def declared_consent(consent: DeclaredConsent) -> dict[str, Any]:
    """ACC-2 (PDSm « consentement ») as a Consent: the pro's declaration, active while he is on
    the authorised list."""
    return {
        "resourceType": "Consent",
        "id": declared_consent_id(consent.patient_id, consent.rpps),
        "meta": {"versionId": "1"},
        "status": "active" if consent.active else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
        ],
        "patient": {"reference": f"Patient/{consent.patient_id}"},
        "performer": [{"identifier": {"system": codes.ID_NAT_PS, "value": "8" + consent.rpps}}],
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "INFA"}
            ]
        },
        "provision": {
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "PRCP",
                            }
                        ]
                    },
                    "reference": {
                        "identifier": {"system": codes.ID_NAT_PS, "value": "8" + consent.rpps}
                    },
                }
            ]
        },
    }


#: IHE MHD's code of a SubmissionSet List.
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"


def submission_set(patient_id: str, set_id: str, documents: list[AnyDocument]) -> dict[str, Any]:
    """A SubmissionSet (IHE MHD ``List``): the documents of one submission the caller may see."""
    first = min(documents, key=lambda d: d.created_at)
    return {
        "resourceType": "List",
        "id": fhir_id_of(patient_id, set_id),
        "meta": {"versionId": "1"},
        "identifier": [
            {"use": "official", "system": codes.RFC3986, "value": f"urn:uuid:{_uuid(set_id)}"}
        ],
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "submissionset"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": instant(first.created_at),
        "source": _author(first),
        "entry": [
            {"item": {"reference": f"DocumentReference/{fhir_document_id(d)}"}}
            for d in sorted(documents, key=lambda d: (d.created_at, d.id))
        ],
    }


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def etag(version: int | str) -> dict[str, str]:
    """The weak ETag of a resource version (what ``If-Match`` gives back)."""
    return {"ETag": f'W/"{version}"'}


def bundle(
    kind: str,
    entries: list[dict[str, Any]],
    *,
    total: int | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if total is not None:
        result["total"] = total
    if links:
        result["link"] = links
    result["entry"] = entries
    return result


def search_entry(base: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": "match"},
    }


#: IHE BALP-ish mapping of the trace vocabulary: (FHIR restful-interaction, AuditEvent action
#: code C/R/U/D/E). Every ``Action`` has one (tests/fhir checks it): an act the vocabulary
#: gains must say here what it is, not fall back silently.
AUDIT_KINDS: dict[str, tuple[str, str]] = {
    Action.READ_DOCUMENT: ("read", "R"),
    Action.LIST_DOCUMENTS: ("search-type", "E"),
    Action.UPLOAD_DOCUMENT: ("create", "C"),
    Action.REPLACE_DOCUMENT: ("update", "U"),
    Action.DELETE_DOCUMENT: ("delete", "D"),
    Action.ARCHIVE_DOCUMENT: ("patch", "U"),
    Action.UNARCHIVE_DOCUMENT: ("patch", "U"),
    Action.MASK_DOCUMENT: ("patch", "U"),
    Action.UNMASK_DOCUMENT: ("patch", "U"),
    Action.SHOW_TO_PATIENT: ("patch", "U"),
    Action.HIDE_FROM_PATIENT: ("patch", "U"),
    Action.DECLARE_CONSENT: ("create", "C"),
    Action.FIND_PATIENT: ("search-type", "E"),
    Action.BLOCK_PRO: ("update", "U"),
    Action.UNBLOCK_PRO: ("update", "U"),
    Action.AUTHORISE_PRO: ("update", "U"),
    Action.DESIGNATE_ADMINISTRATOR: ("update", "U"),
    Action.REVOKE_ADMINISTRATOR: ("update", "U"),
    Action.SET_MEDECIN_TRAITANT: ("update", "U"),
    Action.CHANGE_SETTINGS: ("update", "U"),
    Action.READ_SETTINGS: ("read", "R"),
    Action.READ_NOTIFICATIONS: ("search-type", "E"),
    Action.READ_HISTORY: ("search-type", "E"),
    Action.LOG_IN: ("operation", "E"),
    Action.ACTIVATE_PROFILE: ("operation", "U"),
    Action.QUALIFY_INS: ("operation", "E"),
    Action.IMPORT_POPULATION: ("batch", "C"),
    Action.IMPORT_DIRECTORY: ("batch", "C"),
    Action.RECEIVE_MESSAGE: ("create", "C"),
    Action.LIST_MESSAGES: ("search-type", "E"),
    Action.READ_MESSAGE: ("read", "R"),
    Action.SEND_MESSAGE: ("create", "C"),
    Action.SEND_READ_RECEIPT: ("create", "C"),
    Action.READ_ATTACHMENT: ("read", "R"),
    Action.SAVE_ATTACHMENT: ("create", "C"),
    Action.MESSAGE_UNDELIVERABLE: ("operation", "E"),
    Action.READ_PROFILE: ("read", "R"),
    Action.CHANGE_PROFILE: ("update", "U"),
    Action.IMPORT_CARE: ("batch", "C"),
    Action.CLOSE_PROFILE: ("operation", "U"),
    Action.OPPOSE_PROFILE: ("operation", "U"),
    Action.WITHDRAW_OPPOSITION: ("operation", "U"),
    Action.REOPEN_PROFILE: ("operation", "U"),
    Action.COME_OF_AGE: ("operation", "U"),
    Action.ISSUE_ACTIVATION_CODE: ("operation", "E"),
    Action.REQUEST_ACTIVATION_CODE: ("operation", "E"),
    Action.SHARE_PROFILE: ("operation", "U"),
    Action.RECORD_REQUEST: ("create", "C"),
    Action.REQUEST_EXPORT: ("operation", "E"),
    Action.EXPORT_RECORD: ("operation", "R"),
    Action.DESTROY_ARCHIVES: ("delete", "D"),
    Action.YEARLY_STATEMENT: ("operation", "E"),
    Action.RUN_JOBS: ("operation", "E"),
}


def audit_event(
    entry: HistoryEntry, patient_id: str, proof: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One line of the history as an AuditEvent; with its inclusion proof in the transparency
    log (TR-3) as an extension once the line is in a signed head — the same document as
    ``GET /api/v1/patients/{pid}/history/{trace_id}/proof``, which ``carnet verify-proof``
    checks."""
    subtype, action = AUDIT_KINDS.get(entry.action, ("operation", "E"))
    agent_who: dict[str, Any] = (
        {
            "identifier": {"system": codes.ID_NAT_PS, "value": "8" + entry.actor_id},
            "display": entry.actor_label,
        }
        if entry.actor_kind == "pro"
        else {"display": entry.actor_label}
    )
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": entry.id,
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
        },
        "subtype": [
            {"system": "http://hl7.org/fhir/restful-interaction", "code": subtype},
            {"system": "https://carnet.example/fhir/CodeSystem/trace-action", "code": entry.action},
        ],
        "action": action,
        "recorded": instant(entry.at),
        "outcome": "0" if entry.outcome == "allowed" else "4",
        **({"outcomeDesc": entry.why_text} if entry.why_text else {}),
        "agent": [{"who": agent_who, "requestor": True}],
        "source": {"observer": {"display": "Carnet"}},
        "entity": [
            {
                "what": {"reference": f"Patient/{patient_id}"},
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "1",
                },
            }
        ],
    }
    if proof is not None:
        data = json.dumps(proof, separators=(",", ":"), ensure_ascii=False).encode()
        event["extension"] = [
            {
                "url": codes.INCLUSION_PROOF,
                "valueAttachment": {
                    "contentType": "application/json",
                    "data": base64.b64encode(data).decode(),
                },
            }
        ]
    if entry.mode != "normal":
        event["purposeOfEvent"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": "ETREAT" if entry.mode == "centre-de-regulation" else "BTG",
                    }
                ],
                "text": entry.reason or entry.mode,
            }
        ]
    if entry.document_id:
        ref = fhir_id_of(patient_id, entry.document_id)
        event["entity"].append(
            {
                "what": {"reference": f"DocumentReference/{ref}"},
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "2",
                },
            }
        )
    return event
