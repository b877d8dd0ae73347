"""The history through the record handle, on a real database (TR-1, ACC-4, ACC-5, DOC-3).

The page is cut in SQL; ``rules.history_shows`` says line by line what may show. These tests
hold the two equal on a record with every kind of line, and check what the lines say.
"""

from __future__ import annotations

import pytest
from factories import (
    add_patient,
    add_pro,
    add_representative,
    patient_ctx,
    pro_ctx,
    upload,
)
from sqlalchemy import select

from carnet.access import gate, space
from carnet.access.acts import designate_administrator, set_medecin_traitant
from carnet.access.rules import Purpose, history_shows
from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import NotFound
from carnet.population.models import Patient
from carnet.records import service as records
from carnet.records.models import Document
from carnet.runtime import Runtime

#: A nurse (60) may not read a consultation report (11488-4) by the stand-in matrix (ACC-1).
NURSE_CANNOT_READ, EVERYONE_READS = "11488-4", "11506-3"


def _world(rt: Runtime) -> tuple[Patient, Patient, RequestContext, RequestContext]:
    """A minor, her parent, a nurse administrator, a médecin traitant; documents of every
    kind; acts of every kind, the mailbox's included."""
    child, parent = add_patient(rt, age=15), add_patient(rt, first_names="Paul")
    add_representative(rt, child, parent)
    doctor, nurse = add_pro(rt), add_pro(rt, profession="60", specialty=None)
    author = pro_ctx(doctor)
    upload(rt, author, child, title="Visible")
    hidden = upload(rt, author, child, title="Contraception", invisible_representatives=True)
    report = upload(rt, author, child, type_code=NURSE_CANNOT_READ, title="Compte rendu")
    upload(rt, author, child, type_code=EVERYONE_READS, title="Suivi", masked=True)
    records.delete_document(rt, author, child.id, hidden.id)
    records.delete_document(rt, author, child.id, report.id)
    nurse_ctx = pro_ctx(nurse)
    records.list_documents(rt, nurse_ctx, child.id, declares_consent=True)
    stranger = add_patient(rt)
    with rt.transaction() as session:
        designate_administrator(session, patient_ctx(parent), child.id, nurse.rpps)
        set_medecin_traitant(session, patient_ctx(parent), child.id, doctor.rpps)
        trail.record(session, patient_ctx(parent), Action.READ_MESSAGE, patient_id=child.id)
        trail.record(
            session,
            RequestContext.for_patient(stranger.id),
            Action.LIST_DOCUMENTS,
            patient_id=child.id,
            outcome=Outcome.DENIED,
        )
    return child, parent, patient_ctx(parent), nurse_ctx


def _expected(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[str]:
    """The lines ``rules.history_shows`` lets through, one by one, newest first."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.HISTORY,
            action=Action.READ_HISTORY,
            patient_id=patient_id,
        )
        documents = {
            d.id: d
            for d in session.scalars(select(Document).where(Document.patient_id == patient_id))
        }
        traces = session.scalars(
            select(Trace).where(Trace.patient_id == patient_id).order_by(Trace.seq.desc())
        ).all()
        return [
            t.id
            for t in traces
            if history_shows(
                record.facts,
                record.entry,
                t.action,
                [documents[i] for i in (t.document_id, t.target) if i in documents],
                record.matrix,
            )
        ]


def test_tr_1_the_page_cut_in_sql_is_the_rule_line_by_line(rt: Runtime) -> None:
    """TR-1, DOC-3, ACC-4: what the parent and the nurse administrator see is exactly what the
    pure rule lets through — the deleted confidential document and the report the nurse may not
    read leave no line; the mailbox's line shows to the parent only."""
    child, _, parent, nurse = _world(rt)
    for reader in (parent, nurse):
        expected = _expected(rt, reader, child.id)
        page = space.read_history(rt, reader, child.id)
        assert [e.id for e in page.entries] == expected
        assert page.total == len(expected)
    titles = {e.document_title for e in space.read_history(rt, parent, child.id).entries}
    assert "Contraception" not in titles
    assert "Visible" in titles
    nurse_actions = {e.action for e in space.read_history(rt, nurse, child.id).entries}
    assert Action.READ_MESSAGE.value not in nurse_actions
    parent_actions = {e.action for e in space.read_history(rt, parent, child.id).entries}
    assert Action.READ_MESSAGE.value in parent_actions


def test_tr_1_each_line_says_who_and_why(rt: Runtime) -> None:
    """TR-1: the reader is « Vous »; a stranger's refused attempt is labelled as someone without
    rights, never as a representative; each line carries its rule, in words."""
    child, _, parent, _ = _world(rt)
    entries = space.read_history(rt, parent, child.id).entries
    mine = [e for e in entries if e.action == Action.DESIGNATE_ADMINISTRATOR.value]
    assert [(e.actor_label, e.why) for e in mine] == [("Vous", "representative")]
    stranger = [e for e in entries if e.outcome == Outcome.DENIED.value]
    assert [e.actor_category for e in stranger] == ["someone_without_rights"]
    assert stranger[0].actor_label == "Une personne sans droit sur ce dossier"
    uploads = [e for e in entries if e.action == Action.UPLOAD_DOCUMENT.value]
    assert {e.why_text for e in uploads} == {
        "dépôt : tout professionnel de santé peut alimenter votre dossier"
    }
    consent = [e for e in entries if e.action == Action.DECLARE_CONSENT.value]
    assert consent
    assert consent[0].why == "consent_declared"


def test_acc_5_the_medecin_traitant_reads_the_history(rt: Runtime) -> None:
    """ACC-5: the médecin traitant has the administrator's extended reading rights."""
    child = add_patient(rt, age=40)
    doctor, other = add_pro(rt), add_pro(rt)
    with rt.transaction() as session:
        set_medecin_traitant(session, patient_ctx(child), child.id, doctor.rpps)
    page = space.read_history(rt, pro_ctx(doctor), child.id)
    assert page.total >= 1
    assert page.entries[0].why == "patient"
    with pytest.raises(NotFound):
        space.read_history(rt, pro_ctx(other), child.id)
