"""What closing or opposing deletes at once (LC-5), and what destroying the archives deletes.

Writes only (``DELETE … WHERE patient_id``): nothing here reads a patient's rows. The blobs the
deleted rows named are *doomed* in the same transaction (``doomed_blobs``) and deleted from the
store once it commits — and again by the daily job, should a crash come in between.

LC-9: nothing outside the space is touched. A reply the patient sent to a mailbox the platform
hosts (``hosted_mail``) is that pro's copy: its blob stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, Delete, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningDelete

from carnet import clock
from carnet.access.models import AccessSettings, CareRelation
from carnet.db.base import table_of
from carnet.lifecycle.models import DoomedBlob, Export, LifeRequest, YearlyStatement
from carnet.messaging.models import Attachment, Conversation, HostedMail, Message, OutgoingMail
from carnet.notify.models import Notification, OutboxEvent
from carnet.population.login_models import LoginChallenge, LoginGuard, LoginSource, WebSession
from carnet.profile.service import delete_profile
from carnet.records.models import Document


@dataclass
class Deleted:
    """What was deleted, table by table (the deletion certificate lists it, LC-5)."""

    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    exports: list[str] = field(default_factory=list)

    def count(self, table: str, rows: int) -> None:
        if rows:
            self.rows[table] = self.rows.get(table, 0) + rows


_PLAIN = {"synchronize_session": False}


def _keys(
    session: Session, statement: ReturningDelete[str] | ReturningDelete[str | None]
) -> list[str]:
    """The blob keys a ``DELETE … RETURNING`` statement returned."""
    return [k for k in session.scalars(statement, execution_options=_PLAIN) if k]


def _rows(session: Session, statement: Delete) -> int:
    result: CursorResult[Any] = session.execute(statement, execution_options=_PLAIN)  # type: ignore[assignment]
    return int(result.rowcount)


def delete_mailbox(session: Session, patient_id: str, deleted: Deleted) -> None:
    """LC-5, MSG-1: messages, attachments, sent replies and queued mail, at once."""
    hosted = select(HostedMail.blob_key).where(HostedMail.patient_id == patient_id)
    attachments = _keys(
        session,
        delete(Attachment)
        .where(Attachment.patient_id == patient_id)
        .returning(Attachment.blob_key),
    )
    deleted.count("message_attachments", len(attachments))
    raw = _keys(
        session,
        delete(Message)
        .where(
            Message.patient_id == patient_id,
            Message.raw_blob_key.is_not(None),
            Message.raw_blob_key.not_in(hosted),
        )
        .returning(Message.raw_blob_key),
    )
    rest = _rows(session, delete(Message).where(Message.patient_id == patient_id))
    deleted.count("messages", len(raw) + rest)
    queued = _keys(
        session,
        delete(OutgoingMail)
        .where(OutgoingMail.patient_id == patient_id, OutgoingMail.blob_key.not_in(hosted))
        .returning(OutgoingMail.blob_key),
    )
    sent = _rows(session, delete(OutgoingMail).where(OutgoingMail.patient_id == patient_id))
    deleted.count("outgoing_mail", len(queued) + sent)
    conversations = _rows(
        session, delete(Conversation).where(Conversation.patient_id == patient_id)
    )
    deleted.count("conversations", conversations)
    doom(session, {*attachments, *raw, *queued}, deleted)


def _delete_medical_profile(session: Session, patient_id: str, deleted: Deleted) -> None:
    """LC-5, PRF-2: the medical profile and the measures go at once."""
    deleted.count("medical_profile", delete_profile(session, patient_id))


def delete_space_data(session: Session, patient_id: str) -> Deleted:
    """LC-5: what closing (or opposing) deletes at once — the medical profile, the measures
    and the mailbox — with the notification centre, the e-mails still waiting to leave, the
    exports, and the person's log-in sessions. Documents and traces stay, archived: the access
    decision opens a closed profile to no one."""
    deleted = Deleted()
    _delete_medical_profile(session, patient_id, deleted)
    delete_mailbox(session, patient_id, deleted)
    for model, table in (
        (Notification, "notifications"),
        (OutboxEvent, "outbox"),
        (WebSession, "web_sessions"),
        (LoginChallenge, "login_challenges"),
        (LoginGuard, "login_guards"),
        (LoginSource, "login_sources"),
    ):
        deleted.count(table, _rows(session, delete(model).where(model.patient_id == patient_id)))
    deleted.exports = _keys(
        session, delete(Export).where(Export.patient_id == patient_id).returning(Export.id)
    )
    deleted.count("exports", len(deleted.exports))
    return deleted


def delete_archives(session: Session, patient_id: str) -> Deleted:
    """LC-5: the archives themselves — documents, the settings kept with them, the requests
    and statements — once the keys are destroyed (the traces are the trail's to delete)."""
    deleted = Deleted()
    keys = _keys(
        session,
        delete(Document).where(Document.patient_id == patient_id).returning(Document.blob_key),
    )
    deleted.count("documents", len(keys))
    for model, table in (
        (CareRelation, "care_relations"),
        (AccessSettings, "access_settings"),
        (LifeRequest, "life_requests"),
        (YearlyStatement, "yearly_statements"),
    ):
        deleted.count(table, _rows(session, delete(model).where(model.patient_id == patient_id)))
    more = delete_space_data(session, patient_id)  # whatever came since the closing
    for table, rows in more.rows.items():
        deleted.count(table, rows)
    deleted.exports = more.exports
    doom(session, set(keys), deleted)
    deleted.blobs += more.blobs
    return deleted


def doom(session: Session, keys: Iterable[str], deleted: Deleted) -> None:
    """Blobs whose rows are gone, to delete from the store after the commit."""
    rows = [{"blob_key": key, "queued_at": clock.now()} for key in sorted(keys) if key]
    if not rows:
        return
    dialect = session.connection().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table_of(DoomedBlob))
    session.execute(insert.on_conflict_do_nothing(), rows)
    deleted.blobs += len(rows)
