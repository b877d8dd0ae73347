"""What the benchmarks share: their options, a throw-away instance, raw SQLite, the result table.

Not a benchmark itself (``make bench`` runs it as a no-op). Each script imports it from its own
folder, which Python puts first on ``sys.path`` when the script is run as a file.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from carnet.runtime import Runtime, build_runtime
from carnet.settings import Settings


@dataclass(frozen=True)
class Result:
    """One line of the table. ``ours`` and ``baseline`` are already formatted with their unit."""

    what: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool


def options(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small smoke run (CI, < 20 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--profile", action="store_true", help="then profile our side and print the top entries"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to make the temporary folder (default: the system's); use a real disk, "
        "since fsync on tmpfs costs nothing",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="a PostgreSQL (or Citus coordinator) server, e.g. postgresql://postgres@127.0.0.1:5432/"
        "postgres: the bench makes its own database there, with its baseline on the same server, "
        "and drops it (default: SQLite in the temporary folder)",
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


@contextmanager
def database_on(server: str | None) -> Iterator[str | None]:
    """A fresh database on ``server`` (every node of a Citus cluster), its URL; dropped after.
    ``None`` when no server is given (the embedded SQLite)."""
    if server is None:
        yield None
        return
    from sqlalchemy import make_url

    from carnet.db.citus import create_database, drop_database

    name = f"carnet_bench_{os.urandom(4).hex()}"
    create_database(server, name)
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(server, name)


@contextmanager
def temporary_folder(parent: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="carnet-bench-", dir=parent) as name:
        yield Path(name)


def settings_in(folder: Path, database_url: str | None = None) -> Settings:
    """Embedded defaults (SQLite file, or ``database_url``; file blobs, key file) under
    ``folder``, whatever the environment says."""
    return Settings(
        data_dir=folder,
        database_url=database_url,
        blob_url=None,
        s3_endpoint_url=None,
        master_key_file=None,
        instance_key_file=None,
    )


def runtime_in(folder: Path, *, migrate: bool = True, database_url: str | None = None) -> Runtime:
    """An instance in ``folder`` (its database ``database_url`` if given), freshly migrated
    unless told it already is."""
    return build_runtime(settings_in(folder, database_url), migrate=migrate)


def database_file(folder: Path) -> Path:
    return folder / "carnet.db"


def connect_raw(path: Path) -> sqlite3.Connection:
    """A bare sqlite3 connection with the settings of carnet's engine (WAL, synchronous=FULL),
    in autocommit: the caller writes ``BEGIN IMMEDIATE`` and ``COMMIT`` as carnet does."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def sql_datetime(value: datetime) -> str:
    """How SQLAlchemy's SQLite dialect stores a datetime (``UtcDateTime`` columns)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def sql_date(value: date) -> str:
    return value.isoformat()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def print_profile(run: Callable[[], object], title: str, top: int = 25) -> None:
    """Run ``run`` under cProfile; print its top entries by cumulative, then by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(run)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"\n--- profile of {title}, by {order} ---")
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())


def print_header(title: str, facts: Sequence[tuple[str, object]]) -> None:
    print(title)
    for name, value in facts:
        print(f"  {name}: {value}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"  python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} (other work skews both sides)"
    )


def finish(results: Sequence[Result], *, strict: bool) -> int:
    """Print the table; the exit code is 1 only with ``--strict`` and a missed target."""
    header = ("what", "ours", "baseline", "ratio", "target", "result")
    lines = [
        (r.what, r.ours, r.baseline, r.ratio, r.target, "PASS" if r.passed else "FAIL")
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *lines]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    failed = any(not r.passed for r in results)
    return 1 if strict and failed else 0


if __name__ == "__main__":
    print("bench/_common.py is shared code; run one of the other scripts.")
