"""Mail leaving from patients' addresses: a durable, bounded queue; the relay; local delivery.

A use case queues a row (with the raw message, an encrypted blob) in its own transaction; the
worker sends after commit. Each attempt first takes a lease on the row (``next_attempt_at`` moved
ahead, committed), then talks to the outside with no transaction open, then records the result:
a crash mid-way sends again after the lease, with the same Message-ID (at least once; receivers
drop duplicates by Message-ID). Mailboxes the platform hosts (the pro portal) get the mail
locally; others through ``CARNET_SMTP_RELAY``, encrypted (``carnet.relay.client``).

The queue is bounded: a permanent refusal (5xx) fails the mail at once; a temporary one, or a
relay that cannot be reached, is retried with back-off until ``CARNET_SMTP_GIVE_UP_HOURS``, then
failed the same way. A failed message comes back to the patient as a notice in the conversation
(MSG-8, ``messaging.undelivered``). Each deferral and failure is a log event (no address: the
recipient's domain only) and a counter (``/metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.db.uow import after_commit
from carnet.errors import IntegrityFailure
from carnet.ids import new_id
from carnet.keys.service import key_by_id
from carnet.logs import get_logger
from carnet.messaging import store
from carnet.messaging.models import HostedMail, Message, OutgoingMail
from carnet.messaging.queries import directory_entry
from carnet.messaging.rules import Undelivered, gives_up, retry_after
from carnet.messaging.undelivered import tell_the_patient
from carnet.metrics import Metrics
from carnet.relay.client import RelayConfig, RelayError, send
from carnet.relay.rules import Stage, domain_of, enhanced_code, reverse_path
from carnet.runtime import Runtime

log = get_logger(__name__)

#: How long an attempt may take before another worker (or a restart) tries again.
LEASE = timedelta(minutes=5)


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
    metrics: Metrics,
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
    after_commit(session, partial(_queued, metrics, kind))
    return row


def _queued(metrics: Metrics, kind: MailKind) -> None:
    metrics.count("carnet_mail_queued_total", kind=kind.value)
    waker.wake()


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
    kind: MailKind
    number: int
    mail_from: str
    rcpt_to: str
    blob_key: str
    key: bytes
    hosted: bool


def deliver_due(rt: Runtime, limit: int = 50) -> DeliveryReport:
    """Send what is due; returns what happened (the worker loops on it, tests call it)."""
    report = DeliveryReport()
    relay = RelayConfig.from_settings(rt.settings)
    for attempt in _lease(rt, limit):
        if attempt.hosted:
            _deliver_locally(rt, attempt)
            report.local += 1
            continue
        try:
            tls_version = _relay(rt, relay, attempt)
        except IntegrityFailure:
            _fail(rt, attempt, Undelivered.DAMAGED, "stored content damaged", None)
            report.failed += 1
        except RelayError as error:
            report.errors.append(error.reason)
            if error.permanent:
                _fail(rt, attempt, Undelivered.REFUSED, error.reason, error)
                report.failed += 1
            elif _retry_or_fail(rt, attempt, error):
                report.retried += 1
            else:
                report.failed += 1
        else:
            _sent(rt, attempt, tls_version)
            report.sent += 1
    return report


def _lease(rt: Runtime, limit: int) -> list[_Attempt]:
    with rt.transaction() as session:
        now = clock.now()
        due = (OutgoingMail.state == MailState.QUEUED.value, OutgoingMail.next_attempt_at <= now)
        # What is due is found on every shard, then each row is locked by its key, one shard at
        # a time (a distributed register locks rows only within one shard: issue 18); a row
        # another worker holds, or has leased since, is skipped.
        keys = session.execute(
            select(OutgoingMail.patient_id, OutgoingMail.id)
            .where(*due)
            .order_by(OutgoingMail.next_attempt_at)
            .limit(limit)
        ).all()
        rows = [
            row
            for patient_id, mail_id in keys
            for row in session.scalars(
                select(OutgoingMail)
                .where(OutgoingMail.patient_id == patient_id, OutgoingMail.id == mail_id, *due)
                .with_for_update(skip_locked=True)
            )
        ]
        leased = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            entry = directory_entry(session, row.rcpt_to)
            leased.append(
                _Attempt(
                    row.patient_id,
                    row.id,
                    MailKind(row.kind),
                    row.attempts,
                    row.mail_from,
                    row.rcpt_to,
                    row.blob_key,
                    key_by_id(session, rt.master_key, row.patient_id, row.key_id),
                    bool(entry and entry.hosted_here),
                )
            )
        return leased


def _relay(rt: Runtime, relay: RelayConfig | None, attempt: _Attempt) -> str | None:
    """The message handed to the relay; the TLS version it went over (``None``: in clear).
    A read receipt goes with the null reverse-path (RFC 8098 §2.1)."""
    if relay is None:
        raise RelayError(Stage.CONNECT, None, "no relay configured (CARNET_SMTP_RELAY)")
    data = store.get(rt, attempt.key, attempt.blob_key)
    sender = reverse_path(attempt.kind is MailKind.RECEIPT, attempt.mail_from)
    return send(relay, sender, [attempt.rcpt_to], data).tls_version


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
    rt.metrics.count("carnet_mail_sent_total", kind=attempt.kind.value, via="local")


def _sent(rt: Runtime, attempt: _Attempt, tls_version: str | None) -> None:
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is not None and row.state == MailState.QUEUED.value:
            _close(session, row, MailState.SENT)
    rt.metrics.count("carnet_mail_sent_total", kind=attempt.kind.value, via="relay")
    log.info(
        "mail_sent",
        mail=attempt.id,
        kind=attempt.kind.value,
        attempt=attempt.number,
        tls=tls_version or "none",
        rcpt_domain=domain_of(attempt.rcpt_to),
    )


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


def _retry_or_fail(rt: Runtime, attempt: _Attempt, error: RelayError) -> bool:
    """True when another attempt is scheduled, False when the delivery is given up."""
    give_up_after = timedelta(hours=rt.settings.smtp_give_up_hours)
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is None or row.state != MailState.QUEUED.value:
            return True
        expired = gives_up(row.created_at, clock.now(), give_up_after)
        delay = retry_after(row.attempts)
        if not expired:
            row.next_attempt_at = clock.now() + delay
            row.last_error = error.reason
    if expired:
        _fail(rt, attempt, Undelivered.EXPIRED, error.reason, error)
        return False
    rt.metrics.count("carnet_mail_deferred_total", kind=attempt.kind.value)
    log.warning(
        "mail_deferred", **_described(attempt, error), retry_in_seconds=int(delay.total_seconds())
    )
    return True


def _fail(
    rt: Runtime, attempt: _Attempt, why: Undelivered, detail: str, error: RelayError | None
) -> None:
    """The delivery is given up: the patient reads why in the conversation (MSG-8)."""
    give_up_after = timedelta(hours=rt.settings.smtp_give_up_hours)
    with rt.transaction() as session:
        row = session.get(OutgoingMail, (attempt.patient_id, attempt.id))
        if row is None or row.state != MailState.QUEUED.value:
            return
        _close(session, row, MailState.FAILED, detail)
        if row.kind == MailKind.MESSAGE.value:
            tell_the_patient(session, rt, row, why, detail, give_up_after)
    rt.metrics.count("carnet_mail_failed_total", kind=attempt.kind.value, reason=why.value)
    log.error("mail_failed", **_described(attempt, error), reason=why.value)


def _described(attempt: _Attempt, error: RelayError | None) -> dict[str, object]:
    """What a log line says of an attempt: no address, no reply text (it may quote one)."""
    return {
        "mail": attempt.id,
        "kind": attempt.kind.value,
        "attempt": attempt.number,
        "rcpt_domain": domain_of(attempt.rcpt_to),
        "stage": error.stage.value if error else None,
        "reply_code": error.code if error else None,
        "enhanced_code": enhanced_code(error.text) if error else None,
    }


async def run_worker(rt: Runtime, every_seconds: float = 5.0) -> None:
    """``carnet serve``'s sender: wakes when a use case queued mail, and every few seconds."""
    event = asyncio.Event()
    waker.attach(asyncio.get_running_loop(), event)
    while True:
        event.clear()
        try:
            await asyncio.to_thread(deliver_due, rt)
        except Exception:
            log.exception("outgoing_mail_worker_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), every_seconds)
