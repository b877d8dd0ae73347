"""Issue 19: the database's turns are taken in arrival order, and a bounded queue says 503."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
from factories import add_patient
from sqlalchemy import select

from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.fair import FairSlots, QueueFull
from carnet.db.uow import UnitOfWork, counting_commits
from carnet.errors import Overloaded
from carnet.runtime import Runtime

WRITERS = 12


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def lined_up(slots: FairSlots, count: int) -> Callable[[], bool]:
    return lambda: slots.waiting == count


def test_issue_19_concurrent_writers_all_succeed_in_arrival_order(rt: Runtime) -> None:
    """Each writer arrives while the one before waits; all commit, in the order they came
    (SQLite's busy handler let whoever retried at the right moment pass first)."""
    patient = add_patient(rt)
    uow = UnitOfWork(rt.uow.engine, max_active=1)  # PostgreSQL: one slot too, to see the order
    slots = uow.slots
    assert slots is not None
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with uow.transaction() as session:
                trail.record(
                    session,
                    RequestContext.operator(),
                    Action.READ_HISTORY,
                    patient_id=patient.id,
                    detail={"writer": n},
                )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    with uow.transaction():  # holds the one slot while the writers line up
        for n, thread in enumerate(threads):
            thread.start()
            wait_until(lined_up(slots, n + 1))
    for thread in threads:
        thread.join(30)
    assert not failures
    with rt.transaction() as session:
        traces = session.scalars(
            select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq)
        ).all()
    details = [json.loads(t.detail) if isinstance(t.detail, str) else t.detail for t in traces]
    written = [d["writer"] for d in details if d and "writer" in d]
    assert written == list(range(WRITERS))


def test_issue_19_past_the_queue_limit_a_request_is_refused_at_once(rt: Runtime) -> None:
    """A door's request (it counts its commits) finding the queue full is refused at once, with
    nothing done; a refusal's own traces and work outside a request still wait their turn."""
    uow = UnitOfWork(rt.uow.engine, max_active=1, max_waiting=1)
    slots = uow.slots
    assert slots is not None
    release = threading.Event()
    outcome: list[str] = []

    def holder() -> None:
        with uow.transaction():
            release.wait(10)

    def waiter(name: str, refusable: bool = True) -> None:
        with counting_commits(), uow.transaction(refusable=refusable):
            outcome.append(name)

    busy = threading.Thread(target=holder)
    busy.start()
    wait_until(lambda: slots.free == 0)
    first = threading.Thread(target=waiter, args=("first",))
    first.start()
    wait_until(lined_up(slots, 1))
    with counting_commits(), pytest.raises(Overloaded) as refused, uow.transaction():
        outcome.append("never")  # one already waits: refused before anything is done
    assert refused.value.status == 503
    assert refused.value.retry_after == 1
    assert refused.value.fr != refused.value.en
    traces = threading.Thread(target=waiter, args=("traces", False))
    traces.start()
    wait_until(lined_up(slots, 2))
    release.set()
    for thread in (busy, first, traces):
        thread.join(10)
    assert outcome == ["first", "traces"]


def test_issue_19_fair_slots_time_out_and_hand_over_in_order() -> None:
    slots = FairSlots(1, max_waiting=2)
    assert slots.acquire(1)
    assert not slots.acquire(0.05), "timed out, and left the line"
    assert slots.waiting == 0
    order: list[int] = []

    def take(n: int) -> None:
        assert slots.acquire(10)
        order.append(n)
        slots.release()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(2)]
    for n, thread in enumerate(threads):
        thread.start()
        wait_until(lined_up(slots, n + 1))
    with pytest.raises(QueueFull):
        slots.acquire(1)
    assert slots.acquire(0.01, bounded=False) is False, "an unbounded caller waits instead"
    slots.release()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1]
