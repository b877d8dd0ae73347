"""The outbox and the patient's notification centre.

An outbox row is written with the act it announces; a notification's id is its event's id, so a
retried delivery cannot show it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class OutboxEvent(Base):
    """An event to deliver: into the notification centre, and by e-mail when the patient has
    an address (``email_state``: ``sent``, ``failed`` — refused for good or not taken in time,
    the operator told by the log — or ``none``: nothing to send)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
        Index("ix_outbox_email_state", "email_state", "delivered_at"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    email_state: Mapped[str | None] = mapped_column(String(10))


class Notification(Base):
    __tablename__ = "notifications"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    text_fr: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
