"""TR-1, TR-3: the gate's opening locks and reads the patient's chain head with its facts, so the
opening's trace needs no statement of its own to find it (issue 18, 19) — and the chain stays one
line: appends later in the transaction continue from it, a head read in an earlier transaction
is read again, concurrent openings of one record wait their turn."""

from __future__ import annotations

import threading

from factories import add_patient, add_pro, pro_ctx, upload
from sql_support import statements
from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.rules import Purpose
from carnet.audit import trail
from carnet.audit.models import Trace, TraceHead
from carnet.audit.rules import Action
from carnet.audit.verify import verify_log
from carnet.context import RequestContext
from carnet.population.models import Patient
from carnet.records.reading import list_documents
from carnet.runtime import Runtime


def chain(rt: Runtime, patient: Patient) -> list[tuple[int, str]]:
    """The patient's traces, in order: (seq, action); and the whole log still verifies."""
    with rt.transaction() as session:
        assert verify_log(session).breach is None
        rows = session.execute(
            select(Trace.seq, Trace.action)
            .where(Trace.patient_id == patient.id)
            .order_by(Trace.seq)
        )
        return [(seq, action) for seq, action in rows]


def head_reads(seen: list[str]) -> list[str]:
    """Statements that read the head on their own (not as a part of the gate's facts)."""
    return [s for s in seen if "FROM trace_heads" in s and "FROM patients" not in s]


def test_tr_1_a_listing_finds_its_chain_head_in_the_facts_query(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    upload(rt, ctx, patient)
    with statements(rt.uow.engine) as seen:
        _, rows = list_documents(rt, ctx, patient.id)
    assert len(rows) == 1
    assert head_reads(seen) == [], seen
    assert any("chain_head" in s and "FROM patients" in s for s in seen)
    assert [action for _, action in chain(rt, patient)][-1] == Action.LIST_DOCUMENTS.value
    assert [seq for seq, _ in chain(rt, patient)] == [1, 2]


def test_tr_3_appends_after_the_opening_continue_the_held_head(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    upload(rt, ctx, patient)
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.READ,
            action=Action.LIST_DOCUMENTS,
            patient_id=patient.id,
        )
        record.trace(Action.LIST_DOCUMENTS)
        trail.record(session, ctx, Action.READ_HISTORY, patient_id=patient.id)
        trail.record_many(
            session,
            [
                trail.Entry(ctx, Action.READ_DOCUMENT, patient.id),
                trail.Entry(ctx, Action.READ_HISTORY, None),
            ],
        )
    assert [seq for seq, _ in chain(rt, patient)] == [1, 2, 3, 4]


def test_tr_3_a_chain_begun_in_a_transaction_moves_on_its_next_append(rt: Runtime) -> None:
    """The first trace creates the chain's head; the second, in the same transaction, moves
    it (it is held now), rather than creating it twice."""
    patient = add_patient(rt)
    operator = RequestContext.operator()
    with rt.transaction() as session:
        trail.record(session, operator, Action.READ_HISTORY, patient_id=patient.id)
        trail.record(session, operator, Action.READ_HISTORY, patient_id=patient.id)
    with rt.transaction() as session:
        head = session.get(TraceHead, patient.id)
        assert head is not None
        assert head.seq == 2
    assert [seq for seq, _ in chain(rt, patient)] == [1, 2]


def test_tr_3_a_head_held_in_an_earlier_transaction_is_read_again(rt: Runtime) -> None:
    """One session, two transactions; another writer appends in between: the second
    transaction must not continue from what the first held (a fork)."""
    patient = add_patient(rt)
    operator = RequestContext.operator()
    with rt.transaction() as session:
        trail.record(session, operator, Action.READ_HISTORY, patient_id=patient.id)
    with Session(rt.uow.engine) as session:
        with session.begin():
            trail.record(session, operator, Action.READ_HISTORY, patient_id=patient.id)
        with rt.transaction() as other:
            trail.record(other, operator, Action.READ_HISTORY, patient_id=patient.id)
        with session.begin():
            trail.record(session, operator, Action.READ_HISTORY, patient_id=patient.id)
    assert [seq for seq, _ in chain(rt, patient)] == [1, 2, 3, 4]


def test_tr_3_concurrent_openings_of_one_record_line_up(rt: Runtime) -> None:
    """Each listing's trace links to the one before it: the head the facts query read was
    locked until its transaction ended (PostgreSQL; SQLite's writer lock on SQLite)."""
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    upload(rt, ctx, patient)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def lists() -> None:
        try:
            start.wait(10)
            for _ in range(5):
                list_documents(rt, ctx, patient.id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=lists) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [seq for seq, _ in chain(rt, patient)] == list(range(1, 32))
