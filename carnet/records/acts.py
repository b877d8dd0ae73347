"""Acts on existing documents: delete, archive, mask, show to the patient (DOC-3, DOC-4, DOC-6).

Each finds the document through the gate, checks the act's own rule, and traces the act.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.record import Record
from carnet.access.record_documents import ref_of
from carnet.access.rules import Why
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.base import table_of
from carnet.errors import Forbidden, Invalid, PreconditionFailed
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.records.models import Document
from carnet.records.reading import open_to_read
from carnet.records.rules import Act
from carnet.records.writing import act_on
from carnet.runtime import Runtime


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
        record = open_to_read(rt, session, ctx, patient_id, action)
        document = act_on(record, document_id, act, action)
        change(document)
        document.updated_at = clock.now()
        document.meta_version += 1
        record.trace(
            action, why=_actor_why(record, document), document=ref_of(document), detail=detail
        )
        return document


def _actor_why(record: Record, document: Document) -> Why:
    """The rule by which the act passed (``records.rules.check_act``): the author's, the
    patient's side's, or an administrator's at the patient's request (ACC-4)."""
    if document.author_id == record.ctx.actor_id:
        return Why.AUTHOR
    if not record.is_pro:
        return record.entry.why
    return Why.ADMINISTRATOR


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
        record = open_to_read(rt, session, ctx, patient_id, Action.SHOW_TO_PATIENT)
        document = act_on(record, document_id, Act.SHOW_TO_PATIENT, Action.SHOW_TO_PATIENT)
        if document.invisible_patient:
            document.invisible_patient, document.invisible_until = False, None
            document.updated_at = clock.now()
            document.meta_version += 1
            if not document.invisible_representatives:
                enqueue(session, patient_id, Kind.DOCUMENT_ADDED, {"title": document.title})
        record.trace(Action.SHOW_TO_PATIENT, why=Why.AUTHOR, document=ref_of(document))
        return document


def mask_all(rt: Runtime, ctx: RequestContext, patient_id: str, masked: bool) -> int:
    """DOC-4: every document in one click (the patient's side only)."""
    action = Action.MASK_DOCUMENT if masked else Action.UNMASK_DOCUMENT
    with rt.transaction() as session:
        record = open_to_read(rt, session, ctx, patient_id, action)
        if record.is_pro:
            record.refuse(
                action,
                Why.ACT_NOT_ALLOWED,
                refusal=Forbidden(
                    "Seul le patient masque tous ses documents d'un coup.",
                    "Only the patient masks all documents at once.",
                    code="act_not_allowed",
                ),
            )
        ids = [d.id for d in record.documents.list(lambda d: d.masked != masked)]
        if ids:
            session.execute(
                update(table_of(Document))
                .where(Document.patient_id == patient_id, Document.id.in_(ids))
                .values(
                    masked=masked, meta_version=Document.meta_version + 1, updated_at=clock.now()
                )
            )
        record.trace(action, detail={"all": True, "count": len(ids)})
        return len(ids)


@dataclass(frozen=True)
class MetadataChange:
    """What a FHIR metadata update may change (PDSm): status, confidentiality, archiving.
    ``None`` leaves a field as it is."""

    deleted: bool | None = None
    masked: bool | None = None
    invisible_patient: bool | None = None
    invisible_representatives: bool | None = None
    archived: bool | None = None


def update_metadata(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    document_id: str,
    change: MetadataChange,
    *,
    expected_version: int | None = None,
) -> Document:
    """Several acts in one transaction, each checked by its own rule and traced; one new
    metadata version in all. ``expected_version`` (FHIR's If-Match) is checked in the same
    transaction as the change: no one else's change slips in between."""
    with rt.transaction() as session:
        record = open_to_read(rt, session, ctx, patient_id, Action.READ_DOCUMENT)
        document = record.documents.get(document_id, trace=False)
        if expected_version is not None and document.meta_version != expected_version:
            raise PreconditionFailed(
                "Le document a changé depuis votre lecture.",
                "The document changed since you read it.",
            )
        if change.invisible_patient is True and not document.invisible_patient:
            raise Invalid(
                "Un document ne devient invisible au patient qu'au dépôt.",
                "A document is made invisible to the patient at upload only.",
                code="visibility_not_allowed",
            )
        if change.invisible_representatives not in (None, document.invisible_representatives):
            raise Invalid(
                "La visibilité pour les représentants légaux se choisit au dépôt.",
                "Visibility to legal representatives is chosen at upload.",
                code="visibility_not_allowed",
            )
        steps: list[tuple[Act, Action, Callable[[Document], None]]] = []
        if change.masked is not None and change.masked != document.masked:
            masked = change.masked
            steps.append(
                (
                    Act.MASK,
                    Action.MASK_DOCUMENT if masked else Action.UNMASK_DOCUMENT,
                    lambda d: setattr(d, "masked", masked),
                )
            )
        if change.invisible_patient is False and document.invisible_patient:
            steps.append((Act.SHOW_TO_PATIENT, Action.SHOW_TO_PATIENT, lambda d: _show(session, d)))
        if change.archived is not None and change.archived != document.archived:
            archived = change.archived
            steps.append(
                (
                    Act.ARCHIVE,
                    Action.ARCHIVE_DOCUMENT if archived else Action.UNARCHIVE_DOCUMENT,
                    lambda d: setattr(d, "archived", archived),
                )
            )
        if change.deleted and document.status != "deleted":
            steps.append((Act.DELETE, Action.DELETE_DOCUMENT, _delete))
        for act, action, apply in steps:
            act_on(record, document_id, act, action)
            apply(document)
            record.trace(action, why=_actor_why(record, document), document=ref_of(document))
        if steps:
            document.updated_at = clock.now()
            document.meta_version += 1
        return document


def _show(session: Session, d: Document) -> None:
    d.invisible_patient, d.invisible_until = False, None
    if not d.invisible_representatives:
        enqueue(session, d.patient_id, Kind.DOCUMENT_ADDED, {"title": d.title})


def _delete(d: Document) -> None:
    d.status, d.deleted_at = "deleted", clock.now()
