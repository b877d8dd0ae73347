"""The operator's population feed (LC-1): rows/s and peak memory of ``import_population``.

Ours: the CSV streamed through ``read_feed`` into ``import_population`` (checks every row, looks
the batch's INS up, inserts the profiles with their activation code's hash, and representatives,
one commit per batch, one trace). Baseline: the same CSV read with ``csv.DictReader`` and inserted into the same
``patients`` table of a freshly migrated database with a bare ``sqlite3`` ``executemany``, in
batches of the same size, one commit per batch.

Each measured run is its own child process (forked once everything is imported, so neither pays
the start-up), on its own copy of a freshly migrated instance: its peak RSS (``ru_maxrss``) is its
own, and starts from the same RSS for both.

With ``--database URL`` (PostgreSQL, issue 18) each side gets a freshly migrated database of its
own on that server, and the baseline writes the same rows into its ``patients`` with a bare
psycopg ``COPY`` per batch (ours writes through ``db.bulk.insert_many``, which on PostgreSQL is a
``COPY`` too).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

from _common import (
    Result,
    Run,
    connect_pg,
    connect_raw,
    database_file,
    database_label,
    database_on,
    finish,
    in_child,
    options,
    peak_rss_mb,
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

BASELINE_COLUMNS = (
    "id",
    "ins",
    "ins_status",
    "birth_names",
    "first_names",
    "used_name",
    "sex",
    "birth_date",
    "birth_place",
    "email",
    "phone",
    "state",
    "password_hash",
    "created_at",
    "updated_at",
    "activated_at",
    "closed_at",
    "opposed_at",
)
BASELINE_INSERT = (
    f"INSERT INTO patients ({', '.join(BASELINE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in BASELINE_COLUMNS)})"
)


@dataclass(frozen=True)
class Place:
    """Where one side runs: its folder (keys, blobs) and its own freshly migrated database —
    ``url`` on the server, or the SQLite file in the folder when ``url`` is ``None``."""

    folder: Path
    url: str | None


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


def run_ours(feed: Path, place: Place, profile: bool) -> Run:
    rt = runtime_in(place.folder, migrate=False, database_url=place.url)
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
            for table in ("representatives", "pending_codes", "patient_ins", "patients"):
                session.connection().exec_driver_sql(f"DELETE FROM {table}")
        print_profile(work, "import_population (same rows, emptied tables)")
    return run


def baseline_row(raw: dict[str, str], stamp: object) -> tuple[object, ...]:
    """A feed's row as the baseline writes it into ``patients`` (the columns of
    ``BASELINE_COLUMNS``): the feed's values as they are, nothing checked."""
    opposed = raw["opposed"] == "1"
    return (
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


def run_baseline(feed: Path, place: Place, profile: bool) -> Run:
    if place.url is not None:
        return run_copy_baseline(feed, place.url)
    connection = connect_raw(database_file(place.folder))
    start = peak_rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    rows = 0
    stamp = sql_datetime(clock.now())
    batch: list[tuple[object, ...]] = []

    def flush() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(BASELINE_INSERT, batch)
        connection.execute("COMMIT")
        batch.clear()

    with feed.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            batch.append(baseline_row(raw, stamp))
            rows += 1
            if len(batch) == BATCH:
                flush()
    if batch:
        flush()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    run = Run(rows, BATCH, seconds, cpu, start, peak_rss_mb())
    connection.close()
    return run


def run_copy_baseline(feed: Path, url: str) -> Run:
    """The floor on PostgreSQL: the same rows by bare psycopg ``COPY`` into ``patients``, a
    ``COPY`` and a commit per batch of the same size as ours."""
    connection = connect_pg(url)
    start = peak_rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    rows = 0
    stamp = clock.now()
    statement = f"COPY patients ({', '.join(BASELINE_COLUMNS)}) FROM STDIN"
    with feed.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        while batch := list(islice(reader, BATCH)):
            with connection.cursor() as cursor, cursor.copy(statement) as copy:
                for raw in batch:
                    copy.write_row(baseline_row(raw, stamp))
            connection.commit()
            rows += len(batch)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    connection.close()
    return Run(rows, BATCH, seconds, cpu, start, peak_rss_mb())


def more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=None, help="rows in the feed")


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "", more_options)
    rows = args.rows or (ROWS_QUICK if args.quick else ROWS_FULL)
    bare = "executemany" if args.database is None else "COPY"
    with (
        temporary_folder(args.dir) as folder,
        database_on(args.database, args.citus_workers) as base_url,
        database_on(args.database, args.citus_workers) as ours_url,
    ):
        feed = folder / "feed.csv"
        began = time.perf_counter()
        write_feed(feed, rows)
        print_header(
            f"Population import (LC-1): import_population vs bare {bare} into patients",
            [
                ("rows", f"{rows:,}"),
                (
                    "feed",
                    f"{feed.stat().st_size / 1e6:.1f} MB, written in "
                    f"{time.perf_counter() - began:.1f} s",
                ),
                ("database", database_label(ours_url)),
            ],
        )
        base_place, ours_place = (
            Place(folder / "baseline", base_url),
            Place(folder / "ours", ours_url),
        )
        if args.database is None:  # one migration, copied: the two files start identical
            template = folder / "template"
            runtime_in(template).uow.engine.dispose()
            for place in (base_place, ours_place):
                shutil.copytree(template, place.folder)
        else:  # a database of its own each, on the same server
            for place in (base_place, ours_place):
                runtime_in(place.folder, database_url=place.url).uow.engine.dispose()
        base = in_child(run_baseline, feed, base_place, False)
        ours = in_child(run_ours, feed, ours_place, args.profile)
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
