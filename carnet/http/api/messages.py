"""The patient's mailbox, as JSON (MSG-*). ``{patient_id}`` is the space acted on, as in
``patient.py``: one's own, or that of someone one represents."""

from __future__ import annotations

from fastapi import Response

from carnet.http.api.message_schemas import (
    ConversationDetailOut,
    ConversationOut,
    MailboxOut,
    MessageOut,
    PharmacyMessageIn,
    PharmacyMessageOut,
    PharmacyOfferOut,
    PharmacyOut,
    ReplyIn,
    SaveAttachmentIn,
)
from carnet.http.api.schemas import DocumentOut
from carnet.http.deps import PatientCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.messaging import service as messaging
from carnet.messaging.rules import PAPER_PRESCRIPTION_REMINDER

router = PrefixedRouter(prefix="/api/v1", tags=["messagerie"], route_class=OneHop)
P = "/patients/{patient_id}"


@router.get(P + "/conversations", response_model=MailboxOut)
def conversations(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> MailboxOut:
    """The mailbox's address (ID-2) and its conversations, the latest first."""
    mailbox = messaging.list_conversations(rt, ctx, patient_id)
    return MailboxOut(
        address=mailbox.address,
        conversations=[ConversationOut.of(c) for c in mailbox.conversations],
    )


@router.get(P + "/conversations/{conversation_id}", response_model=ConversationDetailOut)
def conversation(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, conversation_id: str
) -> ConversationDetailOut:
    """A conversation and its messages' headings; open a message to read its text."""
    detail = messaging.read_conversation(rt, ctx, patient_id, conversation_id)
    return ConversationDetailOut(
        conversation=ConversationOut.of(detail.conversation),
        messages=[MessageOut.of(m) for m in detail.messages],
    )


@router.post(
    P + "/conversations/{conversation_id}/reply", response_model=MessageOut, status_code=201
)
def reply(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, conversation_id: str, body: ReplyIn
) -> MessageOut:
    """MSG-2: an answer inside an open conversation (MSG-3: never a closed one)."""
    return MessageOut.of(
        messaging.reply(rt, ctx, patient_id, conversation_id, body.body, body.document_ids)
    )


@router.get(P + "/messages/{message_id}", response_model=MessageOut)
def read_message(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, message_id: str) -> MessageOut:
    """Opens a message: marked read; a read receipt leaves once if one was asked (MSG-6)."""
    return MessageOut.of(messaging.read_message(rt, ctx, patient_id, message_id))


@router.post(P + "/messages/{message_id}/read", status_code=204)
def mark_read(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, message_id: str) -> Response:
    messaging.mark_read(rt, ctx, patient_id, message_id)
    return Response(status_code=204)


@router.get(P + "/messages/{message_id}/attachments/{attachment_id}")
def attachment(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, message_id: str, attachment_id: str
) -> Response:
    view, data = messaging.read_attachment(rt, ctx, patient_id, message_id, attachment_id)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "X-Content-SHA256": view.sha256,
            "X-Content-Type": view.mime_type,
            "Content-Disposition": "attachment",
        },
    )


@router.post(
    P + "/messages/{message_id}/attachments/{attachment_id}/save",
    response_model=DocumentOut,
    status_code=201,
)
def save_attachment(
    rt: RuntimeDep,
    ctx: PatientCtx,
    patient_id: str,
    message_id: str,
    attachment_id: str,
    body: SaveAttachmentIn,
) -> DocumentOut:
    """MSG-11: the file becomes a document of the space (Espace personnel)."""
    document = messaging.save_attachment(
        rt,
        ctx,
        patient_id,
        message_id,
        attachment_id,
        title=body.title,
        type_code=body.type_code,
    )
    return DocumentOut.of(document)


@router.get(P + "/pharmacies", response_model=PharmacyOfferOut)
def pharmacies(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, q: str | None = None
) -> PharmacyOfferOut:
    """MSG-10: pharmacies with an organisational mailbox, the patient's own first; ``q``
    searches the others. With the prefilled message and the paper-prescription reminder."""
    offer = messaging.pharmacies_for(rt, ctx, patient_id, q)
    return PharmacyOfferOut(
        pharmacies=[PharmacyOut.of(p) for p in offer.pharmacies],
        subject=offer.subject,
        prefilled_message=offer.prefilled_message,
        reminder=offer.reminder,
    )


@router.post(P + "/pharmacies/messages", response_model=PharmacyMessageOut, status_code=201)
def write_to_pharmacy(
    rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: PharmacyMessageIn
) -> PharmacyMessageOut:
    """MSG-9: a new conversation with a pharmacy's organisational mailbox, documents attached."""
    message = messaging.write_to_pharmacy(
        rt,
        ctx,
        patient_id,
        body.mailbox,
        body.body,
        subject=body.subject,
        document_ids=body.document_ids,
    )
    return PharmacyMessageOut(
        message=MessageOut.of(message), reminder=PAPER_PRESCRIPTION_REMINDER[0]
    )
