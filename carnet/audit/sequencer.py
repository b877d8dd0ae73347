"""The sequencer: queued traces get their places in the tree, a batch at a time (TR-3).

Like a Certificate Transparency log's merge delay: a request only appends its trace to its own
patient's chain (which queues it), and this job — one at a time, under a lock no request takes
— turns a batch of committed traces into leaves and stores the complete subtrees they finish.
Within a chain, traces queue in the order their head lock let them commit, so each chain's
leaves keep its order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import merkle
from carnet.audit.log_models import STRIDE, ChainSalt, LogLeaf, LogNode, LogQueue
from carnet.audit.models import Trace
from carnet.audit.rules import trace_leaf
from carnet.audit.tree import frontier, log_size
from carnet.blobs.crypto import generate_key
from carnet.db.base import table_of

#: Traces sequenced per transaction: a batch's statements stay small, its lock short.
BATCH = 2000
#: ``pg_try_advisory_xact_lock`` key of the sequencer ("carnetlg").
LOCK_KEY = 0x636172_6E65746C67

_PENDING = (
    select(LogQueue.id, LogQueue.patient_id, LogQueue.seq, Trace.hash)
    .join(Trace, (Trace.patient_id == LogQueue.patient_id) & (Trace.seq == LogQueue.seq))
    .order_by(LogQueue.id)
    .limit(bindparam("limit"))
)
_SALTS = select(ChainSalt.patient_id, ChainSalt.salt).where(
    ChainSalt.patient_id.in_(bindparam("chains", expanding=True))
)
_DONE = delete(table_of(LogQueue)).where(LogQueue.id.in_(bindparam("ids", expanding=True)))


def sequence_batch(session: Session, limit: int = BATCH) -> int:
    """Sequence up to ``limit`` queued traces in the caller's transaction; how many. Returns 0
    at once when another sequencer holds the log (PostgreSQL; SQLite's write lock is held by
    every transaction already)."""
    connection = session.connection()
    if (
        connection.dialect.name == "postgresql"
        and not connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
        ).scalar()
    ):
        return 0
    pending = connection.execute(_PENDING, {"limit": limit}).all()
    if not pending:
        return 0
    salts = chain_salts(connection, {row.patient_id for row in pending})
    start = log_size(connection)
    leaves = [merkle.leaf_hash(trace_leaf(salts[row.patient_id], row.hash)) for row in pending]
    _, completed = merkle.append(frontier(connection, start), leaves)
    connection.execute(
        insert(table_of(LogLeaf)),
        [
            {"idx": start + i, "patient_id": row.patient_id, "seq": row.seq, "hash": leaf}
            for i, (row, leaf) in enumerate(zip(pending, leaves, strict=True))
        ],
    )
    nodes = [
        {"level": level, "idx": index, "hash": value}
        for level, index, value in completed
        if level and level % STRIDE == 0
    ]
    if nodes:
        connection.execute(insert(table_of(LogNode)), nodes)
    connection.execute(_DONE, {"ids": [row.id for row in pending]})
    return len(pending)


def chain_salts(connection: Connection, chains: Iterable[str]) -> dict[str, bytes]:
    """Each chain's salt, made the first time the chain reaches the log. A chain whose salt was
    forgotten (LC-5) and that still gets traces has them committed under a salt derived from
    its id alone: known to anyone, as nothing is left to protect."""
    wanted = sorted(set(chains))
    salts: dict[str, bytes] = {}
    forgotten: set[str] = set()
    for patient_id, salt in connection.execute(_SALTS, {"chains": wanted}):
        if salt is None:
            forgotten.add(patient_id)
        else:
            salts[patient_id] = salt
    new = [c for c in wanted if c not in salts and c not in forgotten]
    if new:
        now = clock.now()
        made = {c: generate_key() for c in new}
        connection.execute(
            insert(table_of(ChainSalt)),
            [
                {"patient_id": c, "salt": s, "created_at": now, "destroyed_at": None}
                for c, s in made.items()
            ],
        )
        salts.update(made)
    for patient_id in forgotten:
        salts[patient_id] = forgotten_salt(patient_id)
    return salts


def forgotten_salt(patient_id: str) -> bytes:
    return hashlib.sha256(b"carnet/forgotten-salt/" + patient_id.encode()).digest()


def forget_salt(session: Session, patient_id: str) -> bool:
    """LC-5: when a patient's data is destroyed, his chain's salt goes with it. His leaves stay
    in the tree, which stays whole and verifiable; nothing can tie them to content any more,
    and ``verify-log`` no longer expects his traces. Whether it forgot a salt."""
    result = session.execute(
        update(table_of(ChainSalt))
        .where(ChainSalt.patient_id == patient_id, ChainSalt.salt.is_not(None))
        .values(salt=None, destroyed_at=clock.now())
    )
    return bool(getattr(result, "rowcount", 0))
