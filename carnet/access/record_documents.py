"""A record's documents, as its requester may see them (ACC-*, DOC-3…DOC-6): listed, read one by
one, or found again by a producer's unique id — every read decided and traced."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from carnet.access.facts import DocumentView, RecordFacts
from carnet.access.loading import patient_documents
from carnet.access.rules import Decision, Purpose, Why, decide_document, outline, seen_as
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.errors import Conflict
from carnet.records.models import AnyDocument, Document, DocumentRow

if TYPE_CHECKING:
    from carnet.access.record import Record

#: The purposes under which a record hands out documents.
_READS = (Purpose.READ, Purpose.SPACE, Purpose.UPLOAD)


def ref_of(d: AnyDocument) -> trail.DocumentRef:
    return trail.DocumentRef(d.id, d.version, d.sha256)


class Documents:
    def __init__(self, record: Record) -> None:
        self.record = record

    def decide(self, document: DocumentView) -> Decision:
        r = self.record
        return decide_document(r.facts, r.entry, document, r.matrix)

    def as_seen_by(self, viewer: RecordFacts) -> tuple[Decision, list[DocumentRow], int]:
        """« Voir mon dossier comme… »: of the documents the patient himself sees, those
        ``viewer`` would read now (``rules.seen_as``), and how many the patient sees. Traces
        nothing: nobody but the patient reads, and he reads only what he already sees."""
        r = self.record
        r.require(Action.LIST_DOCUMENTS, Purpose.SPACE)
        rows = patient_documents(
            r.session, r.patient_id, within=outline(r.facts, r.entry, r.matrix)
        )
        mine = [d for d in rows if self.decide(d).allowed]
        entry, seen = seen_as(viewer, mine, r.matrix)
        return entry, seen, len(mine)

    def list(
        self,
        keep: Callable[[DocumentRow], bool] | None = None,
        *,
        statuses: Sequence[str] | None = None,
        archived: bool | None = None,
    ) -> list[DocumentRow]:
        """The documents the requester may see (the same decision as one by one), one trace.

        The fetch is narrowed to the decision's outline and, by ``statuses`` and ``archived``,
        to what ``keep`` would keep anyway; every row fetched is still decided and kept one by
        one. A pro refused the record with nothing of his own to see (DOC-5) finds nothing.
        """
        r = self.record
        r.require(Action.LIST_DOCUMENTS, Purpose.READ, Purpose.SPACE)
        rows = patient_documents(
            r.session,
            r.patient_id,
            within=outline(r.facts, r.entry, r.matrix),
            statuses=statuses,
            archived=archived,
        )
        documents = [d for d in rows if (keep is None or keep(d)) and self.decide(d).allowed]
        if not r.entry.allowed and not documents:
            r.refuse(Action.LIST_DOCUMENTS, r.entry.why)
        r.trace(Action.LIST_DOCUMENTS, detail={"count": len(documents)})
        return documents

    def get(
        self, document_id: str, action: Action = Action.READ_DOCUMENT, *, trace: bool = True
    ) -> Document:
        """One document the requester may see, traced; anything else is refused as absent.

        An act on a document (mask, delete…) passes ``trace=False`` and traces the act itself
        once its own rule has spoken.
        """
        r = self.record
        r.require(action, *_READS)
        document = r.session.get(Document, (r.patient_id, document_id))
        if document is None:
            r.refuse(action, Why.ABSENT, target=document_id[:64])
        decision = self.decide(document)
        if not decision.allowed:
            r.refuse(action, decision.why, document=ref_of(document))
        if trace:
            r.trace(action, why=decision.why, document=ref_of(document))
        return document

    def resent(self, unique_id: str) -> Document | None:
        """DOC-1: the requester's own earlier upload under this producer id, when there is one.

        Unique ids are unique per author (migration 0006), so another author's document is never
        found here, and nothing about it can be learnt from an upload. The author himself gets
        it back only if he may still read it (not blocked, ID-5…); otherwise a conflict that says
        what he already knows — that he sent it — and nothing of what became of it.
        """
        r = self.record
        document = r.session.execute(
            select(Document).where(
                Document.patient_id == r.patient_id,
                Document.author_id == r.ctx.actor_id,
                Document.unique_id == unique_id,
            )
        ).scalar_one_or_none()
        if document is None or self.decide(document).allowed:
            return document
        r.refuse(
            Action.UPLOAD_DOCUMENT,
            self.decide(document).why,
            document=ref_of(document),
            refusal=Conflict(
                "Vous avez déjà déposé un document sous cet identifiant unique.",
                "You already submitted a document under this unique identifier.",
                code="unique_id_conflict",
            ),
        )
