"""Filing received messages: threading (MSG-2), closing (MSG-3), notifying (MSG-8), tracing
(TR-1) — every message of a batch (``batching``) filed together.

A batch's filings share their statements: one look at the recipients' profiles and keys, one at
the messages already filed (exactly once: the same sender's Message-ID is filed once), one
insert per table, one append to the traces. A message answering another in the same batch
finds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.db.base import table_of
from carnet.errors import Refusal
from carnet.ids import new_id
from carnet.keys.models import PatientKey
from carnet.messaging import mime, store
from carnet.messaging.batching import Batch
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.messaging.queries import DirectoryEntry, directory_entry
from carnet.messaging.refusals import TryAgain, Undeliverable
from carnet.messaging.rules import (
    ConversationFacts,
    ConversationState,
    Direction,
    Placement,
    RecipientProblem,
    is_fin,
    placement,
    receipt_allowed,
    recipient_problem,
    stored_references,
    thread_keys,
)
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.models import Patient
from carnet.population.rules import ProfileState

OPEN, CLOSED = ConversationState.OPEN.value, ConversationState.CLOSED.value


#: The statements of every batch, built once (SQLAlchemy then reuses their compiled form).
_PROFILES = (
    select(Patient.id, Patient.state, PatientKey.key_id)
    .outerjoin(
        PatientKey,
        and_(PatientKey.patient_id == Patient.id, PatientKey.wrapped.is_not(None)),
    )
    .where(Patient.id.in_(bindparam("pids", expanding=True)))
)
_FILED = select(
    Message.patient_id,
    Message.counterpart,
    Message.rfc_message_id,
    Message.id,
    Message.conversation_id,
).where(
    Message.patient_id.in_(bindparam("pids", expanding=True)),
    Message.rfc_message_id.in_(bindparam("rfc_ids", expanding=True)),
)
_INSERTS = tuple(insert(table_of(model)) for model in (Conversation, Message, Attachment))


@dataclass
class Copy:
    """One recipient's copy: its patient, the key its blobs were sealed with, the blobs."""

    patient_id: str
    address: str
    key_id: str
    key: bytes
    message_id: str
    raw_key: str | None = None
    raw_sealed: bytes | None = None  # a small message's raw bytes, kept in its row
    files: tuple[tuple[str, str, mime.ParsedAttachment], ...] = ()


@dataclass(frozen=True)
class Delivered:
    patient_id: str
    message_id: str
    conversation_id: str
    duplicate: bool


@dataclass(frozen=True)
class Job:
    """One received message to file."""

    sender: DirectoryEntry
    envelope_sender: str
    parsed: mime.ParsedMail
    rfc_id: str
    raw: bytes
    copies: Sequence[Copy]


@dataclass
class Filing:
    """A job's place in a batch; ``result`` or ``error`` once the batch's step ran."""

    job: Job
    result: list[Delivered] | None = None
    error: Refusal | None = None


def file_later(batch: Batch, job: Job) -> Filing:
    """Queue ``job`` for this batch's filing step (added to the batch once)."""
    filings: _Filings | None = batch.shared.get(__name__)
    if filings is None:
        filings = batch.shared[__name__] = _Filings()
        batch.after.append(filings.run)
    filing = Filing(job)
    filings.items.append(filing)
    return filing


@dataclass
class _Conversation:
    """A conversation as this batch sees it: a row it will insert, or one already stored."""

    id: str
    state: str
    pharmacy: bool
    row: dict[str, Any] | None = None
    stored: Conversation | None = None

    def touch(self, now: datetime, fin: bool) -> None:
        closing = fin and self.state == OPEN  # MSG-3
        self.state = CLOSED if closing else self.state
        changes: dict[str, Any] = {"last_message_at": now}
        if closing:
            changes.update(state=CLOSED, closed_at=now)
        if self.row is not None:
            self.row.update(changes)
        elif self.stored is not None:
            for name, value in changes.items():
                setattr(self.stored, name, value)


