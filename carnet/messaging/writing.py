"""The patient writes: answers inside open conversations (MSG-2, MSG-3) and new messages to a
pharmacy's organisational mailbox (MSG-9, MSG-10).

Documents attached from the space are read through the records service first (the gate; each
read traced); the message, its files, its raw form and its place in the outgoing queue commit
together, and it leaves after commit (``messaging.delivery``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.record import Record
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.identity.directory import establishments_by_finess
from carnet.ids import new_id
from carnet.keys.service import current_key
from carnet.messaging import mime, queries, store
from carnet.messaging.delivery import MailKind, queue_mail
from carnet.messaging.mailbox import address_of, keys_of, open_space, refuse, view_of
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.queries import (
    MessageView,
    PharmacyView,
    directory_entry,
)
from carnet.messaging.rules import (
    PAPER_PRESCRIPTION_REMINDER,
    PHARMACY_PREFILL,
    PHARMACY_SUBJECT,
    ConversationFacts,
    ConversationState,
    CounterpartFacts,
    Direction,
    reply_references,
    reply_refusal,
    reply_subject,
    start_refusal,
)
from carnet.records import service as records
from carnet.records.content import file_name
from carnet.runtime import Runtime

#: What one message may carry out, attachments included (the SIZE the MSSanté servers accept).
MAX_OUTGOING_BYTES = 20 * 1024 * 1024
MAX_TEXT = 100_000


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
        files.append(
            mime.ParsedAttachment(
                file_name(document.title, document.mime_type), document.mime_type, data
            )
        )
    return files


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
    record: Record,
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
            mail_from=address_of(rt, patient),
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
        rt.metrics,
        patient_id=patient.id,
        kind=MailKind.MESSAGE,
        mail_from=address_of(rt, patient),
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
        record = open_space(session, rt, ctx, patient_id, Action.SEND_MESSAGE)
        conversation = record.mailbox.conversation(
            conversation_id, Action.SEND_MESSAGE, trace=False
        )
        refusal = reply_refusal(
            ConversationFacts(
                ConversationState(conversation.state),
                conversation.pharmacy,
                organisational=conversation.counterpart_kind == "ORG",
            )
        )
        if refusal is not None:
            refuse(record, Action.SEND_MESSAGE, conversation.id, refusal)
        rows = record.mailbox.messages(conversation_id)
        parent = next(
            (r for r in reversed(rows) if r.direction == Direction.INBOUND.value),
            next((r for r in reversed(rows) if r.direction != Direction.NOTICE.value), None),
        )
        keys = keys_of(session, rt, patient_id, {conversation.key_id})
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
        return view_of(session, rt, record, message)


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
    (the pharmacies of his reimbursed care, seed 001 « L'utilisateur a déjà eu cette pharmacie
    dans son Historique de remboursements », and those he wrote to), then what ``search``
    finds."""
    with rt.transaction() as session:
        record = open_space(session, rt, ctx, patient_id, Action.LIST_MESSAGES)
        history = establishments_by_finess(session, record.profile.pharmacies())
        written = {c.counterpart for c in record.mailbox.conversations() if c.pharmacy}
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
        record = open_space(session, rt, ctx, patient_id, Action.SEND_MESSAGE)
        entry = directory_entry(session, mailbox)
        refusal = start_refusal(
            CounterpartFacts(
                in_directory=entry is not None,
                mailbox_kind=entry.kind if entry else None,
                pharmacy=bool(entry and entry.pharmacy),
            )
        )
        if refusal is not None or entry is None:
            refuse(record, Action.SEND_MESSAGE, None, refusal or ("", ""))
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
        return view_of(session, rt, record, message)
