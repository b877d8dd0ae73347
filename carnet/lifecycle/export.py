"""LC-6, the right of access: the patient's full export, one zip to open offline.

``index.html`` to browse, every document's file (and the mailbox's attachments), a FHIR R4
``collection`` Bundle of the documents' metadata, the history and the messages, and
``manifest.json`` with each file's SHA-256 and the latest signed tree head of the log (TR-3).

Asked for (``request_export``), it is built in the background (``build_export``: the instance's
own worker, the daily job for what a crash left) a page at a time — documents, history and
messages read through the record handle in short transactions, each file streamed into a zip
sealed with the patient's key (``sealed``) — so memory stays flat whatever the space holds; the
progress is committed page by page. A builder killed midway loses nothing: its lease runs out
and the next one builds the zip again from the start (the file is written only once whole);
the export is traced once, when asked for and when it is complete, and never twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access.record_export import ExportReads
from carnet.access.rules import LifeAct, Purpose, Why
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.uow import after_commit
from carnet.errors import NotFound, Refusal
from carnet.ids import new_id
from carnet.keys.service import key_by_id
from carnet.lifecycle.export_build import (
    BUILDING,
    FAILED,
    QUEUED,
    READY,
    Builder,
    Claim,
    Lost,
    claim,
)
from carnet.lifecycle.models import Export
from carnet.lifecycle.rules import EXPORT_KEPT
from carnet.lifecycle.sealed import SealedWriter, read_sealed
from carnet.lifecycle.service import open_for
from carnet.lifecycle.sweep import export_path, remove_exports
from carnet.logs import get_logger
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.runtime import Runtime

log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ExportStatus:
    id: str
    state: str
    done: int
    total: int
    created_at: datetime
    expires_at: datetime | None
    size: int | None

    @property
    def ready(self) -> bool:
        return self.state == READY

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "size": self.size,
        }


def _status(row: Export) -> ExportStatus:
    return ExportStatus(
        row.id, row.state, row.done, row.total, row.created_at, row.expires_at, row.size
    )


def _latest(session: Session, patient_id: str, now: datetime) -> Export | None:
    """The space's export in progress, or ready and not expired."""
    return session.scalars(
        select(Export)
        .where(
            Export.patient_id == patient_id,
            or_(
                Export.state.in_((QUEUED, BUILDING)),
                (Export.state == READY) & (Export.expires_at > now),
            ),
        )
        .order_by(Export.created_at.desc())
        .limit(1)
    ).first()


class ExportWorkers(ThreadPoolExecutor):
    """The instance's export builder (``Runtime.state``): one at a time, in the background."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="export")


def request_export(rt: Runtime, ctx: RequestContext, patient_id: str) -> ExportStatus:
    """Ask for the space's full export (the patient, or who acts for him — who then gets what
    he sees: ACC-8); an export already under way or ready is answered instead of a second."""
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.EXPORT)
        found = _latest(session, patient_id, clock.now())
        if found is not None and (found.state == READY or found.requested_by == ctx.actor_id):
            return _status(found)
        row = Export(
            patient_id=patient_id,
            id=new_id(),
            requested_by=ctx.actor_id,
            door=ctx.door.value,
            state=QUEUED,
            done=0,
            total=ExportReads(record).document_count(),
            attempts=0,
            created_at=clock.now(),
            lease_until=None,
            finished_at=None,
            expires_at=None,
            size=None,
            key_id=None,
            error=None,
        )
        session.add(row)
        record.trace(Action.REQUEST_EXPORT, target=row.id)
        after_commit(session, partial(start_in_background, rt, patient_id, row.id))
        return _status(row)


def start_in_background(rt: Runtime, patient_id: str, export_id: str) -> None:
    rt.state(ExportWorkers).submit(_build_quietly, rt, patient_id, export_id)


def _build_quietly(rt: Runtime, patient_id: str, export_id: str) -> None:
    try:
        build_export(rt, patient_id, export_id)
    except Exception:  # the lease runs out; the next builder starts again
        log.exception("export_failed", export=export_id)


def build_export(rt: Runtime, patient_id: str, export_id: str) -> bool:
    """Build one export if no one else is; whether this call finished it."""
    claimed = claim(rt, patient_id, export_id)
    if claimed is None:
        return False
    builder = Builder(rt, patient_id, export_id, claimed)
    final = export_path(rt.settings, patient_id, export_id)
    part = final.with_suffix(".part")
    try:
        with SealedWriter(part, claimed.key, export_id) as out:
            builder.build(out)  # type: ignore[arg-type]
    except Lost:
        return False
    except Refusal as refused:  # the space closed, the requester lost his right
        _failed(rt, patient_id, export_id, claimed, refused.en)
        return False
    part.replace(final)
    return _finished(rt, patient_id, export_id, claimed, builder, final.stat().st_size)


def _failed(rt: Runtime, patient_id: str, export_id: str, claimed: Claim, why: str) -> None:
    with rt.transaction() as session:
        row = session.get(Export, (patient_id, export_id), with_for_update=True)
        if row is not None and row.attempts == claimed.attempt and row.state == BUILDING:
            row.state, row.error, row.finished_at = FAILED, why, clock.now()


def _finished(
    rt: Runtime, patient_id: str, export_id: str, claimed: Claim, builder: Builder, size: int
) -> bool:
    """Ready, traced once (with what it holds), the patient told — if still this build's."""
    try:
        with rt.transaction() as session:
            record = gate.open(
                session,
                rt,
                claimed.ctx,
                purpose=Purpose.SPACE,
                action=Action.EXPORT_RECORD,
                patient_id=patient_id,
            )
            row = session.get(Export, (patient_id, export_id), with_for_update=True)
            if row is None or row.attempts != claimed.attempt or row.state != BUILDING:
                return False
            now = clock.now()
            row.state, row.done, row.finished_at = READY, row.total, now
            row.expires_at, row.size, row.lease_until = now + EXPORT_KEPT, size, None
            record.trace(
                Action.EXPORT_RECORD,
                target=export_id,
                detail={**builder.counts, "damaged": len(builder.damaged), "bytes": size},
            )
            enqueue(session, patient_id, Kind.EXPORT_READY, {})
    except NotFound:
        return False
    return True


