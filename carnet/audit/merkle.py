"""Merkle trees as Certificate Transparency makes them (RFC 9162 §2.1). Pure: no I/O.

https://www.rfc-editor.org/rfc/rfc9162#section-2.1 — a leaf hashes as ``SHA-256(0x00 || leaf)``,
a node as ``SHA-256(0x01 || left || right)``, and a tree of ``n`` leaves splits at the largest
power of two below ``n``. Proofs name the hashes of sub-ranges of leaves; every such range is a
run of *complete subtrees* ``(level, index)`` (the ``2**level`` leaves from ``index << level``),
which storage can keep once and for all since they never change as the log grows. Building a
proof is therefore split in two, so that the storage decides how to fetch: ``*_ranges`` say
which ranges a proof needs, ``subtrees_of`` which complete subtrees make a range, and
``range_hash`` folds their hashes back into the range's hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
#: MTH of the empty tree: the hash of the empty string (§2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: A complete subtree: ``(level, index)``, the leaves ``[index << level, (index + 1) << level)``.
Subtree = tuple[int, int]
#: A range of leaves ``[start, end)``.
Range = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` >= 2): where §2.1.1 cuts."""
    return 1 << ((size - 1).bit_length() - 1)


def subtrees_of(start: int, end: int) -> list[Subtree]:
    """The complete subtrees, left to right, whose hashes fold into MTH(D[start:end]).

    Every range a proof or a root asks for starts on a multiple of a power of two at least as
    large as itself (it comes from §2.1.1's splits), so the greedy cut — the largest power of
    two that fits, then the rest — is exactly the tree's own shape.
    """
    found: list[Subtree] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not one of the tree's own")
        found.append((level, start >> level))
        start += 1 << level
    return found


def range_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its ``subtrees_of``, left to right: each cut in §2.1.1
    leaves a complete left part, so the range hashes as ``node(s0, node(s1, … sk))``."""
    if not hashes:
        return EMPTY_ROOT
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) of §2.1.3.1 as the ranges whose hashes make it, in the proof's order
    (nearest the leaf first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()
    return path


def consistency_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[n]) of §2.1.4.1 as ranges, in the proof's order. Empty when ``first`` is 0 or
    equals ``second`` (nothing to prove)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency from {first} to {second}")
    if first in (0, second):
        return []
    path: list[Range] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        path.append((start, end))
    path.reverse()
    return path


def subtrees_needed(ranges: Iterable[Range]) -> set[Subtree]:
    return {s for start, end in ranges for s in subtrees_of(start, end)}


def path_hashes(ranges: Iterable[Range], known: Mapping[Subtree, bytes]) -> list[bytes]:
    """The proof itself: each range's hash, from the complete subtrees' hashes in ``known``."""
    return [range_hash([known[s] for s in subtrees_of(start, end)]) for start, end in ranges]


# --------------------------------------------------------------------------------------------
# Appending
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frontier:
    """The right edge of a tree of ``size`` leaves: the hashes of ``subtrees_of(0, size)``,
    left to right. All a writer needs to append, and to compute the root."""

    size: int
    hashes: tuple[bytes, ...] = ()

    def root(self) -> bytes:
        return range_hash(self.hashes)


def append(
    frontier: Frontier, leaves: Iterable[bytes]
) -> tuple[Frontier, list[tuple[int, int, bytes]]]:
    """Append leaf hashes; the new frontier and every complete subtree ``(level, index, hash)``
    the appends completed (leaves included, as level 0), in the order they completed."""
    levels = [level for level, _ in subtrees_of(0, frontier.size)]
    stack = list(zip(levels, frontier.hashes, strict=True))
    size = frontier.size
    completed: list[tuple[int, int, bytes]] = []
    for leaf in leaves:
        level, index, value = 0, size, leaf
        completed.append((0, index, value))
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            level, index, value = level + 1, index >> 1, node_hash(left, value)
            completed.append((level, index, value))
        stack.append((level, value))
        size += 1
    return Frontier(size, tuple(h for _, h in stack)), completed


# --------------------------------------------------------------------------------------------
# Verifying (what a client does, with nothing but the proof and a root it trusts)
# --------------------------------------------------------------------------------------------


def _sized(*hashes: bytes) -> bool:
    return all(len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """§2.1.3.2 steps 1–4: the root that ``path`` leads to from the leaf hash, or ``None`` when
    the path cannot belong to leaf ``index`` of a tree of ``size``."""
    if not 0 <= index < size or not _sized(leaf, *path):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """§2.1.3.2: ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` whose root is
    ``root``."""
    return root_from_inclusion(index, size, leaf, path) == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """§2.1.4.2: the tree of ``second`` leaves (``second_root``) extends the tree of ``first``
    leaves (``first_root``). Equal sizes need equal roots and an empty proof; from the empty
    tree anything follows, with an empty proof too."""
    if not 0 <= first <= second or not _sized(first_root, second_root, *path):
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:  # an exact power of two: its root is a node of the proof
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
