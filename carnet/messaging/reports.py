"""Mail with the null reverse-path (``MAIL FROM:<>``): delivery reports (RFC 3464) and read
receipts (RFC 8098) about messages a patient sent (issue 16).

RFC 5321 §4.5.5 requires a server to accept the null reverse-path: it is how bounces and pros'
read receipts come back. Such a mail has no sender to check against the directory, so it is
filed only where it cannot be abused: as a notice (``Direction.NOTICE``) in the conversation of
the message it reports on — found by its Message-ID among what *this* patient sent (ids Carnet
made, not guessable). A report about nothing the patient sent is refused (554), so the null
reverse-path is no way to put text in a patient's mailbox.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message as EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import ActorKind, Door, RequestContext
from carnet.keys.service import key_by_id
from carnet.messaging import mime, store
from carnet.messaging.filing import Delivered
from carnet.messaging.models import Conversation, Message
from carnet.messaging.notices import file_notice
from carnet.messaging.refusals import MessageRefused
from carnet.messaging.rules import (
    Direction,
    ReportKind,
    message_ids,
    normalized_message_id,
    report_notice,
    thread_keys,
)
from carnet.runtime import Runtime

MAX_DETAIL = 300


@dataclass(frozen=True)
class Report:
    """What a report says, as far as the patient needs it."""

    kind: ReportKind
    original_ids: tuple[str, ...]
    recipient: str | None
    detail: str | None
    message_id: str | None


def _fields(text: str) -> dict[str, str]:
    """``Name: value`` lines of a report's machine part (folded lines joined), names lowered;
    the first of each name wins."""
    fields: dict[str, str] = {}
    name = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            fields[name] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip():
            name = key.strip().lower()
            fields.setdefault(name, value.strip())
        else:
            name = None
    return fields


def _text_of(part: EmailMessage) -> str:
    payload = part.get_payload(decode=False)
    if isinstance(payload, list):  # message/delivery-status: the blocks as messages
        return "\n\n".join(
            block.as_string() for block in payload if isinstance(block, EmailMessage)
        )
    return str(payload)


def _address(value: str | None) -> str | None:
    """``rfc822; dr@x.fr`` → ``dr@x.fr``."""
    if not value:
        return None
    return mime.clean_text(value.rpartition(";")[2].strip().strip("<>"), 320) or None


def read_report(raw: bytes) -> Report:
    """The report's kind, the ids of the message it reports on and for whom; what is not a
    report at all (no machine part) is ``ReportKind.OTHER``."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    kind, recipient, detail = ReportKind.OTHER, None, None
    ids: list[str] = []
    for part in parsed.walk():
        content_type = part.get_content_type()
        if content_type == "message/disposition-notification":
            fields = _fields(_text_of(part))
            disposition = fields.get("disposition", "").lower()
            kind = ReportKind.READ if "displayed" in disposition else ReportKind.OTHER
            recipient = _address(fields.get("final-recipient"))
            ids += message_ids(fields.get("original-message-id"))
        elif content_type == "message/delivery-status":
            fields = _fields(_text_of(part))
            action = fields.get("action", "").lower()
            kind = {
                "failed": ReportKind.FAILED,
                "delayed": ReportKind.DELAYED,
                "delivered": ReportKind.DELIVERED,
                "relayed": ReportKind.DELIVERED,
                "expanded": ReportKind.DELIVERED,
            }.get(action, ReportKind.OTHER)
            recipient = _address(fields.get("final-recipient") or fields.get("original-recipient"))
            found = " ".join(v for v in (fields.get("status"), fields.get("diagnostic-code")) if v)
            detail = mime.clean_text(found, MAX_DETAIL).replace("\n", " ") or None
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            ids += message_ids(_fields(_text_of(part)).get("message-id"))
        elif content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
                ids += message_ids(inner[0].get("Message-ID"))
    ids += thread_keys(parsed.get("In-Reply-To"), parsed.get("References"))
    return Report(
        kind=kind,
        original_ids=tuple(dict.fromkeys(ids)),
        recipient=recipient,
        detail=detail,
        message_id=normalized_message_id(parsed.get("Message-ID")),
    )


def _no_original() -> MessageRefused:
    return MessageRefused(
        "Avis refusé : il ne se rapporte à aucun message envoyé depuis cette boîte "
        "(l'adresse d'expéditeur vide est réservée aux avis de remise et de lecture).",
        "Report refused: it refers to no message sent from this mailbox (the null sender is "
        "for delivery reports and read receipts only).",
    )


def _file(session: Session, rt: Runtime, patient_id: str, report: Report, raw: bytes) -> Delivered:
    sent = session.scalars(
        select(Message).where(
            Message.patient_id == patient_id,
            Message.direction == Direction.OUTBOUND.value,
            Message.rfc_message_id.in_(report.original_ids),
        )
    ).first()
    if sent is None or not report.original_ids:
        raise _no_original()
    conversation = session.get(Conversation, (patient_id, sent.conversation_id))
    if conversation is None:
        raise _no_original()
    rfc_id = report.message_id or f"<{hashlib.sha256(raw).hexdigest()[:40]}@report.invalid>"
    counterpart = report.recipient or sent.counterpart
    already = session.scalars(
        select(Message.id).where(
            Message.patient_id == patient_id,
            Message.counterpart == counterpart,
            Message.rfc_message_id == rfc_id,
        )
    ).first()
    if already is not None:  # a sending server that retries after a lost 250
        return Delivered(patient_id, already, conversation.id, duplicate=True)
    key = key_by_id(session, rt.master_key, patient_id, conversation.key_id)
    sent_key = key_by_id(session, rt.master_key, patient_id, sent.key_id)
    original_subject = store.unseal(sent_key, sent.subject_sealed, patient_id, sent.id, "subject")
    subject, fr, en = report_notice(report.kind, counterpart, original_subject, report.detail)
    notice_id = file_notice(
        session,
        key,
        conversation,
        counterpart=counterpart,
        subject=subject,
        fr=fr,
        en=en,
        rfc_id=rfc_id,
        raw=raw,
    )
    if report.kind is ReportKind.FAILED:
        trail.record(
            session,
            RequestContext(kind=ActorKind.SYSTEM, actor_id="mssante", door=Door.SMTP),
            Action.MESSAGE_UNDELIVERABLE,
            patient_id=patient_id,
            outcome=Outcome.DENIED,
            target=sent.id,
            detail={"mailbox": counterpart},
        )
    return Delivered(patient_id, notice_id, conversation.id, duplicate=False)


PatientLookup = Callable[[Session, str], str]
"""``inbound._patient_for``: the patient an address names, or ``Undeliverable`` (MSG-4)."""


def receive_report(
    rt: Runtime, raw: bytes, recipients: Sequence[str], patient_for: PatientLookup
) -> list[Delivered]:
    """File a null-sender mail for each recipient, all or none: durable when this returns."""
    if mime.too_nested(raw):
        raise MessageRefused(
            "Message refusé : structure MIME trop imbriquée.",
            "Message refused: MIME structure nested too deeply.",
        )
    try:
        report = read_report(raw)
    except RecursionError:
        raise _no_original() from None
    with rt.transaction() as session:
        return [
            _file(session, rt, patient_for(session, address), report, raw)
            for address in dict.fromkeys(recipients)
        ]
