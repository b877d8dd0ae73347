"""The patient's mailbox: reading, answering, writing to a pharmacy, keeping an attachment.

Each use case opens the patient's side of the record through the gate
(``open_patient_space``: himself or who acts for him, an activated profile — MSG-5), traces its
act, and owns its transaction. Documents attached from the space are read through the records
service first, each read traced. Mail is queued with the act and sent after commit
(``messaging.delivery``). Receiving mail is in ``messaging.inbound``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

import carnet
from carnet import clock
from carnet.access import gate
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.ids import new_id
from carnet.keys.service import current_key, key_by_id
from carnet.messaging import mime, queries, store
from carnet.messaging.delivery import MailKind, queue_mail
from carnet.messaging.inbound import receive_message, recipient_status, sender_status
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.queries import (
    ConversationView,
    MailboxView,
    MessageView,
    PharmacyView,
    directory_entry,
)
from carnet.messaging.refusals import WritingRefused
from carnet.messaging.rules import (
    PAPER_PRESCRIPTION_REMINDER,
    PHARMACY_PREFILL,
    PHARMACY_SUBJECT,
    ConversationFacts,
    ConversationState,
    CounterpartFacts,
    Direction,
    patient_address,
    reply_references,
    reply_refusal,
    reply_subject,
    start_refusal,
)
from carnet.population.models import Patient
from carnet.records import service as records
from carnet.records.models import Document
from carnet.records.service import NewDocument
from carnet.runtime import Runtime

#: Receiving is ``messaging.inbound``'s; named here too, with the other use cases.
__all__ = ["receive_message", "recipient_status", "sender_status"]

#: What one message may carry out, attachments included (the SIZE the MSSanté servers accept).
MAX_OUTGOING_BYTES = 20 * 1024 * 1024
MAX_TEXT = 100_000


def _open(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, action: Action
) -> gate.OpenRecord:
    return gate.open_patient_space(
        session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=action
    )


def _address(rt: Runtime, patient: Patient) -> str:
    return patient_address(patient.ins, rt.settings.patient_mail_domain)


def mailbox_address(rt: Runtime, ctx: RequestContext, patient_id: str) -> str:
    """ID-2, MSG-1: the patient's address, shown at the head of his mailbox."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        return _address(rt, record.patient)


