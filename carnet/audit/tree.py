"""Reading the stored tree: any complete subtree, the root at any size, proofs (TR-3).

A complete subtree of level ``l`` hashes from the ``2**(l % STRIDE)`` stored hashes below it at
level ``l - l % STRIDE`` (leaves at level 0, ``log_nodes`` above), so a proof, which names
O(log n) subtrees, costs one query per stored level it touches — a handful at 10⁷ leaves — and
as many proofs as a page of history asks for cost the same handful.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, func, select

from carnet.audit import merkle
from carnet.audit.log_models import STRIDE, LogLeaf, LogNode
from carnet.audit.merkle import Frontier, Subtree

#: Keys per ``IN (…)``: within every SQLite's limit on bound parameters.
CHUNK = 500

_SIZE = select(func.max(LogLeaf.idx))
_LEAVES = select(LogLeaf.idx, LogLeaf.hash).where(LogLeaf.idx.in_(bindparam("idx", expanding=True)))
_NODES = select(LogNode.idx, LogNode.hash).where(
    LogNode.level == bindparam("level"), LogNode.idx.in_(bindparam("idx", expanding=True))
)


class LogIncomplete(LookupError):
    """A hash the tree needs is not stored: the log was cut, or the size asked is beyond it."""


def log_size(connection: Connection) -> int:
    """Leaves in the tree (places are given from 0 without gaps)."""
    last = connection.execute(_SIZE).scalar()
    return 0 if last is None else int(last) + 1


def subtree_hashes(connection: Connection, wanted: Iterable[Subtree]) -> dict[Subtree, bytes]:
    """The hash of each complete subtree in ``wanted``, from the stored ones."""
    wanted = set(wanted)
    needed: dict[int, set[int]] = {}
    for level, index in wanted:
        base = level - level % STRIDE
        width = 1 << (level - base)
        needed.setdefault(base, set()).update(range(index * width, (index + 1) * width))
    stored: dict[Subtree, bytes] = {}
    for base, indices in needed.items():
        ordered = sorted(indices)
        for at in range(0, len(ordered), CHUNK):
            chunk = ordered[at : at + CHUNK]
            rows = (
                connection.execute(_LEAVES, {"idx": chunk})
                if base == 0
                else connection.execute(_NODES, {"level": base, "idx": chunk})
            )
            stored.update(((base, idx), value) for idx, value in rows)
    found: dict[Subtree, bytes] = {}
    for level, index in wanted:
        base = level - level % STRIDE
        width = 1 << (level - base)
        try:
            row = [stored[(base, i)] for i in range(index * width, (index + 1) * width)]
        except KeyError:
            raise LogIncomplete(f"subtree ({level}, {index}) is not stored") from None
        found[(level, index)] = _fold(row)
    return found


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree from its ``2**k`` hashes at one level, left to right."""
    row = list(hashes)
    while len(row) > 1:
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


def frontier(connection: Connection, size: int) -> Frontier:
    subtrees = merkle.subtrees_of(0, size)
    known = subtree_hashes(connection, subtrees)
    return Frontier(size, tuple(known[s] for s in subtrees))


def root_at(connection: Connection, size: int) -> bytes:
    return frontier(connection, size).root()


def inclusion_proofs(
    connection: Connection, indices: Iterable[int], size: int
) -> dict[int, list[bytes]]:
    """Inclusion proofs of many leaves in the tree of ``size``, fetched together."""
    ranges = {index: merkle.inclusion_ranges(index, size) for index in indices}
    known = subtree_hashes(
        connection, merkle.subtrees_needed(r for rs in ranges.values() for r in rs)
    )
    return {index: merkle.path_hashes(rs, known) for index, rs in ranges.items()}


def consistency_proof(connection: Connection, first: int, second: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(first, second)
    return merkle.path_hashes(ranges, subtree_hashes(connection, merkle.subtrees_needed(ranges)))
