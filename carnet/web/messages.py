"""The patient's mailbox in his space (MSG-*): conversations, reading, replying, writing to a
pharmacy, keeping an attachment. Each act calls the messaging use case the JSON API calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from carnet.messaging import service as messaging
from carnet.messaging.rules import PAPER_PRESCRIPTION_REMINDER, Direction
from carnet.records import service as records
from carnet.texts import N_
from carnet.web.deps import Csrf, PageRoute, PatientCtx, Rt
from carnet.web.patient import _page, content_response
from carnet.web.render import redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
M = "/espace/{patient_id}/messagerie"
#: What a patient may send a pharmacy from his space (MSG-9): prescriptions first.
PRESCRIPTION_CLASS = "42"


@router.get(M)
def inbox(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    box = messaging.list_conversations(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "messages.html",
        {"title": N_("Messagerie"), "box": box},
        "messages",
    )


@router.get(M + "/pharmacie")
def pharmacy_page(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """MSG-9, MSG-10: pick an ordonnance, pick the pharmacy, edit the prefilled text."""
    offer = messaging.pharmacies_for(rt, ctx, patient_id, q or None)
    _, documents = records.list_documents(rt, ctx, patient_id, records.DocumentFilter())
    documents.sort(key=lambda d: (d.class_code != PRESCRIPTION_CLASS, d.title))
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "pharmacy.html",
        {
            "title": N_("Écrire à une pharmacie"),
            "offer": offer,
            "documents": documents,
            "q": q or "",
            "reminder": PAPER_PRESCRIPTION_REMINDER,
        },
        "messages",
    )


@router.post(M + "/pharmacie", dependencies=[Csrf])
def pharmacy_send(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    mailbox: Annotated[str, Form(max_length=320)],
    body: Annotated[str, Form(max_length=100_000)],
    document_id: Annotated[list[str] | None, Form()] = None,
) -> Response:
    message = messaging.write_to_pharmacy(
        rt, ctx, patient_id, mailbox, body, document_ids=document_id or []
    )
    return redirect(request, f"/espace/{patient_id}/messagerie/{message.conversation_id}")


@router.get(M + "/{conversation_id}")
def conversation(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, conversation_id: str
) -> Response:
    """Reading a conversation opens its messages (a read receipt leaves if one was asked, MSG-6);
    a closed one shows closed, without the reply box (MSG-3)."""
    detail = messaging.read_conversation(rt, ctx, patient_id, conversation_id)
    opened = [
        messaging.read_message(rt, ctx, patient_id, m.id) if m.body is None else m
        for m in detail.messages
    ]
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "conversation.html",
        {
            "title": detail.conversation.subject,
            "c": detail.conversation,
            "messages": opened,
            "inbound": Direction.INBOUND.value,
        },
        "messages",
    )


@router.post(M + "/{conversation_id}/repondre", dependencies=[Csrf])
def reply(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    conversation_id: str,
    body: Annotated[str, Form(max_length=100_000)],
) -> Response:
    messaging.reply(rt, ctx, patient_id, conversation_id, body)
    return redirect(request, f"/espace/{patient_id}/messagerie/{conversation_id}")


@router.get(M + "/messages/{message_id}/pieces/{attachment_id}")
def attachment(
    rt: Rt, ctx: PatientCtx, patient_id: str, message_id: str, attachment_id: str
) -> Response:
    view, data = messaging.read_attachment(rt, ctx, patient_id, message_id, attachment_id)
    return content_response(view.filename.rsplit(".", 1)[0], view.mime_type, data, True)


@router.post(M + "/messages/{message_id}/pieces/{attachment_id}/enregistrer", dependencies=[Csrf])
def save_attachment(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    message_id: str,
    attachment_id: str,
    conversation_id: Annotated[str, Form(max_length=32)],
) -> Response:
    """MSG-11: the file becomes a document of the space (DOC-8's checks apply)."""
    messaging.save_attachment(rt, ctx, patient_id, message_id, attachment_id)
    return redirect(request, f"/espace/{patient_id}/messagerie/{conversation_id}?ok=fait")
