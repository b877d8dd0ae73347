"""The patient's settings about pros: authorised, blocked, administrators, emergencies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class CareRelation(Base):
    """One pro as the patient sees him: authorised (ACC-2), blocked (ACC-3), administrator (ACC-4)."""

    __tablename__ = "care_relations"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    authorised: Mapped[bool] = mapped_column(Boolean, default=False)
    authorised_at: Mapped[datetime | None]
    first_access_at: Mapped[datetime | None]
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_at: Mapped[datetime | None]
    administrator: Mapped[bool] = mapped_column(Boolean, default=False)
    administrator_since: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: When the patient was last told of this pro's emergency access (TR-2, ACC-6): once per
    #: episode, not at every page he reads (issue 15 finding 9).
    emergency_notified_at: Mapped[datetime | None] = mapped_column(default=None)


class AccessSettings(Base):
    """ACC-5 and ACC-6: the médecin traitant and the three emergency switches with their defaults."""

    __tablename__ = "access_settings"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    emergency_samu: Mapped[bool] = mapped_column(Boolean, default=True)
    emergency_others: Mapped[bool] = mapped_column(Boolean, default=True)
    emergency_masked: Mapped[bool] = mapped_column(Boolean, default=False)
    medecin_traitant_rpps: Mapped[str | None] = mapped_column(String(11))
    updated_at: Mapped[datetime]
