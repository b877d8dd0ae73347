"""The operator's feed of reimbursed care (DOC-1): rows/s of ``carnet care import``.

Ours: the CSV streamed through ``read_feed`` into ``import_care`` (checks every line, looks the
batch's INS up with the operator's right to feed each profile, recognises lines already fed,
keeps DOC-9's lines out, inserts the care lines and the vaccinations they record, one trace per
patient fed and one commit per batch). Baseline: the same CSV read with ``csv.DictReader`` and
inserted into the same ``profile_care_lines`` table with a bare ``sqlite3`` ``executemany``, in
batches of the same size, one commit each; it is handed the INS → patient map before the clock
starts. Each side runs in its own child process on a copy of one freshly migrated instance that
already holds the patients (``_common.in_child``).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from _common import (
    Result,
    Run,
    connect_raw,
    database_file,
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
from listing import PATIENT_INS_INSERT, PATIENT_INSERT, ins_row, patient_rows

from carnet import clock
from carnet.context import RequestContext
from carnet.ids import new_id
from carnet.profile.feed import BATCH, import_care, read_feed

ROWS_FULL = 500_000
ROWS_QUICK = 20_000
LINES_PER_PATIENT = 25  # a year or two of reimbursed care
RATE_TARGET = 0.5  # ours ≥ 0.5 × the baseline's rows/s
COLUMNS = ("ins", "date", "act", "rpps", "finess", "pharmacy", "label", "vaccine")
ACTS = (
    ("PHARMACIE", "Délivrance de médicaments"),
    ("PHARMACIE", "Délivrance de médicaments"),
    ("CONSULTATION", "Consultation de médecine générale"),
    ("CONSULTATION_SPE", "Consultation de spécialiste"),
    ("BIOLOGIE", "Analyses de biologie"),
    ("KINE", "Kinésithérapie"),
    ("IMAGERIE", "Imagerie médicale"),
)
BASELINE_INSERT = (
    "INSERT INTO profile_care_lines (patient_id, id, care_date, act, rpps, finess, "
    "pharmacy_finess, label, vaccine, secret, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)"
)


def write_feed(path: Path, rows: int, people: list[str], interleaved: bool = False) -> None:
    """``rows`` lines over ``people`` (INS), each patient's lines together as an extraction per
    insured person gives them (``--interleaved``: one patient after the other, the worst case
    for traces), 3 % of them vaccinations."""
    rng = random.Random(2026)
    first = date(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            ins = people[n % len(people) if interleaved else n * len(people) // rows]
            day = (first + timedelta(days=rng.randrange(600))).isoformat()
            if n % 33 == 5:
                writer.writerow((ins, day, "VACCINATION", "", "", "750012345", "Vaccin", "GRIPPE"))
                continue
            act, label = ACTS[n % len(ACTS)]
            pharmacy = act == "PHARMACIE"
            rpps = "" if pharmacy else f"1{rng.randrange(10**10):010d}"
            writer.writerow(
                (ins, day, act, rpps, "", "750012345" if pharmacy else "", f"{label} n° {n}", "")
            )


def run_ours(feed: Path, folder: Path, profile: bool) -> Run:
    rt = runtime_in(folder, migrate=False)
    start = peak_rss_mb()
    counted: list[int] = []

    def work() -> None:
        with feed.open(encoding="utf-8", newline="") as handle:
            report = import_care(rt.uow, RequestContext.operator(), read_feed(handle))
        if report.errors:
            raise SystemExit(f"{len(report.errors)} bad lines, first: {report.errors[0]}")
        counted.append(report.added + report.unchanged)

    began, cpu = time.perf_counter(), time.process_time()
    work()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    run = Run(counted[0], BATCH, seconds, cpu, start, peak_rss_mb())
    if profile:
        print_profile(work, "import_care (the same lines again: all already fed)")
    return run


def run_baseline(feed: Path, folder: Path, profile: bool) -> Run:
    connection = connect_raw(database_file(folder))
    patients = dict(connection.execute("SELECT ins, id FROM patients").fetchall())
    start = peak_rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    stamp = sql_datetime(clock.now())
    rows = 0
    batch: list[tuple[str | None, ...]] = []

    def flush() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(BASELINE_INSERT, batch)
        connection.execute("COMMIT")
        batch.clear()

    with feed.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            batch.append(
                (
                    patients[raw["ins"]],
                    new_id(),
                    raw["date"],
                    raw["act"],
                    raw["rpps"] or None,
                    None,
                    raw["pharmacy"] or None,
                    raw["label"],
                    raw["vaccine"] or None,
                    stamp,
                )
            )
            rows += 1
            if len(batch) == BATCH:
                flush()
    if batch:
        flush()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    connection.close()
    return Run(rows, BATCH, seconds, cpu, start, peak_rss_mb())


def more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=None, help="lines in the feed")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="patients one after the other (each batch traces every patient it names)",
    )


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "", more_options)
    rows = args.rows or (ROWS_QUICK if args.quick else ROWS_FULL)
    with temporary_folder(args.dir) as folder:
        template = folder / "template"
        runtime_in(template).uow.engine.dispose()
        people = max(1, rows // LINES_PER_PATIENT)
        pairs = list(patient_rows(people, first_serial=0))
        connection = connect_raw(database_file(template))
        connection.execute("BEGIN")
        connection.executemany(PATIENT_INSERT, [row for _, row in pairs])
        connection.executemany(PATIENT_INS_INSERT, [ins_row(row) for _, row in pairs])
        connection.execute("COMMIT")
        connection.close()
        feed = folder / "care.csv"
        began = time.perf_counter()
        write_feed(feed, rows, [str(row[1]) for _, row in pairs], args.interleaved)
        print_header(
            "Care import (DOC-1): import_care vs bare executemany into profile_care_lines",
            [
                (
                    "lines",
                    f"{rows:,} over {people:,} patients, "
                    + ("interleaved" if args.interleaved else "each patient's lines together"),
                ),
                (
                    "feed",
                    f"{feed.stat().st_size / 1e6:.1f} MB, written in "
                    f"{time.perf_counter() - began:.1f} s",
                ),
            ],
        )
        for side in ("baseline", "ours"):
            shutil.copytree(template, folder / side)
        base = in_child(run_baseline, feed, folder / "baseline", False)
        ours = in_child(run_ours, feed, folder / "ours", args.profile)
    for name, run in (("baseline", base), ("ours", ours)):
        print(
            f"  {name}: {run.rows:,} lines in {run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), "
            f"batches of {run.batch}; peak RSS {run.peak_rss_mb:.0f} MB"
        )
    ratio = ours.rate / base.rate
    results = [
        Result(
            "care import rows/s",
            f"{ours.rate:,.0f}/s",
            f"{base.rate:,.0f}/s",
            f"{ratio:.2f}x",
            f">= {RATE_TARGET}x",
            ratio >= RATE_TARGET,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
