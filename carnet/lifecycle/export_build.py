"""Building one export (LC-6): pages read through the record handle, files streamed into a zip
sealed with the patient's key. See ``lifecycle.export`` for the whole story.

Memory stays flat: a page of rows and one file at a time. (``zipfile`` keeps one small entry
per file for the central directory it writes last: about a hundred bytes a document.)
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import IO, Any, TypeVar

from carnet import clock
from carnet.access import gate
from carnet.access.history import HistoryEntry
from carnet.access.record_export import DocumentKey, ExportReads
from carnet.access.rules import Purpose
from carnet.access.wording import history_sentence
from carnet.audit.publish import latest_head
from carnet.audit.rules import Action
from carnet.blobs.crypto import DecryptionFailed, open_content
from carnet.context import Door, RequestContext
from carnet.keys.service import current_key, key_by_id
from carnet.lifecycle import export_shapes as shapes
from carnet.lifecycle.models import Export
from carnet.lifecycle.rules import EXPORT_ATTEMPTS, EXPORT_PAGE
from carnet.messaging import store
from carnet.messaging.models import Attachment, Message
from carnet.messaging.rules import Direction
from carnet.profile.export import export_resources
from carnet.records.models import DocumentRow
from carnet.runtime import Runtime

T = TypeVar("T")
QUEUED, BUILDING, READY, FAILED = "queued", "building", "ready", "failed"
MessagePage = list[tuple[Message, list[Attachment]]]


@dataclass(frozen=True)
class Claim:
    ctx: RequestContext
    attempt: int
    key_id: str
    key: bytes


def lease(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.export_lease_seconds)


def claim(rt: Runtime, patient_id: str, export_id: str) -> Claim | None:
    """Take the export for building, unless it is done or another builder's lease holds."""
    with rt.transaction() as session:
        row = session.get(Export, (patient_id, export_id), with_for_update=True)
        now = clock.now()
        if row is None or row.state in (READY, FAILED):
            return None
        if row.state == BUILDING and row.lease_until is not None and row.lease_until > now:
            return None
        if row.attempts >= EXPORT_ATTEMPTS:
            row.state, row.error = FAILED, "too many attempts"
            return None
        key_id, key = current_key(session, rt.master_key, patient_id)
        row.state, row.attempts, row.done = BUILDING, row.attempts + 1, 0
        row.lease_until, row.key_id = now + lease(rt), key_id
        ctx = RequestContext.for_patient(row.requested_by, door=Door(row.door))
        return Claim(ctx, row.attempts, key_id, key)


class Lost(Exception):
    """Another builder took the export over (this one's lease ran out)."""


def _documents(after: DocumentKey | None, reads: ExportReads) -> Any:
    return reads.documents(after, EXPORT_PAGE)


def _traces(after: int, reads: ExportReads) -> Any:
    return reads.traces(after, EXPORT_PAGE)


def _messages(after: DocumentKey | None, reads: ExportReads) -> Any:
    messages = reads.messages(after, EXPORT_PAGE)
    files: dict[str, list[Attachment]] = {}
    for a in reads.attachments([m.id for m in messages]):
        files.setdefault(a.message_id, []).append(a)
    following = (messages[-1].created_at, messages[-1].id) if len(messages) == EXPORT_PAGE else None
    keys = {m.key_id for m in messages} | {a.key_id for fs in files.values() for a in fs}
    return [(m, files.get(m.id, [])) for m in messages], following, keys


def _person(reads: ExportReads) -> shapes.Person:
    p = reads.record.identity()
    return shapes.Person(p.id, p.ins, p.first_names, p.birth_names, p.sex, p.birth_date)


