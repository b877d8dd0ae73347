"""Sessions of the pros' web portal, and the access mode a pro chose for a patient's record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class ProSession(Base):
    """A pro logged into the portal; ``id`` is the SHA-256 of the cookie's secret. The identity
    is what the issuer's token said (or the directory's, in demo mode); ``id_token`` is that token,
    sent back to the provider at log-out (``id_token_hint``)."""

    __tablename__ = "pro_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rpps: Mapped[str] = mapped_column(String(11), index=True)
    profession: Mapped[str] = mapped_column(String(4))
    specialty: Mapped[str | None] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    id_token: Mapped[str | None] = mapped_column(Text)


class ProAccessMode(Base):
    """ACC-6: the mode a pro entered a record in (bris de glace, régulation) and his reason,
    for the rest of his session: shown on every page of that record."""

    __tablename__ = "pro_access_modes"

    patient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    chosen_at: Mapped[datetime]
