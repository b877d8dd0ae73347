"""The SMTP side's group commit (MSG-1: a 250 only once the message is durable, issue 19: a
tail that stays short): work queued while a batch runs goes together in the next one, led by
one of its own senders — the leader of a batch answers its sender as soon as that batch has
committed, however much work keeps coming."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from carnet.errors import Invalid
from carnet.messaging.batching import Batch, Batcher
from carnet.runtime import Runtime


class Sender(threading.Thread):
    """One SMTP session's thread handing its work to the batcher."""

    def __init__(self, batcher: Batcher, rt: Runtime, work: Callable[[Session, Batch], Any]):
        super().__init__(daemon=True)
        self.batcher, self.rt, self.work = batcher, rt, work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.batcher.run(self.rt, self.work)
        except BaseException as error:
            self.error = error


def _queued(batcher: Batcher, count: int) -> None:
    """Wait until ``count`` items wait behind the running batch."""
    deadline = time.monotonic() + 5
    while len(batcher._pending) < count:
        assert time.monotonic() < deadline, "the other senders never queued"
        time.sleep(0.001)


def test_msg_1_leader_answers_once_its_batch_commits(rt: Runtime) -> None:
    batcher = Batcher()
    release = threading.Event()

    def slow(session: Session, batch: Batch) -> str:
        assert release.wait(10)
        return "second"

    second = Sender(batcher, rt, slow)

    def first_work(session: Session, batch: Batch) -> str:
        second.start()  # another sender arrives while this batch runs
        _queued(batcher, 1)
        return "first"

    first = Sender(batcher, rt, first_work)
    first.start()
    first.join(5)
    # The first sender has its answer though the second's batch has not ended (before, the
    # leader ran it too, and answered only once no work was left).
    assert not first.is_alive()
    assert first.result == "first"
    assert second.is_alive()
    release.set()
    second.join(5)
    assert second.result == "second"


def test_msg_1_work_queued_meanwhile_commits_in_one_transaction(rt: Runtime) -> None:
    batcher = Batcher()
    sessions: dict[str, Session] = {}  # held: an id freed could come back for another

    def noted(name: str) -> Callable[[Session, Batch], str]:
        def work(session: Session, batch: Batch) -> str:
            sessions[name] = session
            return name

        return work

    later = [Sender(batcher, rt, noted(f"later-{n}")) for n in range(3)]

    def first_work(session: Session, batch: Batch) -> str:
        sessions["first"] = session
        for sender in later:
            sender.start()
        _queued(batcher, len(later))
        return "first"

    first = Sender(batcher, rt, first_work)
    first.start()
    for sender in [first, *later]:
        sender.join(5)
    assert [s.result for s in later] == ["later-0", "later-1", "later-2"]
    assert len({id(sessions[f"later-{n}"]) for n in range(3)}) == 1  # one transaction, three
    assert sessions["later-0"] is not sessions["first"]


def test_msg_1_a_failed_batch_fails_its_own_work_and_hands_the_lead_on(rt: Runtime) -> None:
    batcher = Batcher()

    def refused(session: Session, batch: Batch) -> str:
        raise Invalid("Refusé.", "Refused.")

    def accepted(session: Session, batch: Batch) -> str:
        return "accepted"

    after = [Sender(batcher, rt, refused), Sender(batcher, rt, accepted)]

    def broken(session: Session, batch: Batch) -> str:
        for sender in after:
            sender.start()
        _queued(batcher, len(after))
        raise RuntimeError("the database went away")

    first = Sender(batcher, rt, broken)
    first.start()
    for sender in [first, *after]:
        sender.join(5)
        assert not sender.is_alive()
    assert isinstance(first.error, RuntimeError)
    # The next batch ran, led by one of its own: a refusal fails its item alone.
    assert isinstance(after[0].error, Invalid)
    assert after[1].result == "accepted"


def test_msg_1_many_senders_each_get_their_own_answer(rt: Runtime) -> None:
    batcher, senders = Batcher(), 8

    def numbered(n: int) -> Callable[[Session, Batch], int]:
        return lambda session, batch: n

    threads = [Sender(batcher, rt, numbered(n)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [t.result for t in threads] == list(range(senders))
    assert not batcher._pending
    # Nobody leads once all is answered: the next sender leads at once.
    assert batcher.run(rt, lambda session, batch: "next") == "next"
