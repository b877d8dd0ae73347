"""The portal's mailbox, for pros whose MSSanté mailbox the platform hosts: what patients sent
(answers, read receipts, MSG-6), and writing to a patient, ``[FIN]`` included (MSG-3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from carnet.hosted import mailbox
from carnet.texts import N_
from carnet.web import views
from carnet.web.deps import Csrf, PageRoute, ProSession, Rt
from carnet.web.render import redirect, render

router = APIRouter(prefix="/pro/messagerie", route_class=PageRoute, include_in_schema=False)


def _values(me: ProSession, **values: object) -> dict[str, object]:
    return {"me": me, "profession_label": views.profession_label(me.profession), **values}


@router.get("")
def inbox(request: Request, rt: Rt, me: ProSession, ok: str | None = None) -> Response:
    address, messages = mailbox.inbox(rt, me.context())
    return render(
        request,
        "pro/mailbox.html",
        _values(
            me,
            title=N_("Messagerie"),
            address=address,
            messages=messages,
            notice=N_("Message envoyé.") if ok == "envoye" else None,
        ),
    )


@router.get("/ecrire")
def write_page(
    request: Request, rt: Rt, me: ProSession, ins: str = "", objet: str = "", reponse: str = ""
) -> Response:
    address = mailbox.hosted_mailbox(rt, me.context())
    return render(
        request,
        "pro/write.html",
        _values(
            me,
            title=N_("Écrire à un patient"),
            address=address,
            ins=ins,
            subject=objet,
            in_reply_to=reponse,
        ),
    )


@router.post("/ecrire", dependencies=[Csrf])
def write(
    request: Request,
    rt: Rt,
    me: ProSession,
    ins: Annotated[str, Form(max_length=20)],
    subject: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=100_000)] = "",
    receipt: Annotated[bool, Form()] = False,
    fin: Annotated[bool, Form()] = False,
    in_reply_to: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    mailbox.write_to_patient(
        rt,
        me.context(),
        ins.replace(" ", ""),
        subject,
        body,
        read_receipt=receipt,
        end_conversation=fin,
        in_reply_to=in_reply_to or None,
    )
    return redirect(request, "/pro/messagerie?ok=envoye")


@router.get("/{mail_id}")
def read(request: Request, rt: Rt, me: ProSession, mail_id: str) -> Response:
    message = mailbox.open_message(rt, me.context(), mail_id)
    ins = message.sender.partition("@")[0]
    return render(
        request,
        "pro/mail.html",
        _values(me, title=message.subject, m=message, ins=ins),
    )
