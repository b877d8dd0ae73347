"""A notice from « Mon espace santé » in a patient's conversation (MSG-8): that a message he sent
was not delivered, or what a delivery report or read receipt said of it. One shape for every
such notice — a message of its own (``Direction.NOTICE``), sealed with the conversation's key,
announced by a notification — written in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carnet import clock
from carnet.ids import new_id
from carnet.messaging import store
from carnet.messaging.models import Conversation, Message
from carnet.messaging.rules import Direction
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue

#: Who a notice comes from, as the patient reads it.
SENDER = "Mon espace santé"


def file_notice(
    session: Session,
    key: bytes,
    conversation: Conversation,
    *,
    counterpart: str,
    subject: str,
    fr: str,
    en: str,
    rfc_id: str | None = None,
    raw: bytes = b"",
) -> str:
    """The notice's id; ``raw``: the report as it arrived, kept when it is small."""
    patient_id, notice_id, now = conversation.patient_id, new_id(), clock.now()
    session.add(
        Message(
            patient_id=patient_id,
            id=notice_id,
            conversation_id=conversation.id,
            direction=Direction.NOTICE.value,
            counterpart=counterpart,
            rfc_message_id=rfc_id or f"<{notice_id}@notice.invalid>",
            thread_references=None,
            author_name=SENDER,
            key_id=conversation.key_id,
            subject_sealed=store.seal(key, subject, patient_id, notice_id, "subject"),
            body_sealed=store.seal(key, f"{fr}\n\n{en}", patient_id, notice_id, "body"),
            raw_blob_key=None,
            raw_sealed=store.seal_raw(key, raw, patient_id, notice_id)
            if raw and len(raw) <= store.RAW_INLINE_MAX
            else None,
            raw_size=len(raw),
            raw_sha256=None,
            fin=False,
            receipt_to=None,
            receipt_sent_at=None,
            delivery=None,
            created_at=now,
            read_at=None,
        )
    )
    conversation.last_message_at = now
    enqueue(session, patient_id, Kind.MESSAGE_RECEIVED, {"who": SENDER})
    return notice_id
