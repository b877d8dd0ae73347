"""What the mailbox's use cases share: the patient's side of the record opened through the gate,
the patient's address, the rows of his mailbox found — or "not found", traced — and refusals."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.keys.service import key_by_id
from carnet.messaging import queries
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.queries import MessageView
from carnet.messaging.refusals import WritingRefused
from carnet.messaging.rules import patient_address
from carnet.population.models import Patient, PatientRef
from carnet.runtime import Runtime


def open_space(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, action: Action
) -> gate.OpenRecord:
    return gate.open_patient_space(
        session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=action
    )


def address_of(rt: Runtime, patient: Patient | PatientRef) -> str:
    return patient_address(patient.ins, rt.settings.patient_mail_domain)


def keys_of(session: Session, rt: Runtime, patient_id: str, key_ids: set[str]) -> dict[str, bytes]:
    return {k: key_by_id(session, rt.master_key, patient_id, k) for k in key_ids}


def _absent(
    session: Session, ctx: RequestContext, record: gate.OpenRecord, action: Action, target: str
) -> Exception:
    trail.record(
        session,
        ctx,
        action,
        patient_id=record.patient.id,
        outcome=Outcome.DENIED,
        target=target[:64],
        on_behalf_of=record.on_behalf_of,
        detail={"why": "absent"},
    )
    return gate.not_found()


def conversation_of(
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    conversation_id: str,
    action: Action,
) -> Conversation:
    row = session.get(Conversation, (record.patient.id, conversation_id))
    if row is None:
        raise _absent(session, ctx, record, action, conversation_id)
    return row


def message_of(
    session: Session, ctx: RequestContext, record: gate.OpenRecord, message_id: str, action: Action
) -> Message:
    row = session.get(Message, (record.patient.id, message_id))
    if row is None:
        raise _absent(session, ctx, record, action, message_id)
    return row


def attachment_of(
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    message_id: str,
    attachment_id: str,
) -> Attachment:
    row = session.get(Attachment, (record.patient.id, attachment_id))
    if row is None or row.message_id != message_id:
        raise _absent(session, ctx, record, Action.READ_ATTACHMENT, attachment_id)
    return row


def refuse(
    session: Session,
    ctx: RequestContext,
    record: gate.OpenRecord,
    action: Action,
    target: str | None,
    refusal: tuple[str, str],
) -> NoReturn:
    trail.record(
        session,
        ctx,
        action,
        patient_id=record.patient.id,
        outcome=Outcome.DENIED,
        target=target,
        on_behalf_of=record.on_behalf_of,
    )
    error = WritingRefused(*refusal)
    error.keep_changes = True
    raise error


def view_of(session: Session, rt: Runtime, message: Message) -> MessageView:
    key = key_by_id(session, rt.master_key, message.patient_id, message.key_id)
    files = queries.attachments_of(session, message.patient_id, [message.id])
    return queries.message_view(key, message, files, with_body=True)
