"""Mail arriving for patients (MSG-1…MSG-5, MSG-8): who may send, who receives, filing it.

``receive_message`` is what a ``250`` answers: it returns once every recipient's copy is durable
(the raw message and its files encrypted and fsync'd, the rows committed). The disk's slow part
runs outside the database's write lock: the blobs are written by each caller's thread, then the
rows of every message that arrived meanwhile are filed in one transaction (``filing``).

Every read and write of the SMTP side goes through the instance's ``batching.Batcher``: checks,
keys and filings of concurrent sessions share transactions instead of queueing for SQLite's
write lock one by one. Answers are remembered a little while: a sender's directory entry (a
sending server names the same sender for each message; the directory changes slowly), the
patient an address named at ``RCPT TO`` (for the ``DATA`` that follows), a patient's data key.
None of them is trusted for filing: the filing transaction checks the profile still receives
and the key still exists (``filing._check``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.ids import new_id
from carnet.keys.service import current_key
from carnet.messaging import mime, store
from carnet.messaging.batching import Batch, Batcher
from carnet.messaging.filing import Copy, Delivered, Job, file_later
from carnet.messaging.queries import DirectoryEntry, directory_entry
from carnet.messaging.refusals import MessageRefused, SenderRefused, Undeliverable
from carnet.messaging.reports import receive_report
from carnet.messaging.rules import (
    RecipientProblem,
    SenderFacts,
    ins_of_address,
    normalized_message_id,
    null_sender_refusal,
    recipient_problem,
    sender_refusal,
)
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.population.service import id_of_ins
from carnet.runtime import Runtime

__all__ = [
    "Delivered",
    "InboundMail",
    "forget_recipient",
    "known_recipient",
    "known_sender",
    "null_sender_status",
    "receive_message",
    "recipient_status",
    "sender_status",
]

SENDER_MEMORY_SECONDS = 60.0
RECIPIENT_MEMORY_SECONDS = 30.0
KEY_MEMORY_SECONDS = 60.0

T = TypeVar("T")


class _Memory(Generic[T]):
    """Answers remembered for a while."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, T]] = {}

    def get(self, key: str) -> T | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, value: T) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.seconds, value)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class InboundMemory:
    """The instance's memories of the SMTP side (``Runtime.state``): senders' directory
    entries, the patient an address names, patients' data keys."""

    def __init__(self) -> None:
        self.senders: _Memory[DirectoryEntry] = _Memory(SENDER_MEMORY_SECONDS)
        self.recipients: _Memory[str] = _Memory(RECIPIENT_MEMORY_SECONDS)
        self.keys: _Memory[tuple[str, bytes]] = _Memory(KEY_MEMORY_SECONDS)


def _memory(rt: Runtime) -> InboundMemory:
    return rt.state(InboundMemory)


@dataclass(frozen=True)
class InboundMail:
    """What an SMTP transaction hands over: the envelope and the bytes after DATA."""

    sender: str
    recipients: Sequence[str]
    raw: bytes


def _sender(rt: Runtime, address: str) -> DirectoryEntry | None:
    entry = _memory(rt).senders.get(address.lower())
    if entry is None:
        entry = rt.state(Batcher).run(rt, lambda session, _: directory_entry(session, address))
        if entry is not None:
            _memory(rt).senders.put(address.lower(), entry)
    return entry


def sender_status(
    rt: Runtime, address: str, *, client_certificate_verified: bool = False
) -> DirectoryEntry:
    """MSG-2: the sender's directory entry, or ``SenderRefused`` (at ``MAIL FROM``)."""
    return _judge_sender(rt, address, _sender(rt, address), client_certificate_verified)


def known_sender(
    rt: Runtime, address: str, *, client_certificate_verified: bool = False
) -> DirectoryEntry | None:
    """``sender_status`` when its answer is at hand (no I/O: a door may call it in its event
    loop); ``None`` when the directory must be read."""
    entry = _memory(rt).senders.get(address.lower())
    if entry is None:
        return None
    return _judge_sender(rt, address, entry, client_certificate_verified)


def null_sender_status(rt: Runtime, *, client_certificate_verified: bool = False) -> None:
    """``MAIL FROM:<>`` (a report): no directory entry to check; only the trust space's
    certificate when one is required (MSG-2)."""
    refusal = null_sender_refusal(
        SenderFacts(
            mailbox_kind=None,
            client_certificate_required=rt.settings.smtp_client_ca_file is not None,
            client_certificate_verified=client_certificate_verified,
        )
    )
    if refusal is not None:
        raise SenderRefused(*refusal)


def _judge_sender(
    rt: Runtime, address: str, entry: DirectoryEntry | None, client_certificate_verified: bool
) -> DirectoryEntry:
    refusal = sender_refusal(
        SenderFacts(
            mailbox_kind=entry.kind if entry else None,
            client_certificate_required=rt.settings.smtp_client_ca_file is not None,
            client_certificate_verified=client_certificate_verified,
        )
    )
    if refusal is not None or entry is None:
        raise SenderRefused(*(refusal or ("", "")))
    return entry


