"""DOC-1, DOC-7: an upload reads the patient's data key and its author's structure with the gate's
facts (issue 18: two round trips less an upload), and still seals every document of a set under
the patient's one live key, made at his first document, and names the author's structure."""

from __future__ import annotations

from factories import PDF, add_patient, add_pro, pro_ctx, upload
from sql_support import statements
from sqlalchemy import select

from carnet import clock
from carnet.identity.models import Establishment, ProEstablishment
from carnet.keys.models import PatientKey
from carnet.records import service as records
from carnet.records.models import Document
from carnet.records.service import NewDocument, Submission
from carnet.runtime import Runtime


def on_their_own(seen: list[str], table: str) -> list[str]:
    """Statements that read ``table`` outside the gate's facts query."""
    return [s for s in seen if f"FROM {table}" in s and "FROM patients" not in s]


def works_at(rt: Runtime, rpps: str, finess: str) -> str:
    establishment = Establishment(
        id=f"e{finess}",
        finess=finess,
        name="Clinique du Parc",
        kind="clinic",
        city="Lyon",
        postal_code="69003",
        updated_at=clock.now(),
    )
    with rt.transaction() as session:
        session.add(establishment)
        session.flush()
        session.add(ProEstablishment(rpps=rpps, establishment_id=establishment.id))
    return establishment.id


def test_doc_1_an_upload_reads_its_key_and_structure_with_the_facts(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    where = works_at(rt, pro.rpps, "690000001")
    ctx = pro_ctx(pro)
    upload(rt, ctx, patient)  # his first document: the key is made
    with statements(rt.uow.engine) as seen:
        document = upload(rt, ctx, patient, content=PDF + b"%second")
    assert on_their_own(seen, "patient_keys") == [], seen
    assert on_their_own(seen, "pro_establishments") == [], seen
    assert document.author_establishment_id == where
    _, content = records.read_content(rt, ctx, patient.id, document.id)
    assert content == PDF + b"%second"


def test_doc_7_a_first_set_seals_every_document_under_one_new_key(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    bodies = [PDF + b"%one", PDF + b"%two", PDF + b"%three"]
    made = records.publish(
        rt,
        ctx,
        [Submission(NewDocument("11488-4", "Compte rendu", "application/pdf", b)) for b in bodies],
        patient_id=patient.id,
    )
    with rt.transaction() as session:
        keys = list(session.scalars(select(PatientKey).where(PatientKey.patient_id == patient.id)))
        rows = list(session.scalars(select(Document).where(Document.patient_id == patient.id)))
    assert len(keys) == 1
    assert {row.key_id for row in rows} == {keys[0].key_id}
    assert all(row.author_establishment_id is None for row in rows), "no structure known"
    for document, body in zip(made, bodies, strict=True):
        assert records.read_content(rt, ctx, patient.id, document.id)[1] == body
