"""The operator's population feed (LC-1): rows/s and peak memory of ``import_population``.

Ours: the CSV streamed through ``read_feed`` into ``import_population`` (checks every row, looks
the batch's INS up, inserts the profiles with their activation code's hash, and representatives,
one commit per batch, one trace). Baseline: the same CSV read with ``csv.DictReader`` and inserted into the same
``patients`` table of a freshly migrated database with a bare ``sqlite3`` ``executemany``, in
batches of the same size, one commit per batch.

Each measured run is its own child process (forked once everything is imported, so neither pays
the start-up), on its own copy of a freshly migrated instance: its peak RSS (``ru_maxrss``) is its
own, and starts from the same RSS for both.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import random
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from _common import (
    Result,
    connect_raw,
    database_file,
    finish,
    options,
    print_header,
    print_profile,
    runtime_in,
    sql_datetime,
    temporary_folder,
)

from carnet import clock
from carnet.context import RequestContext
from carnet.identity.ins import make_ins
from carnet.ids import new_id
from carnet.lifecycle.feed import import_population
from carnet.population.feed import read_feed
from carnet.population.service import BATCH

ROWS_FULL = 1_000_000
ROWS_QUICK = 20_000
RATE_TARGET = 0.5  # ours ≥ 0.5 × the baseline's rows/s
RSS_TARGET_MB = 300.0

COLUMNS = (
    "ins",
    "birth_names",
    "first_names",
    "sex",
    "birth_date",
    "birth_place",
    "email",
    "legal_representatives",
    "opposed",
)
FIRST = ("Camille", "Lucas", "Manon", "Nathan", "Chloé", "Louis", "Inès", "Gabriel", "Jade")
LAST = ("GARCIA", "THOMAS", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT")

BASELINE_INSERT = (
    "INSERT INTO patients (id, ins, ins_status, birth_names, first_names, used_name, sex, "
    "birth_date, birth_place, email, phone, state, password_hash, created_at, updated_at, "
    "activated_at, closed_at, opposed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?)"
)


@dataclass(frozen=True)
class Run:
    rows: int
    batch: int
    seconds: float
    cpu_seconds: float
    start_rss_mb: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def write_feed(path: Path, rows: int) -> None:
    """``rows`` valid, distinct people: 1 % opposed, 2 % minors with a legal representative.

    NIR uniqueness comes from (department, commune, order) = ``n``; sex and birth month vary.
    """
    rng = random.Random(2026)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        previous_ins = ""
        for n in range(rows):
            sex = rng.choice("MF")
            minor = n % 50 == 7 and previous_ins != ""
            first_day = date(2012, 1, 1) if minor else date(1930, 1, 1)
            born = first_day + timedelta(days=rng.randrange(5 * 365 if minor else 85 * 365))
            order, commune, department = n % 999 + 1, n // 999 % 990 + 1, n // (999 * 990) + 1
            place = f"{department:02d}{commune:03d}"
            nir = f"{1 if sex == 'M' else 2}{born.year % 100:02d}{born.month:02d}{place}{order:03d}"
            ins = make_ins(nir)
            writer.writerow(
                (
                    ins,
                    rng.choice(LAST),
                    rng.choice(FIRST),
                    sex,
                    born.isoformat(),
                    place,
                    f"patient{n}@example.org" if n % 3 else "",
                    previous_ins if minor else "",
                    "1" if n % 100 == 42 else "0",
                )
            )
            previous_ins = ins


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_ours(feed: Path, folder: Path, profile: bool) -> Run:
    rt = runtime_in(folder, migrate=False)
    start = peak_rss_mb()
    counted: list[int] = []

    def work() -> None:
        with feed.open(encoding="utf-8", newline="") as handle:
            report = import_population(rt, RequestContext.operator(), read_feed(handle))
        if report.errors:
            first = report.errors[0]
            raise SystemExit(f"the feed has {len(report.errors)} bad rows, first: {first}")
        counted.append(report.created)

    began, cpu = time.perf_counter(), time.process_time()
    work()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    run = Run(counted[0], BATCH, seconds, cpu, start, peak_rss_mb())
    if profile:
        with rt.transaction() as session:  # the same rows again, into emptied tables
            session.connection().exec_driver_sql("DELETE FROM representatives")
            session.connection().exec_driver_sql("DELETE FROM patients")
        print_profile(work, "import_population (same rows, emptied tables)")
    return run


def run_baseline(feed: Path, folder: Path, profile: bool) -> Run:
    connection = connect_raw(database_file(folder))
    start = peak_rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    rows = 0
    stamp = sql_datetime(clock.now())
    batch: list[tuple[str | None, ...]] = []

    def flush() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(BASELINE_INSERT, batch)
        connection.execute("COMMIT")
        batch.clear()

    with feed.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            opposed = raw["opposed"] == "1"
            batch.append(
                (
                    new_id(),
                    raw["ins"],
                    "VALI",
                    raw["birth_names"],
                    raw["first_names"],
                    None,
                    raw["sex"],
                    raw["birth_date"],
                    raw["birth_place"],
                    raw["email"] or None,
                    None,
                    "opposed" if opposed else "created",
                    None,
                    stamp,
                    stamp,
                    None,
                    None,
                    stamp if opposed else None,
                )
            )
            rows += 1
            if len(batch) == BATCH:
                flush()
    if batch:
        flush()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    run = Run(rows, BATCH, seconds, cpu, start, peak_rss_mb())
    connection.close()
    return run


Side = Callable[[Path, Path, bool], Run]


def _child(side: Side, feed: Path, folder: Path, profile: bool, sender: Connection) -> None:
    sender.send(asdict(side(feed, folder, profile)))


def measured(side: Side, feed: Path, template: Path, folder: Path, profile: bool) -> Run:
    """One side in a child process, on a copy of the freshly migrated ``template``."""
    shutil.copytree(template, folder)
    forks = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork") if forks else multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(side, feed, folder, profile, sender))
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = None
    child.join()
    if result is None or child.exitcode != 0:
        raise SystemExit(f"the {side.__name__} child failed (exit code {child.exitcode})")
    return Run(**result)


def more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=None, help="rows in the feed")


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "", more_options)
    rows = args.rows or (ROWS_QUICK if args.quick else ROWS_FULL)
    with temporary_folder(args.dir) as folder:
        feed = folder / "feed.csv"
        began = time.perf_counter()
        write_feed(feed, rows)
        print_header(
            "Population import (LC-1): import_population vs bare executemany into patients",
            [
                ("rows", f"{rows:,}"),
                (
                    "feed",
                    f"{feed.stat().st_size / 1e6:.1f} MB, written in "
                    f"{time.perf_counter() - began:.1f} s",
                ),
            ],
        )
        template = folder / "template"
        runtime_in(template).uow.engine.dispose()
        base = measured(run_baseline, feed, template, folder / "baseline", False)
        ours = measured(run_ours, feed, template, folder / "ours", args.profile)
    for name, run in (("baseline", base), ("ours", ours)):
        print(
            f"  {name}: {run.rows:,} rows in {run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), "
            f"batches of {run.batch}; "
            f"RSS after start-up "
            f"{run.start_rss_mb:.0f} MB, peak {run.peak_rss_mb:.0f} MB"
        )
    ratio = ours.rate / base.rate
    results = [
        Result(
            "import rows/s",
            f"{ours.rate:,.0f}/s",
            f"{base.rate:,.0f}/s",
            f"{ratio:.2f}x",
            f">= {RATE_TARGET}x",
            ratio >= RATE_TARGET,
        ),
        Result(
            "peak RSS",
            f"{ours.peak_rss_mb:.0f} MB",
            f"{base.peak_rss_mb:.0f} MB",
            f"{ours.peak_rss_mb / base.peak_rss_mb:.2f}x",
            f"< {RSS_TARGET_MB:.0f} MB",
            ours.peak_rss_mb < RSS_TARGET_MB,
        ),
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
