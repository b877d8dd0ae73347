"""THE way to a patient's data. Decide, trace in the same transaction, or answer "not found".

Every door and every use case reaches documents through these functions (tests/test_architecture
enforces it). A refusal is traced, then raised as ``NotFound`` with ``keep_changes`` so the trace
commits: what may not be seen answers exactly like what does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carnet.access import service as relations
from carnet.access.facts import RecordFacts, RequesterKind
from carnet.access.loading import (
    patient_documents,
    record_facts,
)
from carnet.access.matrix import Matrix
from carnet.access.rules import (
    Decision,
    Why,
    decide_document,
    decide_record,
    decide_upload,
    outline,
)
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import NotFound
from carnet.population.models import PatientRef
from carnet.records.models import AnyDocument, Document, DocumentRow


@dataclass(frozen=True)
class OpenRecord:
    """A record the requester was allowed into, with the facts the decision used."""

    patient: PatientRef
    facts: RecordFacts
    entry: Decision
    matrix: Matrix

    @property
    def on_behalf_of(self) -> str | None:
        kind = self.facts.requester.kind
        return self.patient.id if kind not in (RequesterKind.PATIENT, RequesterKind.PRO) else None


def not_found() -> NotFound:
    refusal = NotFound()
    refusal.keep_changes = True
    return refusal


def open_record(
    session: Session,
    ctx: RequestContext,
    matrix: Matrix,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
    action: Action = Action.LIST_DOCUMENTS,
    declares_consent: bool = False,
) -> OpenRecord:
    """Enter a record, or raise ``NotFound`` (traced when the patient exists)."""
    found = record_facts(
        session, ctx, patient_id=patient_id, ins=ins, declares_consent=declares_consent
    )
    if found is None:
        raise NotFound()
    patient, facts = found
    entry = decide_record(facts)
    if not entry.allowed and not _may_still_read_own(facts, entry):
        trail.record(
            session,
            ctx,
            action,
            patient_id=patient.id,
            outcome=Outcome.DENIED,
            detail={"why": entry.why.value},
        )
        raise not_found()
    if entry.allowed and facts.requester.kind is RequesterKind.PRO:
        relations.note_pro_access(session, ctx, patient, facts, entry)
    return OpenRecord(patient, facts, entry, matrix)


def _may_still_read_own(facts: RecordFacts, entry: Decision) -> bool:
    """DOC-5: a pro refused the record (no consent, emergency refused) still reads what he wrote."""
    return facts.requester.kind is RequesterKind.PRO and entry.why in (
        Why.NO_CONSENT,
        Why.EMERGENCY_REFUSED,
        Why.NO_REASON,
        Why.NOT_REGULATOR,
    )


def open_for_upload(
    session: Session,
    ctx: RequestContext,
    matrix: Matrix,
    *,
    patient_id: str | None = None,
    ins: str | None = None,
) -> OpenRecord:
    """DOC-1: feeding a record needs no consent, but a profile that receives (LC-3)."""
    found = record_facts(session, ctx, patient_id=patient_id, ins=ins)
    if found is None:
        raise NotFound()
    patient, facts = found
    decision = decide_upload(facts)
    if not decision.allowed:
        trail.record(
            session,
            ctx,
            Action.UPLOAD_DOCUMENT,
            patient_id=patient.id,
            outcome=Outcome.DENIED,
            detail={"why": decision.why.value},
        )
        raise not_found()
    return OpenRecord(patient, facts, decide_record(facts), matrix)


def open_patient_space(
    session: Session, ctx: RequestContext, matrix: Matrix, *, patient_id: str, action: Action
) -> OpenRecord:
    """The patient's side of a record only — himself, or who acts for him (ACC-8, LC-8): his
    mailbox, settings and notifications are not for pros. Anyone else: traced, not found."""
    record = open_record(session, ctx, matrix, patient_id=patient_id, action=action)
    if record.facts.requester.kind is RequesterKind.PRO or not record.entry.allowed:
        trail.record(session, ctx, action, patient_id=patient_id, outcome=Outcome.DENIED)
        raise not_found()
    return record


def visible(record: OpenRecord, document: AnyDocument) -> Decision:
    return decide_document(record.facts, record.entry, document, record.matrix)


def read_document(
    session: Session,
    ctx: RequestContext,
    record: OpenRecord,
    document_id: str,
    action: Action = Action.READ_DOCUMENT,
    *,
    trace_success: bool = True,
) -> Document:
    """One document the requester may see, traced; anything else is ``NotFound``, traced.

    An act on a document (mask, delete…) passes ``trace_success=False`` and traces the act
    itself once its own rule has spoken.
    """
    document = session.get(Document, (record.patient.id, document_id))
    decision = visible(record, document) if document is not None else None
    ref = trail.DocumentRef(document.id, document.version, document.sha256) if document else None
    if document is None or decision is None or not decision.allowed:
        trail.record(
            session,
            ctx,
            action,
            patient_id=record.patient.id,
            outcome=Outcome.DENIED,
            document=ref,
            target=document_id,
            on_behalf_of=record.on_behalf_of,
            detail={"why": decision.why.value if decision else "absent"},
        )
        raise not_found()
    if trace_success:
        trail.record(
            session,
            ctx,
            action,
            patient_id=record.patient.id,
            document=ref,
            on_behalf_of=record.on_behalf_of,
            detail={"emergency": True} if decision.emergency else None,
        )
    return document


def list_documents(
    session: Session,
    ctx: RequestContext,
    record: OpenRecord,
    keep: Callable[[DocumentRow], bool] = lambda _: True,
    *,
    statuses: Sequence[str] | None = None,
    archived: bool | None = None,
) -> list[DocumentRow]:
    """The documents the requester may see (the same decision as one by one), one trace.

    The fetch is narrowed to the decision's outline and, by ``statuses`` and ``archived``, to
    what ``keep`` would keep anyway; every row fetched is still decided and kept one by one.
    """
    rows = patient_documents(
        session,
        record.patient.id,
        within=outline(record.facts, record.entry, record.matrix),
        statuses=statuses,
        archived=archived,
    )
    documents = [d for d in rows if keep(d) and visible(record, d).allowed]
    if not record.entry.allowed and not documents:
        # Refused the record (no consent…) and nothing of his own to see (DOC-5): not found.
        trail.record(
            session,
            ctx,
            Action.LIST_DOCUMENTS,
            patient_id=record.patient.id,
            outcome=Outcome.DENIED,
            detail={"why": record.entry.why.value},
        )
        raise not_found()
    trail.record(
        session,
        ctx,
        Action.LIST_DOCUMENTS,
        patient_id=record.patient.id,
        on_behalf_of=record.on_behalf_of,
        detail={"count": len(documents)},
    )
    return documents
