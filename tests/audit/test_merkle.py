"""TR-3: the Merkle tree of RFC 9162 — its published test vectors, and properties over random
logs (every proof verifies; any single change to a leaf, a proof node or a size is refused).

The vectors are the RFC 6962 reference tree of eight leaves used by Certificate Transparency's
implementations (transparency-dev/merkle ``testonly/constants.go``, ``proof/verify_test.go``).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carnet.audit import merkle
from carnet.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    append,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    path_hashes,
    subtrees_needed,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = bytes.fromhex
#: (leaf index, tree size, path)
INCLUSION = [
    (
        0,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]
#: (first size, second size, path)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


# --------------------------------------------------------------------------------------------
# A reference written straight from the RFC's recursive definitions, to check the fast paths
# --------------------------------------------------------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (§2.1.1)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) <= 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return [*ref_path(m, hashes[:k]), mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [mth(hashes)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], whole), mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def ref_proof(m: int, hashes: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(hashes)) else ref_subproof(m, hashes, True)


class Tree:
    """A tree in memory, built by ``append`` and proved through the complete subtrees it
    completed: the path the stored log takes."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.frontier, completed = append(Frontier(0), hashes)
        self.known = {(level, index): value for level, index, value in completed}

    def inclusion(self, index: int, size: int) -> list[bytes]:
        ranges = inclusion_ranges(index, size)
        return path_hashes(ranges, {s: self.known[s] for s in subtrees_needed(ranges)})

    def consistency(self, first: int, second: int) -> list[bytes]:
        ranges = consistency_ranges(first, second)
        return path_hashes(ranges, {s: self.known[s] for s in subtrees_needed(ranges)})


VECTOR_HASHES = [leaf_hash(d) for d in LEAVES]


# --------------------------------------------------------------------------------------------
# The published vectors
# --------------------------------------------------------------------------------------------


def test_tr_3_merkle_empty_root_is_the_hash_of_nothing() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert Frontier(0).root() == ROOTS[0]


@pytest.mark.parametrize("size", range(1, 9))
def test_tr_3_merkle_roots_match_the_reference_tree(size: int) -> None:
    frontier, _ = append(Frontier(0), VECTOR_HASHES[:size])
    assert frontier.root() == ROOTS[size]
    assert mth(VECTOR_HASHES[:size]) == ROOTS[size]


def test_tr_3_merkle_appending_in_steps_gives_the_same_roots() -> None:
    frontier = Frontier(0)
    for size in range(1, 9):
        frontier, _ = append(frontier, [VECTOR_HASHES[size - 1]])
        assert frontier.root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_tr_3_merkle_inclusion_proofs_match_the_vectors(
    index: int, size: int, path: list[bytes]
) -> None:
    tree = Tree(VECTOR_HASHES[:size])
    assert tree.inclusion(index, size) == path
    assert verify_inclusion(index, size, VECTOR_HASHES[index], path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_tr_3_merkle_consistency_proofs_match_the_vectors(
    first: int, second: int, path: list[bytes]
) -> None:
    tree = Tree(VECTOR_HASHES[:second])
    assert tree.consistency(first, second) == path
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], path)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION[:4])
def test_tr_3_merkle_corrupted_inclusion_proofs_are_refused(
    index: int, size: int, path: list[bytes]
) -> None:
    """The corruptions transparency-dev's verifier tests make, each one refused."""
    leaf, root = VECTOR_HASHES[index], ROOTS[size]
    some = H("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, leaf, path, root),
        (index + 1, size, leaf, path, root),
        (index ^ 2, size, leaf, path, root),
        (index, size * 2, leaf, path, root),
        (index, size // 2, leaf, path, root),
        (index, size, b"WrongLeaf", path, root),
        (index, size, ROOTS[0], path, root),
        (index, size, leaf, path, ROOTS[0]),
        (index, size, leaf, path, some),
        (index, size, leaf, [*path, b""], root),
        (index, size, leaf, [*path, root], root),
        (index, size, leaf, [b"", *path], root),
        (index, size, leaf, [root, *path], root),
        (index, size, leaf, path[:-1], root),
        (index, size, leaf, [path[0], some, *path[1:]], root),
    ]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY[1:])
def test_tr_3_merkle_corrupted_consistency_proofs_are_refused(
    first: int, second: int, path: list[bytes]
) -> None:
    r1, r2 = ROOTS[first], ROOTS[second]
    probes = [
        (first - 1, second, r1, r2, path),
        (first + 1, second, r1, r2, path),
        (first ^ 2, second, r1, r2, path),
        (first, second * 2, r1, r2, path),
        (first, second // 2, r1, r2, path),
        (first, second, b"WrongRoot", r2, path),
        (first, second, r1, b"WrongRoot", path),
        (first, second, r2, r1, path),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*path, b""]),
        (first, second, r1, r2, [*path, r1]),
        (first, second, r1, r2, [*path, r2]),
        (first, second, r1, r2, [b"", *path]),
        (first, second, r1, r2, [r1, *path]),
        (first, second, r1, r2, [r2, *path]),
        (first, second, r1, r2, [path[0], *path]),
        (first, second, r1, r2, path[:-1]),
    ]
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, r1, r2, flipped))
    for probe in probes:
        assert not verify_consistency(*probe), probe[:2]


