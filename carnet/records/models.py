"""Documents. Each version is a row; ``set_id`` ties the versions of one document together."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "author_id", "unique_id", name="uq_documents_patient_author_unique_id"
        ),
        Index("ix_documents_patient_status", "patient_id", "status"),
        Index("ix_documents_patient_set", "patient_id", "set_id"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unique_id: Mapped[str] = mapped_column(String(128))
    set_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    replaces_id: Mapped[str | None] = mapped_column(String(32))
    type_system: Mapped[str] = mapped_column(String(100))
    type_code: Mapped[str] = mapped_column(String(20))
    class_code: Mapped[str] = mapped_column(String(4))
    category: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[str] = mapped_column(String(64))
    author_establishment_id: Mapped[str | None] = mapped_column(String(32))
    service_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sha1: Mapped[str] = mapped_column(String(40))
    blob_key: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(32))
    masked: Mapped[bool] = mapped_column(Boolean, default=False)
    invisible_patient: Mapped[bool] = mapped_column(Boolean, default=False)
    invisible_representatives: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    meta_version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None]
    #: DOC-3: a document invisible to the patient for a while (pending an announcement
    #: consultation) becomes visible on this day, by the daily job, unless shown earlier.
    invisible_until: Mapped[date | None] = mapped_column(Date)
    #: The submission set (IHE XDS/MHD SubmissionSet, FHIR ``List``) the document came in: the
    #: documents one request published share it. NULL for documents stored before 0013.
    submission_set_id: Mapped[str | None] = mapped_column(String(32))
    #: PDSm metadata as the producer submitted it (author, format, facility type, practice
    #: setting, language, entryUUID, sourcePatientInfo), JSON, returned as sent.
    submitted: Mapped[str | None] = mapped_column(Text)
    #: The content's own key, sealed under the patient's data key ``key_id`` (0019: the upload
    #: seals and writes the bytes while the database decides); NULL for documents stored before,
    #: sealed under the data key itself.
    content_key: Mapped[bytes | None] = mapped_column(LargeBinary)


class DocumentRow(NamedTuple):
    """A document as a listing reads it: plain values, no ORM identity map or change tracking.

    A record is listed whole and decided document by document; building hundreds of ORM
    objects per listing cost more than the query itself (and a frozen dataclass's ``__init__``
    still cost twice what a tuple does). Acts that change a document load the
    ORM ``Document`` instead. Same attribute names as ``Document``, so readers take either.
    """

    patient_id: str
    id: str
    unique_id: str
    set_id: str
    version: int
    replaces_id: str | None
    type_system: str
    type_code: str
    class_code: str
    category: str
    title: str
    author_kind: str
    author_id: str
    author_establishment_id: str | None
    service_date: date | None
    created_at: datetime
    updated_at: datetime
    mime_type: str
    size: int
    sha256: str
    sha1: str
    blob_key: str
    key_id: str
    masked: bool
    invisible_patient: bool
    invisible_representatives: bool
    status: str
    archived: bool
    meta_version: int
    deleted_at: datetime | None
    invisible_until: date | None
    submission_set_id: str | None = None
    submitted: str | None = None
    content_key: bytes | None = None


ROW_COLUMNS = tuple(Document.__table__.c[name] for name in DocumentRow._fields)
"""The columns a ``DocumentRow`` is built from, in its fields' order."""

AnyDocument = Document | DocumentRow
"""What readers (shapes, filters, the decision's facts) accept."""
