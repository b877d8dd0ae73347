"""Mail arriving for patients (MSG-1…MSG-5, MSG-8): who may send, who receives, filing it.

``receive_message`` is what a ``250`` answers: it returns once every recipient's copy is durable
(the raw message and its files encrypted and fsync'd, the rows committed). It works in three
steps so that the disk's slow part runs outside the database's write lock: check the recipients
and fetch their keys; write the blobs; file the messages in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.ids import new_id
from carnet.keys.service import current_key
from carnet.messaging import mime, store
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.queries import DirectoryEntry, directory_entry
from carnet.messaging.refusals import MessageRefused, SenderRefused, Undeliverable
from carnet.messaging.rules import (
    ConversationFacts,
    ConversationState,
    Direction,
    Placement,
    RecipientProblem,
    SenderFacts,
    ins_of_address,
    is_fin,
    normalized_message_id,
    placement,
    receipt_allowed,
    recipient_problem,
    sender_refusal,
    stored_references,
    thread_keys,
)
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime


@dataclass(frozen=True)
class InboundMail:
    """What an SMTP transaction hands over: the envelope and the bytes after DATA."""

    sender: str
    recipients: Sequence[str]
    raw: bytes


@dataclass(frozen=True)
class Delivered:
    patient_id: str
    message_id: str
    conversation_id: str
    duplicate: bool


def sender_status(
    rt: Runtime,
    address: str,
    *,
    client_certificate_verified: bool = False,
) -> DirectoryEntry:
    """MSG-2: the sender's directory entry, or ``SenderRefused`` (at ``MAIL FROM``)."""
    with rt.transaction() as session:
        entry = directory_entry(session, address)
    refusal = sender_refusal(
        SenderFacts(
            mailbox_kind=entry.kind if entry else None,
            client_certificate_required=rt.settings.smtp_client_ca_file is not None,
            client_certificate_verified=client_certificate_verified,
        )
    )
    if refusal is not None or entry is None:
        raise SenderRefused(*(refusal or ("", "")))
    return entry


def _patient_for(session: Session, rt: Runtime, address: str) -> Patient:
    """The patient an address names, or ``Undeliverable`` with the MSG-4 text (ID-1)."""
    try:
        ins = ins_of_address(address, rt.settings.patient_mail_domain)
    except ValueError:
        raise Undeliverable(RecipientProblem.INVALID, address) from None
    if ins is None:
        raise Undeliverable(RecipientProblem.NOT_HERE, address)
    patient = session.execute(select(Patient).where(Patient.ins == ins)).scalar_one_or_none()
    problem = recipient_problem(True, ProfileState(patient.state) if patient else None)
    if problem is not None or patient is None:
        raise Undeliverable(problem or RecipientProblem.ABSENT, address)
    return patient


def recipient_status(rt: Runtime, address: str) -> str:
    """MSG-4 at ``RCPT TO``: the patient's id, or ``Undeliverable`` saying why."""
    with rt.transaction() as session:
        return _patient_for(session, rt, address).id


@dataclass
class _Copy:
    """One recipient's copy while it is being filed."""

    patient_id: str
    activated: bool
    key_id: str
    key: bytes
    message_id: str
    raw_key: str = ""
    files: tuple[tuple[str, str, mime.ParsedAttachment], ...] = ()


def receive_message(rt: Runtime, mail: InboundMail) -> list[Delivered]:
    """File a message for each recipient; all or none (a refusal names the first failing)."""
    try:
        parsed = mime.parse(mail.raw)
    except mime.Unreadable as unreadable:
        raise MessageRefused(unreadable.fr, unreadable.en) from None
    rfc_id = normalized_message_id(parsed.message_id) or (
        f"<{hashlib.sha256(mail.raw).hexdigest()[:40]}@{rt.settings.patient_mail_domain}>"
    )
    with rt.transaction() as session:
        sender = directory_entry(session, mail.sender)
        if sender is None:
            raise SenderRefused(*(sender_refusal(SenderFacts(None)) or ("", "")))
        copies: list[_Copy] = []
        for address in dict.fromkeys(mail.recipients):
            patient = _patient_for(session, rt, address)
            if any(c.patient_id == patient.id for c in copies):
                continue
            key_id, key = current_key(session, rt.master_key, patient.id)
            copies.append(
                _Copy(
                    patient.id,
                    patient.state == ProfileState.ACTIVATED.value,
                    key_id,
                    key,
                    new_id(),
                )
            )
    written: list[str] = []
    try:
        for copy in copies:
            copy.raw_key = store.put(rt, copy.key, copy.patient_id, copy.message_id, mail.raw)
            written.append(copy.raw_key)
            files = []
            for attachment in parsed.attachments:
                attachment_id = new_id()
                name = store.put(rt, copy.key, copy.patient_id, attachment_id, attachment.content)
                written.append(name)
                files.append((attachment_id, name, attachment))
            copy.files = tuple(files)
        with rt.transaction() as session:
            delivered = [_file(session, rt, sender, parsed, rfc_id, mail, copy) for copy in copies]
    except BaseException:
        store.forget(rt, written)
        raise
    store.forget(
        rt,
        [
            name
            for d, copy in zip(delivered, copies, strict=True)
            if d.duplicate
            for name in (copy.raw_key, *(f[1] for f in copy.files))
        ],
    )
    return delivered


