"""The patient's full export (LC-6): time and peak memory of a space of 2,000 documents.

Ours: ``lifecycle.export.build_export`` of one patient's space of ``--documents`` documents
(2,000; ``--quick`` 400) of 30 KB each (incompressible, like PDFs and images): every page read
through the record handle, every document decrypted and checked, written with the FHIR Bundle,
``index.html`` and ``manifest.json`` into a zip sealed with the patient's key. Memory: Python's
peak allocation during the build (``tracemalloc``), compared with the same export of a space an
eighth the size — flat means the space's size barely shows (target ≤ 1.5×). Time: compared with
a bare loop over the same documents (each blob read, decrypted, written into a plain zip file),
which does none of the paging, checking, FHIR, HTML or sealing (target ≤ 4×).
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

from _common import (
    Result,
    activated_patient,
    finish,
    options,
    print_header,
    runtime_in,
    temporary_folder,
)
from sqlalchemy import select

from carnet import clock
from carnet.blobs.crypto import decrypt
from carnet.context import RequestContext
from carnet.ids import new_id
from carnet.keys.service import key_by_id
from carnet.lifecycle.export import build_export
from carnet.lifecycle.models import Export
from carnet.records.models import Document
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import Runtime

SIZE = 30_000


def space(rt: Runtime, documents: int) -> str:
    """A patient with ``documents`` documents uploaded by a pro; his id."""
    patient = activated_patient(f"2850475{documents:06d}"[:13] + "00")
    with rt.transaction() as session:
        session.add(patient)
    pro = RequestContext.for_pro("10000000001", "10", "SM26")
    for n in range(documents):
        upload_document(
            rt,
            pro,
            NewDocument(
                "11488-4", f"Compte rendu {n}", "application/pdf", b"%PDF-1.4\n" + os.urandom(SIZE)
            ),
            patient_id=patient.id,
        )
    return patient.id


def queued(rt: Runtime, patient_id: str, total: int) -> str:
    export_id = new_id()
    with rt.transaction() as session:
        session.add(
            Export(
                patient_id=patient_id,
                id=export_id,
                requested_by=patient_id,
                door="api",
                state="queued",
                done=0,
                total=total,
                attempts=0,
                created_at=clock.now(),
                lease_until=None,
                finished_at=None,
                expires_at=None,
                size=None,
                key_id=None,
                error=None,
            )
        )
    return export_id


def ours(rt: Runtime, patient_id: str, total: int, *, traced: bool) -> tuple[float, int]:
    """Seconds and peak bytes (0 when not traced) of one export."""
    export_id = queued(rt, patient_id, total)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    assert build_export(rt, patient_id, export_id)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    return elapsed, peak


def bare(rt: Runtime, patient_id: str, folder: Path) -> float:
    """The same documents read, decrypted and zipped, and nothing else."""
    started = time.perf_counter()
    with rt.transaction() as session:
        rows = list(session.scalars(select(Document).where(Document.patient_id == patient_id)))
        keys = {r.key_id: key_by_id(session, rt.master_key, patient_id, r.key_id) for r in rows}
    with zipfile.ZipFile(folder / "bare.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for r in rows:
            data = decrypt(keys[r.key_id], rt.blobs.get(r.blob_key), r.blob_key.encode())
            zf.writestr(f"documents/{r.id}.pdf", data)
    return time.perf_counter() - started


def _documents_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", type=int, default=None, help="documents of the space")


def main() -> int:
    args = options(__doc__ or "", _documents_option)
    documents = args.documents or (400 if args.quick else 2000)
    small = max(1, documents // 8)
    with temporary_folder(args.dir) as folder:
        rt = runtime_in(folder)
        started = time.perf_counter()
        big_space, small_space = space(rt, documents), space(rt, small)
        print_header(
            "Full export of a space (LC-6)",
            [
                ("documents", f"{documents:,} of {SIZE // 1000} KB (and {small:,} to compare)"),
                ("filled in", f"{time.perf_counter() - started:.0f} s"),
            ],
        )
        times = [ours(rt, big_space, documents, traced=False) for _ in range(3)]
        bare_times = [bare(rt, big_space, folder) for _ in range(3)]
        _, peak_big = ours(rt, big_space, documents, traced=True)
        _, peak_small = ours(rt, small_space, small, traced=True)
        mine = sorted(t for t, _ in times)[1]
        theirs = sorted(bare_times)[1]
        results = [
            Result(
                f"export of {documents:,} documents (median of 3)",
                f"{mine:.2f} s ({documents / mine:,.0f} docs/s)",
                f"{theirs:.2f} s bare zip",
                f"{mine / theirs:.2f}x",
                "<= 4x",
                mine / theirs <= 4,
            ),
            Result(
                "peak memory of the build (tracemalloc)",
                f"{peak_big / 1e6:.1f} MB @ {documents:,}",
                f"{peak_small / 1e6:.1f} MB @ {small:,}",
                f"{peak_big / peak_small:.2f}x",
                "<= 1.5x (flat)",
                peak_big / peak_small <= 1.5,
            ),
        ]
        rt.uow.engine.dispose()
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
