"""DOC-3: a document kept invisible to the patient for a while (pending an announcement
consultation) becomes visible on the day its author set (``invisible_until``), by the daily
job — traced as the author's showing it would be, and the patient told (DOC-2).

A write that says what it changed (``UPDATE … RETURNING``): run twice, the second finds nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.rules import Why
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.records.models import Document


def reveal_due(session: Session, ctx: RequestContext, today: date) -> int:
    """Show every document whose delay has passed; how many."""
    shown = session.execute(
        update(Document)
        .where(
            Document.invisible_patient.is_(True),
            Document.invisible_until.is_not(None),
            Document.invisible_until <= today,
            Document.status != "deleted",
        )
        .values(
            invisible_patient=False,
            invisible_until=None,
            updated_at=clock.now(),
            meta_version=Document.meta_version + 1,
        )
        .returning(
            Document.patient_id,
            Document.id,
            Document.version,
            Document.sha256,
            Document.title,
            Document.invisible_representatives,
        ),
        execution_options={"synchronize_session": False},
    ).all()
    for patient_id, document_id, version, sha256, title, hidden_from_representatives in shown:
        trail.record(
            session,
            ctx,
            Action.SHOW_TO_PATIENT,
            patient_id=patient_id,
            document=trail.DocumentRef(document_id, version, sha256),
            why=Why.DELAY_PASSED.value,
        )
        if not hidden_from_representatives:
            enqueue(session, patient_id, Kind.DOCUMENT_ADDED, {"title": title})  # DOC-2
    return len(shown)
