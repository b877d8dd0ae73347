"""Enqueue in the act's transaction; deliver after commit (the worker, ``deliver_pending``).

Delivering an event writes it into the patient's notification centre and, when he has an
address, sends him an e-mail through the relay (encrypted: ``carnet.relay.client``). The e-mail
is bounded like the patients' own mail: a permanent refusal (5xx) gives it up at once, a
temporary one is retried with back-off until ``CARNET_SMTP_GIVE_UP_HOURS``; a given-up e-mail
is the operator's to know — a log event, a counter, ``carnet mail queue --failed``.
"""

from __future__ import annotations

import email.policy
import json
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from enum import Enum

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit.heads import TreeHead
from carnet.audit.publish import latest_head
from carnet.db.base import table_of
from carnet.db.direct import row_insert
from carnet.db.uow import UnitOfWork, before_commit
from carnet.ids import new_id
from carnet.logs import get_logger
from carnet.metrics import Metrics
from carnet.notify.models import Notification, OutboxEvent
from carnet.notify.rules import EMAIL_SUBJECT, Kind, backoff, email_body, texts
from carnet.population.models import Patient
from carnet.relay.client import RelayConfig, RelayError, send
from carnet.relay.rules import domain_of, enhanced_code
from carnet.settings import Settings

log = get_logger(__name__)

Mailer = Callable[[EmailMessage], None]
#: How long one attempt may take before another worker (or a restart) tries again.
LEASE = timedelta(minutes=5)
#: ``CARNET_SMTP_GIVE_UP_HOURS``'s default, for callers that pass no limit.
GIVE_UP_AFTER = timedelta(days=5)


