"""The trace log: per-patient hash chains, append-only (TR-3).

Each patient's traces form a chain (``seq`` 1, 2, …, each entry's hash covering the previous
one); ``trace_heads`` holds each chain's last link and is the row locked while appending, so two
transactions never fork a chain. Triggers in the migration refuse UPDATE and DELETE on ``traces``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base

#: The chain of acts that concern no patient (imports, operator acts).
SYSTEM_CHAIN = "-"


class Trace(Base):
    __tablename__ = "traces"

    patient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_profession: Mapped[str | None] = mapped_column(String(4))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    door: Mapped[str] = mapped_column(String(10))
    request_id: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[str | None] = mapped_column(String(32))
    document_version: Mapped[int | None] = mapped_column(Integer)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    #: The rule that let the act through or refused it (``access.rules.Why``); NULL before 0006.
    why: Mapped[str | None] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TraceHead(Base):
    __tablename__ = "trace_heads"

    patient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
