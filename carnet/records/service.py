"""Use cases on documents. Each owns its transaction: the row, the blob reference, the trace and
the outbox row commit together, and a caller is answered only after that commit (DOC-7).

The blob is written (encrypted, fsync'd) before the row commits: a crash in between leaves an
orphan blob, never a row without its content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access.facts import RequesterKind
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.blobs.crypto import DecryptionFailed, decrypt, encrypt
from carnet.context import ActorKind, RequestContext
from carnet.errors import Conflict, Forbidden, IntegrityFailure, NotFound
from carnet.identity.models import ProEstablishment
from carnet.ids import new_id
from carnet.keys.service import current_key, key_by_id
from carnet.logs import get_logger
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.records.catalog import PERSONAL_SPACE, TYPES
from carnet.records.models import Document
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

    def keep(self, d: Document) -> bool:
        day = d.service_date or d.created_at.date()
        return (
            (self.category is None or d.category == self.category)
            and (self.type_code is None or d.type_code == self.type_code)
            and d.status in self.status
            and (self.include_archived or not d.archived)
            and (self.author_id is None or d.author_id == self.author_id)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
            and (self.text is None or self.text.lower() in d.title.lower())
        )


def _uploader(ctx: RequestContext) -> Uploader:
    if ctx.kind is ActorKind.PRO:
        return Uploader.PRO
    if ctx.kind is ActorKind.OPERATOR:
        return Uploader.OPERATOR
    return Uploader.PATIENT


def _ref(d: Document) -> trail.DocumentRef:
    return trail.DocumentRef(d.id, d.version, d.sha256)


def _store_content(
    rt: Runtime, session: Session, patient_id: str, document_id: str, data: bytes
) -> tuple[str, str]:
    key_id, key = current_key(session, rt.master_key, patient_id)
    blob_key = f"{patient_id}/{document_id}"
    rt.blobs.put(blob_key, encrypt(key, data, blob_key.encode()))
    return blob_key, key_id


def _new_row(
    rt: Runtime,
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    new: NewDocument,
    *,
    set_id: str | None = None,
    version: int = 1,
    replaces: str | None = None,
) -> Document:
    uploader = _uploader(ctx)
    mime = check_upload(
        Upload(
            uploader,
            new.type_code,
            new.mime_type,
            new.content,
            new.masked,
            new.invisible_patient,
            new.invisible_representatives,
        ),
        record.facts.patient.age,
    )
    doc_type = TYPES[new.type_code]
    document_id = new_id()
    blob_key, key_id = _store_content(rt, session, record.patient.id, document_id, new.content)
    now = clock.now()
    document = Document(
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
        author_establishment_id=_establishment_of(session, ctx),
        service_date=new.service_date,
        created_at=now,
        updated_at=now,
        mime_type=mime,
        size=len(new.content),
        sha256=hashlib.sha256(new.content).hexdigest(),
        sha1=hashlib.sha1(new.content, usedforsecurity=False).hexdigest(),
        blob_key=blob_key,
        key_id=key_id,
        masked=new.masked,
        invisible_patient=new.invisible_patient,
        invisible_representatives=new.invisible_representatives,
        status="current",
        archived=False,
        meta_version=1,
        deleted_at=None,
    )
    session.add(document)
    session.flush()
    if not (document.invisible_patient or document.invisible_representatives):
        enqueue(session, record.patient.id, Kind.DOCUMENT_ADDED, {"title": document.title})  # DOC-2
    return document


def _establishment_of(session: Session, ctx: RequestContext) -> str | None:
    """The author's structure, as the directory knows it (the first of his activities)."""
    if ctx.pro is None:
        return None
    return session.execute(
        select(ProEstablishment.establishment_id)
        .where(ProEstablishment.rpps == ctx.pro.rpps)
        .limit(1)
    ).scalar_one_or_none()