def enqueue(session: Session, patient_id: str, kind: Kind, payload: dict[str, str]) -> str:
    """An event to deliver once the transaction commits; its id.

    Events wait in the session and go in with one insert just before the commit: no ORM
    object per event, and a batch of received messages writes its events in one
    ``executemany``. Nothing in an act's own transaction reads the outbox back.
    """
    pending: list[dict[str, object]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        before_commit(session, lambda: _insert_pending(session))
    now, event_id = clock.now(), new_id()
    pending.append(
        {
            "patient_id": patient_id,
            "id": event_id,
            "kind": kind.value,
            "payload": json.dumps(payload, ensure_ascii=False),
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "delivered_at": None,
            "last_error": None,
        }
    )
    return event_id


_PENDING = "carnet.notify.pending"
_NEW_EVENT = insert(table_of(OutboxEvent))


def _insert_pending(session: Session) -> None:
    pending: list[dict[str, object]] = session.info.pop(_PENDING, [])
    if len(pending) == 1:
        (event,) = pending
        row_insert(table_of(OutboxEvent), tuple(event)).execute(session.connection(), event)
    elif pending:
        session.connection().execute(_NEW_EVENT, pending)


def smtp_mailer(settings: Settings) -> Mailer:
    """E-mails to patients (notifications, log-in codes) through ``CARNET_SMTP_RELAY``, encrypted
    as the settings say, Carnet naming itself in EHLO; raises ``RelayError``."""
    relay = RelayConfig.from_settings(settings)
    if relay is None:
        raise ValueError("CARNET_SMTP_RELAY is not set")

    def send_one(message: EmailMessage) -> None:
        data = message.as_bytes(policy=email.policy.SMTP)
        send(relay, settings.mail_from, [str(message["To"])], data)

    return send_one


def notification_email(
    kind: Kind,
    event_id: str,
    created_at: datetime,
    to: str,
    mail_from: str,
    log_head: TreeHead | None = None,
) -> EmailMessage:
    """No medical content and no name (``rules.email_body``); a Message-ID derived from the
    event's id (a relay drops a duplicate) in the sender's domain, and the event's Date; the
    access log's latest signed head, as JSON (``carnet verify-log --against`` reads it)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = EMAIL_SUBJECT[0]
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = f"<{event_id}@{domain_of(mail_from) or 'carnet.localhost'}>"
    head = json.dumps(log_head.to_json(), separators=(",", ":")) if log_head else None
    message.set_content(email_body(kind, head), cte="quoted-printable")
    return message


class _Step(Enum):
    DONE = "done"
    NOT_DUE = "not_due"


@dataclass(frozen=True)
class _Leased:
    patient_id: str
    event_id: str
    kind: Kind
    attempt: int
    created_at: datetime
    message: EmailMessage


def deliver_pending(
    uow: UnitOfWork,
    mailer: Mailer | None,
    mail_from: str,
    limit: int = 100,
    *,
    give_up_after: timedelta = GIVE_UP_AFTER,
    metrics: Metrics | None = None,
) -> int:
    """Deliver due events: the notification row, then the e-mail; the number delivered.

    At least once, never twice: the notification's id is the event's (a second insert is a
    no-op) and the e-mail's Message-ID is derived from it, so a relay can drop a duplicate. The
    e-mail leaves with no transaction open: the event is leased first (like ``OutgoingMail``).
    """
    metrics = metrics or Metrics()
    delivered = 0
    with uow.transaction() as session:
        due = list(
            session.execute(
                select(OutboxEvent.patient_id, OutboxEvent.id)
                .where(
                    OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= clock.now()
                )
                .order_by(OutboxEvent.next_attempt_at)
                .limit(limit)
            ).all()
        )
    for patient_id, event_id in due:
        with uow.transaction() as session:
            prepared = _prepare(session, patient_id, event_id, mailer is not None, mail_from)
        if prepared is _Step.NOT_DUE:
            continue
        if prepared is _Step.DONE or mailer is None:
            delivered += 1
            continue
        if prepared.attempt == 1:
            metrics.count("carnet_mail_queued_total", kind="notification")
        try:
            mailer(prepared.message)
        except (OSError, smtplib.SMTPException) as error:
            _not_sent(uow, metrics, prepared, error, give_up_after)
            continue
        if _sent(uow, prepared):
            metrics.count("carnet_mail_sent_total", kind="notification", via="relay")
            delivered += 1
    return delivered


def _prepare(
    session: Session, patient_id: str, event_id: str, can_mail: bool, mail_from: str
) -> _Leased | _Step:
    """The notification centre written, and the e-mail leased: the e-mail to send; ``DONE``
    when the event is done with no e-mail; ``NOT_DUE`` when it is not due (any more)."""
    event = session.get(OutboxEvent, (patient_id, event_id), with_for_update=True)
    now = clock.now()
    if event is None or event.delivered_at is not None or event.next_attempt_at > now:
        return _Step.NOT_DUE
    kind = Kind(event.kind)
    payload: dict[str, str] = json.loads(event.payload)
    patient = session.get(Patient, event.patient_id)
    in_centre = payload.get("centre", "1") == "1"  # MSG-8: messages, once activated only
    if (
        patient is not None
        and in_centre
        and session.get(Notification, (patient.id, event.id)) is None
    ):
        fr, en = texts(kind, payload)
        session.add(
            Notification(
                patient_id=patient.id,
                id=event.id,
                kind=kind.value,
                text_fr=fr,
                text_en=en,
                created_at=event.created_at,
                read_at=None,
            )
        )
    if patient is None or not can_mail or not patient.email:
        event.delivered_at, event.email_state = now, "none"
        return _Step.DONE
    event.attempts += 1
    event.next_attempt_at = now + LEASE
    message = notification_email(
        kind, event.id, event.created_at, patient.email, mail_from, latest_head(session)
    )
    return _Leased(patient.id, event.id, kind, event.attempts, event.created_at, message)


def _sent(uow: UnitOfWork, leased: _Leased) -> bool:
    with uow.transaction() as session:
        event = session.get(OutboxEvent, (leased.patient_id, leased.event_id), with_for_update=True)
        if event is None or event.delivered_at is not None:
            return False
        event.delivered_at, event.email_state, event.last_error = clock.now(), "sent", None
    return True


def _not_sent(
    uow: UnitOfWork,
    metrics: Metrics,
    leased: _Leased,
    error: OSError | smtplib.SMTPException,
    give_up_after: timedelta,
) -> None:
    """A 5xx gives the e-mail up; anything else is retried with back-off until the limit."""
    relay_error = error if isinstance(error, RelayError) else None
    reason = relay_error.reason if relay_error else type(error).__name__
    now = clock.now()
    expired = now - leased.created_at >= give_up_after
    given_up = bool(relay_error and relay_error.permanent) or expired
    with uow.transaction() as session:
        event = session.get(OutboxEvent, (leased.patient_id, leased.event_id), with_for_update=True)
        if event is None or event.delivered_at is not None:
            return
        event.last_error = reason
        if given_up:
            event.delivered_at, event.email_state = now, "failed"
        else:
            event.next_attempt_at = now + backoff(event.attempts)
    described = {
        "outbox_event": leased.event_id,
        "notification": leased.kind.value,
        "attempt": leased.attempt,
        "rcpt_domain": domain_of(str(leased.message["To"])),
        "stage": relay_error.stage.value if relay_error else None,
        "reply_code": relay_error.code if relay_error else None,
        "enhanced_code": enhanced_code(relay_error.text) if relay_error else None,
    }
    if given_up:
        why = "refused" if relay_error and relay_error.permanent else "expired"
        metrics.count("carnet_mail_failed_total", kind="notification", reason=why)
        log.error("notification_email_failed", **described, reason=why)
    else:
        metrics.count("carnet_mail_deferred_total", kind="notification")
        log.warning("notification_email_deferred", **described)
