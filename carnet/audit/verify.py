"""Checks the trace log (``carnet verify-log``): each chain, then the transparency log over them.

The chains: every entry in order, linked and unaltered, up to its head; a head with no entries
left is a chain that was removed — unless it was *cut* (LC-5: ``chain_cuts``, the one sanctioned
deletion), in which case the chain is walked from the cut's hash, and the traces the cut covers
may be gone while their leaves stay. The log: every trace is a leaf (or still queued) whose hash is
its content under its chain's salt, every leaf still has its trace (unless the chain's data was
destroyed, LC-5), the stored subtrees are those of the leaves, and every signed head — those
stored, and the one given with ``--against`` — is signed by the log's key and is the root of the
tree at its size. A head kept outside the database pins the past: no rewrite of traces, chains,
leaves and subtrees together gives back its root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest

from sqlalchemy import Connection, exists, select
from sqlalchemy.orm import Session

from carnet.audit import merkle
from carnet.audit.heads import TreeHead
from carnet.audit.log_models import (
    STRIDE,
    ChainCut,
    ChainSalt,
    LogLeaf,
    LogNode,
    LogQueue,
    SignedHead,
)
from carnet.audit.models import Trace, TraceHead
from carnet.audit.publish import head_of
from carnet.audit.rules import GENESIS, entry_hash, trace_leaf
from carnet.audit.sequencer import forgotten_salt
from carnet.audit.trail import hashed_fields
from carnet.audit.tree import LogIncomplete, log_size, root_at

#: Where a breach of the log itself (not of one chain) is reported.
LOG = "(journal)"
_BATCH = 10_000


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
    leaves: int = 0
    heads: int = 0


def verify_log(
    session: Session, *, public_key: bytes | None = None, against: TreeHead | None = None
) -> Verification:
    """The first breach found, chains first. Heads are checked against ``public_key`` when
    given (the CLI passes the instance's); ``against`` is a head obtained earlier."""
    chains, entries, breach = _verify_chains(session)
    if breach is not None:
        return Verification(chains, entries, breach)
    connection = session.connection()
    size = log_size(connection)
    heads = session.scalars(select(SignedHead).order_by(SignedHead.tree_size)).all()
    breach = (
        _orphans(session)
        or _stored_tree(connection, size)
        or _heads(connection, size, [head_of(h) for h in heads], public_key, "signed head")
        or (_heads(connection, size, [against], public_key, "given head") if against else None)
    )
    return Verification(chains, entries, breach, size, len(heads))


def _verify_chains(session: Session) -> tuple[int, int, Breach | None]:
    """Walks each chain in order; stops at the first entry whose link, content or leaf is wrong."""
    heads = {h.patient_id: h for h in session.scalars(select(TraceHead))}
    cuts: dict[str, tuple[int, str]] = {}
    for cut in session.scalars(select(ChainCut).order_by(ChainCut.patient_id, ChainCut.upto_seq)):
        cuts[cut.patient_id] = (cut.upto_seq, cut.last_hash)  # the last cut of each chain
    walk = _Walk(heads, cuts)
    with session.execute(
        select(Trace, LogLeaf.hash, LogQueue.id, ChainSalt.salt, ChainSalt.destroyed_at)
        .outerjoin(LogLeaf, (LogLeaf.patient_id == Trace.patient_id) & (LogLeaf.seq == Trace.seq))
        .outerjoin(
            LogQueue, (LogQueue.patient_id == Trace.patient_id) & (LogQueue.seq == Trace.seq)
        )
        .outerjoin(ChainSalt, ChainSalt.patient_id == Trace.patient_id)
        .order_by(Trace.patient_id, Trace.seq)
        .execution_options(yield_per=_BATCH)
    ) as rows:
        breach = next((b for row in rows if (b := walk.step(*row)) is not None), None)
    breach = breach or walk.end_of_chain() or _headless(session, walk.seen, heads, cuts)
    return walk.chains, walk.entries, breach


class _Walk:
    """One pass over every trace, ordered by chain and place."""

    def __init__(self, heads: dict[str, TraceHead], cuts: dict[str, tuple[int, str]]) -> None:
        self.heads = heads
        self.cuts = cuts
        self.seen: set[str] = set()
        self.chains = self.entries = 0
        self.current: str | None = None
        self.expected_prev, self.expected_seq = GENESIS, 1

    def end_of_chain(self) -> Breach | None:
        """A chain shorter than its head says lost its tail."""
        if self.current is None:
            return None
        head = self.heads.get(self.current)
        last_seq = self.expected_seq - 1
        if head is None or head.seq != last_seq or head.hash != self.expected_prev:
            return Breach(self.current, last_seq + 1, None, "missing tail")
        return None

    def step(
        self,
        trace: Trace,
        leaf: bytes | None,
        queued: int | None,
        salt: bytes | None,
        destroyed: object,
    ) -> Breach | None:
        if trace.patient_id != self.current:
            if (ended := self.end_of_chain()) is not None:
                return ended
            self.current = trace.patient_id
            self.seen.add(trace.patient_id)
            self.chains += 1
            cut = self.cuts.get(trace.patient_id)
            # A cut chain (LC-5) goes on from its last destroyed link.
            self.expected_prev, self.expected_seq = (cut[1], cut[0] + 1) if cut else (GENESIS, 1)
        self.entries += 1
        where = (trace.patient_id, trace.seq, trace.id)
        if trace.seq != self.expected_seq:
            return Breach(trace.patient_id, self.expected_seq, trace.id, "missing entry")
        if trace.prev_hash != self.expected_prev:
            return Breach(*where, "broken link")
        if entry_hash(trace.prev_hash, hashed_fields(trace)) != trace.hash:
            return Breach(*where, "altered entry")
        if leaf is None and queued is None:
            return Breach(*where, "not in the log")
        # Once a chain's salt is forgotten (LC-5), its new traces are salted with the public
        # ``forgotten_salt`` (the sequencer's); the destroyed ones left their leaves only.
        if destroyed:
            salt = forgotten_salt(trace.patient_id)
        if leaf is not None and (
            salt is None or merkle.leaf_hash(trace_leaf(salt, trace.hash)) != leaf
        ):
            return Breach(*where, "altered entry (leaf)")
        self.expected_prev, self.expected_seq = trace.hash, trace.seq + 1
        return None


def _headless(
    session: Session,
    seen: set[str],
    heads: dict[str, TraceHead],
    cuts: dict[str, tuple[int, str]],
) -> Breach | None:
    """A chain's head whose chain has no entry left: the chain was removed — unless it was cut
    at that very head (LC-5: destroyed, ``trail.destroy_chain``)."""
    for patient_id in sorted(set(heads) - seen):
        head, cut = heads[patient_id], cuts.get(patient_id)
        if cut is None or cut != (head.seq, head.hash):
            return Breach(patient_id, 1, None, "missing chain")
    return None


def _orphans(session: Session) -> Breach | None:
    """A leaf or a queued entry whose trace is gone (the leaves of a cut chain's destroyed
    traces excepted, LC-5)."""
    # The traces' keys first, materialised (the check reads every trace anyway): on Citus a
    # reference table (the leaves) cannot be outer-joined to a distributed one (the traces).
    traces = select(Trace.patient_id, Trace.seq).cte("kept").prefix_with("MATERIALIZED")
    cuts = select(ChainCut.patient_id, ChainCut.upto_seq).cte("cuts").prefix_with("MATERIALIZED")
    leaf = session.execute(
        select(LogLeaf.patient_id, LogLeaf.seq, LogLeaf.idx)
        .outerjoin(
            traces, (traces.c.patient_id == LogLeaf.patient_id) & (traces.c.seq == LogLeaf.seq)
        )
        .where(
            traces.c.seq.is_(None),
            ~exists().where(
                cuts.c.patient_id == LogLeaf.patient_id, cuts.c.upto_seq >= LogLeaf.seq
            ),
        )
        .order_by(LogLeaf.idx)
        .limit(1)
    ).first()
    if leaf is not None:
        return Breach(leaf.patient_id, leaf.seq, None, f"missing entry (leaf {leaf.idx})")
    queued = session.execute(
        select(LogQueue.patient_id, LogQueue.seq)
        .outerjoin(Trace, (Trace.patient_id == LogQueue.patient_id) & (Trace.seq == LogQueue.seq))
        .where(Trace.id.is_(None))
        .limit(1)
    ).first()
    return Breach(queued.patient_id, queued.seq, None, "missing entry") if queued else None


def _stored_tree(connection: Connection, size: int) -> Breach | None:
    """Leaves numbered 0… without gaps; each stored level is the one the level below makes."""
    for expected, (idx, _) in enumerate(_stored(connection, 0)):
        if idx != expected:
            return Breach(LOG, expected, None, "missing leaf")
    level = STRIDE
    while (1 << level) <= size:
        computed = _folded(_stored(connection, level - STRIDE), 1 << STRIDE)
        for made, kept in zip_longest(computed, _stored(connection, level)):
            if made is None or kept is None or made != kept:
                index = (kept or made or (0, b""))[0]
                return Breach(LOG, index, None, f"altered subtree (level {level})")
        level += STRIDE
    extra = connection.execute(
        select(LogNode.level, LogNode.idx).where(LogNode.level >= level).limit(1)
    ).first()
    return Breach(LOG, extra.idx, None, "subtree beyond the tree") if extra else None


def _stored(connection: Connection, level: int) -> Iterator[tuple[int, bytes]]:
    statement = (
        select(LogLeaf.idx, LogLeaf.hash).order_by(LogLeaf.idx)
        if level == 0
        else select(LogNode.idx, LogNode.hash).where(LogNode.level == level).order_by(LogNode.idx)
    )
    with connection.execution_options(yield_per=_BATCH).execute(statement) as rows:
        yield from rows


def _folded(rows: Iterator[tuple[int, bytes]], width: int) -> Iterator[tuple[int, bytes]]:
    """The complete subtrees ``width`` consecutive hashes make, numbered."""
    group: list[bytes] = []
    index = 0
    for _, value in rows:
        group.append(value)
        if len(group) == width:
            while len(group) > 1:
                group = [merkle.node_hash(group[i], group[i + 1]) for i in range(0, len(group), 2)]
            yield index, group[0]
            index, group = index + 1, []


def _heads(
    connection: Connection,
    size: int,
    heads: list[TreeHead],
    public_key: bytes | None,
    what: str,
) -> Breach | None:
    """Each head signed by the log's key, and the root of the stored tree at its size."""
    for head in heads:
        if public_key is not None and (problem := head.problem(public_key)) is not None:
            return Breach(LOG, head.tree_size, None, f"{what}: {problem}")
        if head.tree_size > size:
            return Breach(LOG, head.tree_size, None, f"{what}: the log is shorter ({size} leaves)")
        try:
            root = root_at(connection, head.tree_size)
        except LogIncomplete:
            return Breach(LOG, head.tree_size, None, f"{what}: the log lost leaves")
        if root != head.root_hash:
            return Breach(LOG, head.tree_size, None, f"{what}: the log does not extend it")
    return None
