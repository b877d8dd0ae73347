"""Mail leaving from patients' addresses: a durable queue, retries with back-off, local delivery.

A use case queues a row (with the raw message, an encrypted blob) in its own transaction; the
worker sends after commit. Each attempt first takes a lease on the row (``next_attempt_at`` moved
ahead, committed), then talks to the outside with no transaction open, then records the result:
a crash mid-way sends again after the lease, with the same Message-ID (at least once; receivers
drop duplicates by Message-ID). Mailboxes the platform hosts (the pro portal) get the mail
locally; others through ``CARNET_SMTP_RELAY``. A delivery that fails for good comes back to the
patient as a notice in the conversation (MSG-8).
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import ActorKind, Door, RequestContext
from carnet.db.uow import after_commit
from carnet.errors import IntegrityFailure
from carnet.ids import new_id
from carnet.keys.service import key_by_id
from carnet.logs import get_logger
from carnet.messaging import store
from carnet.messaging.models import Conversation, HostedMail, Message, OutgoingMail
from carnet.messaging.queries import directory_entry
from carnet.messaging.rules import Direction, failure_notice, gives_up, retry_after
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.runtime import Runtime

log = get_logger(__name__)

#: How long an attempt may take before another worker (or a restart) tries again.
LEASE = timedelta(minutes=5)
RELAY_TIMEOUT_SECONDS = 30


class MailKind(StrEnum):
    MESSAGE = "message"
    RECEIPT = "mdn"


class MailState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    LOCAL = "local"
    FAILED = "failed"


class _Waker:
    """Wakes the worker as soon as a use case committed something to send."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._loop, self._event = loop, event

    def wake(self) -> None:
        with self._lock:
            loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


waker = _Waker()


def queue_mail(
    session: Session,
    *,
    patient_id: str,
    kind: MailKind,
    mail_from: str,
    rcpt_to: str,
    blob_key: str,
    key_id: str,
    message_id: str | None,
) -> OutgoingMail:
    now = clock.now()
    row = OutgoingMail(
        patient_id=patient_id,
        id=new_id(),
        message_id=message_id,
        kind=kind.value,
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        blob_key=blob_key,
        key_id=key_id,
        state=MailState.QUEUED.value,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        done_at=None,
        last_error=None,
    )
    session.add(row)
    after_commit(session, waker.wake)
    return row


@dataclass
class DeliveryReport:
    sent: int = 0
    local: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Attempt:
    patient_id: str
    id: str
    mail_from: str
    rcpt_to: str
    blob_key: str
    key: bytes
    hosted: bool


class Permanent(Exception):
    """The relay refused for good (5xx), or there is nothing that could be sent."""


def deliver_due(rt: Runtime, limit: int = 50) -> DeliveryReport:
    """Send what is due; returns what happened (the worker loops on it, tests call it)."""
    report = DeliveryReport()
    for attempt in _lease(rt, limit):
        try:
            if attempt.hosted:
                _deliver_locally(rt, attempt)
                report.local += 1
                continue
            _relay(rt, attempt)
        except Permanent as refused:
            _fail(rt, attempt, str(refused))
            report.failed += 1
        except (OSError, smtplib.SMTPException) as error:
            if _retry_or_fail(rt, attempt, type(error).__name__):
                report.retried += 1
            else:
                report.failed += 1
            report.errors.append(type(error).__name__)
        else:
            _done(rt, attempt, MailState.SENT)
            report.sent += 1
    return report


