"""What the mailbox's JSON says: Pydantic shapes at the edge, built from messaging's views."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from carnet.messaging.queries import (
    AttachmentView,
    ConversationView,
    MessageView,
    PharmacyView,
)


class AttachmentOut(BaseModel):
    id: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    saved_document_id: str | None

    @staticmethod
    def of(a: AttachmentView) -> AttachmentOut:
        return AttachmentOut(
            id=a.id,
            filename=a.filename,
            mime_type=a.mime_type,
            size=a.size,
            sha256=a.sha256,
            saved_document_id=a.document_id,
        )


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    direction: str = Field(description="in (received), out (sent by the patient), notice")
    counterpart: str
    author: str
    subject: str
    body: str | None = Field(description="Only when the message is opened (GET …/messages/{id}).")
    created_at: datetime
    read: bool
    fin: bool = Field(description="MSG-3: this message closed the conversation.")
    read_receipt_requested: bool
    delivery: str | None = Field(description="For sent messages: queued, sent, delivered, failed.")
    attachments: list[AttachmentOut]

    @staticmethod
    def of(m: MessageView) -> MessageOut:
        return MessageOut(
            id=m.id,
            conversation_id=m.conversation_id,
            direction=m.direction,
            counterpart=m.counterpart,
            author=m.author_name,
            subject=m.subject,
            body=m.body,
            created_at=m.created_at,
            read=m.read,
            fin=m.fin,
            read_receipt_requested=m.receipt_requested,
            delivery=m.delivery,
            attachments=[AttachmentOut.of(a) for a in m.attachments],
        )


class ConversationOut(BaseModel):
    id: str
    counterpart: str
    counterpart_name: str
    counterpart_kind: str = Field(description="typeBAL: PER, ORG, APP, CAB")
    pharmacy: bool
    subject: str
    state: str = Field(description="open, or closed (MSG-3)")
    started_by: str
    created_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    unread: int
    can_reply: bool

    @staticmethod
    def of(c: ConversationView) -> ConversationOut:
        return ConversationOut(**c.__dict__)


class MailboxOut(BaseModel):
    address: str = Field(description="ID-2: <INS>@<patient mail domain>")
    conversations: list[ConversationOut]


class ConversationDetailOut(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]


class ReplyIn(BaseModel):
    body: str = Field(min_length=1, max_length=100_000)
    document_ids: list[str] = Field(default_factory=list, max_length=20)


class PharmacyOut(BaseModel):
    mailbox: str
    name: str
    city: str | None
    postal_code: str | None
    from_history: bool

    @staticmethod
    def of(p: PharmacyView) -> PharmacyOut:
        return PharmacyOut(**p.__dict__)


class PharmacyOfferOut(BaseModel):
    pharmacies: list[PharmacyOut]
    subject: str
    prefilled_message: str
    reminder: str = Field(description="MSG-9: bring the paper prescription.")


class PharmacyMessageIn(BaseModel):
    mailbox: str = Field(max_length=320)
    body: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=200)
    document_ids: list[str] = Field(default_factory=list, max_length=20)


class PharmacyMessageOut(BaseModel):
    message: MessageOut
    reminder: str


class SaveAttachmentIn(BaseModel):
    title: str | None = Field(default=None, max_length=500)
    type_code: str = "EXPPAT_2"
