"""The medical profile's tables (PRF-1), each keyed ``(patient_id, id)`` like every patient table.

Read only through the record handle (``access.record_profile``); written by the profile's use
cases (``profile.service``, ``profile.feed``); deleted whole at closing (``delete_profile``,
PRF-2, LC-5).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class ProfileEntry(Base):
    """A line of treatments, allergies and intolerances, personal and family history, or health
    conditions (``section``); the columns a section does not use stay empty."""

    __tablename__ = "profile_entries"
    __table_args__ = (Index("ix_profile_entries_patient_section", "patient_id", "section"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    section: Mapped[str] = mapped_column(String(30))
    label: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(20))
    criticality: Mapped[str | None] = mapped_column(String(20))
    relation: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str | None] = mapped_column(String(20))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class Measure(Base):
    """One measure in its catalogue unit (``profile/data/measures.csv``); a blood pressure keeps
    the systolic in ``value`` and the diastolic in ``value2``."""

    __tablename__ = "profile_measures"
    __table_args__ = (
        Index("ix_profile_measures_patient_code_at", "patient_id", "code", "measured_at"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(20))  # LOINC
    value: Mapped[float] = mapped_column(Float)
    value2: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))  # UCUM
    measured_at: Mapped[datetime]
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Vaccination(Base):
    """A vaccination: entered by the patient's side, or fed by the operator (``source``), whose
    rows take the id of the feed line they come from (the feed is idempotent)."""

    __tablename__ = "profile_vaccinations"
    __table_args__ = (Index("ix_profile_vaccinations_patient_given", "patient_id", "given_on"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vaccine: Mapped[str] = mapped_column(String(20))
    given_on: Mapped[date] = mapped_column(Date)
    dose: Mapped[int | None] = mapped_column(Integer)
    lot: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(10))  # patient | operator
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CareLine(Base):
    """A line of the history of reimbursed care, as the operator's feed brought it (DOC-1). Its
    id is the digest of the feed line: the same line fed twice is one row."""

    __tablename__ = "profile_care_lines"
    __table_args__ = (Index("ix_profile_care_lines_patient_day", "patient_id", "care_date"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    care_date: Mapped[date] = mapped_column(Date)
    act: Mapped[str] = mapped_column(String(30))
    rpps: Mapped[str | None] = mapped_column(String(11))
    finess: Mapped[str | None] = mapped_column(String(9))
    pharmacy_finess: Mapped[str | None] = mapped_column(String(9))
    label: Mapped[str] = mapped_column(String(200))
    vaccine: Mapped[str | None] = mapped_column(String(20))
    secret: Mapped[bool] = mapped_column(default=False)
    imported_at: Mapped[datetime]


class Contact(Base):
    """Entourage: the trusted person (one at a time) and relatives to contact."""

    __tablename__ = "profile_contacts"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    first_names: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    relationship: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Directive(Base):
    """Advance directives: written online (``answers``, the official model's questions, as
    JSON) or uploaded as a PDF, sealed with the patient's data key like a document's bytes."""

    __tablename__ = "profile_directives"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # form | file
    answers: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(32))
    file_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_size: Mapped[int | None] = mapped_column(Integer)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    written_on: Mapped[date] = mapped_column(Date)
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


#: Every profile table: what closing deletes (PRF-2, LC-5).
PROFILE_TABLES: tuple[type[Base], ...] = (
    ProfileEntry,
    Measure,
    Vaccination,
    CareLine,
    Contact,
    Directive,
)
