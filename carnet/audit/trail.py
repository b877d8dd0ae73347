"""The one writer of traces. Every act, allowed or denied, goes through ``record``.

It appends to the patient's chain in the caller's transaction: the trace commits with the act or
not at all. The chain's head row is locked (``SELECT … FOR UPDATE``; SQLite's write lock is
already held) so concurrent acts on one patient line up instead of forking the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit.models import SYSTEM_CHAIN, Trace, TraceHead
from carnet.audit.rules import GENESIS, Action, Outcome, entry_hash
from carnet.context import RequestContext
from carnet.ids import new_id


@dataclass(frozen=True)
class DocumentRef:
    id: str
    version: int
    sha256: str


def hashed_fields(trace: Trace) -> dict[str, object]:
    """The fields a trace's hash covers (all but the hash itself)."""
    return {
        "patient_id": trace.patient_id,
        "seq": trace.seq,
        "id": trace.id,
        "at": trace.at.isoformat(),
        "actor_kind": trace.actor_kind,
        "actor_id": trace.actor_id,
        "actor_profession": trace.actor_profession,
        "on_behalf_of": trace.on_behalf_of,
        "action": trace.action,
        "outcome": trace.outcome,
        "mode": trace.mode,
        "reason": trace.reason,
        "door": trace.door,
        "request_id": trace.request_id,
        "document_id": trace.document_id,
        "document_version": trace.document_version,
        "document_sha256": trace.document_sha256,
        "target": trace.target,
        "detail": trace.detail,
    }


def record(
    session: Session,
    ctx: RequestContext,
    action: Action,
    *,
    patient_id: str | None,
    outcome: Outcome = Outcome.ALLOWED,
    document: DocumentRef | None = None,
    target: str | None = None,
    on_behalf_of: str | None = None,
    detail: dict[str, object] | None = None,
) -> Trace:
    chain = patient_id or SYSTEM_CHAIN
    head = session.execute(
        select(TraceHead).where(TraceHead.patient_id == chain).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = TraceHead(patient_id=chain, seq=0, hash=GENESIS)
        session.add(head)
    trace = Trace(
        patient_id=chain,
        seq=head.seq + 1,
        id=new_id(),
        at=clock.now(),
        actor_kind=ctx.kind.value,
        actor_id=ctx.actor_id,
        actor_profession=ctx.pro.profession if ctx.pro else None,
        on_behalf_of=on_behalf_of,
        action=action.value,
        outcome=outcome.value,
        mode=ctx.mode.value,
        reason=ctx.reason,
        door=ctx.door.value,
        request_id=ctx.request_id,
        document_id=document.id if document else None,
        document_version=document.version if document else None,
        document_sha256=document.sha256 if document else None,
        target=target,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else None,
        prev_hash=head.hash,
        hash="",
    )
    trace.hash = entry_hash(trace.prev_hash, hashed_fields(trace))
    head.seq = trace.seq
    head.hash = trace.hash
    session.add(trace)
    session.flush()
    return trace
