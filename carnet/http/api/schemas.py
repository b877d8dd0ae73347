"""What the JSON API says: Pydantic shapes at the edge only (never in models)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from carnet.access.history import HistoryEntry
from carnet.records.catalog import CATEGORIES, TYPES
from carnet.records.models import AnyDocument
from carnet.records.reading import confidentiality_codes


def as_json(model: BaseModel, status_code: int = 200) -> Response:
    """The model as JSON, straight from Pydantic's serialiser (issue 19).

    Returning the model itself makes FastAPI validate it once more against the route's
    ``response_model`` and then encode it — in a second trip through the thread pool for a sync
    route; the route keeps its ``response_model`` for the OpenAPI document."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


class DocumentOut(BaseModel):
    id: str
    unique_id: str
    set_id: str
    version: int
    replaces: str | None
    type_system: str
    type_code: str
    type_label: str
    class_code: str
    category: str
    category_label: str
    title: str
    author_kind: str
    author_id: str
    service_date: date | None
    created_at: datetime
    updated_at: datetime
    mime_type: str
    size: int
    sha256: str
    confidentiality: list[str]
    status: str
    archived: bool

    @staticmethod
    def of(d: AnyDocument) -> DocumentOut:
        """Built without validation (issue 19): every value comes from our own typed row."""
        return DocumentOut.model_construct(**document_fields(d))


def document_fields(d: AnyDocument) -> dict[str, Any]:
    """``DocumentOut``'s fields of a document, in its order: what ``DocumentOut.of`` holds and
    what ``documents_json`` writes without a model (tests/http compares the two)."""
    return {
        "id": d.id,
        "unique_id": d.unique_id,
        "set_id": d.set_id,
        "version": d.version,
        "replaces": d.replaces_id,
        "type_system": d.type_system,
        "type_code": d.type_code,
        "type_label": TYPES[d.type_code].label if d.type_code in TYPES else d.type_code,
        "class_code": d.class_code,
        "category": d.category,
        "category_label": CATEGORIES.get(d.category, ("", ""))[0],
        "title": d.title,
        "author_kind": d.author_kind,
        "author_id": d.author_id,
        "service_date": d.service_date,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "mime_type": d.mime_type,
        "size": d.size,
        "sha256": d.sha256,
        "confidentiality": confidentiality_codes(d),
        "status": d.status,
        "archived": d.archived,
    }


def documents_json(patient_id: str, documents: Sequence[AnyDocument]) -> Response:
    """A ``DocumentList`` as JSON, written from plain dicts by Pydantic's serialiser: the same
    bytes as the model's, without building a model per document (issue 19: half the cost of
    answering a listing). The route keeps ``response_model=DocumentList`` for the OpenAPI
    document."""
    body = {"patient_id": patient_id, "documents": [document_fields(d) for d in documents]}
    return Response(to_json(body), media_type="application/json")


class DocumentList(BaseModel):
    patient_id: str
    documents: list[DocumentOut]


class DocumentIn(BaseModel):
    """A pro's upload: content in base64, visibility chosen at upload (DOC-3)."""

    type_code: str = Field(examples=["11488-4"])
    title: str = Field(max_length=500)
    mime_type: str = Field(examples=["application/pdf"])
    content_base64: str
    unique_id: str | None = Field(
        default=None, max_length=128, description="The producer's unique id (idempotence)."
    )
    service_date: date | None = None
    masked: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    invisible_until: date | None = Field(
        default=None,
        description="With invisible_patient: the day the document becomes visible to the "
        "patient (the daily job shows it then), unless its author shows it earlier.",
    )


class MaskIn(BaseModel):
    masked: bool


class ArchiveIn(BaseModel):
    archived: bool


class EmergencySettings(BaseModel):
    samu: bool = True
    others: bool = True
    masked: bool = False


class SettingsOut(BaseModel):
    emergency: EmergencySettings
    medecin_traitant: str | None


class MedecinTraitantIn(BaseModel):
    rpps: str | None


class ProRelationOut(BaseModel):
    rpps: str
    label: str
    profession: str | None
    authorised: bool
    blocked: bool
    administrator: bool
    medecin_traitant: bool
    first_access_at: datetime | None


class HistoryEntryOut(BaseModel):
    id: str
    at: datetime
    actor_kind: str
    #: Who acted, to the reader: you, holder, representative, pro, pro_unlisted, operator,
    #: system, someone_without_rights.
    actor_category: str
    actor: str
    profession: str | None
    action: str
    outcome: str
    mode: str
    reason: str | None
    document_id: str | None
    document_title: str | None
    target: str | None
    #: The rule that let the act through or refused it (a code), and in French.
    why: str | None
    why_text: str | None

    @staticmethod
    def of(e: HistoryEntry) -> HistoryEntryOut:
        return HistoryEntryOut(
            id=e.id,
            at=e.at,
            actor_kind=e.actor_kind,
            actor_category=e.actor_category,
            actor=e.actor_label,
            profession=e.profession,
            action=e.action,
            outcome=e.outcome,
            mode=e.mode,
            reason=e.reason,
            document_id=e.document_id,
            document_title=e.document_title,
            target=e.target_label,
            why=e.why,
            why_text=e.why_text,
        )


class HistoryOut(BaseModel):
    page: int
    page_size: int
    total: int
    entries: list[HistoryEntryOut]
    #: The next page's ``before=`` cursor (None on the last): stable, while ``page=`` offsets
    #: shift as each read of the history is itself traced.
    next_before: int | None = None


class NotificationOut(BaseModel):
    id: str
    kind: str
    text: str
    text_en: str
    created_at: datetime
    read: bool


class SpaceOut(BaseModel):
    patient_id: str
    first_names: str
    birth_names: str
    relation: str
    state: str


class MeOut(BaseModel):
    person_id: str
    spaces: list[SpaceOut]


class PatientSearchIn(BaseModel):
    ins: str


class PatientFoundOut(BaseModel):
    patient_id: str
    active: bool
    authorisation: str = Field(description="VALIDE, NON_EXISTE, INTERDIT (blocked) or EXPIRE")


class TraitsIn(BaseModel):
    """The five identity traits (ID-3)."""

    birth_names: str = Field(min_length=1, max_length=200)
    first_names: str = Field(min_length=1, max_length=200)
    sex: str = Field(pattern="^[MFI]$")
    birth_date: date
    birth_place: str = Field(min_length=5, max_length=5, description="INSEE COG code")


class InsiOut(BaseModel):
    ins: str
    birth_names: str
    first_names: str
    sex: str
    birth_date: date
    birth_place: str


class QualifyIn(BaseModel):
    ins: str
    traits: TraitsIn


class QualifyOut(BaseModel):
    ins: str
    status: str = Field(description="QUAL when the traits match the register, PROV otherwise")
