"""Issue 19: a trace's append serialises only its own patient's acts, never unrelated ones.

A trace is written in the transaction of the act it records, and locks its patient's chain
head; the transparency log's queue is fed by a trigger on an identity column, and sequenced in
batches by a job no request waits for. So while one patient's act is still open, another
patient's act traces and commits at once (PostgreSQL; SQLite has one writer whatever we do).
"""

from __future__ import annotations

import threading
import time

import pytest
from factories import add_patient
from sqlalchemy import select
from support import PG_URL

from carnet.audit import trail
from carnet.audit.models import Trace, TraceHead
from carnet.audit.rules import GENESIS, Action
from carnet.audit.verify import verify_log
from carnet.context import RequestContext
from carnet.runtime import Runtime


@pytest.mark.skipif(not PG_URL, reason="SQLite has one writer: every act waits its turn")
def test_issue_19_a_trace_does_not_wait_for_an_unrelated_patients_open_act(rt: Runtime) -> None:
    first, second = add_patient(rt), add_patient(rt)
    for patient in (first, second):  # both chains exist: heads are updated, not created
        with rt.transaction() as session:
            trail.record(
                session, RequestContext.operator(), Action.READ_HISTORY, patient_id=patient.id
            )
    traced, release = threading.Event(), threading.Event()

    def slow_act() -> None:
        with rt.transaction() as session:
            trail.record(
                session, RequestContext.operator(), Action.READ_HISTORY, patient_id=first.id
            )
            traced.set()
            release.wait(10)  # the act goes on, its trace appended, not yet committed

    open_act = threading.Thread(target=slow_act)
    open_act.start()
    try:
        assert traced.wait(10)
        began = time.monotonic()
        with rt.transaction() as session:
            trail.record(
                session, RequestContext.operator(), Action.READ_HISTORY, patient_id=second.id
            )
        took = time.monotonic() - began
        assert not release.is_set()
        assert took < 5, f"the unrelated act waited {took:.1f} s for the open one"
    finally:
        release.set()
        open_act.join(10)


@pytest.mark.skipif(not PG_URL, reason="SQLite has one writer: every act waits its turn")
def test_tr_1_tr_3_two_first_acts_on_a_new_chain_at_once_are_both_traced_in_one_chain(
    rt: Runtime,
) -> None:
    """A chain's first link, appended by two transactions at once (two first acts on a new
    profile; two imports' closing traces on a new instance): the second waits for the first,
    then links after it. Before, both began the chain and the second was refused (a duplicate
    ``seq``), its act with it."""
    patient = add_patient(rt)
    with rt.transaction() as session:
        assert session.get(TraceHead, patient.id) is None  # a chain not begun
    traced, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def act(wait: bool) -> None:
        try:
            with rt.transaction() as session:
                trail.record(
                    session, RequestContext.operator(), Action.READ_HISTORY, patient_id=patient.id
                )
                if wait:
                    traced.set()
                    release.wait(10)  # its trace appended, not yet committed
        except BaseException as error:
            failures.append(error)

    first = threading.Thread(target=act, args=(True,))
    first.start()
    try:
        assert traced.wait(10)
        second = threading.Thread(target=act, args=(False,))
        second.start()
        second.join(0.5)
        assert second.is_alive()  # waiting on the first's head
        release.set()
        second.join(10)
    finally:
        release.set()
        first.join(10)
    assert failures == []
    with rt.transaction() as session:
        links = session.execute(
            select(Trace.seq, Trace.prev_hash, Trace.hash)
            .where(Trace.patient_id == patient.id)
            .order_by(Trace.seq)
        ).all()
        head = session.get(TraceHead, patient.id)
        assert verify_log(session).breach is None
    assert [seq for seq, _, _ in links] == [1, 2]
    assert links[0].prev_hash == GENESIS
    assert links[1].prev_hash == links[0].hash
    assert head is not None
    assert (head.seq, head.hash) == (2, links[1].hash)