class Builder:
    def __init__(self, rt: Runtime, patient_id: str, export_id: str, claimed: Claim) -> None:
        self.rt, self.patient_id, self.export_id, self.claimed = rt, patient_id, export_id, claimed
        self.keys: dict[str, bytes] = {claimed.key_id: claimed.key}
        self.counts = {
            "documents": 0,
            "traces": 0,
            "profile": 0,
            "messages": 0,
            "attachments": 0,
        }
        self.damaged: set[str] = set()
        self.files: list[dict[str, object]] = []  # the few files made here: bundle, index

    # -- reading, a page per transaction ----------------------------------------------------

    def page(
        self,
        read: Callable[[ExportReads], T],
        *,
        progress: int = 0,
        keys: frozenset[str] | set[str] = frozenset(),
    ) -> T:
        """One page, in a transaction of its own: the gate decides again (a space closed
        meanwhile, a representative whose child came of age, stops the export), the progress
        and the lease move on, the data keys the page needs are unwrapped."""
        rt = self.rt
        with rt.transaction() as session:
            record = gate.open(
                session,
                rt,
                self.claimed.ctx,
                purpose=Purpose.SPACE,
                action=Action.EXPORT_RECORD,
                patient_id=self.patient_id,
            )
            found = read(ExportReads(record))
            row = session.get(Export, (self.patient_id, self.export_id), with_for_update=True)
            if row is None or row.attempts != self.claimed.attempt or row.state != BUILDING:
                raise Lost()
            row.done = min(row.total, row.done + progress)
            row.lease_until = clock.now() + lease(rt)
            for key_id in set(keys) - set(self.keys):
                self.keys[key_id] = key_by_id(session, rt.master_key, self.patient_id, key_id)
            return found

    def document_pages(self) -> Iterator[list[DocumentRow]]:
        after: DocumentKey | None = None
        while True:
            rows, after = self.page(partial(_documents, after))
            keys = {d.key_id for d in rows}
            if keys - set(self.keys):  # a document sealed under an older key of his
                self.page(lambda _: None, keys=keys)
            yield rows
            if after is None:
                return

    def history_pages(self) -> Iterator[list[HistoryEntry]]:
        after: int | None = 0
        while after is not None:
            entries, after = self.page(partial(_traces, after))
            yield entries

    def message_pages(self) -> Iterator[MessagePage]:
        after: DocumentKey | None = None
        while True:
            page, after, keys = self.page(partial(_messages, after))
            if keys - set(self.keys):
                self.page(lambda _: None, keys=keys)
            yield page
            if after is None:
                return

    def blob(
        self, blob_key: str, key_id: str, size: int, sha256: str, content_key: bytes | None = None
    ) -> bytes | None:
        """A stored file's bytes, checked (DOC-7); ``None`` when damaged (listed as such)."""
        try:
            stored = self.rt.blobs.get(blob_key)
            data = open_content(self.keys[key_id], content_key, blob_key, stored)
        except (KeyError, DecryptionFailed):
            return None
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            return None
        return data

    def opened(self, message: Message) -> tuple[str, str]:
        key, pid = self.keys[message.key_id], self.patient_id
        subject = store.unseal(key, message.subject_sealed, pid, message.id, "subject")
        body = store.unseal(key, message.body_sealed, pid, message.id, "body")
        return subject, body

    # -- the zip ----------------------------------------------------------------------------

    def build(self, out: IO[bytes]) -> None:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            person = self.page(_person)
            for rows in self.document_pages():
                for d in rows:
                    data = self.blob(d.blob_key, d.key_id, d.size, d.sha256, d.content_key)
                    if data is None:
                        self.damaged.add(d.id)
                        continue
                    zf.writestr(shapes.document_path(d.id, d.title, d.mime_type), data)
                    self.counts["documents"] += 1
                self.page(lambda _: None, progress=len(rows))
            for page in self.message_pages():
                for _, files in page:
                    for a in files:
                        data = self.blob(a.blob_key, a.key_id, a.size, a.sha256)
                        if data is None:
                            self.damaged.add(a.id)
                            continue
                        zf.writestr(shapes.attachment_path(a.id, a.filename), data)
                        self.counts["attachments"] += 1
            self.streamed(zf, "fhir/bundle.json", self.bundle(person))
            self.streamed(zf, "index.html", self.index(person))
            self.streamed(zf, "manifest.json", self.manifest(), listed=False)

    def streamed(
        self, zf: zipfile.ZipFile, name: str, chunks: Iterator[str], *, listed: bool = True
    ) -> None:
        digest, size = hashlib.sha256(), 0
        with zf.open(name, "w", force_zip64=True) as entry:
            for chunk in chunks:
                data = chunk.encode("utf-8")
                entry.write(data)
                digest.update(data)
                size += len(data)
        if listed:
            self.files.append({"path": name, "sha256": digest.hexdigest(), "size": size})

    def manifest(self) -> Iterator[str]:
        """Every file and its SHA-256 (a damaged one listed as such, its file left out), and
        the log's latest signed head (TR-3: the history in the export can be proven)."""
        head = self.page(lambda reads: latest_head(reads.record.session))
        yield (
            json.dumps(
                {
                    "format": "carnet-export-1",
                    "patient_id": self.patient_id,
                    "generated_at": clock.now().isoformat(),
                    "counts": self.counts,
                    "log_head": head.to_json() if head else None,
                },
                ensure_ascii=False,
            )[:-1]
            + ',"files":['
        )
        first = True
        for entry in self.listed():
            yield ("" if first else ",") + json.dumps(entry, ensure_ascii=False)
            first = False
        yield "]}"

    def listed(self) -> Iterator[dict[str, object]]:
        for rows in self.document_pages():
            for d in rows:
                yield self._entry(shapes.document_path(d.id, d.title, d.mime_type), d)
        for page in self.message_pages():
            for _, files in page:
                for a in files:
                    yield self._entry(shapes.attachment_path(a.id, a.filename), a)
        yield from self.files

    def _entry(self, path: str, row: DocumentRow | Attachment) -> dict[str, object]:
        entry: dict[str, object] = {"path": path, "sha256": row.sha256, "size": row.size}
        if row.id in self.damaged:
            entry["damaged"] = True
        return entry

    def bundle(self, person: shapes.Person) -> Iterator[str]:
        yield (
            '{"resourceType":"Bundle","type":"collection","timestamp":'
            + json.dumps(shapes.instant(clock.now()))
            + ',"entry":['
        )
        yield json.dumps(shapes.entry(shapes.patient_resource(person)), ensure_ascii=False)
        for resource in self.resources():
            yield "," + json.dumps(shapes.entry(resource), ensure_ascii=False)
        yield "]}"

    def resources(self) -> Iterator[dict[str, Any]]:
        pid = self.patient_id
        for rows in self.document_pages():
            for d in rows:
                yield shapes.document_reference(
                    document_id=d.id,
                    patient_id=pid,
                    status=d.status,
                    type_system=d.type_system,
                    type_code=d.type_code,
                    title=d.title,
                    created_at=d.created_at,
                    mime_type=d.mime_type,
                    size=d.size,
                    sha1=d.sha1,
                    path=shapes.document_path(d.id, d.title, d.mime_type),
                    author=d.author_id,
                )
        for entries in self.history_pages():
            for h in entries:
                self.counts["traces"] += 1
                yield shapes.audit_event(
                    trace_id=h.id,
                    patient_id=pid,
                    at=h.at,
                    action=h.action,
                    outcome=h.outcome,
                    who=h.actor_label,
                    what=history_sentence(h, "fr"),
                )
        # The medical profile (PRF-1), every section the patient's side reads, in one page.
        for resource in self.page(lambda reads: export_resources(reads.record)):
            self.counts["profile"] += 1
            yield resource
        for page in self.message_pages():
            for m, files in page:
                subject, body = self.opened(m)
                self.counts["messages"] += 1
                yield shapes.communication(
                    message_id=m.id,
                    patient_id=pid,
                    inbound=m.direction == Direction.INBOUND.value,
                    counterpart=m.counterpart,
                    author=m.author_name,
                    subject=subject,
                    body=body,
                    at=m.created_at,
                    attachments=[
                        (shapes.attachment_path(a.id, a.filename), a.mime_type, a.filename)
                        for a in files
                        if a.id not in self.damaged
                    ],
                )

    def index(self, person: shapes.Person) -> Iterator[str]:
        yield shapes.html_head(person, clock.now())
        for rows in self.document_pages():
            for d in rows:
                yield shapes.html_document(
                    d.service_date or d.created_at.date(),
                    d.title,
                    shapes.document_path(d.id, d.title, d.mime_type),
                    d.author_id,
                    d.status,
                    d.id in self.damaged,
                )
        yield shapes.html_history_start()
        for entries in self.history_pages():
            for h in entries:
                yield shapes.html_trace(h.at, history_sentence(h, "fr"))
        yield shapes.html_messages_start()
        for page in self.message_pages():
            for m, files in page:
                subject, body = self.opened(m)
                yield shapes.html_message(
                    m.created_at,
                    m.author_name,
                    m.counterpart,
                    subject,
                    body,
                    [
                        (shapes.attachment_path(a.id, a.filename), a.filename)
                        for a in files
                        if a.id not in self.damaged
                    ],
                )
        yield shapes.html_end()
