"""Deleting what deleted rows named: blobs (``doomed_blobs``) and export files.

Runs after the commit that doomed them, and again in the daily job: a crash in between leaves
work for the next run, never a row without its blob nor a blob that outlives its deletion for
long. Deleting what is already gone is not an error, so running twice is harmless.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import delete, select

from carnet.lifecycle.models import DoomedBlob
from carnet.logs import get_logger
from carnet.runtime import Runtime
from carnet.settings import Settings

log = get_logger(__name__)
BATCH = 500


def exports_folder(settings: Settings, patient_id: str | None = None) -> Path:
    root = settings.data_dir / "exports"
    return root / patient_id if patient_id else root


def export_path(settings: Settings, patient_id: str, export_id: str) -> Path:
    """Where an export's zip lives, sealed with the patient's key (``lifecycle.sealed``)."""
    return exports_folder(settings, patient_id) / f"{export_id}.zip.sealed"


def remove_exports(settings: Settings, patient_id: str, export_ids: Iterable[str]) -> None:
    for export_id in export_ids:
        with contextlib.suppress(FileNotFoundError):
            export_path(settings, patient_id, export_id).unlink()
            # a builder's unfinished file, if any
        with contextlib.suppress(FileNotFoundError):
            export_path(settings, patient_id, export_id).with_suffix(".part").unlink()


def remove_all_exports(settings: Settings, patient_id: str) -> None:
    """Every export file of a space (its archives destroyed, LC-5)."""
    shutil.rmtree(exports_folder(settings, patient_id), ignore_errors=True)


def sweep_doomed(rt: Runtime, keys: Iterable[str] | None = None) -> int:
    """Delete doomed blobs from the store, then their rows; how many. ``keys``: those just
    doomed (after a commit); otherwise every one waiting (the daily job), a batch at a time."""
    swept = 0
    wanted = sorted(set(keys)) if keys is not None else None
    while True:
        with rt.transaction() as session:
            query = select(DoomedBlob.blob_key).order_by(DoomedBlob.blob_key).limit(BATCH)
            if wanted is not None:
                query = query.where(DoomedBlob.blob_key.in_(wanted[:BATCH]))
                wanted = wanted[BATCH:]
            batch = list(session.scalars(query))
        if not batch:
            return swept
        for key in batch:
            rt.blobs.delete(key)
        with rt.transaction() as session:
            session.execute(delete(DoomedBlob).where(DoomedBlob.blob_key.in_(batch)))
        swept += len(batch)
        log.info("doomed_blobs_deleted", count=len(batch))
        if wanted is not None and not wanted:
            return swept