def _patient_for(session: Session, address: str, *, rt: Runtime) -> str:
    """The id of the patient an address names, or ``Undeliverable`` with the MSG-4 text."""
    try:
        ins = ins_of_address(address, rt.settings.patient_mail_domain)
    except ValueError:
        raise Undeliverable(RecipientProblem.INVALID, address) from None
    if ins is None:
        raise Undeliverable(RecipientProblem.NOT_HERE, address)
    # By the INS's look-up, then by id: one shard each once distributed (migration 0017).
    found = id_of_ins(session, ins)
    row = (
        None
        if found is None
        else session.execute(select(Patient.id, Patient.state).where(Patient.id == found)).first()
    )
    problem = recipient_problem(True, ProfileState(row.state) if row else None)
    if problem is not None or row is None:
        raise Undeliverable(problem or RecipientProblem.ABSENT, address)
    patient_id: str = row.id
    return patient_id


def recipient_status(rt: Runtime, address: str) -> str:
    """MSG-4 at ``RCPT TO``: the patient's id, or ``Undeliverable`` saying why.

    An address that received a moment ago is not looked up again: if its profile closed
    meanwhile, the filing refuses the message with the same MSG-4 text, at ``DATA``.
    """
    known = _memory(rt).recipients.get(address.lower())
    if known is not None:
        return known
    patient_id: str = rt.state(Batcher).run(
        rt, lambda session, _: _patient_for(session, address, rt=rt)
    )
    _memory(rt).recipients.put(address.lower(), patient_id)
    return patient_id


def forget_recipient(rt: Runtime, address: str, patient_id: str) -> None:
    """A profile closed, opposed or destroyed (LC-5): this instance answers ``RCPT TO`` from the
    register again at once, and seals nothing more with a key it remembered. (Another process's
    memory lapses within ``RECIPIENT_MEMORY_SECONDS``; its filing refuses meanwhile.)"""
    _memory(rt).recipients.forget(address.lower())
    _memory(rt).keys.forget(patient_id)


def known_recipient(rt: Runtime, address: str) -> str | None:
    """``recipient_status`` when its answer is at hand (no I/O), else ``None``."""
    return _memory(rt).recipients.get(address.lower())


def _copies(rt: Runtime, addresses: Sequence[str]) -> list[Copy]:
    """One copy per patient named (twice named, once filed), with the key to seal it: from what
    ``RCPT TO`` found and the keys remembered, else looked up (one batched transaction)."""
    named = list(dict.fromkeys(addresses))
    ids = {a: _memory(rt).recipients.get(a.lower()) for a in named}
    keys = {pid: _memory(rt).keys.get(pid) for pid in ids.values() if pid is not None}
    if None in ids.values() or None in keys.values():

        def work(session: Session, _: Batch) -> None:
            for address in named:
                patient_id = ids[address] or _patient_for(session, address, rt=rt)
                ids[address] = patient_id
                if keys.get(patient_id) is None:
                    keys[patient_id] = current_key(session, rt.master_key, patient_id)

        rt.state(Batcher).run(rt, work)
    copies: dict[str, Copy] = {}
    for address in named:
        patient_id, key = ids[address], None
        if patient_id is not None:
            key = keys.get(patient_id)
        if patient_id is None or key is None:
            raise Undeliverable(RecipientProblem.ABSENT, address)
        _memory(rt).keys.put(patient_id, key)
        if patient_id not in copies:
            copies[patient_id] = Copy(patient_id, address, key[0], key[1], new_id())
    return list(copies.values())


def receive_message(rt: Runtime, mail: InboundMail) -> list[Delivered]:
    """File a message for each recipient; all or none (a refusal names the first failing).

    A message already filed (same sender, same Message-ID — a sending server that retries after
    a lost ``250``) is not filed twice; one without a Message-ID is known by its bytes' hash.
    """
    if mail.sender in ("", "<>"):  # the null reverse-path: a report (RFC 5321 §4.5.5)
        return receive_report(rt, mail.raw, mail.recipients, partial(_patient_for, rt=rt))
    try:
        parsed = mime.parse(mail.raw)
    except mime.Unreadable as unreadable:
        raise MessageRefused(unreadable.fr, unreadable.en) from None
    rfc_id = normalized_message_id(parsed.message_id) or (
        f"<{hashlib.sha256(mail.raw).hexdigest()[:40]}@{rt.settings.patient_mail_domain}>"
    )
    sender = _sender(rt, mail.sender)
    if sender is None:
        raise SenderRefused(*(sender_refusal(SenderFacts(None)) or ("", "")))
    copies = _copies(rt, mail.recipients)
    written: list[str] = []
    try:
        for copy in copies:
            if len(mail.raw) <= store.RAW_INLINE_MAX:
                copy.raw_sealed = store.seal_raw(
                    copy.key, mail.raw, copy.patient_id, copy.message_id
                )
            else:
                copy.raw_key = store.put(rt, copy.key, copy.patient_id, copy.message_id, mail.raw)
                written.append(copy.raw_key)
            files = []
            for attachment in parsed.attachments:
                attachment_id = new_id()
                name = store.put(rt, copy.key, copy.patient_id, attachment_id, attachment.content)
                written.append(name)
                files.append((attachment_id, name, attachment))
            copy.files = tuple(files)
        job = Job(sender, mail.sender, parsed, rfc_id, mail.raw, copies)
        filing = rt.state(Batcher).run(rt, lambda _, batch: file_later(batch, job))
        if filing.error is not None:
            raise filing.error
        assert filing.result is not None
        delivered = filing.result
    except BaseException:
        store.forget(rt, written)
        raise
    store.forget(
        rt,
        [
            name
            for filed, copy in zip(delivered, copies, strict=True)
            if filed.duplicate
            for name in (*([copy.raw_key] if copy.raw_key else []), *(f[1] for f in copy.files))
        ],
    )
    return delivered
