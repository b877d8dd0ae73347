"""Reading documents: lists, one document, its content checked against its hash (DOC-7)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.record import Record
from carnet.access.rules import Purpose
from carnet.audit.rules import Action
from carnet.blobs.crypto import DecryptionFailed, open_content
from carnet.context import RequestContext
from carnet.errors import IntegrityFailure
from carnet.keys.service import key_by_id
from carnet.logs import get_logger
from carnet.records.confidentiality import codes_for
from carnet.records.models import AnyDocument, Document, DocumentRow
from carnet.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class DocumentFilter:
    category: str | None = None
    type_code: str | None = None
    status: Sequence[str] = field(default=("current",))
    include_archived: bool = False
    author_id: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None
    only_archived: bool = False
    class_code: str | None = None
    unique_id: str | None = None
    security_label: str | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None
    #: The documents of one submission set (a FHIR ``List``, IHE MHD).
    submission_set: str | None = None

    @property
    def archived_narrowing(self) -> bool | None:
        """What ``keep`` demands of the archived flag, for the SQL fetch (None: either)."""
        if self.only_archived:
            return True
        return None if self.include_archived else False

    def keep(self, d: AnyDocument) -> bool:
        day = d.service_date or d.created_at.date()
        return (
            (self.category is None or d.category == self.category)
            and (self.type_code is None or d.type_code == self.type_code)
            and (self.class_code is None or d.class_code == self.class_code)
            and d.status in self.status
            and (self.include_archived or self.only_archived or not d.archived)
            and (not self.only_archived or d.archived)
            and (self.author_id is None or d.author_id == self.author_id)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
            and (self.created_since is None or d.created_at >= self.created_since)
            and (self.created_until is None or d.created_at <= self.created_until)
            and (self.text is None or self.text.lower() in d.title.lower())
            and (self.unique_id is None or d.unique_id == self.unique_id)
            and (self.security_label is None or self.security_label in confidentiality_codes(d))
            and (self.submission_set is None or d.submission_set_id == self.submission_set)
        )


def confidentiality_codes(d: AnyDocument) -> list[str]:
    """DOC-3: the DMP's confidentiality codes of a document (``N`` when none applies)."""
    return codes_for(d.masked, d.invisible_patient, d.invisible_representatives)


def list_documents(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str | None = None,
    flt: DocumentFilter | None = None,
    *,
    ins: str | None = None,
    declares_consent: bool = False,
) -> tuple[str, list[DocumentRow]]:
    """The documents the caller may see, with the patient's id (a pro may come by INS)."""
    flt = flt or DocumentFilter()
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.READ,
            action=Action.LIST_DOCUMENTS,
            patient_id=patient_id,
            ins=ins,
            declares_consent=declares_consent,
        )
        documents = record.documents.list(
            flt.keep, statuses=flt.status, archived=flt.archived_narrowing
        )
        return record.patient_id, documents


def open_to_read(
    rt: Runtime, session: Session, ctx: RequestContext, patient_id: str, action: Action
) -> Record:
    """The record opened to read (and act on) its documents, by whoever may (ACC-*, ACC-8)."""
    return gate.open(session, rt, ctx, purpose=Purpose.READ, action=action, patient_id=patient_id)


def get_document(rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str) -> Document:
    with rt.transaction() as session:
        record = open_to_read(rt, session, ctx, patient_id, Action.READ_DOCUMENT)
        return record.documents.get(document_id)


def read_content(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str
) -> tuple[Document, bytes]:
    """DOC-7: the bytes that were sent, checked against size and SHA-256 on every read."""
    with rt.transaction() as session:
        record = open_to_read(rt, session, ctx, patient_id, Action.READ_DOCUMENT)
        document = record.documents.get(document_id)
        key = key_by_id(session, rt.master_key, patient_id, document.key_id)
    return document, _checked_content(rt, document, key)


def _checked_content(rt: Runtime, document: Document, key: bytes) -> bytes:
    try:
        blob = rt.blobs.get(document.blob_key)
        data = open_content(key, document.content_key, document.blob_key, blob)
    except (KeyError, DecryptionFailed):
        data = None
    if (
        data is None
        or len(data) != document.size
        or hashlib.sha256(data).hexdigest() != document.sha256
    ):
        log.error("integrity_failure", document_id=document.id, patient_id=document.patient_id)
        raise IntegrityFailure(
            "Le contenu stocké de ce document est altéré ; il n'est pas servi. L'exploitant est alerté.",
            "This document's stored content is damaged; it is not served. The operator is alerted.",
        )
    return data
