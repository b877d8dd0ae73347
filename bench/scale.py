"""Growth (issue 18): upload, listing and history latency as the database fills, on PostgreSQL or
Citus.

One measured patient (50 documents, a pro authorised on his record) among others whose documents
and traces are loaded with ``COPY`` in steps: 10⁴ then 10⁶ documents (``--full``: 10⁷ too;
``--quick``: 10³ and 10⁴), as many traces. At each size: ``upload_document`` (300 KB),
``list_documents`` and ``read_history`` by the patient, median and p99. Goal: flat — the cost at
the largest size within 1/0.8 of the smallest's (every query single-patient and indexed).
Messages are not loaded yet.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    Result,
    bare_url,
    database_label,
    database_on,
    finish,
    options,
    print_header,
    runtime_in,
    temporary_folder,
    timed,
)
from listing import (
    DOCUMENT_COLUMNS,
    PATIENT_COLUMNS,
    PER_OTHER_PATIENT,
    PG_DOCUMENT_DEFAULTS,
    document_rows,
    patient_rows,
)
from upload import RPPS, add_people, big_pdf

from carnet.access.acts import authorise_pro
from carnet.access.space import read_history
from carnet.context import RequestContext
from carnet.ids import new_id
from carnet.records.service import NewDocument, list_documents, upload_document

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET = 0.8  # the smallest size's median ≥ 0.8 × the largest's (flat)
SAMPLES = 30
TRACE_COLUMNS = (
    "patient_id, seq, id, at, actor_kind, actor_id, action, outcome, mode, door, request_id, "
    "prev_hash, hash"
)


def trace_rows(patients: list[str], count: int, first_seq: int) -> Iterator[tuple[Any, ...]]:
    """``count`` traces spread over ``patients``, numbered from ``first_seq`` in each chain (a
    load: their hashes are not a chain's, nothing verifies them here)."""
    at = datetime(2020, 1, 1, tzinfo=UTC)
    per = max(1, count // len(patients))
    for n in range(count):
        patient = patients[n // per % len(patients)]
        yield (
            patient,
            first_seq + n % per,
            new_id(),
            at + timedelta(seconds=n),
            "pro",
            RPPS,
            "read",
            "allowed",
            "normal",
            "api",
            new_id(),
            "0" * 64,
            "0" * 64,
        )


def grow(url: str, documents: int, step: int) -> None:
    """``documents`` more documents and as many traces, by ``COPY``, over new patients."""
    import psycopg

    rng = random.Random(step)
    count = max(1, documents // PER_OTHER_PATIENT)
    pairs = list(patient_rows(count, first_serial=10_000_000 * (step + 1)))
    others = [pid for pid, _ in pairs]
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cols = f"COPY patients ({PATIENT_COLUMNS}, ins_status, birth_place, state) FROM STDIN"
        with cursor.copy(cols) as copy:
            for _, row in pairs:
                copy.write_row((*row, "VALI", "75056", "activated"))
        for column, value in PG_DOCUMENT_DEFAULTS.items():
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} SET DEFAULT {value}")
        with cursor.copy(f"COPY documents ({DOCUMENT_COLUMNS}) FROM STDIN") as copy:
            for row in document_rows(documents, others[0], others, rng):
                copy.write_row(row)
        for column in PG_DOCUMENT_DEFAULTS:
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} DROP DEFAULT")
        with cursor.copy(f"COPY traces ({TRACE_COLUMNS}) FROM STDIN") as copy:
            for row in trace_rows(others, documents, 1):
                copy.write_row(row)
        connection.commit()
        connection.autocommit = True
        cursor.execute("ANALYZE documents")
        cursor.execute("ANALYZE traces")


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    def more(parser: Any) -> None:
        parser.add_argument("--full", action="store_true", help="up to 10⁷ documents")

    args = options(__doc__.splitlines()[0] if __doc__ else "", more)
    sizes = [1_000, 10_000] if args.quick else [10_000, 1_000_000]
    if args.full:
        sizes.append(10_000_000)
    server = args.database or DEFAULT_SERVER
    measured_at: dict[int, dict[str, tuple[float, float]]] = {}
    with temporary_folder(args.dir) as folder, database_on(server) as url:
        assert url is not None
        bare = bare_url(url)
        rt = runtime_in(folder, database_url=url)
        patient_id = add_people(rt)
        with rt.transaction() as session:
            authorise_pro(session, RequestContext.for_patient(patient_id), patient_id, RPPS)
        pro = RequestContext.for_pro(RPPS, "10", "SM26")
        me = RequestContext.for_patient(patient_id)
        small = NewDocument("11488-4", "Compte rendu", "application/pdf", big_pdf(300 * 1024))
        for _ in range(50):
            upload_document(rt, pro, small, patient_id=patient_id)
        print_header(
            "Growth (issue 18): upload, listing, history as the database fills",
            [("sizes", ", ".join(f"{s:,}" for s in sizes)), ("server", database_label(url))],
        )
        loaded = 0
        for step, size in enumerate(sizes):
            began = time.perf_counter()
            grow(bare, size - loaded, step)
            loaded = size
            print(f"  {size:,} documents and traces loaded ({time.perf_counter() - began:.0f} s)")
            measured_at[size] = {
                "upload": percentiles(
                    timed(lambda: upload_document(rt, pro, small, patient_id=patient_id), SAMPLES)
                ),
                "listing": percentiles(timed(lambda: list_documents(rt, pro, patient_id), SAMPLES)),
                "history": percentiles(timed(lambda: read_history(rt, me, patient_id), SAMPLES)),
            }
            for name, (mid, p99) in measured_at[size].items():
                print(f"    {name}: median {mid * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
        rt.uow.engine.dispose()
    first, last = sizes[0], sizes[-1]
    results = []
    for name in ("upload", "listing", "history"):
        ratio = measured_at[first][name][0] / measured_at[last][name][0]
        results.append(
            Result(
                f"{name}: median at {last:,} vs {first:,}",
                f"{measured_at[last][name][0] * 1e3:.1f} ms",
                f"{measured_at[first][name][0] * 1e3:.1f} ms",
                f"{ratio:.2f}x",
                f">= {TARGET}x",
                ratio >= TARGET,
            )
        )
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
