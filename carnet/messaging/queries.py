"""Read paths of messaging: the directory as the mailbox sees it, and the views it returns.

The views are plain frozen dataclasses: doors shape them, they never see a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carnet.context import ActorKind, Door, RequestContext
from carnet.identity.models import Establishment, EstablishmentKind, Mailbox, MailboxKind, Pro
from carnet.messaging import store
from carnet.messaging.models import Attachment, Conversation, Message, OutgoingMail
from carnet.messaging.rules import ConversationState, Direction, PharmacyChoice, order_pharmacies
from carnet.relay.queue import QueuedMail
from carnet.relay.rules import domain_of

#: Who writes for a structure's mailbox in the trace log, when no RPPS is behind it.
STRUCTURE_ACTOR = "mssante"


@dataclass(frozen=True)
class DirectoryEntry:
    """An MSSanté mailbox of the directory (ID-4), with what messaging needs to know of it."""

    address: str
    kind: str
    name: str
    hosted_here: bool
    pharmacy: bool
    rpps: str | None = None
    profession: str | None = None
    specialty: str | None = None
    finess: str | None = None

    def context(self, door: Door = Door.SMTP) -> RequestContext:
        """Who acts, for the trace log: the pro behind a personal mailbox, else the structure."""
        if self.rpps and self.profession:
            return RequestContext.for_pro(self.rpps, self.profession, self.specialty, door=door)
        return RequestContext(
            kind=ActorKind.SYSTEM,
            actor_id=self.finess or STRUCTURE_ACTOR,
            door=door,
        )


def directory_entry(session: Session, address: str) -> DirectoryEntry | None:
    box = session.get(Mailbox, address.strip().lower())
    if box is None:
        return None
    establishment = (
        session.get(Establishment, box.establishment_id) if box.establishment_id else None
    )
    pro = session.get(Pro, box.owner_rpps) if box.owner_rpps else None
    return DirectoryEntry(
        address=box.address,
        kind=box.kind,
        name=box.display_name or box.address,
        hosted_here=box.hosted_here,
        pharmacy=establishment is not None and establishment.kind == EstablishmentKind.PHARMACY,
        rpps=pro.rpps if pro else None,
        profession=pro.profession if pro else None,
        specialty=pro.specialty if pro else None,
        finess=establishment.finess if establishment else None,
    )


@dataclass(frozen=True)
class PharmacyView:
    mailbox: str
    name: str
    city: str | None
    postal_code: str | None
    from_history: bool


def pharmacies(
    session: Session, establishment_ids: set[str], mailboxes: set[str], search: str | None
) -> list[PharmacyView]:
    """MSG-10: pharmacies with an organisational mailbox — those of the patient's history
    (``establishment_ids``, ``mailboxes``) and, with ``search``, those the search finds."""
    query = (
        select(Mailbox, Establishment)
        .join(Establishment, Establishment.id == Mailbox.establishment_id)
        .where(
            Mailbox.kind == MailboxKind.ORGANISATIONAL.value,
            Establishment.kind == EstablishmentKind.PHARMACY.value,
        )
    )
    known = or_(
        Establishment.id.in_(sorted(establishment_ids)), Mailbox.address.in_(sorted(mailboxes))
    )
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        found = or_(
            func.lower(Establishment.name).like(pattern),
            func.lower(Establishment.city).like(pattern),
            Establishment.postal_code.like(pattern),
            Mailbox.address.like(pattern),
        )
        query = query.where(or_(known, found))
    else:
        query = query.where(known)
    rows = session.execute(query.limit(200)).all()
    details = {box.address: establishment for box, establishment in rows}
    choices = [
        PharmacyChoice(
            box.address,
            establishment.name,
            establishment.id in establishment_ids or box.address in mailboxes,
        )
        for box, establishment in rows
    ]
    return [
        PharmacyView(
            c.mailbox,
            c.name,
            details[c.mailbox].city,
            details[c.mailbox].postal_code,
            c.from_history,
        )
        for c in order_pharmacies(choices)
    ][:50]


# --------------------------------------------------------------------------------------------
# Views of a mailbox
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    id: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    document_id: str | None


@dataclass(frozen=True)
class MessageView:
    id: str
    conversation_id: str
    direction: str
    counterpart: str
    author_name: str
    subject: str
    body: str | None
    created_at: datetime
    read: bool
    fin: bool
    receipt_requested: bool
    delivery: str | None
    attachments: tuple[AttachmentView, ...]


@dataclass(frozen=True)
class ConversationView:
    id: str
    counterpart: str
    counterpart_name: str
    counterpart_kind: str
    pharmacy: bool
    subject: str
    state: str
    started_by: str
    created_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    unread: int
    can_reply: bool


@dataclass(frozen=True)
class MailboxView:
    address: str
    conversations: tuple[ConversationView, ...]


def conversation_view(key: bytes, row: Conversation, unread: int) -> ConversationView:
    return ConversationView(
        id=row.id,
        counterpart=row.counterpart,
        counterpart_name=row.counterpart_name,
        counterpart_kind=row.counterpart_kind,
        pharmacy=row.pharmacy,
        subject=store.unseal(key, row.subject_sealed, row.patient_id, row.id, "subject"),
        state=row.state,
        started_by=row.started_by,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        closed_at=row.closed_at,
        unread=unread,
        can_reply=row.state == ConversationState.OPEN.value,
    )


def message_view(
    key: bytes, row: Message, attachments: list[Attachment], *, with_body: bool
) -> MessageView:
    return MessageView(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        counterpart=row.counterpart,
        author_name=row.author_name,
        subject=store.unseal(key, row.subject_sealed, row.patient_id, row.id, "subject"),
        body=store.unseal(key, row.body_sealed, row.patient_id, row.id, "body")
        if with_body
        else None,
        created_at=row.created_at,
        read=row.read_at is not None or row.direction != Direction.INBOUND.value,
        fin=row.fin,
        receipt_requested=row.receipt_to is not None,
        delivery=row.delivery,
        attachments=tuple(
            AttachmentView(a.id, a.filename, a.mime_type, a.size, a.sha256, a.document_id)
            for a in attachments
            if a.message_id == row.id
        ),
    )


def outgoing_queue(session: Session, failed_since: datetime | None, limit: int) -> list[QueuedMail]:
    """Patients' mail waiting for the relay, oldest first; with ``failed_since``, the mail
    given up since then instead."""
    query = select(OutgoingMail)
    if failed_since is None:
        query = query.where(OutgoingMail.state == "queued").order_by(OutgoingMail.created_at)
    else:
        query = query.where(
            OutgoingMail.state == "failed", OutgoingMail.done_at >= failed_since
        ).order_by(OutgoingMail.done_at)
    return [
        QueuedMail(
            queue="outgoing",
            kind=row.kind,
            id=row.id,
            rcpt_domain=domain_of(row.rcpt_to),
            state=row.state,
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at if row.state == "queued" else None,
            last_error=row.last_error,
        )
        for row in session.scalars(query.limit(limit))
    ]


def outgoing_waiting(session: Session) -> int:
    """Patients' mail waiting for the relay (``/metrics``)."""
    return (
        session.scalar(
            select(func.count()).select_from(OutgoingMail).where(OutgoingMail.state == "queued")
        )
        or 0
    )