def test_tr_3_merkle_trivial_consistency_cases() -> None:
    a, b = ROOTS[1], ROOTS[2]
    assert verify_consistency(0, 0, a, a, [])
    assert verify_consistency(0, 1, a, b, [])
    assert verify_consistency(1, 1, b, b, [])
    assert not verify_consistency(1, 1, a, b, [])
    assert not verify_consistency(1, 0, a, b, [])
    assert not verify_consistency(2, 1, a, b, [])
    assert not verify_consistency(1, 2, a, b, [])
    assert not verify_consistency(1, 1, a, a, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, a, a, [EMPTY_ROOT])


def test_tr_3_merkle_refuses_out_of_tree_requests() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_ranges(3, 3)
    with pytest.raises(ValueError, match="no consistency"):
        consistency_ranges(4, 3)
    with pytest.raises(ValueError, match="not one of the tree's own"):
        merkle.subtrees_of(1, 4)


# --------------------------------------------------------------------------------------------
# Properties over random logs
# --------------------------------------------------------------------------------------------

#: Leaves of a log are distinct (each commits to a trace with its own id).
logs = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True).map(
    lambda data: [leaf_hash(d) for d in data]
)


@settings(max_examples=150, deadline=None)
@given(hashes=logs, data=st.data())
def test_tr_3_merkle_every_inclusion_proof_verifies_and_any_change_is_refused(
    hashes: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(hashes)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    tree = Tree(hashes)
    root = mth(hashes[:size])
    path = tree.inclusion(index, size)
    assert path == ref_path(index, hashes[:size])
    assert verify_inclusion(index, size, hashes[index], path, root)

    leaf = bytearray(hashes[index])
    leaf[data.draw(st.integers(0, 31), label="leaf byte")] ^= 1 << data.draw(st.integers(0, 7))
    assert not verify_inclusion(index, size, bytes(leaf), path, root)
    if path:
        at = data.draw(st.integers(0, len(path) - 1), label="node")
        node = bytearray(path[at])
        node[data.draw(st.integers(0, 31), label="node byte")] ^= 1
        assert not verify_inclusion(
            index, size, hashes[index], [*path[:at], bytes(node), *path[at + 1 :]], root
        )
    # A signed head binds a size to its root: another size comes with its own root.
    other = data.draw(st.integers(index + 1, len(hashes)), label="other size")
    if other != size:
        assert not verify_inclusion(index, other, hashes[index], path, mth(hashes[:other]))
    if size > 1:
        moved = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="index")
        assert not verify_inclusion(moved, size, hashes[index], path, root)


@settings(max_examples=150, deadline=None)
@given(hashes=logs, data=st.data())
def test_tr_3_merkle_every_consistency_proof_verifies_and_any_change_is_refused(
    hashes: list[bytes], data: st.DataObject
) -> None:
    second = data.draw(st.integers(1, len(hashes)), label="second")
    first = data.draw(st.integers(1, second), label="first")
    tree = Tree(hashes)
    r1, r2 = mth(hashes[:first]), mth(hashes[:second])
    path = tree.consistency(first, second)
    assert path == ref_proof(first, hashes[:second])
    assert verify_consistency(first, second, r1, r2, path)
    if first == second:
        return
    at = data.draw(st.integers(0, len(path) - 1), label="node")
    node = bytearray(path[at])
    node[data.draw(st.integers(0, 31), label="byte")] ^= 1
    assert not verify_consistency(first, second, r1, r2, [*path[:at], bytes(node), *path[at + 1 :]])
    bad_root = bytearray(r1)
    bad_root[0] ^= 1
    assert not verify_consistency(first, second, bytes(bad_root), r2, path)
    assert not verify_consistency(first, second, r1, bytes(bad_root), path)
    other = data.draw(st.integers(1, second).filter(lambda s: s != first), label="other first")
    assert not verify_consistency(other, second, mth(hashes[:other]), r2, path)


@settings(max_examples=100, deadline=None)
@given(hashes=logs, data=st.data())
def test_tr_3_merkle_appending_in_batches_completes_every_subtree_once(
    hashes: list[bytes], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(hashes)), max_size=5), label="cuts"))
    frontier, known = Frontier(0), {}
    for start, end in zip([0, *cuts], [*cuts, len(hashes)], strict=True):
        frontier, completed = append(frontier, hashes[start:end])
        for level, index, value in completed:
            assert (level, index) not in known
            known[(level, index)] = value
            assert value == mth(hashes[index << level : (index + 1) << level])
        assert frontier.root() == mth(hashes[:end])
    assert frontier.size == len(hashes)
