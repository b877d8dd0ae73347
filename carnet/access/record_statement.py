"""What the yearly activity statement counts (LC-3): how many documents reached a profile and how
many messages its mailbox received in a year — counts only, no title, no content — for a patient
with no known e-mail. Opened by the daily job alone (``Purpose.STATEMENT``); traced once, as
the statement it makes (TR-1: the patient sees it in his history)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from carnet.access.rules import Purpose
from carnet.audit.rules import Action
from carnet.messaging.models import Message
from carnet.messaging.rules import Direction
from carnet.records.models import Document

if TYPE_CHECKING:
    from carnet.access.record import Record


class Statement:
    def __init__(self, record: Record) -> None:
        self.record = record
        record.require(Action.YEARLY_STATEMENT, Purpose.STATEMENT)

    def counts(self, year: int) -> tuple[int, int]:
        """``(documents, messages)`` of ``year``: documents the patient will see (not those
        kept invisible to him, DOC-3), messages received."""
        r = self.record
        start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        documents = r.session.execute(
            select(func.count())
            .select_from(Document)
            .where(
                Document.patient_id == r.patient_id,
                Document.status != "deleted",
                Document.invisible_patient.is_(False),
                Document.created_at >= start,
                Document.created_at < end,
            )
        ).scalar_one()
        messages = r.session.execute(
            select(func.count())
            .select_from(Message)
            .where(
                Message.patient_id == r.patient_id,
                Message.direction == Direction.INBOUND.value,
                Message.created_at >= start,
                Message.created_at < end,
            )
        ).scalar_one()
        r.trace(
            Action.YEARLY_STATEMENT,
            detail={"year": year, "documents": documents, "messages": messages},
        )
        return int(documents), int(messages)
