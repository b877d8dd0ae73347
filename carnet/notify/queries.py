"""Read paths of the outbox: the notification e-mails that wait, and those given up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carnet.notify.models import OutboxEvent
from carnet.population.models import Patient
from carnet.relay.queue import QueuedMail
from carnet.relay.rules import domain_of


def email_queue(session: Session, failed_since: datetime | None, limit: int) -> list[QueuedMail]:
    """Events not delivered yet, oldest first (their e-mail waits, or they were not tried yet);
    with ``failed_since``, the e-mails given up since then instead."""
    query = select(OutboxEvent, Patient.email).join(Patient, Patient.id == OutboxEvent.patient_id)
    if failed_since is None:
        query = query.where(OutboxEvent.delivered_at.is_(None)).order_by(OutboxEvent.created_at)
    else:
        query = query.where(
            OutboxEvent.email_state == "failed", OutboxEvent.delivered_at >= failed_since
        ).order_by(OutboxEvent.delivered_at)
    return [
        QueuedMail(
            queue="notification",
            kind=f"notification:{event.kind}",
            id=event.id,
            rcpt_domain=domain_of(email or ""),
            state="failed" if event.email_state == "failed" else "queued",
            attempts=event.attempts,
            created_at=event.created_at,
            next_attempt_at=None if event.delivered_at else event.next_attempt_at,
            last_error=event.last_error,
        )
        for event, email in session.execute(query.limit(limit)).all()
    ]


def waiting_count(session: Session) -> int:
    """Events not delivered yet (``/metrics``)."""
    return (
        session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
        )
        or 0
    )
