"""Checks every chain of the trace log (``carnet verify-log``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.audit.models import Trace, TraceHead
from carnet.audit.rules import GENESIS, entry_hash
from carnet.audit.trail import hashed_fields


@dataclass(frozen=True)
class Breach:
    patient_id: str
    seq: int
    trace_id: str | None
    problem: str


@dataclass(frozen=True)
class Verification:
    chains: int
    entries: int
    breach: Breach | None


def verify_log(session: Session) -> Verification:
    """Walks each chain in order; stops at the first entry whose link or content is wrong."""
    heads = {h.patient_id: h for h in session.scalars(select(TraceHead))}
    chains = 0
    entries = 0
    current: str | None = None
    expected_prev = GENESIS
    expected_seq = 1
    rows = session.execute(select(Trace).order_by(Trace.patient_id, Trace.seq)).scalars()
    for trace in rows:
        if trace.patient_id != current:
            if current is not None and (
                b := _check_head(heads, current, expected_seq - 1, expected_prev)
            ):
                return Verification(chains, entries, b)
            current = trace.patient_id
            chains += 1
            expected_prev, expected_seq = GENESIS, 1
        entries += 1
        if trace.seq != expected_seq:
            return Verification(
                chains, entries, Breach(trace.patient_id, expected_seq, trace.id, "missing entry")
            )
        if trace.prev_hash != expected_prev:
            return Verification(
                chains, entries, Breach(trace.patient_id, trace.seq, trace.id, "broken link")
            )
        if entry_hash(trace.prev_hash, hashed_fields(trace)) != trace.hash:
            return Verification(
                chains, entries, Breach(trace.patient_id, trace.seq, trace.id, "altered entry")
            )
        expected_prev, expected_seq = trace.hash, trace.seq + 1
    if current is not None and (b := _check_head(heads, current, expected_seq - 1, expected_prev)):
        return Verification(chains, entries, b)
    return Verification(chains, entries, None)


def _check_head(
    heads: dict[str, TraceHead], chain: str, last_seq: int, last_hash: str
) -> Breach | None:
    """A chain shorter than its head says lost its tail."""
    head = heads.get(chain)
    if head is None or head.seq != last_seq or head.hash != last_hash:
        return Breach(chain, last_seq + 1, None, "missing tail")
    return None
