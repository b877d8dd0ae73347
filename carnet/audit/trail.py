"""The one writer of traces. Every act, allowed or denied, goes through ``record``; the one
deletion of traces the database allows (LC-5: destroyed archives) goes through ``destroy_chain``.

It appends to the patient's chain in the caller's transaction: the trace commits with the act or
not at all. The chain's head row is locked (``SELECT … FOR UPDATE``; SQLite's write lock is
already held) so concurrent acts on one patient line up instead of forking the chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit.log_models import ChainCut
from carnet.audit.models import SYSTEM_CHAIN, Trace, TraceHead
from carnet.audit.rules import GENESIS, Action, Outcome, entry_hash
from carnet.context import RequestContext
from carnet.db.base import table_of
from carnet.db.direct import Prepared, row_insert
from carnet.ids import new_id


@dataclass(frozen=True)
class DocumentRef:
    id: str
    version: int
    sha256: str


#: The fields a trace's hash covers: all but the hash itself.
COVERED = (
    "patient_id",
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_profession",
    "on_behalf_of",
    "action",
    "outcome",
    "mode",
    "reason",
    "door",
    "request_id",
    "document_id",
    "document_version",
    "document_sha256",
    "target",
    "detail",
    "why",
)


def hashed_fields(trace: Trace) -> dict[str, object]:
    """The fields a trace's hash covers (all but the hash itself)."""
    return _covered({name: getattr(trace, name) for name in COVERED})


def _covered(values: Mapping[str, Any]) -> dict[str, object]:
    """``why`` came later (migration 0006): a trace without one is hashed as it always was."""
    fields = {name: values[name] for name in COVERED}
    fields["at"] = values["at"].isoformat()
    if fields["why"] is None:
        del fields["why"]
    return fields


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
    why: str | None = None,
) -> str:
    """Append one act to its patient's chain; the trace's id. ``why`` names the rule that let
    the act through or refused it (``access.rules.Why``)."""
    entry = Entry(ctx, action, patient_id, outcome, document, target, on_behalf_of, detail, why)
    return record_many(session, [entry])[0]


@dataclass(frozen=True)
class Entry:
    """One act to trace, for ``record_many``: the arguments of ``record``."""

    ctx: RequestContext
    action: Action
    patient_id: str | None
    outcome: Outcome = Outcome.ALLOWED
    document: DocumentRef | None = None
    target: str | None = None
    on_behalf_of: str | None = None
    detail: dict[str, object] | None = None
    why: str | None = None


@dataclass
class _Head:
    """A chain's last link while appending (a plain row: every read of a trace is a query, so
    ORM state would only cost time — a listing writes one trace and reads nothing back)."""

    patient_id: str
    seq: int
    hash: str
    new: bool = False


_HEADS = (
    select(TraceHead.patient_id, TraceHead.seq, TraceHead.hash)
    .where(TraceHead.patient_id.in_(bindparam("chains", expanding=True)))
    .with_for_update()
)
#: One chain's head: what nearly every act locks. Not ``_HEADS`` with one chain: an expanding
#: parameter's SQL is rendered again at every execution (issue 19).
_HEAD = Prepared(
    select(TraceHead.patient_id, TraceHead.seq, TraceHead.hash)
    .where(TraceHead.patient_id == bindparam("chain"))
    .with_for_update()
)
_INSERT = insert(table_of(Trace))
_NEW_HEAD = insert(table_of(TraceHead))
#: PostgreSQL: a chain's head before its first link, unless another transaction made it first
#: (``_locked_head_rows``).
_EMPTY_HEAD = Prepared(
    postgresql.insert(table_of(TraceHead))
    .values(patient_id=bindparam("chain"), seq=0, hash=GENESIS)
    .on_conflict_do_nothing()
)
_MOVE_HEAD = (
    update(table_of(TraceHead))
    .where(TraceHead.patient_id == bindparam("chain"))
    .values(seq=bindparam("to_seq"), hash=bindparam("to_hash"))
)
_MOVE_ONE_HEAD = Prepared(_MOVE_HEAD)


