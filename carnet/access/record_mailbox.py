"""A record's mailbox (MSG-1), for the patient and who acts for him (ACC-8): conversations,
messages and their attachments as rows — sealed, for messaging to open — every read traced
(TR-1), anything absent refused like anything hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from carnet.access.rules import Purpose, Why
from carnet.audit.rules import Action
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.rules import Direction

if TYPE_CHECKING:
    from carnet.access.record import Record


class Mailbox:
    def __init__(self, record: Record) -> None:
        self.record = record
        record.require(Action.LIST_MESSAGES, Purpose.SPACE)

    def conversations(self) -> list[Conversation]:
        """Every conversation, the latest first: one trace for the listing."""
        r = self.record
        rows = list(
            r.session.scalars(
                select(Conversation)
                .where(Conversation.patient_id == r.patient_id)
                .order_by(Conversation.last_message_at.desc(), Conversation.id)
            )
        )
        r.trace(Action.LIST_MESSAGES, detail={"count": len(rows)})
        return rows

    def unread_counts(self) -> dict[str, int]:
        r = self.record
        rows = r.session.execute(
            select(Message.conversation_id, func.count())
            .where(
                Message.patient_id == r.patient_id,
                Message.direction == Direction.INBOUND.value,
                Message.read_at.is_(None),
            )
            .group_by(Message.conversation_id)
        ).all()
        return {conversation_id: count for conversation_id, count in rows}

    def conversation(
        self, conversation_id: str, action: Action = Action.LIST_MESSAGES, *, trace: bool = True
    ) -> Conversation:
        """One conversation; ``trace=False`` for an act that traces itself (a reply)."""
        r = self.record
        row = r.session.get(Conversation, (r.patient_id, conversation_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=conversation_id[:64])
        if trace:
            r.trace(action, target=conversation_id)
        return row

    def messages(self, conversation_id: str) -> list[Message]:
        """The messages of a conversation already read through ``conversation``."""
        r = self.record
        return list(
            r.session.scalars(
                select(Message)
                .where(
                    Message.patient_id == r.patient_id, Message.conversation_id == conversation_id
                )
                .order_by(Message.created_at, Message.id)
            )
        )

    def message(
        self, message_id: str, action: Action = Action.READ_MESSAGE, *, trace: bool = True
    ) -> Message:
        r = self.record
        row = r.session.get(Message, (r.patient_id, message_id))
        if row is None:
            r.refuse(action, Why.ABSENT, target=message_id[:64])
        if trace:
            r.trace(action, target=message_id)
        return row

    def attachments(self, message_ids: list[str]) -> list[Attachment]:
        """The files of messages already read through ``message`` or ``messages``."""
        if not message_ids:
            return []
        r = self.record
        return list(
            r.session.scalars(
                select(Attachment)
                .where(
                    Attachment.patient_id == r.patient_id, Attachment.message_id.in_(message_ids)
                )
                .order_by(Attachment.created_at, Attachment.filename)
            )
        )

    def attachment(
        self,
        message_id: str,
        attachment_id: str,
        action: Action = Action.READ_ATTACHMENT,
        *,
        trace: bool = True,
    ) -> Attachment:
        r = self.record
        row = r.session.get(Attachment, (r.patient_id, attachment_id))
        if row is None or row.message_id != message_id:
            r.refuse(action, Why.ABSENT, target=attachment_id[:64])
        if trace:
            r.trace(action, target=attachment_id)
        return row
