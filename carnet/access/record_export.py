"""A record read whole, page by page, for the patient's full export (LC-6: the right of access):
the documents, the history and the mailbox exactly as their reader sees them in his space — the
same decisions as ``record.documents``, ``record.history`` and ``record.mailbox`` — by keyset
pages, so an export of thousands of documents never holds them all.

The export is one act: it is traced once, when it is asked for and when it is complete
(``Action.EXPORT_RECORD``, with its counts), not page by page — a builder that is killed and
starts again reads the pages again and traces nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select

from carnet.access.history import HistoryEntry, HistoryFilter, _entries, _matching
from carnet.access.rules import Purpose, hidden_actions, would_see
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.messaging.models import Attachment, Conversation, Message
from carnet.records.models import ROW_COLUMNS, Document, DocumentRow

if TYPE_CHECKING:
    from carnet.access.record import Record

#: A document's place in the export's order: (created_at, id).
DocumentKey = tuple[datetime, str]


class ExportReads:
    def __init__(self, record: Record) -> None:
        self.record = record
        record.require(Action.EXPORT_RECORD, Purpose.SPACE, Purpose.LIFECYCLE)
        self._hidden: list[str] | None = None

    def document_count(self) -> int:
        """How many documents the export will hold at most (its progress bar's length)."""
        r = self.record
        return int(
            r.session.execute(
                select(func.count())
                .select_from(Document)
                .where(Document.patient_id == r.patient_id, Document.status != "deleted")
            ).scalar_one()
        )

    def documents(
        self, after: DocumentKey | None, limit: int
    ) -> tuple[list[DocumentRow], DocumentKey | None]:
        """The next page of documents the reader may see (deleted ones never), in
        (created_at, id) order, and where the page after starts (``None``: this was the last)."""
        r = self.record
        query = select(*ROW_COLUMNS).where(
            Document.patient_id == r.patient_id, Document.status != "deleted"
        )
        if after is not None:
            query = query.where(
                or_(
                    Document.created_at > after[0],
                    and_(Document.created_at == after[0], Document.id > after[1]),
                )
            )
        query = query.order_by(Document.created_at, Document.id).limit(limit)
        rows = [DocumentRow._make(row) for row in r.session.execute(query)]
        following = (rows[-1].created_at, rows[-1].id) if len(rows) == limit else None
        return [d for d in rows if r.documents.decide(d).allowed], following

    def _hidden_documents(self) -> list[str]:
        """The documents the reader could not see were they current: a history line naming
        one is not his to read (``rules.history_shows``). Only flagged documents can be."""
        r = self.record
        flagged = r.session.scalars(
            select(Document).where(
                Document.patient_id == r.patient_id,
                or_(
                    Document.masked.is_(True),
                    Document.invisible_patient.is_(True),
                    Document.invisible_representatives.is_(True),
                ),
            )
        )
        return sorted(d.id for d in flagged if not would_see(r.facts, r.entry, d, r.matrix))

    def traces(self, after_seq: int, limit: int) -> tuple[list[HistoryEntry], int | None]:
        """The next page of the history as the reader sees it in his space, oldest first, and
        the place the page after starts from (``None``: this was the last)."""
        r = self.record
        if self._hidden is None:
            self._hidden = self._hidden_documents()
        where = _matching(r.patient_id, HistoryFilter(), self._hidden, hidden_actions(r.facts))
        rows = list(
            r.session.scalars(
                select(Trace).where(where, Trace.seq > after_seq).order_by(Trace.seq).limit(limit)
            )
        )
        named = sorted({t.document_id for t in rows if t.document_id})
        titles: dict[str, str] = {
            document_id: title
            for document_id, title in r.session.execute(
                select(Document.id, Document.title).where(
                    Document.patient_id == r.patient_id, Document.id.in_(named)
                )
            )
        }
        following = rows[-1].seq if len(rows) == limit else None
        return _entries(r, rows, titles), following

    def conversations(self) -> list[Conversation]:
        r = self.record
        return list(
            r.session.scalars(
                select(Conversation)
                .where(Conversation.patient_id == r.patient_id)
                .order_by(Conversation.created_at, Conversation.id)
            )
        )

    def messages(self, after: DocumentKey | None, limit: int) -> list[Message]:
        """The next page of messages, in (created_at, id) order (sealed: messaging opens them)."""
        r = self.record
        query = select(Message).where(Message.patient_id == r.patient_id)
        if after is not None:
            query = query.where(
                or_(
                    Message.created_at > after[0],
                    and_(Message.created_at == after[0], Message.id > after[1]),
                )
            )
        return list(r.session.scalars(query.order_by(Message.created_at, Message.id).limit(limit)))

    def attachments(self, message_ids: list[str]) -> list[Attachment]:
        return self.record.mailbox.attachments(message_ids)