@lru_cache(maxsize=4)
def _insert_moving_head(columns: tuple[str, ...]) -> Prepared:  # pragma: no cover - PG run
    """PostgreSQL: one trace appended and its chain's head moved in one statement (the update
    as a data-modifying CTE): a round trip less on every traced request (issue 19). On Citus
    the coordinator runs it as two tasks, the update (a subplan) then the insert, each on the
    same patient's shards on one worker (tests/db/test_citus.py). The trace's values are bound
    under names of their own: a parameter named like a ``trace_heads`` column would become one
    more ``SET`` of the update."""
    table = table_of(Trace)
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns
    }
    return Prepared(insert(table).values(values).add_cte(_MOVE_HEAD.cte("moved_head")))


def locked_head(chain: ColumnElement[str]) -> Subquery:
    """The chain's head (``patient_id``, ``seq``, ``hash``), locked for update, as a subquery a
    caller's first query of the transaction can join (the gate's facts): the lock and the values
    come a round trip earlier than ``record_many`` would take them (issue 18, 19). Hand the row
    to ``prime``; never write from it."""
    return (
        select(TraceHead.patient_id, TraceHead.seq, TraceHead.hash)
        .where(TraceHead.patient_id == chain)
        .with_for_update()
        .subquery("chain_head")
    )


def prime(session: Session, chain: str, seq: int | None, last: str | None) -> None:
    """This transaction holds ``chain``'s head, read by a ``locked_head`` join: the next append
    to it skips its own ``SELECT … FOR UPDATE``. A chain with no head yet is left to
    ``record_many`` (nothing was locked)."""
    if seq is not None and last is not None:
        _held(session).setdefault(chain, _Head(chain, seq, last))


def _held(session: Session) -> dict[str, _Head]:
    """The heads this transaction locked, as they stand after its appends. Kept per transaction
    (a session may run several): a head read in an earlier one may have moved since."""
    transaction = session.get_transaction()
    found = session.info.get(_HELD)
    if found is None or found[0] is not transaction:
        found = session.info[_HELD] = (transaction, {})
    heads: dict[str, _Head] = found[1]
    return heads


_HELD = "carnet.audit.trail.held_heads"


def record_many(session: Session, entries: Sequence[Entry]) -> list[str]:
    """``record`` for many acts in one go (a batch of received messages), the ids of the traces:
    each chain's head is locked once, in a fixed order (no deadlock between two batches), and
    the traces are inserted together."""
    if not entries:
        return []
    connection = session.connection()
    held = _held(session)
    chains = sorted({e.patient_id or SYSTEM_CHAIN for e in entries})
    heads = {chain: held[chain] for chain in chains if chain in held}
    missing = [chain for chain in chains if chain not in heads]
    if len(missing) == 1 or connection.dialect.name == "postgresql":
        # On PostgreSQL a chain at a time, in order (still no deadlock): on Citus a row lock is
        # taken by a statement of one shard only, and each chain is one patient's.
        found = [row for chain in missing for row in _locked_head_rows(connection, chain)]
    elif missing:
        found = list(connection.execute(_HEADS, {"chains": missing}))
    else:
        found = []
    heads |= {chain: _Head(chain, seq, last) for chain, seq, last in found}
    for chain in chains:
        if chain not in heads:
            heads[chain] = _Head(chain, 0, GENESIS, new=True)
    rows = [_link(heads[e.patient_id or SYSTEM_CHAIN], e) for e in entries]
    held |= heads
    if len(rows) == 1 and connection.dialect.name == "postgresql":  # pragma: no cover - PG run
        (head,) = heads.values()
        if not head.new:
            (row,) = rows
            _insert_moving_head(tuple(row)).execute(
                connection,
                {f"new_{name}": value for name, value in row.items()}
                | {"chain": head.patient_id, "to_seq": head.seq, "to_hash": head.hash},
            )
            return [row["id"]]
    if len(rows) == 1:
        row_insert(table_of(Trace), tuple(rows[0])).execute(connection, rows[0])
    else:
        connection.execute(_INSERT, rows)
    created = [h for h in heads.values() if h.new]
    moved = [h for h in heads.values() if not h.new]
    if created:
        connection.execute(
            _NEW_HEAD, [{"patient_id": h.patient_id, "seq": h.seq, "hash": h.hash} for h in created]
        )
        for head in created:
            head.new = False  # the row exists now: a later append in this transaction moves it
    if len(moved) == 1:
        (head,) = moved
        _MOVE_ONE_HEAD.execute(
            connection, {"chain": head.patient_id, "to_seq": head.seq, "to_hash": head.hash}
        )
    elif moved:
        connection.execute(
            _MOVE_HEAD, [{"chain": h.patient_id, "to_seq": h.seq, "to_hash": h.hash} for h in moved]
        )
    return [row["id"] for row in rows]


