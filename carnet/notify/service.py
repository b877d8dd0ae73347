"""Enqueue in the act's transaction; deliver after commit (the worker, ``deliver_pending``)."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.db.base import table_of
from carnet.db.uow import UnitOfWork, before_commit
from carnet.ids import new_id
from carnet.notify.models import Notification, OutboxEvent
from carnet.notify.rules import EMAIL_SUBJECT, Kind, backoff, email_body, texts
from carnet.population.models import Patient

Mailer = Callable[[EmailMessage], None]


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
    if pending:
        session.connection().execute(_NEW_EVENT, pending)


def smtp_mailer(relay: str, local_hostname: str | None = None) -> Mailer:
    """``local_hostname`` names us in EHLO; without it smtplib looks our name up in the DNS."""
    host, _, port = relay.rpartition(":")

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(
            host or "127.0.0.1", int(port), timeout=10, local_hostname=local_hostname
        ) as smtp:
            smtp.send_message(message)

    return send


def deliver_pending(
    uow: UnitOfWork, mailer: Mailer | None, mail_from: str, limit: int = 100
) -> int:
    """Deliver due events: the notification row and the e-mail, then mark delivered.

    At least once, never twice: the notification's id is the event's (a second insert is a
    no-op) and the e-mail's Message-ID is derived from it, so a relay can drop a duplicate.
    """
    delivered = 0
    with uow.transaction() as session:
        due = list(
            session.scalars(
                select(OutboxEvent)
                .where(
                    OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= clock.now()
                )
                .order_by(OutboxEvent.next_attempt_at)
                .limit(limit)
            )
        )
        ids = [(e.patient_id, e.id) for e in due]
    for patient_id, event_id in ids:
        with uow.transaction() as session:
            event = session.get(OutboxEvent, (patient_id, event_id), with_for_update=True)
            if event is None or event.delivered_at is not None:
                continue
            try:
                _deliver(session, event, mailer, mail_from)
            except (OSError, smtplib.SMTPException) as error:
                event.attempts += 1
                event.last_error = type(error).__name__
                event.next_attempt_at = clock.now() + backoff(event.attempts)
                continue
            event.delivered_at = clock.now()
            delivered += 1
    return delivered


def _deliver(session: Session, event: OutboxEvent, mailer: Mailer | None, mail_from: str) -> None:
    kind = Kind(event.kind)
    payload: dict[str, str] = json.loads(event.payload)
    patient = session.get(Patient, event.patient_id)
    if patient is None:
        return
    in_centre = payload.get("centre", "1") == "1"  # MSG-8: messages, once activated only
    if in_centre and session.get(Notification, (patient.id, event.id)) is None:
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
        session.flush()
    if mailer is not None and patient.email:
        message = EmailMessage()
        message["From"] = mail_from
        message["To"] = patient.email
        message["Subject"] = EMAIL_SUBJECT[0]
        message["Message-ID"] = f"<{event.id}@carnet.notifications>"
        message.set_content(email_body(kind))
        mailer(message)