@dataclass
class _Filings:
    items: list[Filing] = field(default_factory=list)
    by_rfc_id: dict[tuple[str, str, str], tuple[str, _Conversation]] = field(default_factory=dict)
    opened: dict[tuple[str, str], list[_Conversation]] = field(default_factory=dict)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    traces: list[trail.Entry] = field(default_factory=list)

    def run(self, session: Session) -> None:
        copies = [c for f in self.items for c in f.job.copies]
        pids = sorted({c.patient_id for c in copies})
        # Core statements on the session's connection: the same SQL, without the ORM's cost.
        connection = session.connection()
        states: dict[str, str] = {}
        keys: set[tuple[str, str]] = set()
        for pid, state, key_id in connection.execute(_PROFILES, {"pids": pids}):
            states[pid] = state
            if key_id is not None:
                keys.add((pid, key_id))
        rfc_ids = sorted({f.job.rfc_id for f in self.items})
        filed = {
            (row[0], row[1], row[2]): (row[3], row[4])
            for row in connection.execute(_FILED, {"pids": pids, "rfc_ids": rfc_ids})
        }
        for filing in self.items:
            try:
                checked = [_check(copy, states, keys) for copy in filing.job.copies]
            except Refusal as refusal:
                filing.error = refusal
                continue
            filing.result = [
                self._file(session, filing.job, copy, state, filed)
                for copy, state in zip(filing.job.copies, checked, strict=True)
            ]
        for statement, rows in zip(
            _INSERTS, (self.conversations, self.messages, self.attachments), strict=True
        ):
            if rows:
                connection.execute(statement, rows)
        if self.traces:
            trail.record_many(session, self.traces)

    def _file(
        self,
        session: Session,
        job: Job,
        copy: Copy,
        state: ProfileState,
        filed: dict[tuple[str, str, str], tuple[str, str]],
    ) -> Delivered:
        pid, sender, parsed = copy.patient_id, job.sender, job.parsed
        seen = (pid, sender.address, job.rfc_id)
        if seen in self.by_rfc_id:
            message_id, earlier = self.by_rfc_id[seen]
            return Delivered(pid, message_id, earlier.id, duplicate=True)
        if seen in filed:
            return Delivered(pid, filed[seen][0], filed[seen][1], duplicate=True)
        now = clock.now()
        fin = is_fin(parsed.subject, parsed.mss_mes)
        found = self._thread(session, pid, sender.address, parsed, fin)
        facts = ConversationFacts(ConversationState(found.state), found.pharmacy) if found else None
        conversation = (
            found
            if found is not None and placement(facts, fin) is Placement.APPEND
            else self._open(pid, sender, parsed.subject, copy, now)
        )
        conversation.touch(now, fin)
        self.by_rfc_id[seen] = (copy.message_id, conversation)
        self.messages.append(_message_row(session, job, copy, conversation.id, fin, now))
        self.attachments += [
            {
                "patient_id": pid,
                "id": attachment_id,
                "message_id": copy.message_id,
                "filename": attachment.filename,
                "mime_type": attachment.mime_type,
                "size": len(attachment.content),
                "sha256": hashlib.sha256(attachment.content).hexdigest(),
                "blob_key": name,
                "key_id": copy.key_id,
                "document_id": None,
                "created_at": now,
            }
            for attachment_id, name, attachment in copy.files
        ]
        # MSG-5, MSG-8: by e-mail always; in the notification centre once activated.
        centre = "1" if state is ProfileState.ACTIVATED else "0"
        enqueue(session, pid, Kind.MESSAGE_RECEIVED, {"who": sender.name, "centre": centre})
        self.traces.append(
            trail.Entry(
                sender.context(),
                Action.RECEIVE_MESSAGE,
                pid,
                target=copy.message_id,
                detail={"mailbox": sender.address, "conversation": conversation.id, "fin": fin},
            )
        )
        return Delivered(pid, copy.message_id, conversation.id, duplicate=False)

    def _open(
        self, pid: str, sender: DirectoryEntry, subject: str, copy: Copy, now: datetime
    ) -> _Conversation:
        conversation_id = new_id()
        row = {
            "patient_id": pid,
            "id": conversation_id,
            "counterpart": sender.address,
            "counterpart_name": sender.name,
            "counterpart_kind": sender.kind,
            "pharmacy": sender.pharmacy,
            "key_id": copy.key_id,
            "subject_sealed": store.seal(copy.key, subject, pid, conversation_id, "subject"),
            "started_by": "pro",
            "state": OPEN,
            "created_at": now,
            "last_message_at": now,
            "closed_at": None,
        }
        self.conversations.append(row)
        opened = _Conversation(conversation_id, OPEN, sender.pharmacy, row=row)
        self.opened.setdefault((pid, sender.address), []).append(opened)
        return opened

    def _thread(
        self, session: Session, pid: str, counterpart: str, parsed: mime.ParsedMail, fin: bool
    ) -> _Conversation | None:
        """The conversation this message answers (In-Reply-To, References) with this mailbox;
        for a ``[FIN]`` that names none, the latest open conversation with it (MSG-3)."""
        keys = thread_keys(parsed.in_reply_to, parsed.references)
        if keys:
            stored = dict(
                session.execute(
                    select(Message.rfc_message_id, Message.conversation_id).where(
                        Message.patient_id == pid,
                        Message.counterpart == counterpart,
                        Message.rfc_message_id.in_(keys),
                    )
                ).all()
            )
            for key in keys:
                if (pid, counterpart, key) in self.by_rfc_id:
                    return self.by_rfc_id[(pid, counterpart, key)][1]
                if key in stored:
                    return _stored(session, pid, stored[key])
        if not fin:
            return None
        opened = [c for c in self.opened.get((pid, counterpart), []) if c.state == OPEN]
        if opened:
            return opened[-1]
        latest = session.scalars(
            select(Conversation.id)
            .where(
                Conversation.patient_id == pid,
                Conversation.counterpart == counterpart,
                Conversation.state == OPEN,
            )
            .order_by(Conversation.last_message_at.desc())
            .limit(1)
        ).first()
        return _stored(session, pid, latest) if latest else None


