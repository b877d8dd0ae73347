"""MSG-8: a message that could not be delivered comes back to the patient, in its conversation.

The notice is a message of its own (``Direction.NOTICE``) saying to whom and why, a notification
announces it, and the trace log records that the message did not arrive — all in the transaction
that marks the outgoing mail failed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import ActorKind, Door, RequestContext
from carnet.keys.service import key_by_id
from carnet.messaging.models import Conversation, Message, OutgoingMail
from carnet.messaging.notices import file_notice
from carnet.messaging.rules import Undelivered, failure_notice
from carnet.runtime import Runtime


def tell_the_patient(
    session: Session,
    rt: Runtime,
    row: OutgoingMail,
    why: Undelivered,
    detail: str,
    give_up_after: timedelta,
) -> None:
    message = session.get(Message, (row.patient_id, row.message_id)) if row.message_id else None
    conversation = (
        session.get(Conversation, (row.patient_id, message.conversation_id))
        if message is not None
        else None
    )
    if conversation is None:
        return
    fr, en = failure_notice(row.rcpt_to, why, detail, give_up_after)
    key = key_by_id(session, rt.master_key, row.patient_id, conversation.key_id)
    file_notice(
        session,
        key,
        conversation,
        counterpart=row.rcpt_to,
        subject="Message non distribué",
        fr=fr,
        en=en,
    )
    trail.record(
        session,
        RequestContext(kind=ActorKind.SYSTEM, actor_id="mssante", door=Door.JOB),
        Action.MESSAGE_UNDELIVERABLE,
        patient_id=row.patient_id,
        outcome=Outcome.DENIED,
        target=row.message_id,
        detail={"mailbox": row.rcpt_to},
    )
