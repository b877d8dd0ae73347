"""Use cases on documents — uploading and replacing here, reading (``records.reading``) and
acting on documents (``records.acts``) named here too: the records capability's one entry
for doors. Each owns its transaction: the row, the blob reference, the trace and
the outbox row commit together, and a caller is answered only after that commit (DOC-7).

The blob is written (encrypted, fsync'd) before the row commits: a crash in between leaves an
orphan blob, never a row without its content. A transaction that fails removes its blobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carnet import clock
from carnet.access import gate
from carnet.access.record import Record
from carnet.access.record_documents import ref_of
from carnet.access.rules import Purpose, Why
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Conflict
from carnet.ids import looks_like_id
from carnet.records.acts import delete_document, mask_all, set_archived, set_masked, show_to_patient
from carnet.records.models import AnyDocument, Document, DocumentRow
from carnet.records.reading import DocumentFilter, get_document, list_documents, read_content
from carnet.records.rules import Act
from carnet.records.writing import Content, NewDocument, act_on, new_row
from carnet.runtime import Runtime


@dataclass(frozen=True)
class Submission:
    """One document of a submission set (IHE ITI-65): new, or replacing an existing one."""

    new: NewDocument
    replaces: str | None = None


def upload_document(
    rt: Runtime,
    ctx: RequestContext,
    new: NewDocument,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
) -> AnyDocument:
    """DOC-1. Resending the same producer id with the same bytes answers the same document."""
    return publish(rt, ctx, [Submission(new)], patient_id=patient_id, ins=ins)[0]


def replace_document(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_id: str, new: NewDocument
) -> AnyDocument:
    """DOC-6: a new version; the old one is kept, superseded, in the same transaction."""
    return publish(rt, ctx, [Submission(new, replaces=document_id)], patient_id=patient_id)[0]


def publish(
    rt: Runtime,
    ctx: RequestContext,
    submissions: Sequence[Submission],
    *,
    patient_id: str | None = None,
    ins: str | None = None,
) -> list[AnyDocument]:
    """A submission set, all or nothing: every document, replacement, trace and notification
    commits together, or none does. The bytes start on their way to the store before the
    record is even opened (by id; by INS once it is found), and whatever no committed row
    names is removed afterwards — those already on their way too when a later one could not
    start (``extend`` keeps each as it is made)."""
    contents: list[Content] = []
    try:
        if patient_id is not None and looks_like_id(patient_id):
            contents.extend(Content(rt, patient_id, s.new.content) for s in submissions)
        with rt.transaction() as session:
            record = gate.open(
                session,
                rt,
                ctx,
                purpose=Purpose.UPLOAD,
                action=Action.UPLOAD_DOCUMENT,
                patient_id=patient_id,
                ins=ins,
            )
            if not contents:
                contents.extend(Content(rt, record.patient.id, s.new.content) for s in submissions)
            published = [_submit(record, s, c) for s, c in zip(submissions, contents, strict=True)]
    except BaseException:
        for content in contents:
            content.forget(rt)
        raise
    named = {document.blob_key for document in published}
    for content in contents:
        if content.blob_key not in named:  # a resent document: the one stored first answers
            content.forget(rt)
    return published


def _submit(record: Record, submission: Submission, content: Content) -> AnyDocument:
    new = submission.new
    if new.unique_id:
        resent = record.documents.resent(new.unique_id)
        if resent is not None:
            return same_or_conflict(resent, content.digests.sha256)
    if submission.replaces is None:
        document = new_row(record, new, content=content)
        record.trace(Action.UPLOAD_DOCUMENT, document=ref_of(document))
        return document
    old = act_on(record, submission.replaces, Act.REPLACE, Action.REPLACE_DOCUMENT)
    if old.status != "current":
        raise Conflict(
            "Seule la version en cours peut être remplacée.",
            "Only the current version can be replaced.",
            code="not_current",
        )
    document = new_row(
        record,
        new,
        set_id=old.set_id,
        version=old.version + 1,
        replaces=old.id,
        content=content,
    )
    old.status, old.updated_at = "superseded", clock.now()
    old.meta_version += 1
    record.trace(Action.REPLACE_DOCUMENT, why=Why.AUTHOR, document=ref_of(document), target=old.id)
    return document


def same_or_conflict(existing: Document, sha256: str) -> Document:
    """The author resends: the same bytes answer the same document; others are a conflict."""
    if existing.sha256 == sha256:
        return existing
    raise Conflict(
        "Vous avez déjà déposé un autre document sous cet identifiant unique.",
        "You already submitted another document under this unique identifier.",
        code="unique_id_conflict",
    )


__all__ = [
    "AnyDocument",
    "DocumentFilter",
    "DocumentRow",
    "NewDocument",
    "delete_document",
    "get_document",
    "list_documents",
    "mask_all",
    "read_content",
    "replace_document",
    "set_archived",
    "set_masked",
    "show_to_patient",
    "upload_document",
]