def _stored(session: Session, pid: str, conversation_id: str) -> _Conversation | None:
    row = session.get(Conversation, (pid, conversation_id))
    if row is None:
        return None
    return _Conversation(row.id, row.state, row.pharmacy, stored=row)


def _check(copy: Copy, states: dict[str, str], keys: set[Any]) -> ProfileState:
    """The profile still receives (MSG-4: it may have closed since RCPT TO), and the key the
    blobs were sealed with still exists (``inbound`` remembers keys a little while)."""
    state = ProfileState(states[copy.patient_id]) if copy.patient_id in states else None
    problem = recipient_problem(True, state)
    if problem is not None or state is None:
        raise Undeliverable(problem or RecipientProblem.ABSENT, copy.address)
    if (copy.patient_id, copy.key_id) not in keys:
        raise TryAgain(
            "Clé de chiffrement renouvelée ; renvoyez le message.",
            "Encryption key renewed; send the message again.",
        )
    return state


def _message_row(
    session: Session, job: Job, copy: Copy, conversation_id: str, fin: bool, now: datetime
) -> dict[str, Any]:
    pid, parsed = copy.patient_id, job.parsed
    receipt_to = parsed.receipt_to
    if receipt_to and not receipt_allowed(
        receipt_to, job.envelope_sender, directory_entry(session, receipt_to) is not None
    ):
        receipt_to = None  # MSG-6, RFC 8098 §2.1: not outside the trust space
    return {
        "patient_id": pid,
        "id": copy.message_id,
        "conversation_id": conversation_id,
        "direction": Direction.INBOUND.value,
        "counterpart": job.sender.address,
        "rfc_message_id": job.rfc_id,
        "thread_references": " ".join(stored_references(parsed.references)) or None,
        "author_name": parsed.author_name or job.sender.name,
        "key_id": copy.key_id,
        "subject_sealed": store.seal(copy.key, parsed.subject, pid, copy.message_id, "subject"),
        "body_sealed": store.seal(copy.key, parsed.body, pid, copy.message_id, "body"),
        "raw_blob_key": copy.raw_key,
        "raw_sealed": copy.raw_sealed,
        "raw_size": len(job.raw),
        "raw_sha256": hashlib.sha256(job.raw).hexdigest(),
        "fin": fin,
        "receipt_to": receipt_to,
        "receipt_sent_at": None,
        "delivery": None,
        "created_at": now,
        "read_at": None,
    }
