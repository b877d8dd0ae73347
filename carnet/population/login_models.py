"""Web log-in state of the register's people: lock-out counters, second-factor codes, sessions.

Secrets are kept hashed: a session cookie or a code read from the database opens nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base


class LoginGuard(Base):
    """A person's log-in settings, and the failures of unknown sources together (issue 15:
    ``login_rules.MAX_UNKNOWN_FAILURES``) with the end of their lock-out."""

    __tablename__ = "login_guards"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: The authenticator app's secret (base32) once confirmed, then the code replaces the
    #: e-mailed one; ``totp_pending`` while being set up; the last time step used (a code is
    #: good once); the recovery codes' SHA-256, hex, space-separated (issue 15).
    #: Both sealed with the person's data key (``v1:<key id>:<base64>``), like the rest of his data.
    totp_secret: Mapped[str | None] = mapped_column(Text, default=None)
    totp_pending: Mapped[str | None] = mapped_column(Text, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    recovery_hashes: Mapped[str | None] = mapped_column(Text, default=None)


class LoginSource(Base):
    """Where log-in attempts on a person's account come from, each counted and locked out on
    its own (issue 15): a browser that completed a log-in before (``id`` the SHA-256 of its
    cookie's secret, ``last_login_at`` set), or a client address (``id`` its keyed hash: no
    address is stored)."""

    __tablename__ = "login_sources"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class LoginChallenge(Base):
    """A second-factor code sent by e-mail after the password (its SHA-256 only)."""

    __tablename__ = "login_challenges"
    __table_args__ = (Index("ix_login_challenges_id", "id", unique=True),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A person's session in the browser; ``id`` is the SHA-256 of the cookie's secret."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_id", "id", unique=True),)

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
