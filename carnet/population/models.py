"""The register: one row per insured person, the profile's state, representatives, codes."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    event,
    insert,
)
from sqlalchemy.orm import Mapped, Mapper, attributes, mapped_column

from carnet.db.base import Base, table_of


class Patient(Base):
    """An insured person and his profile. ``id`` is random; the INS never leaves in a URL."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ins: Mapped[str] = mapped_column(String(15), unique=True)
    ins_status: Mapped[str] = mapped_column(String(5), default="VALI")
    birth_names: Mapped[str] = mapped_column(String(200))
    first_names: Mapped[str] = mapped_column(String(200))
    used_name: Mapped[str | None] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str] = mapped_column(String(5))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    opposed_at: Mapped[datetime | None]
    #: LC-4: the pending one-time code of the operator's letter (128 random bits, shown once;
    #: only its SHA-256 is kept) and when it expires. A new letter's code replaces it; activation
    #: clears it. Found, and kept unique, by its look-up (``PendingCode``, migration 0017); not
    #: indexed here (migration 0020).
    activation_code_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    activation_expires_at: Mapped[datetime | None]
    #: LC-4: wrong birth dates given with the pending code; at ``MAX_CODE_FAILURES`` the code is
    #: spent and a new one must be issued.
    activation_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Who opposed (LC-1, LC-6): ``patient`` (in his space: the feed never creates the profile
    #: again) or ``operator`` (the feed's ``opposed`` column).
    opposed_by: Mapped[str | None] = mapped_column(String(10))
    #: LC-5: a closed or opposed profile's documents and traces are kept, unreadable, until
    #: this moment; ``deletion_due`` when the patient asked for their deletion (done by then);
    #: ``destroyed_at`` once destroyed (keys shredded, rows and blobs deleted).
    archive_until: Mapped[datetime | None]
    deletion_due: Mapped[datetime | None]
    destroyed_at: Mapped[datetime | None]
    #: LC-7: when the majority job handed a former minor's space to him (once).
    majority_at: Mapped[datetime | None]


class PatientRef(NamedTuple):
    """The few columns of a patient's row that a request inside his record uses, as plain values.

    Read in the same round trip as the access decision's facts (``access.loading``): an ORM
    ``Patient`` per request cost a fifth of an upload's CPU. Acts that change the profile load
    the ORM ``Patient`` instead.
    """

    id: str
    ins: str
    birth_names: str
    first_names: str
    birth_date: date
    state: str


class Representative(Base):
    """Who acts for a patient: a legal representative of a minor, or a guardian (LC-7, LC-8).

    The representative is himself a person of the register, known by his INS.
    """

    __tablename__ = "representatives"
    __table_args__ = (Index("ix_representatives_representative_ins", "representative_ins"),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    representative_ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    since: Mapped[datetime]
    shared_by_ins: Mapped[str | None] = mapped_column(String(15))


class InsQualification(Base):
    """A pro checked this INS against the five traits (ID-3): recorded once qualified."""

    __tablename__ = "ins_qualifications"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    qualified_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PatientIns(Base):
    """Who holds an INS: the look-up that makes an INS unique once the register is distributed.

    ``patients`` is keyed (and, on Citus, distributed) by its random ``id``; a unique constraint
    on ``ins`` would have to include ``id`` there, so it could no longer forbid two rows with one
    INS. This table, keyed by the INS (distributed by it on Citus, migration 0017), keeps that
    guarantee everywhere, and a search by INS reads one shard here then one shard of
    ``patients`` by id. Written with every new profile (``population.lookups``); an INS never
    changes and a profile's row is never deleted, so it is never updated."""

    __tablename__ = "patient_ins"

    ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(32))


class PendingCode(Base):
    """Whose pending activation code (LC-4) has this hash: the look-up keeping codes unique once
    ``patients`` is distributed (like ``PatientIns``). Follows ``Patient.activation_code_hash``
    (``population.lookups``): a new code replaces the row, activation removes it."""

    __tablename__ = "pending_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(32))


# The two look-ups follow the register's row whatever writes it through the ORM (the lifecycle,
# the operator's acts, the tests' factories); the feed's bulk insert writes them itself
# (``population.service.import_batch``).


@event.listens_for(Patient, "after_insert")
def _new_profile(_mapper: Mapper[Patient], connection: Connection, patient: Patient) -> None:
    connection.execute(insert(table_of(PatientIns)), {"ins": patient.ins, "patient_id": patient.id})
    if patient.activation_code_hash is not None:
        connection.execute(
            insert(table_of(PendingCode)),
            {"code_hash": patient.activation_code_hash, "patient_id": patient.id},
        )


@event.listens_for(Patient, "after_update")
def _code_changed(_mapper: Mapper[Patient], connection: Connection, patient: Patient) -> None:
    history = attributes.get_history(patient, "activation_code_hash")
    if not history.has_changes():
        return
    for old in history.deleted or ():
        if old is not None:
            connection.execute(delete(table_of(PendingCode)).where(PendingCode.code_hash == old))
    if patient.activation_code_hash is not None:
        connection.execute(
            insert(table_of(PendingCode)),
            {"code_hash": patient.activation_code_hash, "patient_id": patient.id},
        )
