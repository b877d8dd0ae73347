"""The patients' mailboxes: conversations, messages, attachments, mail going out.

Every table is keyed ``(patient_id, id)``. What a message says (subject, text) is sealed with the
patient's data key, like documents' bytes; raw messages and attachments are encrypted blobs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class Conversation(Base):
    """The patient and one MSSanté mailbox (a pro, a structure), about one subject (MSG-2)."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_patient_counterpart", "patient_id", "counterpart"),
        Index("ix_conversations_patient_last", "patient_id", "last_message_at"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    counterpart: Mapped[str] = mapped_column(String(320))
    counterpart_name: Mapped[str] = mapped_column(String(300))
    counterpart_kind: Mapped[str] = mapped_column(String(3))
    pharmacy: Mapped[bool] = mapped_column(Boolean, default=False)
    key_id: Mapped[str] = mapped_column(String(32))
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    started_by: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class Message(Base):
    """One message of a conversation: received (``in``), sent by the patient (``out``), or a
    notice of the platform (``notice``: a delivery failure)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "counterpart", "rfc_message_id", name="uq_messages_patient_rfc_id"
        ),
        Index("ix_messages_patient_conversation", "patient_id", "conversation_id"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(6))
    counterpart: Mapped[str] = mapped_column(String(320))
    rfc_message_id: Mapped[str] = mapped_column(String(255))
    thread_references: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(String(300))
    key_id: Mapped[str] = mapped_column(String(32))
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    raw_blob_key: Mapped[str | None] = mapped_column(String(100))
    #: A small message's raw bytes, sealed in the row itself (``store.RAW_INLINE_MAX``): durable
    #: with the commit that files it, no file of its own to write and fsync.
    raw_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    fin: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_to: Mapped[str | None] = mapped_column(String(320))
    receipt_sent_at: Mapped[datetime | None]
    delivery: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Attachment(Base):
    """A file of a message, stored like a document's bytes: encrypted, hashed."""

    __tablename__ = "message_attachments"
    __table_args__ = (Index("ix_message_attachments_patient_message", "patient_id", "message_id"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]


class OutgoingMail(Base):
    """The durable queue of what leaves from a patient's address: answers and read receipts."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "state", "next_attempt_at"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(10))
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[str] = mapped_column(String(320))
    blob_key: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class HostedMail(Base):
    """Mail from a patient delivered to a mailbox the platform hosts itself (the pro portal).

    Its id is the outgoing mail's: delivering twice finds the row already there.
    """

    __tablename__ = "hosted_mail"
    __table_args__ = (Index("ix_hosted_mail_mailbox", "mailbox", "delivered_at"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    mail_from: Mapped[str] = mapped_column(String(320))
    blob_key: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(32))
    delivered_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
