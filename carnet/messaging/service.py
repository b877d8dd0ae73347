"""The patient's mailbox: reading, opening (read receipts), keeping an attachment — and, named
here with them, writing (``messaging.writing``) and receiving (``messaging.inbound``).

Each use case opens the patient's side of the record through the gate
(``open_patient_space``: himself or who acts for him, an activated profile — MSG-5), traces its
act, and owns its transaction. Mail is queued with the act and sent after commit
(``messaging.delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

import carnet
from carnet import clock
from carnet.access.record import Record
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.ids import new_id
from carnet.keys.service import current_key, key_by_id
from carnet.messaging import mime, queries, store
from carnet.messaging.delivery import MailKind, queue_mail
from carnet.messaging.inbound import (
    known_recipient,
    known_sender,
    null_sender_status,
    receive_message,
    recipient_status,
    sender_status,
)
from carnet.messaging.mailbox import address_of, keys_of, open_space
from carnet.messaging.models import Message
from carnet.messaging.queries import (
    ConversationView,
    MailboxView,
    MessageView,
)
from carnet.messaging.rules import (
    Direction,
)
from carnet.messaging.writing import PharmacyOffer, pharmacies_for, reply, write_to_pharmacy
from carnet.records import service as records
from carnet.records.models import AnyDocument
from carnet.records.service import NewDocument
from carnet.runtime import Runtime

#: Receiving is ``messaging.inbound``'s, writing ``messaging.writing``'s: named here too.
__all__ = [
    "PharmacyOffer",
    "known_recipient",
    "known_sender",
    "null_sender_status",
    "pharmacies_for",
    "receive_message",
    "recipient_status",
    "reply",
    "sender_status",
    "write_to_pharmacy",
]


def list_conversations(rt: Runtime, ctx: RequestContext, patient_id: str) -> MailboxView:
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        rows = record.mailbox.conversations()
        unread = record.mailbox.unread_counts()
        keys = keys_of(session, rt, patient_id, {r.key_id for r in rows})
        views = tuple(
            queries.conversation_view(keys[r.key_id], r, unread.get(r.id, 0)) for r in rows
        )
        return MailboxView(address_of(rt, record.patient), views)


@dataclass(frozen=True)
class ConversationDetail:
    conversation: ConversationView
    messages: tuple[MessageView, ...]


def read_conversation(
    rt: Runtime, ctx: RequestContext, patient_id: str, conversation_id: str
) -> ConversationDetail:
    """A conversation and its messages' headings; a message's text is served by ``read_message``
    (opening it is what a read receipt reports, MSG-6)."""
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        conversation = record.mailbox.conversation(conversation_id)
        rows = record.mailbox.messages(conversation_id)
        keys = keys_of(session, rt, patient_id, {r.key_id for r in rows} | {conversation.key_id})
        files = record.mailbox.attachments([r.id for r in rows])
        unread = sum(1 for r in rows if r.direction == Direction.INBOUND.value and not r.read_at)
        return ConversationDetail(
            queries.conversation_view(keys[conversation.key_id], conversation, unread),
            tuple(queries.message_view(keys[r.key_id], r, files, with_body=False) for r in rows),
        )


def read_message(rt: Runtime, ctx: RequestContext, patient_id: str, message_id: str) -> MessageView:
    """Opens a message: marked read; MSG-6: a read receipt goes once if the sender asked."""
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.READ_MESSAGE)
        message = record.mailbox.message(message_id)
        now = clock.now()
        if message.read_at is None:
            message.read_at = now
        if message.receipt_to and message.receipt_sent_at is None:
            _send_receipt(session, rt, ctx, record, message)
        key = key_by_id(session, rt.master_key, patient_id, message.key_id)
        files = record.mailbox.attachments([message.id])
        return queries.message_view(key, message, files, with_body=True)


def _send_receipt(
    session: Session, rt: Runtime, ctx: RequestContext, record: Record, message: Message
) -> None:
    assert message.receipt_to is not None
    patient = record.patient
    key_id, key = current_key(session, rt.master_key, patient.id)
    receipt_id = new_id()
    raw = mime.compose_receipt(
        mime.Receipt(
            message_id=mime.make_message_id(receipt_id, rt.settings.patient_mail_domain),
            patient_address=address_of(rt, patient),
            patient_name=f"{patient.first_names} {patient.birth_names}",
            to=message.receipt_to,
            original_message_id=message.rfc_message_id,
            original_subject=store.unseal(
                key_by_id(session, rt.master_key, patient.id, message.key_id),
                message.subject_sealed,
                patient.id,
                message.id,
                "subject",
            ),
            date=clock.now(),
            reporting_ua=f"{rt.settings.patient_mail_domain}; Carnet {carnet.__version__}",
        )
    )
    name = store.put(rt, key, patient.id, receipt_id, raw)
    queue_mail(
        session,
        rt.metrics,
        patient_id=patient.id,
        kind=MailKind.RECEIPT,
        mail_from=address_of(rt, patient),
        rcpt_to=message.receipt_to,
        blob_key=name,
        key_id=key_id,
        message_id=None,
    )
    message.receipt_sent_at = clock.now()
    trail.record(
        session,
        ctx,
        Action.SEND_READ_RECEIPT,
        patient_id=patient.id,
        target=message.id,
        on_behalf_of=record.on_behalf_of,
        detail={"mailbox": message.receipt_to},
    )


def mark_read(rt: Runtime, ctx: RequestContext, patient_id: str, message_id: str) -> None:
    read_message(rt, ctx, patient_id, message_id)


# --------------------------------------------------------------------------------------------
# Attachments (MSG-11)
# --------------------------------------------------------------------------------------------


def read_attachment(
    rt: Runtime, ctx: RequestContext, patient_id: str, message_id: str, attachment_id: str
) -> tuple[queries.AttachmentView, bytes]:
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.READ_ATTACHMENT)
        attachment = record.mailbox.attachment(message_id, attachment_id)
        key = key_by_id(session, rt.master_key, patient_id, attachment.key_id)
        view = queries.AttachmentView(
            attachment.id,
            attachment.filename,
            attachment.mime_type,
            attachment.size,
            attachment.sha256,
            attachment.document_id,
        )
        name, sha = attachment.blob_key, attachment.sha256
    return view, store.get(rt, key, name, sha)


def save_attachment(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    message_id: str,
    attachment_id: str,
    *,
    title: str | None = None,
    type_code: str = "EXPPAT_2",
) -> AnyDocument:
    """MSG-11: a received file becomes a document of the patient's space (DOC-8's checks apply,
    the upload is traced, and so is the saving). Saving twice gives the same document."""
    view, data = read_attachment(rt, ctx, patient_id, message_id, attachment_id)
    document = records.upload_document(
        rt,
        ctx,
        NewDocument(
            type_code=type_code,
            title=(title or view.filename).strip()[:500] or view.filename,
            mime_type=view.mime_type,
            content=data,
            unique_id=f"urn:carnet:message-attachment:{attachment_id}",
        ),
        patient_id=patient_id,
    )
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.SAVE_ATTACHMENT)
        attachment = record.mailbox.attachment(
            message_id, attachment_id, Action.SAVE_ATTACHMENT, trace=False
        )
        attachment.document_id = document.id
        record.trace(
            Action.SAVE_ATTACHMENT,
            document=trail.DocumentRef(document.id, document.version, document.sha256),
            target=attachment.id,
        )
    return document
