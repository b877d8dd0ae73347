"""What practice software sends, validated once at the door with the R4B models, then mapped
to the use cases' inputs. No rule here: the records capability decides what is acceptable."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from carnet.errors import Invalid
from carnet.http.fhir import codes
from carnet.http.fhir.shapes import parse_document_id
from carnet.records.confidentiality import flags_of
from carnet.records.service import NewDocument, Submission


@dataclass(frozen=True)
class PatientRef:
    patient_id: str | None = None
    ins: str | None = None


def _invalid(fr: str, en: str, code: str = "invalid_resource") -> Invalid:
    return Invalid(fr, en, code=code)


def parse(model: type[Any], body: Any) -> Any:
    if not isinstance(body, dict) or body.get("resourceType") != model.get_resource_type():
        raise _invalid(
            f"Ressource {model.get_resource_type()} attendue.",
            f"A {model.get_resource_type()} resource is expected.",
        )
    try:
        return model.model_validate(body)
    except ValidationError as error:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors()[:3])
        raise _invalid(
            f"Ressource FHIR invalide ({where}).", f"Invalid FHIR resource ({where})."
        ) from None


def patient_ref(reference: Reference | None) -> PatientRef:
    if reference is None:
        raise _invalid(
            "Le patient (subject) est obligatoire.", "The subject (patient) is required."
        )
    if reference.identifier is not None and reference.identifier.value:
        if reference.identifier.system not in codes.INS_SYSTEMS:
            raise _invalid(
                "Identifiant patient : un matricule INS est attendu.",
                "Patient identifier: an INS is expected.",
            )
        return PatientRef(ins=reference.identifier.value)
    if reference.reference and reference.reference.startswith("Patient/"):
        return PatientRef(patient_id=reference.reference.removeprefix("Patient/"))
    raise _invalid("Référence patient illisible.", "Unreadable patient reference.")


def _security(dr: DocumentReference) -> set[str]:
    return {c.code for label in dr.securityLabel or [] for c in label.coding or [] if c.code}


def _service_date(dr: DocumentReference) -> date | None:
    start = dr.context.period.start if dr.context and dr.context.period else None
    if isinstance(start, datetime):
        return start.date()
    return start if isinstance(start, date) else None


def _replaces(dr: DocumentReference) -> str | None:
    for relation in dr.relatesTo or []:
        if relation.code == "replaces" and relation.target and relation.target.reference:
            parsed = parse_document_id(relation.target.reference.removeprefix("DocumentReference/"))
            if parsed is None:
                raise _invalid(
                    "Document remplacé introuvable.", "Replaced document not found.", "not_found"
                )
            return parsed[1]
    return None


def _checked_content(dr: DocumentReference, data: bytes) -> bytes:
    """DOC-7 at the door: what the sender says of his bytes must be what arrived."""
    attachment = dr.content[0].attachment
    if attachment.size is not None and attachment.size != len(data):
        raise _invalid(
            "La taille annoncée ne correspond pas au contenu.",
            "The declared size does not match.",
            "size_mismatch",
        )
    if attachment.hash is not None:
        declared = (
            attachment.hash
            if isinstance(attachment.hash, bytes)
            else base64.b64decode(attachment.hash)
        )
        actual = hashlib.sha1(data, usedforsecurity=False).digest()  # once: 0.15 ms a 300 KB
        if declared not in (actual, actual.hex().encode()):
            raise _invalid(
                "L'empreinte annoncée ne correspond pas au contenu.",
                "The declared hash does not match the content.",
                "hash_mismatch",
            )
    return data


#: What PDSm metadata Carnet keeps as submitted and returns (it decides nothing on it).
KEPT_ROOT = ("author", "contained", "identifier")
KEPT_CONTEXT = ("facilityType", "practiceSetting", "sourcePatientInfo")
SUBMITTED_MAX = 64_000


def submitted_metadata(raw: dict[str, Any]) -> str | None:
    """The producer's metadata Carnet does not decide on, as he sent it (JSON): the author
    (PractitionerRole, Organization — often contained), entryUUID (``identifier``), format,
    language, facility type, practice setting, sourcePatientInfo; ``masterIdentifier`` when it
    says more than the unique id. None when there is nothing beyond what Carnet stores."""
    kept: dict[str, Any] = {k: raw[k] for k in KEPT_ROOT if raw.get(k)}
    master = raw.get("masterIdentifier")
    if isinstance(master, dict) and set(master) - {"system", "value"} | (
        {"system"} if master.get("system") not in (None, codes.RFC3986) else set()
    ):
        kept["masterIdentifier"] = master
    context = raw.get("context")
    if isinstance(context, dict):
        kept.update({k: context[k] for k in KEPT_CONTEXT if context.get(k)})
    content = raw.get("content")
    first = content[0] if isinstance(content, list) and content else {}
    if isinstance(first, dict):
        if first.get("format"):
            kept["format"] = first["format"]
        attachment = first.get("attachment")
        if isinstance(attachment, dict) and attachment.get("language"):
            kept["language"] = attachment["language"]
    if not kept:
        return None
    text = json.dumps(kept, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if len(text) > SUBMITTED_MAX:
        raise _invalid(
            "Métadonnées trop volumineuses (64 ko au plus).",
            "Metadata too large (64 kB at most).",
            "metadata_too_large",
        )
    return text


def _class_code(dr: DocumentReference) -> str | None:
    """The class (TRE_A03) the producer gave in ``category``, if any: checked, never corrected."""
    for concept in dr.category or []:
        for coding in concept.coding or []:
            if coding.system == codes.CLASS_SYSTEM and coding.code:
                return str(coding.code)
    return None


def submission(
    dr: DocumentReference, data: bytes | None = None, raw: dict[str, Any] | None = None
) -> Submission:
    if not dr.content:
        raise _invalid("Le contenu (content) est obligatoire.", "content is required.")
    attachment = dr.content[0].attachment
    content = data if data is not None else attachment.data
    if content is None:
        raise _invalid("Le document n'a pas de contenu.", "The document has no content.")
    type_code = dr.type.coding[0].code if dr.type and dr.type.coding else None
    if not type_code:
        raise _invalid("Le type du document est obligatoire.", "The document type is required.")
    flags = flags_of(_security(dr))
    new = NewDocument(
        type_code=type_code,
        title=dr.description or attachment.title or "",
        mime_type=attachment.contentType or "",
        content=_checked_content(dr, bytes(content)),
        unique_id=dr.masterIdentifier.value if dr.masterIdentifier else None,
        service_date=_service_date(dr),
        masked=flags.masked,
        invisible_patient=flags.invisible_patient,
        invisible_representatives=flags.invisible_representatives,
        submitted=submitted_metadata(raw) if raw is not None else None,
        class_code=_class_code(dr),
    )
    return Submission(new, replaces=_replaces(dr))


@dataclass(frozen=True)
class ParsedBundle:
    patient: PatientRef
    submissions: list[Submission]
    entry_kinds: list[str]
    document_positions: list[int]
    #: Each Binary entry's position → the position of the DocumentReference it is the content
    #: of: the Binary's id is its document's (``Binary/{id}``, ITI-68).
    binary_documents: dict[int, int]


def provide_bundle(body: dict[str, Any]) -> ParsedBundle:
    """ITI-65: DocumentReferences, their Binaries and the SubmissionSet List, as one transaction."""
    bundle = parse(Bundle, body)
    if bundle.type != "transaction":
        raise _invalid(
            "Un Bundle de type transaction est attendu.", "A transaction Bundle is expected."
        )
    binaries: dict[str, Binary] = {}
    binary_positions: dict[str, int] = {}
    references: list[tuple[int, DocumentReference]] = []
    kinds: list[str] = []
    for position, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        kind = resource.get_resource_type() if resource is not None else ""
        kinds.append(kind)
        if kind == "Binary" and entry.fullUrl:
            binaries[str(entry.fullUrl)] = resource
            binary_positions[str(entry.fullUrl)] = position
        elif kind == "DocumentReference":
            references.append((position, resource))
        elif kind != "List":
            raise _invalid(
                f"Ressource inattendue dans le lot : {kind}.",
                f"Unexpected resource in bundle: {kind}.",
            )
    if not references:
        raise _invalid(
            "Le lot ne contient aucun DocumentReference.", "The bundle has no DocumentReference."
        )
    patients = {patient_ref(dr.subject) for _, dr in references}
    if len(patients) != 1:
        raise _invalid("Un lot concerne un seul patient.", "A bundle concerns one patient.")
    submissions = []
    binary_documents: dict[int, int] = {}
    for position, dr in references:
        url = dr.content[0].attachment.url if dr.content else None
        if str(url or "") in binary_positions:
            binary_documents[binary_positions[str(url)]] = position
        binary = binaries.get(str(url or ""))
        if binary is None and (not dr.content or dr.content[0].attachment.data is None):
            raise _invalid(
                "Le Binary référencé est absent du lot.", "The referenced Binary is missing."
            )
        if binary is not None and dr.content[0].attachment.contentType in (None, ""):
            dr.content[0].attachment.contentType = binary.contentType
        raw = body["entry"][position]["resource"]
        submissions.append(
            submission(dr, bytes(binary.data) if binary is not None and binary.data else None, raw)
        )
    return ParsedBundle(
        patients.pop(), submissions, kinds, [p for p, _ in references], binary_documents
    )


def document_reference(body: dict[str, Any]) -> DocumentReference:
    parsed: DocumentReference = parse(DocumentReference, body)
    return parsed


def consent_patient(body: dict[str, Any]) -> PatientRef:
    consent = parse(Consent, body)
    return patient_ref(consent.patient)
