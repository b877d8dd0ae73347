"""TR-1, TR-3: every act is traced in its transaction, in a per-patient hash chain that nobody
can change; ``verify-log`` names the first bad entry."""

from __future__ import annotations

import pytest
from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from support import CITUS, NOT_ON_CITUS

from carnet.access.history import PAGE_SIZE, HistoryFilter
from carnet.access.space import read_history
from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.verify import verify_log
from carnet.context import AccessMode
from carnet.errors import NotFound
from carnet.records import service as records
from carnet.runtime import Runtime


def _traces(rt: Runtime, patient_id: str) -> list[Trace]:
    with rt.transaction() as session:
        return list(
            session.scalars(select(Trace).where(Trace.patient_id == patient_id).order_by(Trace.seq))
        )


def test_tr_1_allowed_and_denied_reads_are_traced(rt: Runtime) -> None:
    patient, author, stranger = add_patient(rt), add_pro(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(author), patient)
    records.read_content(rt, pro_ctx(author), patient.id, doc.id)
    with pytest.raises(NotFound):
        records.list_documents(rt, pro_ctx(stranger), patient.id)
    rows = [(t.actor_id, t.action, t.outcome) for t in _traces(rt, patient.id)]
    assert rows == [
        (author.rpps, "upload_document", "allowed"),
        (author.rpps, "read_document", "allowed"),
        (stranger.rpps, "list_documents", "denied"),
    ]
    read = _traces(rt, patient.id)[1]
    assert (read.document_id, read.document_version, read.document_sha256) == (
        doc.id,
        1,
        doc.sha256,
    )


def test_tr_1_emergency_access_is_traced_with_mode_and_reason(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(add_pro(rt)), patient)
    ctx = pro_ctx(pro, mode=AccessMode.BRIS_DE_GLACE, reason="Patient inconscient")
    records.read_content(rt, ctx, patient.id, doc.id)
    last = _traces(rt, patient.id)[-1]
    assert (last.action, last.mode, last.reason) == (
        "read_document",
        "bris-de-glace",
        "Patient inconscient",
    )


def test_tr_1_history_newest_first_100_a_page_and_filters(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    for _ in range(120):
        records.get_document(rt, pro_ctx(pro), patient.id, doc.id)
        records.read_content(rt, pro_ctx(pro), patient.id, doc.id)
    first = read_history(rt, patient_ctx(patient), patient.id, 1)
    assert len(first.entries) == PAGE_SIZE
    assert first.total == 241  # the upload, 120 metadata reads, 120 content reads
    assert first.entries[0].action == "read_document"
    assert first.entries[-1].id != first.entries[0].id
    third = read_history(rt, patient_ctx(patient), patient.id, 3)
    assert third.total == 242  # reading page 1 was traced too
    assert len(third.entries) == 42
    assert third.entries[-1].action == "upload_document"
    uploads = read_history(
        rt,
        patient_ctx(patient),
        patient.id,
        1,
        HistoryFilter(actions=frozenset({"upload_document"})),
    )
    assert [e.action for e in uploads.entries] == ["upload_document"]
    assert uploads.entries[0].document_title == doc.title


def test_tr_1_history_hides_documents_the_reader_may_not_see(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    upload(rt, pro_ctx(pro), patient, invisible_patient=True, title="Diagnostic à annoncer")
    entries = read_history(rt, patient_ctx(patient), patient.id).entries
    assert all(e.document_title != "Diagnostic à annoncer" for e in entries)


def test_tr_3_traces_cannot_be_updated_or_deleted(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    upload(rt, pro_ctx(pro), patient)
    for statement in ("UPDATE traces SET outcome = 'denied'", "DELETE FROM traces"):
        with pytest.raises(DatabaseError, match="append-only"), rt.transaction() as session:
            session.execute(text(statement))
    assert len(_traces(rt, patient.id)) == 1


def test_tr_3_verify_log_passes_on_an_intact_log(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    for _ in range(3):
        upload(rt, pro_ctx(pro), patient)
    with rt.transaction() as session:
        result = verify_log(session)
    assert result.breach is None
    assert result.entries == 3


def _tamper(rt: Runtime, statement: str) -> None:
    """What an attacker with the database's owner rights could do, triggers off."""
    with rt.uow.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER traces_no_update")
            connection.exec_driver_sql("DROP TRIGGER traces_no_delete")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql(statement)


@pytest.mark.skipif(CITUS, reason=NOT_ON_CITUS)
@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE traces SET reason = 'rewritten' WHERE seq = 2", "altered entry"),
        ("DELETE FROM traces WHERE seq = 2", "missing entry"),
        ("DELETE FROM traces WHERE seq = 3", "missing tail"),
    ],
)
def test_tr_3_verify_log_names_the_first_bad_entry(
    rt: Runtime, statement: str, problem: str
) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    for _ in range(3):
        upload(rt, pro_ctx(pro), patient)
    _tamper(rt, statement)
    with rt.transaction() as session:
        result = verify_log(session)
    assert result.breach is not None
    assert (result.breach.patient_id, result.breach.seq, result.breach.problem) == (
        patient.id,
        2 if problem != "missing tail" else 3,
        problem,
    )


def test_tr_1_nothing_to_trace_appends_nothing(rt: Runtime) -> None:
    """An empty batch (no act) leaves every chain as it was."""
    with rt.transaction() as session:
        assert trail.record_many(session, []) == []
        assert session.scalars(select(Trace)).first() is None
