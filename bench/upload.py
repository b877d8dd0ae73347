"""Uploads (DOC-1, DOC-7): ``upload_document`` of 300 KB PDFs by a pro into one patient's record.

Ours: the whole use case (gate, checks, hashes, encryption, durable blob write, document row,
outbox row, trace, one commit). Baseline, the raw durable write: the same bytes written to a new
file with fsync, the folder fsync'd, then one row inserted and committed in a SQLite database with
carnet's settings (WAL, synchronous=FULL), in the same temporary folder. The two alternate, one
round of each at a time, so a slow spell of the disk hits both.

With ``--database URL`` (PostgreSQL or a Citus coordinator, issue 18) ours runs on a fresh
database there, and the baseline's row goes to a table of that same database, by a bare psycopg
connection (on Citus a table distributed by patient, as ``documents`` is).
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
from pathlib import Path

from _common import (
    Result,
    a_pro,
    activated_patient,
    alternate,
    connect_pg,
    connect_raw,
    database_label,
    database_on,
    finish,
    fsync_folder,
    median,
    options,
    print_header,
    print_profile,
    runtime_in,
    temporary_folder,
    timed,
)

from carnet import clock
from carnet.context import RequestContext
from carnet.demo.load import pdf
from carnet.identity.ins import make_ins
from carnet.ids import new_id
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import Runtime

SIZE = 300 * 1024
UPLOADS_FULL = 200
UPLOADS_QUICK = 30
ROUNDS = 10
WARM_UP = 3
TARGET = 0.5  # ours ≥ 0.5 × the baseline's uploads/s
RPPS = "10000000501"


def big_pdf(size: int) -> bytes:
    """A valid one-page PDF of about ``size`` bytes (one long line of text)."""
    rng = random.Random(300)
    filler = len(pdf(""))
    text = "".join(rng.choice("abcdefghij klmnopqrst uvwxyz") for _ in range(size - filler - 3))
    return pdf(text)


def add_people(rt: Runtime) -> str:
    """An activated adult patient and a médecin in the directory; the patient's id."""
    patient = activated_patient(make_ins("2850175056001"))
    with rt.transaction() as session:
        session.add_all([patient, a_pro(RPPS)])
    return patient.id


class RawDurableWrite:
    """The floor: a durable file, then one committed row."""

    def __init__(self, folder: Path) -> None:
        self.files = folder / "files"
        self.files.mkdir(parents=True)
        fsync_folder(folder)
        self.connection: sqlite3.Connection = connect_raw(folder / "baseline.db")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, patient_id TEXT NOT NULL, "
            "size INTEGER NOT NULL, created_at TEXT NOT NULL)"
        )

    def put(self, patient_id: str, data: bytes) -> None:
        name = self._durable_file(data)
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute(
            "INSERT INTO uploads VALUES (?, ?, ?, ?)",
            (name, patient_id, len(data), clock.now().isoformat()),
        )
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()

    def _durable_file(self, data: bytes) -> str:
        name = new_id()
        fd = os.open(self.files / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_folder(self.files)
        return name


class RawDurableWritePg(RawDurableWrite):
    """The same floor on PostgreSQL: a durable file, then one row committed by bare psycopg."""

    def __init__(self, folder: Path, url: str) -> None:
        self.files = folder / "files"
        self.files.mkdir(parents=True)
        fsync_folder(folder)
        self.pg = connect_pg(url)
        with self.pg.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE uploads (id TEXT, patient_id TEXT NOT NULL, size INTEGER NOT NULL, "
                "created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (patient_id, id))"
            )
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
            if cursor.fetchone() is not None:
                cursor.execute("SELECT create_distributed_table('uploads', 'patient_id')")
        self.pg.commit()

    def put(self, patient_id: str, data: bytes) -> None:
        name = self._durable_file(data)
        with self.pg.cursor() as cursor:
            cursor.execute(
                "INSERT INTO uploads VALUES (%s, %s, %s, %s)",
                (name, patient_id, len(data), clock.now()),
            )
        self.pg.commit()

    def close(self) -> None:
        self.pg.close()


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    uploads = UPLOADS_QUICK if args.quick else UPLOADS_FULL
    content = big_pdf(SIZE)
    with (
        temporary_folder(args.dir) as folder,
        database_on(args.database, args.citus_workers) as url,
    ):
        rt = runtime_in(folder / "carnet", database_url=url)
        patient_id = add_people(rt)
        ctx = RequestContext.for_pro(RPPS, "10", "SM26")
        new = NewDocument("11488-4", "Compte rendu de consultation", "application/pdf", content)
        raw = (
            RawDurableWrite(folder / "baseline")
            if url is None
            else RawDurableWritePg(folder / "baseline", url)
        )

        def ours() -> None:
            upload_document(rt, ctx, new, patient_id=patient_id)

        def baseline() -> None:
            raw.put(patient_id, content)

        print_header(
            "Uploads (DOC-1): upload_document vs raw durable write (file + fsync, row + commit)",
            [
                ("uploads", f"{uploads} each side, {ROUNDS} alternating rounds"),
                ("document", f"{len(content):,} bytes (PDF)"),
                ("folder", folder),
                ("database", database_label(url)),
            ],
        )
        ours_s, base_s = alternate([ours, baseline], uploads, rounds=ROUNDS, warm_up=WARM_UP)
        if args.profile:
            print_profile(lambda: timed(ours, 20), "20 uploads")
        raw.close()
        rt.uow.engine.dispose()
    ours_median, base_median = median(ours_s), median(base_s)
    print(
        f"  ours: median {ours_median * 1e3:.1f} ms, total {sum(ours_s):.2f} s; "
        f"baseline: median {base_median * 1e3:.1f} ms, total {sum(base_s):.2f} s"
    )
    ratio = base_median / ours_median
    results = [
        Result(
            "uploads/s, 300 KB (median)",
            f"{1 / ours_median:,.1f}/s",
            f"{1 / base_median:,.1f}/s",
            f"{ratio:.2f}x",
            f">= {TARGET}x",
            ratio >= TARGET,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