def upload_document(
    rt: Runtime,
    ctx: RequestContext,
    new: NewDocument,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
) -> Document:
    """DOC-1. Resending the same producer id with the same bytes answers the same document."""
    with rt.transaction() as session:
        record = gate.open_for_upload(
            session, ctx, matrix_for(rt.settings), patient_id=patient_id, ins=ins
        )
        if new.unique_id:
            existing = session.execute(
                select(Document).where(
                    Document.patient_id == record.patient.id, Document.unique_id == new.unique_id
                )
            ).scalar_one_or_none()
            if existing is not None:
                return _same_or_conflict(existing, new)
        document = _new_row(rt, session, ctx, record, new)
        trail.record(
            session,
            ctx,
            Action.UPLOAD_DOCUMENT,
            patient_id=record.patient.id,
            document=_ref(document),
            on_behalf_of=record.on_behalf_of,
        )
        return document


def _same_or_conflict(existing: Document, new: NewDocument) -> Document:
    if existing.sha256 == hashlib.sha256(new.content).hexdigest():
        return existing
    raise Conflict(
        "Un autre document porte déjà cet identifiant unique.",
        "Another document already has this unique identifier.",
        code="unique_id_conflict",
    )


def _act_on(
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    document_id: str,
    act: Act,
    action: Action,
) -> Document:
    """Find a document for an act (NotFound if unseen), check the act's rule, or trace the refusal."""
    document = gate.read_document(session, ctx, record, document_id, action, trace_success=False)
    who = record.facts.requester
    actor = Actor(
        is_patient_side=who.kind is not RequesterKind.PRO,
        is_author=document.author_id == ctx.actor_id,
        is_administrator=record.facts.relation.administrator,
    )
    try:
        check_act(act, actor)
    except Forbidden as refusal:
        trail.record(
            session,
            ctx,
            action,
            patient_id=record.patient.id,
            outcome=Outcome.DENIED,
            document=_ref(document),
            on_behalf_of=record.on_behalf_of,
        )
        refusal.keep_changes = True
        raise
    return document


def _open(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, action: Action
) -> gate.OpenRecord:
    return gate.open_record(
        session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=action
    )


def replace_document(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str, new: NewDocument
) -> Document:
    """DOC-6: a new version; the old one is kept, superseded, in the same transaction."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.REPLACE_DOCUMENT)
        old = _act_on(session, ctx, record, document_id, Act.REPLACE, Action.REPLACE_DOCUMENT)
        if old.status != "current":
            raise Conflict(
                "Seule la version en cours peut être remplacée.",
                "Only the current version can be replaced.",
                code="not_current",
            )
        if new.unique_id:
            existing = session.execute(
                select(Document).where(
                    Document.patient_id == patient_id, Document.unique_id == new.unique_id
                )
            ).scalar_one_or_none()
            if existing is not None:
                return _same_or_conflict(existing, new)
        document = _new_row(
            rt,
            session,
            ctx,
            record,
            new,
            set_id=old.set_id,
            version=old.version + 1,
            replaces=old.id,
        )
        old.status, old.updated_at = "superseded", clock.now()
        trail.record(
            session,
            ctx,
            Action.REPLACE_DOCUMENT,
            patient_id=patient_id,
            document=_ref(document),
            target=old.id,
            on_behalf_of=record.on_behalf_of,
        )
        return document


def _change(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    document_id: str,
    act: Act,
    action: Action,
    change: Callable[[Document], None],
    detail: dict[str, object] | None = None,
) -> Document:
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, action)
        document = _act_on(session, ctx, record, document_id, act, action)
        change(document)
        document.updated_at = clock.now()
        document.meta_version += 1
        trail.record(
            session,
            ctx,
            action,
            patient_id=patient_id,
            document=_ref(document),
            on_behalf_of=record.on_behalf_of,
            detail=detail,
        )
        return document


def delete_document(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str
) -> Document:
    """DOC-6: logical: kept, no longer listed."""

    def change(d: Document) -> None:
        d.status, d.deleted_at = "deleted", clock.now()

    return _change(rt, ctx, patient_id, document_id, Act.DELETE, Action.DELETE_DOCUMENT, change)


def set_archived(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str, archived: bool
) -> Document:
    def change(d: Document) -> None:
        d.archived = archived

    action = Action.ARCHIVE_DOCUMENT if archived else Action.UNARCHIVE_DOCUMENT
    return _change(rt, ctx, patient_id, document_id, Act.ARCHIVE, action, change)


def set_masked(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str, masked: bool
) -> Document:
    """DOC-4: masked from pros but the author, administrators and the médecin traitant."""

    def change(d: Document) -> None:
        d.masked = masked

    action = Action.MASK_DOCUMENT if masked else Action.UNMASK_DOCUMENT
    return _change(rt, ctx, patient_id, document_id, Act.MASK, action, change)


def show_to_patient(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str
) -> Document:
    """DOC-3: the author ends the invisibility to the patient; the patient is told then (DOC-2)."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.SHOW_TO_PATIENT)
        document = _act_on(
            session, ctx, record, document_id, Act.SHOW_TO_PATIENT, Action.SHOW_TO_PATIENT
        )
        if document.invisible_patient:
            document.invisible_patient = False
            document.updated_at = clock.now()
            document.meta_version += 1
            if not document.invisible_representatives:
                enqueue(session, patient_id, Kind.DOCUMENT_ADDED, {"title": document.title})
        trail.record(
            session,
            ctx,
            Action.SHOW_TO_PATIENT,
            patient_id=patient_id,
            document=_ref(document),
            on_behalf_of=record.on_behalf_of,
        )
        return document


