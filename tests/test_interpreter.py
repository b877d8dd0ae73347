"""The interpreter's settings for long work (``carnet.interpreter``): a settled server's objects
are left out of the garbage collector's full passes that stopped every request under way (issue
19); what requests make and drop in cycles is still collected; an import eases the collector and
the switch interval while it runs (issue 18), and leaves a settled server settled."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from carnet import interpreter


class _Node:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unsettled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process as it was: not settled, nothing frozen, whatever the test did."""
    monkeypatch.setattr(interpreter, "_settled", False)
    thresholds, switch_interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(switch_interval)


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


def test_issue19_settle_leaves_what_the_process_holds_out_of_full_passes(unsettled: None) -> None:
    held = [_Node() for _ in range(10_000)]
    assert len(gc.get_objects(generation=2)) > len(held)  # a full pass would walk them all
    interpreter.settle()
    assert gc.get_freeze_count() > len(held)
    assert len(gc.get_objects(generation=2)) < len(held) // 10  # what a full pass walks now
    assert all(node.me is node for node in held)  # frozen, not freed


def test_issue19_settle_collects_the_start_s_garbage_rather_than_keep_it(unsettled: None) -> None:
    garbage = _cycle()
    assert garbage() is not None
    interpreter.settle()
    assert garbage() is None


def test_issue19_cycles_made_after_settle_are_still_collected(unsettled: None) -> None:
    interpreter.settle()
    garbage = _cycle()
    assert garbage() is not None
    gc.collect()
    assert garbage() is None


def test_issue19_an_import_in_a_settled_server_leaves_it_settled(unsettled: None) -> None:
    held = [_Node() for _ in range(10_000)]
    before = gc.get_threshold()
    interpreter.settle()
    with interpreter.eased():
        assert gc.get_threshold() == interpreter.EASED
        left_by_the_import = _cycle()
    assert gc.get_threshold() == before
    assert left_by_the_import() is None  # collected, not frozen for good
    assert gc.get_freeze_count() > len(held)
    assert len(gc.get_objects(generation=2)) < len(held) // 10


def test_issue18_an_import_in_a_process_never_settled_unfreezes_all(unsettled: None) -> None:
    before, switch_interval = gc.get_threshold(), sys.getswitchinterval()
    with interpreter.eased(), interpreter.eased():  # two at once: eased once, put back once
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == interpreter.EASED
        assert sys.getswitchinterval() == pytest.approx(interpreter.EASED_SWITCH_INTERVAL)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert sys.getswitchinterval() == switch_interval