def export_status(
    rt: Runtime, ctx: RequestContext, patient_id: str, export_id: str | None = None
) -> ExportStatus | None:
    """Where the export stands (the progress bar): the requester's side only, not traced (the
    export itself is)."""
    with rt.transaction() as session:
        gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.SPACE,
            action=Action.EXPORT_RECORD,
            patient_id=patient_id,
        )
        if export_id is None:
            found = _latest(session, patient_id, clock.now())
        else:
            found = session.get(Export, (patient_id, export_id))
        return _status(found) if found is not None else None


def download(
    rt: Runtime, ctx: RequestContext, patient_id: str, export_id: str
) -> tuple[ExportStatus, Iterator[bytes]]:
    """The finished zip, decrypted a chunk at a time as it is sent; traced."""
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.EXPORT)
        row = session.get(Export, (patient_id, export_id))
        if row is None or row.state != READY or row.expires_at is None:
            record.refuse(Action.EXPORT_RECORD, Why.ABSENT, target=export_id)
        if row.expires_at <= clock.now() or row.key_id is None:
            record.refuse(Action.EXPORT_RECORD, Why.ABSENT, target=export_id)
        key = key_by_id(session, rt.master_key, patient_id, row.key_id)
        record.trace(Action.EXPORT_RECORD, target=export_id, detail={"downloaded": True})
        status = _status(row)
    return status, read_sealed(export_path(rt.settings, patient_id, export_id), key, export_id)


def pending_exports(rt: Runtime) -> list[tuple[str, str]]:
    """Exports waiting for a builder, or whose builder's lease ran out (a crash)."""
    with rt.transaction() as session:
        now = clock.now()
        return [
            (patient_id, export_id)
            for patient_id, export_id in session.execute(
                select(Export.patient_id, Export.id)
                .where(
                    or_(
                        Export.state == QUEUED,
                        (Export.state == BUILDING) & (Export.lease_until <= now),
                    )
                )
                .order_by(Export.created_at)
            )
        ]


def resume_exports(rt: Runtime) -> int:
    """Build what waits (the daily job; ``carnet serve``'s worker): how many were finished."""
    return sum(build_export(rt, pid, eid) for pid, eid in pending_exports(rt))


def expire_exports(rt: Runtime) -> int:
    """LC-6: a finished export is kept ``EXPORT_KEPT``, then its file and row go; a failed
    one goes at once (the patient may ask again)."""
    with rt.transaction() as session:
        gone = session.execute(
            delete(Export)
            .where(
                or_(Export.state == FAILED, Export.expires_at <= clock.now()),
                Export.state != BUILDING,
            )
            .returning(Export.patient_id, Export.id)
        ).all()
    for patient_id, export_id in gone:
        remove_exports(rt.settings, patient_id, [export_id])
    return len(gone)
