"""Proofs of the transparency log (TR-3) at 10⁷ leaves: O(log n) reads, a few milliseconds.

Ours: the stored tree of ``--leaves`` leaves (10,000,000; ``--quick`` 200,000), as carnet keeps
it (``log_leaves``, and ``log_nodes`` every fourth level), answering what a history page and a
browser ask: the inclusion proof of a trace (its place looked up by ``(patient_id, seq)``, then
``audit.tree.inclusion_proofs``), and the consistency proof between two sizes
(``audit.tree.consistency_proof``), each in its own transaction. Baseline: the same calls on a
tree of 10,000 leaves; a proof costs O(log n), so 1,000× the leaves should cost less than 3×
the time (log₂ 10⁷ / log₂ 10⁴ ≈ 1.75).

The trees are filled by a bulk path (``merkle.append`` over synthetic leaf hashes, raw
``executemany``, the insert triggers dropped and the journal off while filling): the fill is
not what is measured. Every proof measured is checked once against the root.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from pathlib import Path

from _common import Result, finish, median, options, print_header, runtime_in, temporary_folder

from carnet.audit import merkle, tree
from carnet.audit.log_models import STRIDE
from carnet.runtime import Runtime

SMALL = 10_000
PROOFS = 300
CHUNK = 200_000


def fill(path: Path, leaves: int) -> bytes:
    """``leaves`` synthetic leaves and their stored subtrees, written in bulk; the root."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    for name in ("log_leaves_no_replace", "log_nodes_no_replace"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    frontier = merkle.Frontier(0)
    db.execute("BEGIN")
    for start in range(0, leaves, CHUNK):
        end = min(start + CHUNK, leaves)
        hashes = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(start, end)]
        frontier, completed = merkle.append(frontier, hashes)
        db.executemany(
            "INSERT INTO log_leaves (idx, patient_id, seq, hash) VALUES (?, ?, ?, ?)",
            (
                (i, f"{i // 50:032x}", i % 50 + 1, h)
                for i, h in zip(range(start, end), hashes, strict=True)
            ),
        )
        db.executemany(
            "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
            ((lv, ix, h) for lv, ix, h in completed if lv and lv % STRIDE == 0),
        )
    db.execute("COMMIT")
    db.close()
    return frontier.root()


def measure(rt: Runtime, size: int, root: bytes, count: int) -> tuple[float, float, float]:
    """Median ms of: a trace's inclusion proof, a consistency proof, a root at a size."""
    rng = random.Random(size)
    engine = rt.uow.engine
    inclusion, consistency, roots = [], [], []
    for n in range(count):
        index = rng.randrange(size)
        patient, seq = f"{index // 50:032x}", index % 50 + 1
        started = time.perf_counter()
        with engine.connect() as connection:
            place = connection.exec_driver_sql(
                "SELECT idx FROM log_leaves WHERE patient_id = ? AND seq = ?", (patient, seq)
            ).scalar_one()
            path = tree.inclusion_proofs(connection, [place], size)[place]
        inclusion.append(time.perf_counter() - started)
        first = rng.randrange(1, size)
        started = time.perf_counter()
        with engine.connect() as connection:
            between = tree.consistency_proof(connection, first, size)
        consistency.append(time.perf_counter() - started)
        started = time.perf_counter()
        with engine.connect() as connection:
            earlier = tree.root_at(connection, first)
        roots.append(time.perf_counter() - started)
        if n == 0:
            leaf = merkle.leaf_hash(index.to_bytes(8, "big"))
            assert merkle.verify_inclusion(index, size, leaf, path, root), "bad inclusion proof"
            assert merkle.verify_consistency(first, size, earlier, root, between), "bad proof"
    return median(inclusion) * 1000, median(consistency) * 1000, median(roots) * 1000


def _leaves_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leaves", type=int, default=None, help="leaves of the big tree")


def main() -> int:
    args = options(__doc__ or "", _leaves_option)
    leaves = args.leaves or (200_000 if args.quick else 10_000_000)
    with temporary_folder(args.dir) as folder:
        big, small = folder / "big", folder / "small"
        runtimes = {}
        for where, size in ((small, SMALL), (big, leaves)):
            rt = runtime_in(where)
            rt.uow.engine.dispose()
            started = time.perf_counter()
            root = fill(where / "carnet.db", size)
            runtimes[size] = (rt, root, time.perf_counter() - started)
        print_header(
            "Transparency log proofs (TR-3)",
            [
                ("leaves", f"{leaves:,} (filled in {runtimes[leaves][2]:.0f} s)"),
                ("database", f"{(big / 'carnet.db').stat().st_size / 1e6:,.0f} MB"),
                ("proofs", f"{PROOFS} of each kind, each in its own connection"),
            ],
        )
        ours = measure(runtimes[leaves][0], leaves, runtimes[leaves][1], PROOFS)
        base = measure(runtimes[SMALL][0], SMALL, runtimes[SMALL][1], PROOFS)
        results = []
        for what, mine, theirs in zip(
            ("inclusion proof of a trace", "consistency proof", "root at a size"),
            ours,
            base,
            strict=True,
        ):
            results.append(
                Result(
                    f"{what} (median)",
                    f"{mine:.2f} ms",
                    f"{theirs:.2f} ms @ {SMALL:,}",
                    f"{mine / theirs:.2f}x",
                    "< 10 ms, <= 3x",
                    mine < 10 and mine / theirs <= 3,
                )
            )
        for rt, _, _ in runtimes.values():
            rt.uow.engine.dispose()
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
