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
from support import PG_URL

from carnet.audit import trail
from carnet.audit.rules import Action
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
