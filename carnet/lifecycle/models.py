"""The lifecycle's tables: the patients' requests, exports, deletion certificates, blobs waiting
to be deleted, yearly statements issued, and the daily jobs' runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class LifeRequest(Base):
    """A patient's request for the operator (LC-4, LC-6): a new activation code, a
    rectification of his identity, a limitation, an opposition. ``done_at`` once handled."""

    __tablename__ = "life_requests"
    __table_args__ = (Index("ix_life_requests_open", "done_at", "created_at"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Export(Base):
    """A full export of a space (LC-6), built in the background a page at a time.

    ``state``: ``queued``, ``building`` (``lease_until``: another worker takes it over once
    this passes — a builder killed midway loses nothing, the next one starts it again),
    ``ready`` (the file, sealed with the patient's key, until ``expires_at``), ``failed``.
    """

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_state", "state", "lease_until"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    door: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    size: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)


class DeletionCertificate(Base):
    """LC-5: what was destroyed of a space and when, signed with the log's key. The patient's
    register row stays (the operator's, LC-9): the certificate names him by it.
    ``written_at`` once the file for the operator to send is on disk."""

    __tablename__ = "deletion_certificates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    issued_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    written_at: Mapped[datetime | None]


class DoomedBlob(Base):
    """A blob whose rows are gone (a closed mailbox, destroyed archives): deleted from the
    store after the commit, and again by the daily job if a crash came in between."""

    __tablename__ = "doomed_blobs"

    blob_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    queued_at: Mapped[datetime]


class YearlyStatement(Base):
    """LC-3: the activity statement of ``year`` for a patient with no known e-mail (a letter
    file for the operator to print), issued once."""

    __tablename__ = "yearly_statements"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    issued_at: Mapped[datetime]


class JobRun(Base):
    """One daily job's run for one day: finished once, so ``carnet serve`` runs each day's jobs
    once, and a run cut short by a crash is run again (each job's steps are idempotent)."""

    __tablename__ = "job_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    job: Mapped[str] = mapped_column(String(30), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)