def list_conversations(rt: Runtime, ctx: RequestContext, patient_id: str) -> MailboxView:
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        rows = queries.conversations_of(session, patient_id)
        unread = queries.unread_counts(session, patient_id)
        keys = _keys(session, rt, patient_id, {r.key_id for r in rows})
        views = tuple(
            queries.conversation_view(keys[r.key_id], r, unread.get(r.id, 0)) for r in rows
        )
        trail.record(
            session,
            ctx,
            Action.LIST_MESSAGES,
            patient_id=patient_id,
            on_behalf_of=record.on_behalf_of,
            detail={"count": len(views)},
        )
        return MailboxView(_address(rt, record.patient), views)


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
        record = _open(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        conversation = _conversation(session, ctx, record, conversation_id, Action.LIST_MESSAGES)
        rows = queries.messages_of(session, patient_id, conversation_id)
        keys = _keys(session, rt, patient_id, {r.key_id for r in rows} | {conversation.key_id})
        files = queries.attachments_of(session, patient_id, [r.id for r in rows])
        unread = sum(1 for r in rows if r.direction == Direction.INBOUND.value and not r.read_at)
        trail.record(
            session,
            ctx,
            Action.LIST_MESSAGES,
            patient_id=patient_id,
            target=conversation_id,
            on_behalf_of=record.on_behalf_of,
        )
        return ConversationDetail(
            queries.conversation_view(keys[conversation.key_id], conversation, unread),
            tuple(queries.message_view(keys[r.key_id], r, files, with_body=False) for r in rows),
        )


def read_message(rt: Runtime, ctx: RequestContext, patient_id: str, message_id: str) -> MessageView:
    """Opens a message: marked read; MSG-6: a read receipt goes once if the sender asked."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.READ_MESSAGE)
        message = _message(session, ctx, record, message_id, Action.READ_MESSAGE)
        now = clock.now()
        if message.read_at is None:
            message.read_at = now
        if message.receipt_to and message.receipt_sent_at is None:
            _send_receipt(session, rt, ctx, record, message)
        key = key_by_id(session, rt.master_key, patient_id, message.key_id)
        files = queries.attachments_of(session, patient_id, [message.id])
        trail.record(
            session,
            ctx,
            Action.READ_MESSAGE,
            patient_id=patient_id,
            target=message.id,
            on_behalf_of=record.on_behalf_of,
        )
        return queries.message_view(key, message, files, with_body=True)


def _send_receipt(
    session: Session, rt: Runtime, ctx: RequestContext, record: gate.OpenRecord, message: Message
) -> None:
    assert message.receipt_to is not None
    patient = record.patient
    key_id, key = current_key(session, rt.master_key, patient.id)
    receipt_id = new_id()
    raw = mime.compose_receipt(
        mime.Receipt(
            message_id=mime.make_message_id(receipt_id, rt.settings.patient_mail_domain),
            patient_address=_address(rt, patient),
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
        patient_id=patient.id,
        kind=MailKind.RECEIPT,
        mail_from=_address(rt, patient),
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
# Writing: answers (MSG-2, MSG-3) and messages to a pharmacy (MSG-9)
# --------------------------------------------------------------------------------------------


def _documents(
    rt: Runtime, ctx: RequestContext, patient_id: str, document_ids: Sequence[str]
) -> list[mime.ParsedAttachment]:
    """Documents of the space to attach, read through the records service (gate, traced)."""
    files: list[mime.ParsedAttachment] = []
    total = 0
    for document_id in dict.fromkeys(document_ids):
        document, data = records.read_content(rt, ctx, patient_id, document_id)
        total += len(data)
        if total > MAX_OUTGOING_BYTES:
            raise Invalid(
                "Pièces jointes trop volumineuses (20 Mo au plus).",
                "Attachments too large (20 MB at most).",
                code="too_large",
            )
        files.append(mime.ParsedAttachment(_file_name(document), document.mime_type, data))
    return files


def _file_name(document: Document) -> str:
    extension = {
        "application/pdf": ".pdf",
        "text/plain": ".txt",
        "application/rtf": ".rtf",
        "image/jpeg": ".jpg",
        "image/tiff": ".tif",
        "text/xml": ".xml",
    }.get(document.mime_type, "")
    stem = "".join(c if c.isalnum() or c in " -_." else "_" for c in document.title).strip()
    return f"{stem[:100] or 'document'}{extension}"


def _text(body: str) -> str:
    text = mime.clean_text(body)
    if not text.strip() or len(text) > MAX_TEXT:
        raise Invalid(
            "Le message doit contenir du texte (100 000 caractères au plus).",
            "The message needs some text (100,000 characters at most).",
            code="bad_text",
        )
    return text


@dataclass(frozen=True)
class _Draft:
    to: str
    to_name: str
    subject: str
    body: str
    in_reply_to: str | None
    references: Sequence[str]
    files: Sequence[mime.ParsedAttachment]


def _send(
    session: Session,
    rt: Runtime,
    ctx: RequestContext,
    record: gate.OpenRecord,
    conversation: Conversation,
    draft: _Draft,
) -> Message:
    """The message row, its files, its raw form and its place in the queue: one transaction."""
    patient = record.patient
    key_id, key = current_key(session, rt.master_key, patient.id)
    message_id, now = new_id(), clock.now()
    rfc_id = mime.make_message_id(message_id, rt.settings.patient_mail_domain)
    raw = mime.compose(
        mime.Outgoing(
            message_id=rfc_id,
            mail_from=_address(rt, patient),
            from_name=f"{patient.first_names} {patient.birth_names}",
            to=draft.to,
            to_name=draft.to_name,
            subject=draft.subject,
            body=draft.body,
            date=now,
            in_reply_to=draft.in_reply_to,
            references=draft.references,
            attachments=draft.files,
        )
    )
    if len(raw) > rt.settings.smtp_max_message_bytes:
        raise Invalid("Message trop volumineux.", "Message too large.", code="too_large")
    raw_key = store.put(rt, key, patient.id, message_id, raw)
    message = Message(
        patient_id=patient.id,
        id=message_id,
        conversation_id=conversation.id,
        direction=Direction.OUTBOUND.value,
        counterpart=draft.to,
        rfc_message_id=rfc_id,
        thread_references=" ".join(draft.references) or None,
        author_name=f"{patient.first_names} {patient.birth_names}",
        key_id=key_id,
        subject_sealed=store.seal(key, draft.subject, patient.id, message_id, "subject"),
        body_sealed=store.seal(key, draft.body, patient.id, message_id, "body"),
        raw_blob_key=raw_key,
        raw_size=len(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        fin=False,
        receipt_to=None,
        receipt_sent_at=None,
        delivery="queued",
        created_at=now,
        read_at=now,
    )
    session.add(message)
    for file in draft.files:
        attachment_id = new_id()
        session.add(
            Attachment(
                patient_id=patient.id,
                id=attachment_id,
                message_id=message_id,
                filename=file.filename,
                mime_type=file.mime_type,
                size=len(file.content),
                sha256=hashlib.sha256(file.content).hexdigest(),
                blob_key=store.put(rt, key, patient.id, attachment_id, file.content),
                key_id=key_id,
                document_id=None,
                created_at=now,
            )
        )
    conversation.last_message_at = now
    queue_mail(
        session,
        patient_id=patient.id,
        kind=MailKind.MESSAGE,
        mail_from=_address(rt, patient),
        rcpt_to=draft.to,
        blob_key=raw_key,
        key_id=key_id,
        message_id=message_id,
    )
    trail.record(
        session,
        ctx,
        Action.SEND_MESSAGE,
        patient_id=patient.id,
        target=message_id,
        on_behalf_of=record.on_behalf_of,
        detail={"mailbox": draft.to, "conversation": conversation.id, "files": len(draft.files)},
    )
    session.flush()
    return message


def reply(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    conversation_id: str,
    body: str,
    document_ids: Sequence[str] = (),
) -> MessageView:
    """MSG-2: the patient answers inside an open conversation; MSG-3: never a closed one."""
    text = _text(body)
    files = _documents(rt, ctx, patient_id, document_ids)
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.SEND_MESSAGE)
        conversation = _conversation(session, ctx, record, conversation_id, Action.SEND_MESSAGE)
        refusal = reply_refusal(
            ConversationFacts(ConversationState(conversation.state), conversation.pharmacy)
        )
        if refusal is not None:
            _refuse(session, ctx, record, Action.SEND_MESSAGE, conversation.id, refusal)
        rows = queries.messages_of(session, patient_id, conversation_id)
        parent = next(
            (r for r in reversed(rows) if r.direction == Direction.INBOUND.value),
            next((r for r in reversed(rows) if r.direction != Direction.NOTICE.value), None),
        )
        keys = _keys(session, rt, patient_id, {conversation.key_id})
        subject = store.unseal(
            keys[conversation.key_id],
            conversation.subject_sealed,
            patient_id,
            conversation.id,
            "subject",
        )
        parent_refs = (parent.thread_references or "").split() if parent else []
        message = _send(
            session,
            rt,
            ctx,
            record,
            conversation,
            _Draft(
                to=conversation.counterpart,
                to_name=conversation.counterpart_name,
                subject=reply_subject(subject),
                body=text,
                in_reply_to=parent.rfc_message_id if parent else None,
                references=reply_references(parent_refs, parent.rfc_message_id) if parent else (),
                files=files,
            ),
        )
        return _view(session, rt, message)


@dataclass(frozen=True)
class PharmacyOffer:
    """MSG-9, MSG-10: what the "write to my pharmacy" screen shows."""

    pharmacies: tuple[PharmacyView, ...]
    subject: str
    prefilled_message: str
    reminder: str


def pharmacies_for(
    rt: Runtime, ctx: RequestContext, patient_id: str, search: str | None = None
) -> PharmacyOffer:
    """MSG-10: pharmacies with an organisational mailbox, those of the patient's history first
    (the pharmacies that dispensed to him, as his documents tell, and those he wrote to), then
    what ``search`` finds."""
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        history = {
            d.author_establishment_id
            for d in gate.list_documents(session, ctx, record)
            if d.author_establishment_id
        }
        written = {
            c.counterpart for c in queries.conversations_of(session, patient_id) if c.pharmacy
        }
        found = queries.pharmacies(session, history, written, search)
        return PharmacyOffer(
            tuple(found), PHARMACY_SUBJECT[0], PHARMACY_PREFILL[0], PAPER_PRESCRIPTION_REMINDER[0]
        )


def write_to_pharmacy(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    mailbox: str,
    body: str,
    *,
    subject: str | None = None,
    document_ids: Sequence[str] = (),
) -> MessageView:
    """MSG-9: a new conversation with a pharmacy's organisational mailbox, the chosen documents
    attached (the reminder to bring the paper prescription goes with the offer)."""
    text = _text(body)
    files = _documents(rt, ctx, patient_id, document_ids)
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.SEND_MESSAGE)
        entry = directory_entry(session, mailbox)
        refusal = start_refusal(
            CounterpartFacts(
                in_directory=entry is not None,
                mailbox_kind=entry.kind if entry else None,
                pharmacy=bool(entry and entry.pharmacy),
            )
        )
        if refusal is not None or entry is None:
            _refuse(session, ctx, record, Action.SEND_MESSAGE, None, refusal or ("", ""))
        title = mime.clean_text(subject or PHARMACY_SUBJECT[0], 200).replace("\n", " ").strip()
        key_id, key = current_key(session, rt.master_key, patient_id)
        now = clock.now()
        conversation = Conversation(
            patient_id=patient_id,
            id=new_id(),
            counterpart=entry.address,
            counterpart_name=entry.name,
            counterpart_kind=entry.kind,
            pharmacy=True,
            key_id=key_id,
            subject_sealed=b"",
            started_by="patient",
            state=ConversationState.OPEN.value,
            created_at=now,
            last_message_at=now,
            closed_at=None,
        )
        conversation.subject_sealed = store.seal(
            key, title or PHARMACY_SUBJECT[0], patient_id, conversation.id, "subject"
        )
        session.add(conversation)
        message = _send(
            session,
            rt,
            ctx,
            record,
            conversation,
            _Draft(entry.address, entry.name, title or PHARMACY_SUBJECT[0], text, None, (), files),
        )
        return _view(session, rt, message)


# --------------------------------------------------------------------------------------------
# Attachments (MSG-11)
# --------------------------------------------------------------------------------------------


def read_attachment(
    rt: Runtime, ctx: RequestContext, patient_id: str, message_id: str, attachment_id: str
) -> tuple[queries.AttachmentView, bytes]:
    with rt.transaction() as session:
        record = _open(session, rt, ctx, patient_id, Action.READ_ATTACHMENT)
        attachment = _attachment(session, ctx, record, message_id, attachment_id)
        key = key_by_id(session, rt.master_key, patient_id, attachment.key_id)
        trail.record(
            session,
            ctx,
            Action.READ_ATTACHMENT,
            patient_id=patient_id,
            target=attachment.id,
            on_behalf_of=record.on_behalf_of,
        )
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
) -> Document:
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
        record = _open(session, rt, ctx, patient_id, Action.SAVE_ATTACHMENT)
        attachment = _attachment(session, ctx, record, message_id, attachment_id)
        attachment.document_id = document.id
        trail.record(
            session,
            ctx,
            Action.SAVE_ATTACHMENT,
            patient_id=patient_id,
            document=trail.DocumentRef(document.id, document.version, document.sha256),
            target=attachment.id,
            on_behalf_of=record.on_behalf_of,
        )
    return document


# --------------------------------------------------------------------------------------------
# Helpers: finding a row of this mailbox, or answering "not found" (traced)
# --------------------------------------------------------------------------------------------


def _keys(session: Session, rt: Runtime, patient_id: str, key_ids: set[str]) -> dict[str, bytes]:
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


def _conversation(
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


def _message(
    session: Session, ctx: RequestContext, record: gate.OpenRecord, message_id: str, action: Action
) -> Message:
    row = session.get(Message, (record.patient.id, message_id))
    if row is None:
        raise _absent(session, ctx, record, action, message_id)
    return row


def _attachment(
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


def _refuse(
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


def _view(session: Session, rt: Runtime, message: Message) -> MessageView:
    key = key_by_id(session, rt.master_key, message.patient_id, message.key_id)
    files = queries.attachments_of(session, message.patient_id, [message.id])
    return queries.message_view(key, message, files, with_body=True)