def mask_all(rt: Runtime, ctx: RequestContext, patient_id: str, masked: bool) -> int:
    """DOC-4: every document in one click (the patient's side only)."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.MASK_DOCUMENT)
        if record.facts.requester.kind is RequesterKind.PRO:
            raise Forbidden(
                "Seul le patient masque tous ses documents d'un coup.",
                "Only the patient masks all documents at once.",
                code="act_not_allowed",
            )
        documents = gate.list_documents(session, ctx, record, lambda d: d.masked != masked)
        for d in documents:
            d.masked = masked
            d.meta_version += 1
            d.updated_at = clock.now()
        trail.record(
            session,
            ctx,
            Action.MASK_DOCUMENT if masked else Action.UNMASK_DOCUMENT,
            patient_id=patient_id,
            on_behalf_of=record.on_behalf_of,
            detail={"all": True, "count": len(documents)},
        )
        return len(documents)


def list_documents(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str | None = None,
    flt: DocumentFilter | None = None,
    *,
    ins: str | None = None,
    declares_consent: bool = False,
) -> tuple[str, list[Document]]:
    """The documents the caller may see, with the patient's id (a pro may come by INS)."""
    flt = flt or DocumentFilter()
    with rt.transaction() as session:
        record = gate.open_record(
            session,
            ctx,
            matrix_for(rt.settings),
            patient_id=patient_id,
            ins=ins,
            declares_consent=declares_consent,
        )
        return record.patient.id, gate.list_documents(session, ctx, record, flt.keep)


def get_document(rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str) -> Document:
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.READ_DOCUMENT)
        return gate.read_document(session, ctx, record, document_id)


def read_content(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str
) -> tuple[Document, bytes]:
    """DOC-7: the bytes that were sent, checked against size and SHA-256 on every read."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.READ_DOCUMENT)
        document = gate.read_document(session, ctx, record, document_id)
        key = key_by_id(session, rt.master_key, patient_id, document.key_id)
    return document, _checked_content(rt, document, key)


def _checked_content(rt: Runtime, document: Document, key: bytes) -> bytes:
    try:
        data = decrypt(key, rt.blobs.get(document.blob_key), document.blob_key.encode())
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


def versions(rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str) -> list[Document]:
    """The version chain of a document, as far as the caller may see each version."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.READ_DOCUMENT)
        document = gate.read_document(session, ctx, record, document_id, trace_success=False)
        return gate.list_documents(session, ctx, record, lambda d: d.set_id == document.set_id)


def require_found(document: Document | None) -> Document:
    if document is None:
        raise NotFound()
    return document
