"""What the mailbox's use cases share: the patient's side of the record opened through the gate
(its ``mailbox`` part reads the rows, traced), the patient's address, keys, and refusals."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.record import Record
from carnet.access.rules import Purpose, Why
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.keys.service import key_by_id
from carnet.messaging import queries
from carnet.messaging.models import Message
from carnet.messaging.queries import MessageView
from carnet.messaging.refusals import WritingRefused
from carnet.messaging.rules import patient_address
from carnet.population.models import Patient, PatientRef
from carnet.runtime import Runtime


def open_space(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, action: Action
) -> Record:
    return gate.open(session, rt, ctx, purpose=Purpose.SPACE, action=action, patient_id=patient_id)


def address_of(rt: Runtime, patient: Patient | PatientRef) -> str:
    return patient_address(patient.ins, rt.settings.patient_mail_domain)


def keys_of(session: Session, rt: Runtime, patient_id: str, key_ids: set[str]) -> dict[str, bytes]:
    return {k: key_by_id(session, rt.master_key, patient_id, k) for k in key_ids}


def refuse(
    record: Record, action: Action, target: str | None, refusal: tuple[str, str]
) -> NoReturn:
    """MSG-2, MSG-3: a message the patient may not write, traced, refused in words."""
    record.refuse(action, Why.ACT_NOT_ALLOWED, target=target, refusal=WritingRefused(*refusal))


def view_of(session: Session, rt: Runtime, record: Record, message: Message) -> MessageView:
    key = key_by_id(session, rt.master_key, message.patient_id, message.key_id)
    files = record.mailbox.attachments([message.id])
    return queries.message_view(key, message, files, with_body=True)