def _locked_head_rows(connection: Connection, chain: str) -> list[tuple[Any, ...]]:
    """The chain's head, locked; none for a chain not begun, except on PostgreSQL, where two
    transactions finding none would both begin it (the second's first link then refused as a
    duplicate): there an empty head is made first, and a second transaction making it waits
    for the first's, then locks it as the first left it. (SQLite: one writer at a time.)"""
    rows = _HEAD.all(connection, {"chain": chain})
    if rows or connection.dialect.name != "postgresql":
        return rows
    return _begun_head(connection, chain)  # pragma: no cover - PG run


def _begun_head(connection: Connection, chain: str) -> list[Any]:  # pragma: no cover - PG run
    _EMPTY_HEAD.execute(connection, {"chain": chain})
    return _HEAD.all(connection, {"chain": chain})


def _link(head: _Head, entry: Entry) -> dict[str, Any]:
    """The next link of ``head``'s chain, as a row; ``head`` moves to it."""
    ctx, document = entry.ctx, entry.document
    row: dict[str, Any] = {
        "patient_id": head.patient_id,
        "seq": head.seq + 1,
        "id": new_id(),
        "at": clock.now(),
        "actor_kind": ctx.kind.value,
        "actor_id": ctx.actor_id,
        "actor_profession": ctx.pro.profession if ctx.pro else None,
        "on_behalf_of": entry.on_behalf_of,
        "action": entry.action.value,
        "outcome": entry.outcome.value,
        "mode": ctx.mode.value,
        "reason": ctx.reason,
        "door": ctx.door.value,
        "request_id": ctx.request_id,
        "document_id": document.id if document else None,
        "document_version": document.version if document else None,
        "document_sha256": document.sha256 if document else None,
        "target": entry.target,
        "detail": json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)
        if entry.detail
        else None,
        "why": entry.why,
        "prev_hash": head.hash,
    }
    row["hash"] = entry_hash(head.hash, _covered(row))
    head.seq, head.hash = row["seq"], row["hash"]
    return row


@dataclass(frozen=True)
class Cut:
    """What ``destroy_chain`` destroyed: the chain up to ``upto_seq`` (its last link's hash
    kept), ``traces`` rows deleted now."""

    patient_id: str
    upto_seq: int
    last_hash: str
    traces: int


def destroy_chain(session: Session, patient_id: str) -> Cut | None:
    """LC-5: delete a destroyed profile's traces, the one way the database allows (migration
    0011): a cut is recorded at the chain's head — only once the chain's salt is forgotten
    (``sequencer.forget_salt``), its profile closed or opposed and each of its traces in the
    tree — then the traces it covers are deleted; their leaves stay, so the tree and every
    head given out still verify, and the chain goes on from the cut's hash if the profile is
    reopened. On PostgreSQL the application's role calls the owner's ``carnet_destroy_chain``
    (it has no ``DELETE`` on traces). ``None`` when the patient never had a trace."""
    connection = session.connection()
    head = _HEAD.one_or_none(connection, {"chain": patient_id})
    if head is None:
        return None
    _, upto, last = head
    dialect = connection.dialect.name
    cut = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table_of(ChainCut))
    connection.execute(
        cut.values(
            patient_id=patient_id, upto_seq=upto, last_hash=last, at=clock.now()
        ).on_conflict_do_nothing()
    )
    if dialect == "postgresql":  # pragma: no cover - measured by the PostgreSQL run
        deleted = connection.execute(
            text("SELECT carnet_destroy_chain(:patient)"), {"patient": patient_id}
        ).scalar_one()
    else:
        deleted = connection.execute(
            delete(table_of(Trace)).where(Trace.patient_id == patient_id, Trace.seq <= upto)
        ).rowcount
    return Cut(patient_id, upto, last, int(deleted))
