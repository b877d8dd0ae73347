"""A pro's hosted MSSanté mailbox, as the portal shows it: what patients sent him (their answers
and read receipts, delivered locally by ``messaging.delivery``), and writing to a patient.

Writing goes through the very use case the SMTP door calls (``messaging.inbound.receive_message``):
the patient's mailbox cannot tell a message from the portal from one of a practice's software, and
its rules (MSG-2, MSG-3 ``[FIN]``, MSG-6 read receipts, MSG-8 notifications) apply once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.context import RequestContext
from carnet.errors import Forbidden, Invalid, NotFound
from carnet.identity.ins import validate_ins
from carnet.identity.models import Mailbox
from carnet.ids import new_id
from carnet.keys.service import key_by_id
from carnet.messaging import mime, store
from carnet.messaging.inbound import InboundMail, receive_message
from carnet.messaging.models import HostedMail
from carnet.messaging.rules import FIN_SUBJECT, patient_address
from carnet.runtime import Runtime

MAX_TEXT = 100_000
PAGE = 200


@dataclass(frozen=True)
class HostedMessage:
    id: str
    sender: str
    sender_name: str
    subject: str
    body: str
    delivered_at: datetime
    read: bool
    receipt: bool
    message_id: str | None


@dataclass(frozen=True)
class Sent:
    conversation_id: str
    message_id: str


def hosted_mailbox(rt: Runtime, ctx: RequestContext) -> str | None:
    """The caller's personal mailbox, when the platform hosts it."""
    if ctx.pro is None:
        return None
    with rt.transaction() as session:
        return session.execute(
            select(Mailbox.address)
            .where(Mailbox.owner_rpps == ctx.pro.rpps, Mailbox.hosted_here.is_(True))
            .order_by(Mailbox.address)
            .limit(1)
        ).scalar_one_or_none()


def _own_box(rt: Runtime, ctx: RequestContext) -> str:
    box = hosted_mailbox(rt, ctx)
    if box is None:
        raise Forbidden(
            "Votre messagerie n'est pas hébergée par la plateforme.",
            "Your mailbox is not hosted by the platform.",
            code="no_hosted_mailbox",
        )
    return box


DESTROYED = (
    "Message illisible : l'expéditeur a fait supprimer les données de son espace santé (LC-5)."
)


def _view(rt: Runtime, row: HostedMail, key: bytes | None) -> HostedMessage:
    if key is None:
        return HostedMessage(
            id=row.id,
            sender=row.mail_from,
            sender_name=row.mail_from,
            subject=DESTROYED,
            body="",
            delivered_at=row.delivered_at,
            read=row.read_at is not None,
            receipt=False,
            message_id=None,
        )
    raw = store.get(rt, key, row.blob_key)
    parsed = mime.parse(raw)
    return HostedMessage(
        id=row.id,
        sender=row.mail_from,
        sender_name=parsed.author_name or row.mail_from,
        subject=parsed.subject,
        body=parsed.body,
        delivered_at=row.delivered_at,
        read=row.read_at is not None,
        receipt=b"disposition-notification" in raw[:4000].lower(),
        message_id=parsed.message_id,
    )


def inbox(rt: Runtime, ctx: RequestContext) -> tuple[str, list[HostedMessage]]:
    """The mailbox's address and what arrived, the latest first."""
    box = _own_box(rt, ctx)
    with rt.transaction() as session:
        rows = list(
            session.scalars(
                select(HostedMail)
                .where(HostedMail.mailbox == box)
                .order_by(HostedMail.delivered_at.desc())
                .limit(PAGE)
            )
        )
        keys = {(r.patient_id, r.key_id): _key(session, rt, r) for r in rows}
    return box, [_view(rt, r, keys[(r.patient_id, r.key_id)]) for r in rows]


def _key(session: Session, rt: Runtime, row: HostedMail) -> bytes | None:
    """The sender's data key; ``None`` once his archives were destroyed (LC-5): his copy here
    can no longer be read by anyone, and says so."""
    try:
        return key_by_id(session, rt.master_key, row.patient_id, row.key_id)
    except NotFound:
        return None


def open_message(rt: Runtime, ctx: RequestContext, mail_id: str) -> HostedMessage:
    box = _own_box(rt, ctx)
    with rt.transaction() as session:
        row = session.execute(
            select(HostedMail).where(HostedMail.id == mail_id, HostedMail.mailbox == box)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound()
        row.read_at = row.read_at or clock.now()
        key = _key(session, rt, row)
    return _view(rt, row, key)


def write_to_patient(
    rt: Runtime,
    ctx: RequestContext,
    ins: str,
    subject: str,
    body: str,
    *,
    read_receipt: bool = False,
    end_conversation: bool = False,
    in_reply_to: str | None = None,
) -> Sent:
    """A message from the pro's hosted mailbox to the patient's (ID-2). ``end_conversation``
    sends the MSSanté end marker: the subject ``[FIN]`` (MSG-3)."""
    box = _own_box(rt, ctx)
    to = patient_address(validate_ins(ins), rt.settings.patient_mail_domain)
    subject = FIN_SUBJECT if end_conversation else mime.clean_text(subject, 200).strip()
    text = mime.clean_text(body)
    if not subject or (not text.strip() and not end_conversation) or len(text) > MAX_TEXT:
        raise Invalid(
            "Un objet et un texte sont nécessaires (100 000 caractères au plus).",
            "A subject and some text are needed (100,000 characters at most).",
            code="bad_text",
        )
    with rt.transaction() as session:
        name = session.execute(
            select(Mailbox.display_name).where(Mailbox.address == box)
        ).scalar_one()
    raw = mime.compose(
        mime.Outgoing(
            message_id=mime.make_message_id(new_id(), box.partition("@")[2] or "carnet.localhost"),
            mail_from=box,
            from_name=name,
            to=to,
            to_name="",
            subject=subject,
            body=text or "Fin de la conversation.",
            date=clock.now(),
            in_reply_to=in_reply_to,
            references=(in_reply_to,) if in_reply_to else (),
        )
    )
    if read_receipt:
        raw = b"Disposition-Notification-To: " + box.encode() + b"\r\n" + raw
    delivered = receive_message(rt, InboundMail(box, [to], raw))[0]
    return Sent(delivered.conversation_id, delivered.message_id)
