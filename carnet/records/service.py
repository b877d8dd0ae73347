"""Use cases on documents. Each owns its transaction: the row, the blob reference, the trace and
the outbox row commit together, and a caller is answered only after that commit (DOC-7).

The blob is written (encrypted, fsync'd) before the row commits: a crash in between leaves an
orphan blob, never a row without its content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Conflict
from carnet.records.models import AnyDocument, Document, DocumentRow
from carnet.records.rules import Act
from carnet.records.writing import NewDocument, act_on, digests_of, doc_ref, new_row
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
    commits together, or none does."""
    matrix = matrix_for(rt.settings)
    with rt.transaction() as session:
        record = gate.open_for_upload(session, ctx, matrix, patient_id=patient_id, ins=ins)
        if any(s.replaces for s in submissions):
            record = gate.open_record(
                session, ctx, matrix, patient_id=record.patient.id, action=Action.REPLACE_DOCUMENT
            )
        return [_submit(rt, session, ctx, record, s) for s in submissions]


def _submit(
    rt: Runtime,
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    submission: Submission,
) -> AnyDocument:
    new = submission.new
    if new.unique_id:
        existing = session.execute(
            select(Document).where(
                Document.patient_id == record.patient.id, Document.unique_id == new.unique_id
            )
        ).scalar_one_or_none()
        if existing is not None:
            return same_or_conflict(existing, digests_of(new.content).sha256)
    if submission.replaces is None:
        document = new_row(rt, session, ctx, record, new)
        trail.record(
            session,
            ctx,
            Action.UPLOAD_DOCUMENT,
            patient_id=record.patient.id,
            document=doc_ref(document),
            on_behalf_of=record.on_behalf_of,
        )
        return document
    old = act_on(session, ctx, record, submission.replaces, Act.REPLACE, Action.REPLACE_DOCUMENT)
    if old.status != "current":
        raise Conflict(
            "Seule la version en cours peut être remplacée.",
            "Only the current version can be replaced.",
            code="not_current",
        )
    document = new_row(
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
    old.meta_version += 1
    trail.record(
        session,
        ctx,
        Action.REPLACE_DOCUMENT,
        patient_id=record.patient.id,
        document=doc_ref(document),
        target=old.id,
        on_behalf_of=record.on_behalf_of,
    )
    return document


def same_or_conflict(existing: Document, sha256: str) -> Document:
    if existing.sha256 == sha256:
        return existing
    raise Conflict(
        "Un autre document porte déjà cet identifiant unique.",
        "Another document already has this unique identifier.",
        code="unique_id_conflict",
    )


from carnet.records.acts import delete_document, mask_all, set_archived, set_masked, show_to_patient  # noqa: E402
from carnet.records.reading import (  # noqa: E402
    DocumentFilter,
    get_document,
    list_documents,
    read_content,
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
