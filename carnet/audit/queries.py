"""Reading the trace log: a patient's history, newest first, a page at a time (TR-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.audit.models import Trace

PAGE_SIZE = 100


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    actions: frozenset[str] | None = None
    actor_kind: str | None = None


def history_rows(session: Session, patient_id: str, flt: HistoryFilter) -> list[Trace]:
    """Every matching trace of the patient, newest first; the caller pages after hiding what
    the reader may not know about."""
    query = select(Trace).where(Trace.patient_id == patient_id)
    if flt.since is not None:
        query = query.where(Trace.at >= flt.since)
    if flt.until is not None:
        query = query.where(Trace.at <= flt.until)
    if flt.actions:
        query = query.where(Trace.action.in_(sorted(flt.actions)))
    if flt.actor_kind:
        query = query.where(Trace.actor_kind == flt.actor_kind)
    return list(session.scalars(query.order_by(Trace.seq.desc())))