def _file(
    session: Session,
    rt: Runtime,
    sender: DirectoryEntry,
    parsed: mime.ParsedMail,
    rfc_id: str,
    mail: InboundMail,
    copy: _Copy,
) -> Delivered:
    patient = session.get(Patient, copy.patient_id)
    if patient is None or recipient_problem(True, ProfileState(patient.state)) is not None:
        raise Undeliverable(
            recipient_problem(True, ProfileState(patient.state) if patient else None)
            or RecipientProblem.ABSENT,
            f"{patient.ins if patient else ''}@{rt.settings.patient_mail_domain}",
        )
    pid = copy.patient_id
    already = session.execute(
        select(Message.id, Message.conversation_id).where(
            Message.patient_id == pid,
            Message.counterpart == sender.address,
            Message.rfc_message_id == rfc_id,
        )
    ).first()
    if already is not None:
        return Delivered(pid, already[0], already[1], duplicate=True)
    now = clock.now()
    fin = is_fin(parsed.subject, parsed.mss_mes)
    conversation = _thread(session, pid, sender.address, parsed, fin)
    if placement(_facts(conversation), fin) is Placement.NEW or conversation is None:
        conversation = Conversation(
            patient_id=pid,
            id=new_id(),
            counterpart=sender.address,
            counterpart_name=sender.name,
            counterpart_kind=sender.kind,
            pharmacy=sender.pharmacy,
            key_id=copy.key_id,
            subject_sealed=b"",
            started_by="pro",
            state=ConversationState.OPEN.value,
            created_at=now,
            last_message_at=now,
            closed_at=None,
        )
        conversation.subject_sealed = store.seal(
            copy.key, parsed.subject, pid, conversation.id, "subject"
        )
        session.add(conversation)
    conversation.last_message_at = now
    if fin and conversation.state == ConversationState.OPEN.value:
        conversation.state, conversation.closed_at = ConversationState.CLOSED.value, now  # MSG-3
    receipt_to = parsed.receipt_to
    if receipt_to and not receipt_allowed(
        receipt_to, mail.sender, directory_entry(session, receipt_to) is not None
    ):
        receipt_to = None
    session.add(
        Message(
            patient_id=pid,
            id=copy.message_id,
            conversation_id=conversation.id,
            direction=Direction.INBOUND.value,
            counterpart=sender.address,
            rfc_message_id=rfc_id,
            thread_references=" ".join(stored_references(parsed.references)) or None,
            author_name=parsed.author_name or sender.name,
            key_id=copy.key_id,
            subject_sealed=store.seal(copy.key, parsed.subject, pid, copy.message_id, "subject"),
            body_sealed=store.seal(copy.key, parsed.body, pid, copy.message_id, "body"),
            raw_blob_key=copy.raw_key,
            raw_size=len(mail.raw),
            raw_sha256=hashlib.sha256(mail.raw).hexdigest(),
            fin=fin,
            receipt_to=receipt_to,
            receipt_sent_at=None,
            delivery=None,
            created_at=now,
            read_at=None,
        )
    )
    for attachment_id, name, attachment in copy.files:
        session.add(
            Attachment(
                patient_id=pid,
                id=attachment_id,
                message_id=copy.message_id,
                filename=attachment.filename,
                mime_type=attachment.mime_type,
                size=len(attachment.content),
                sha256=hashlib.sha256(attachment.content).hexdigest(),
                blob_key=name,
                key_id=copy.key_id,
                document_id=None,
                created_at=now,
            )
        )
    # MSG-5, MSG-8: by e-mail always; in the notification centre once activated.
    enqueue(
        session,
        pid,
        Kind.MESSAGE_RECEIVED,
        {"who": sender.name, "centre": "1" if copy.activated else "0"},
    )
    trail.record(
        session,
        sender.context(),
        Action.RECEIVE_MESSAGE,
        patient_id=pid,
        target=copy.message_id,
        detail={"mailbox": sender.address, "conversation": conversation.id, "fin": fin},
    )
    return Delivered(pid, copy.message_id, conversation.id, duplicate=False)


def _facts(conversation: Conversation | None) -> ConversationFacts | None:
    if conversation is None:
        return None
    return ConversationFacts(ConversationState(conversation.state), conversation.pharmacy)


def _thread(
    session: Session, patient_id: str, counterpart: str, parsed: mime.ParsedMail, fin: bool
) -> Conversation | None:
    """The conversation this message answers (In-Reply-To, References) with this mailbox; for
    a ``[FIN]`` that names none, the latest open conversation with it (MSG-3)."""
    keys = thread_keys(parsed.in_reply_to, parsed.references)
    if keys:
        found = dict(
            session.execute(
                select(Message.rfc_message_id, Message.conversation_id).where(
                    Message.patient_id == patient_id,
                    Message.counterpart == counterpart,
                    Message.rfc_message_id.in_(keys),
                )
            ).all()
        )
        for key in keys:
            if key in found:
                return session.get(Conversation, (patient_id, found[key]))
    if not fin:
        return None
    return session.scalars(
        select(Conversation)
        .where(
            Conversation.patient_id == patient_id,
            Conversation.counterpart == counterpart,
            Conversation.state == ConversationState.OPEN.value,
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    ).first()
