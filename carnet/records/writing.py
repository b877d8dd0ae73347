"""What uploads and acts on documents share: the new row, its content, the act check."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.record import Record
from carnet.access.record_documents import ref_of
from carnet.access.rules import Why
from carnet.audit.rules import Action
from carnet.blobs.crypto import seal
from carnet.context import ActorKind, RequestContext
from carnet.db.base import table_of
from carnet.db.uow import before_commit
from carnet.errors import Forbidden
from carnet.identity.directory import first_establishment
from carnet.ids import new_id
from carnet.keys.service import current_key
from carnet.logs import get_logger
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.records.catalog import PERSONAL_SPACE, TYPES
from carnet.records.models import Document, DocumentRow
from carnet.records.rules import Act, Actor, Upload, Uploader, check_act, check_upload
from carnet.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class NewDocument:
    type_code: str
    title: str
    mime_type: str
    content: bytes
    unique_id: str | None = None
    service_date: date | None = None
    masked: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    #: DOC-3: with ``invisible_patient``, the day the daily job shows the document to him.
    invisible_until: date | None = None
    #: PDSm metadata as submitted (JSON), kept and returned as sent (issue 16).
    submitted: str | None = None
    #: The class (TRE_A03) the producer gave, checked against the type's (never corrected).
    class_code: str | None = None


def uploader_of(ctx: RequestContext) -> Uploader:
    if ctx.kind is ActorKind.PRO:
        return Uploader.PRO
    if ctx.kind is ActorKind.OPERATOR:
        return Uploader.OPERATOR
    return Uploader.PATIENT


class ContentWorkers(ThreadPoolExecutor):
    """Sealing and the durable write of a document's bytes run here (the instance's own pool,
    ``Runtime.state``), on another core, while the request's thread hashes the same bytes and
    goes on with the database. The transaction waits for the write before it commits (DOC-7:
    never a row without its content)."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="content")


@dataclass(frozen=True)
class Digests:
    sha256: str
    sha1: str  # FHIR's Attachment.hash


def digests_of(data: bytes) -> Digests:
    """On the caller's thread: hashlib lets go of the GIL over large buffers, so the write
    started just before runs meanwhile; a worker of its own would first wait for the GIL."""
    return Digests(
        hashlib.sha256(data).hexdigest(), hashlib.sha1(data, usedforsecurity=False).hexdigest()
    )


def _seal_and_create(rt: Runtime, key: bytes, blob_key: str, data: bytes) -> None:
    rt.blobs.create(blob_key, seal(key, data, blob_key.encode()))


def store_content(
    rt: Runtime,
    session: Session,
    patient_id: str,
    document_id: str,
    data: bytes,
    *,
    known_key: tuple[str | None, bytes | None] = (None, None),
) -> tuple[str, str, Future[None]]:
    """Start sealing and writing ``data`` under a new blob key; ``(blob key, key id, the
    write)``: wait for the write before the row commits. ``known_key``: ``current_key``'s."""
    key_id, key = current_key(session, rt.master_key, patient_id, known=known_key)
    blob_key = f"{patient_id}/{document_id}"
    workers = rt.state(ContentWorkers)
    return blob_key, key_id, workers.submit(_seal_and_create, rt, key, blob_key, data)


_NEW_DOCUMENT = insert(table_of(Document))


def new_row(
    record: Record,
    new: NewDocument,
    *,
    set_id: str | None = None,
    version: int = 1,
    replaces: str | None = None,
) -> DocumentRow:
    """A new document (or version) and its content."""
    rt, session, ctx = record.rt, record.session, record.ctx
    uploader = uploader_of(ctx)
    mime = check_upload(
        Upload(
            uploader,
            new.type_code,
            new.mime_type,
            new.content,
            new.masked,
            new.invisible_patient,
            new.invisible_representatives,
            new.class_code,
            new.title,
        ),
        record.facts.patient.age,
    )
    doc_type = TYPES[new.type_code]
    document_id = new_id()
    upload = record.upload
    blob_key, key_id, written = store_content(
        rt,
        session,
        record.patient.id,
        document_id,
        new.content,
        known_key=(upload.key_id, upload.wrapped_key) if upload else (None, None),
    )
    sums = digests_of(new.content)
    now = clock.now()
    establishment = establishment_of(record)
    document = DocumentRow(
        patient_id=record.patient.id,
        id=document_id,
        unique_id=new.unique_id or f"urn:uuid:{document_id}",
        set_id=set_id or document_id,
        version=version,
        replaces_id=replaces,
        type_system=doc_type.system,
        type_code=doc_type.code,
        class_code=doc_type.class_code,
        category=PERSONAL_SPACE if uploader is Uploader.PATIENT else doc_type.category,
        title=new.title.strip()[:500] or doc_type.label,
        author_kind=uploader.value,
        author_id=ctx.actor_id,
        author_establishment_id=establishment,
        service_date=new.service_date,
        created_at=now,
        updated_at=now,
        mime_type=mime,
        size=len(new.content),
        sha256=sums.sha256,
        sha1=sums.sha1,
        blob_key=blob_key,
        key_id=key_id,
        masked=new.masked,
        invisible_patient=new.invisible_patient,
        invisible_representatives=new.invisible_representatives,
        status="current",
        archived=False,
        meta_version=1,
        deleted_at=None,
        invisible_until=new.invisible_until if new.invisible_patient else None,
        submission_set_id=ctx.request_id,
        submitted=new.submitted,
    )
    # A Core insert: nothing in this transaction reads the new row back through the session,
    # and the caller gets the same values as a plain row.
    session.connection().execute(_NEW_DOCUMENT, document._asdict())
    if not (document.invisible_patient or document.invisible_representatives):
        enqueue(session, record.patient.id, Kind.DOCUMENT_ADDED, {"title": document.title})  # DOC-2
    before_commit(session, written.result)  # the content is durable before the row commits
    return document


_ESTABLISHMENT = select(first_establishment(bindparam("rpps")))


def establishment_of(record: Record) -> str | None:
    """The author's structure, as the directory knows it (the first of his activities): read
    with the gate's facts for an upload, else here."""
    ctx = record.ctx
    if ctx.pro is None:
        return None
    if record.upload is not None:
        return record.upload.establishment_id
    return record.session.connection().execute(_ESTABLISHMENT, {"rpps": ctx.pro.rpps}).scalar()


def act_on(record: Record, document_id: str, act: Act, action: Action) -> Document:
    """Find a document for an act (refused as absent if unseen), check the act's own rule, or
    refuse the act, traced."""
    document = record.documents.get(document_id, action, trace=False)
    actor = Actor(
        is_patient_side=not record.is_pro,
        is_author=document.author_id == record.ctx.actor_id,
        is_administrator=record.facts.relation.administrator,
    )
    try:
        check_act(act, actor)
    except Forbidden as refusal:
        record.refuse(action, Why.ACT_NOT_ALLOWED, document=ref_of(document), refusal=refusal)
    return document
