"""Documents. Each version is a row; ``set_id`` ties the versions of one document together."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("patient_id", "unique_id", name="uq_documents_patient_unique_id"),
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
