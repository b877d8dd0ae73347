"""The directory (ID-4): pros by RPPS, establishments by FINESS, MSSanté mailboxes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class EstablishmentKind(StrEnum):
    HOSPITAL = "hospital"
    PHARMACY = "pharmacy"
    PRACTICE = "practice"
    SAMU = "samu"
    LABORATORY = "laboratory"
    MEDICO_SOCIAL = "medico-social"


class MailboxKind(StrEnum):
    """``typeBAL`` of the MSSanté directory."""

    PERSONAL = "PER"
    ORGANISATIONAL = "ORG"
    APPLICATIVE = "APP"
    PRACTICE = "CAB"


class Pro(Base):
    __tablename__ = "pros"

    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    civility: Mapped[str | None] = mapped_column(String(10))
    profession: Mapped[str] = mapped_column(String(4))
    specialty: Mapped[str | None] = mapped_column(String(12))
    samu_regulator: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]

    @property
    def id_nat_ps(self) -> str:
        return "8" + self.rpps


class Establishment(Base):
    __tablename__ = "establishments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    finess: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime]


class ProEstablishment(Base):
    """Where a pro works (his *situations d'exercice*)."""

    __tablename__ = "pro_establishments"

    rpps: Mapped[str] = mapped_column(ForeignKey("pros.rpps"), primary_key=True)
    establishment_id: Mapped[str] = mapped_column(ForeignKey("establishments.id"), primary_key=True)


class Mailbox(Base):
    """An MSSanté mailbox of the trust space: personal (a pro), or an establishment's."""

    __tablename__ = "mailboxes"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3))
    display_name: Mapped[str] = mapped_column(String(300))
    owner_rpps: Mapped[str | None] = mapped_column(ForeignKey("pros.rpps"), index=True)
    establishment_id: Mapped[str | None] = mapped_column(
        ForeignKey("establishments.id"), index=True
    )
    hosted_here: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]
