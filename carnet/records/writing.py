"""What uploads and acts on documents share: the new row, its content, the act check."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select

from carnet import clock
from carnet.access.record import Record
from carnet.access.record_documents import ref_of
from carnet.access.rules import Why
from carnet.audit.rules import Action
from carnet.blobs.crypto import generate_key, seal, wrap_content_key
from carnet.context import ActorKind, RequestContext
from carnet.db.base import table_of
from carnet.db.direct import Prepared, row_insert
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
    then asks the database. The transaction waits for the write before it commits (DOC-7: never
    a row without its content)."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="content")


@dataclass(frozen=True)
class Digests:
    sha256: str
    sha1: str  # FHIR's Attachment.hash


def digests_of(data: bytes) -> Digests:
    return Digests(
        hashlib.sha256(data).hexdigest(), hashlib.sha1(data, usedforsecurity=False).hexdigest()
    )


def _seal_and_create(rt: Runtime, key: bytes, blob_key: str, data: bytes) -> None:
    rt.blobs.create(blob_key, seal(key, data, blob_key.encode()))


class Content:
    """A document's bytes on their way to the store, from the moment the upload arrives: sealed
    under a key of their own and written durably by a worker while the request's thread opens
    the record (issue 18: the write no longer waits for the patient's data key, which the row
    then seals the content's key under). The transaction waits for the write before it commits
    (DOC-7); a write that no committed row names is removed (``forget``).

    The request's thread hashes the bytes at once (for an upload by id, before the transaction's
    first statement): hashlib lets go of the interpreter over a large buffer, so the worker seals
    and makes its system calls meanwhile without waiting for it, and the gate's statements then
    run with no worker taking the interpreter each time they let go of it (bench/README.md,
    thirteenth pass: the gate 0.31 ms beside a busy worker, 0.16 ms after). Hashing later, or on
    a worker, measured slower (fifth, eleventh and thirteenth passes)."""

    def __init__(self, rt: Runtime, patient_id: str, data: bytes) -> None:
        self.patient_id = patient_id
        self.document_id = new_id()
        self.blob_key = f"{patient_id}/{self.document_id}"
        self._key = generate_key()
        workers = rt.state(ContentWorkers)
        self.written: Future[None] = workers.submit(
            _seal_and_create, rt, self._key, self.blob_key, data
        )
        self.digests = digests_of(data)

    def sealed_key(self, data_key: bytes) -> bytes:
        """The content's key, sealed under the patient's data key, for the row."""
        return wrap_content_key(data_key, self._key, self.blob_key)

    def forget(self, rt: Runtime) -> None:
        """Remove the blob once written, when no committed row names it (a refused upload, a
        resent one, a rolled-back transaction): best effort, as ``messaging.store.forget``."""
        try:
            self.written.result()
        except Exception:
            return  # nothing durable was left, or nothing that can be removed from here
        try:
            rt.blobs.delete(self.blob_key)
        except OSError:
            log.warning("orphan_blob_left")


def new_row(
    record: Record,
    new: NewDocument,
    *,
    set_id: str | None = None,
    version: int = 1,
    replaces: str | None = None,
    content: Content,
) -> DocumentRow:
    """A new document (or version), its content already on its way (``Content``)."""
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
    if content.patient_id != record.patient.id:
        raise ValueError("the content was started for another patient's record")
    upload = record.upload
    key_id, data_key = current_key(
        session,
        rt.master_key,
        record.patient.id,
        known=(upload.key_id, upload.wrapped_key) if upload else (None, None),
    )
    sums = content.digests
    now = clock.now()
    establishment = establishment_of(record)
    document_id = content.document_id
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
        blob_key=content.blob_key,
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
        content_key=content.sealed_key(data_key),
    )
    # A row insert on the driver's cursor (db.direct): nothing in this transaction reads the
    # new row back through the session, and the caller gets the same values as a plain row.
    values = document._asdict()
    row_insert(table_of(Document), tuple(values)).execute(session.connection(), values)
    if not (document.invisible_patient or document.invisible_representatives):
        enqueue(session, record.patient.id, Kind.DOCUMENT_ADDED, {"title": document.title})  # DOC-2
    before_commit(session, content.written.result)  # durable before the row commits
    return document


_ESTABLISHMENT = Prepared(select(first_establishment(bindparam("rpps"))))


def establishment_of(record: Record) -> str | None:
    """The author's structure, as the directory knows it (the first of his activities): read
    with the gate's facts for an upload, else here."""
    ctx = record.ctx
    if ctx.pro is None:
        return None
    if record.upload is not None:
        return record.upload.establishment_id
    found = _ESTABLISHMENT.one_or_none(record.session.connection(), {"rpps": ctx.pro.rpps})
    return found[0] if found is not None else None


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