def _lease(rt: Runtime, limit: int) -> list[_Attempt]:
    with rt.transaction() as session:
        now = clock.now()
        rows = list(
            session.scalars(
                select(OutgoingMail)
                .where(
                    OutgoingMail.state == MailState.QUEUED.value,
                    OutgoingMail.next_attempt_at <= now,
                )
                .order_by(OutgoingMail.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        leased = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            entry = directory_entry(session, row.rcpt_to)
            leased.append(
                _Attempt(
                    row.patient_id,
                    row.id,
                    row.mail_from,
                    row.rcpt_to,
                    row.blob_key,
                    key_by_id(session, rt.master_key, row.patient_id, row.key_id),
                    bool(entry and entry.hosted_here),
                )
            )
        return leased


def _relay(rt: Runtime, attempt: _Attempt) -> None:
    relay = rt.settings.smtp_relay
    if not relay:
        raise smtplib.SMTPServerDisconnected("no relay configured (CARNET_SMTP_RELAY)")
    try:
        data = store.get(rt, attempt.key, attempt.blob_key)
    except IntegrityFailure:
        raise Permanent("contenu stocké altéré / stored content damaged") from None
    host, _, port = relay.rpartition(":")
    with smtplib.SMTP(host or "127.0.0.1", int(port), timeout=RELAY_TIMEOUT_SECONDS) as smtp:
        try:
            smtp.sendmail(attempt.mail_from, [attempt.rcpt_to], data)
        except smtplib.SMTPRecipientsRefused as refused:
            code, text = next(iter(refused.recipients.values()))
            if code >= 500:
                raise Permanent(_reply_text(text)) from None
            raise
        except smtplib.SMTPResponseException as refused:
            if refused.smtp_code >= 500:
                raise Permanent(_reply_text(refused.smtp_error)) from None
            raise


def _reply_text(text: bytes | str) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return " ".join(raw.split())[:300]


def _deliver_locally(rt: Runtime, attempt: _Attempt) -> None:
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is None or row.state != MailState.QUEUED.value:
            return
        if session.get(HostedMail, (attempt.patient_id, attempt.id)) is None:
            session.add(
                HostedMail(
                    patient_id=attempt.patient_id,
                    id=attempt.id,
                    mailbox=attempt.rcpt_to,
                    mail_from=attempt.mail_from,
                    blob_key=row.blob_key,
                    key_id=row.key_id,
                    delivered_at=clock.now(),
                    read_at=None,
                )
            )
        _close(session, row, MailState.LOCAL)


def _done(rt: Runtime, attempt: _Attempt, state: MailState) -> None:
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is not None and row.state == MailState.QUEUED.value:
            _close(session, row, state)


def _close(session: Session, row: OutgoingMail, state: MailState, error: str | None = None) -> None:
    row.state, row.done_at, row.last_error = state.value, clock.now(), error
    if row.message_id:
        message = session.get(Message, (row.patient_id, row.message_id))
        if message is not None:
            message.delivery = {
                MailState.SENT: "sent",
                MailState.LOCAL: "delivered",
                MailState.FAILED: "failed",
            }.get(state, message.delivery)


def _retry_or_fail(rt: Runtime, attempt: _Attempt, error: str) -> bool:
    """True when another attempt is scheduled, False when the delivery is given up."""
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is None or row.state != MailState.QUEUED.value:
            return True
        give_up_after = timedelta(hours=rt.settings.smtp_give_up_hours)
        if not gives_up(row.created_at, clock.now(), give_up_after):
            row.next_attempt_at = clock.now() + retry_after(row.attempts)
            row.last_error = error
            return True
    _fail(rt, attempt, f"pas de réponse du serveur du destinataire ({error})")
    return False


def _fail(rt: Runtime, attempt: _Attempt, reason: str) -> None:
    """The delivery is given up: the patient reads why in the conversation (MSG-8)."""
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is None or row.state != MailState.QUEUED.value:
            return
        _close(session, row, MailState.FAILED, reason)
        message = session.get(Message, (row.patient_id, row.message_id)) if row.message_id else None
        conversation = (
            session.get(Conversation, (row.patient_id, message.conversation_id))
            if message is not None
            else None
        )
        if row.kind != MailKind.MESSAGE.value or conversation is None:
            return
        fr, en = failure_notice(row.rcpt_to, reason)
        key = key_by_id(session, rt.master_key, row.patient_id, conversation.key_id)
        notice_id, now = new_id(), clock.now()
        session.add(
            Message(
                patient_id=row.patient_id,
                id=notice_id,
                conversation_id=conversation.id,
                direction=Direction.NOTICE.value,
                counterpart=row.rcpt_to,
                rfc_message_id=f"<{notice_id}@notice.invalid>",
                thread_references=None,
                author_name="Mon espace santé",
                key_id=conversation.key_id,
                subject_sealed=store.seal(
                    key, "Message non distribué", row.patient_id, notice_id, "subject"
                ),
                body_sealed=store.seal(key, f"{fr}\n\n{en}", row.patient_id, notice_id, "body"),
                raw_blob_key=None,
                raw_size=0,
                raw_sha256=None,
                fin=False,
                receipt_to=None,
                receipt_sent_at=None,
                delivery=None,
                created_at=now,
                read_at=None,
            )
        )
        conversation.last_message_at = now
        enqueue(session, row.patient_id, Kind.MESSAGE_RECEIVED, {"who": "Mon espace santé"})
        trail.record(
            session,
            RequestContext(kind=ActorKind.SYSTEM, actor_id="mssante", door=Door.JOB),
            Action.MESSAGE_UNDELIVERABLE,
            patient_id=row.patient_id,
            outcome=Outcome.DENIED,
            target=row.message_id,
            detail={"mailbox": row.rcpt_to},
        )


async def run_worker(rt: Runtime, every_seconds: float = 5.0) -> None:
    """``carnet serve``'s sender: wakes when a use case queued mail, and every few seconds."""
    event = asyncio.Event()
    waker.attach(asyncio.get_running_loop(), event)
    while True:
        event.clear()
        try:
            report = await asyncio.to_thread(deliver_due, rt)
            if report.errors:
                log.warning("outgoing_mail_errors", errors=report.errors[:10])
        except Exception:
            log.exception("outgoing_mail_worker_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), every_seconds)
