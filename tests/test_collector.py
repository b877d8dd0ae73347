"""The garbage collector's policy (``carnet.collector``, issue 19): a settled server's objects are
left out of the full passes that stopped every request under way; what requests make and drop in
cycles is still collected; an import in a settled server leaves it settled."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from carnet import collector


class _Node:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unsettled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process as it was: not settled, nothing frozen, whatever the test did."""
    monkeypatch.setattr(collector, "_settled", False)
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


def test_issue19_settle_leaves_what_the_process_holds_out_of_full_passes(unsettled: None) -> None:
    held = [_Node() for _ in range(10_000)]
    assert len(gc.get_objects(generation=2)) > len(held)  # a full pass would walk them all
    collector.settle()
    assert gc.get_freeze_count() > len(held)
    assert len(gc.get_objects(generation=2)) < len(held) // 10  # what a full pass walks now
    assert all(node.me is node for node in held)  # frozen, not freed


def test_issue19_settle_collects_the_start_s_garbage_rather_than_keep_it(unsettled: None) -> None:
    garbage = _cycle()
    assert garbage() is not None
    collector.settle()
    assert garbage() is None


def test_issue19_cycles_made_after_settle_are_still_collected(unsettled: None) -> None:
    collector.settle()
    garbage = _cycle()
    assert garbage() is not None
    gc.collect()
    assert garbage() is None


def test_issue19_an_import_in_a_settled_server_leaves_it_settled(unsettled: None) -> None:
    held = [_Node() for _ in range(10_000)]
    before = gc.get_threshold()
    collector.settle()
    with collector.eased():
        assert gc.get_threshold() == collector.EASED
        left_by_the_import = _cycle()
    assert gc.get_threshold() == before
    assert left_by_the_import() is None  # collected, not frozen for good
    assert gc.get_freeze_count() > len(held)
    assert len(gc.get_objects(generation=2)) < len(held) // 10


def test_issue18_an_import_in_a_process_never_settled_unfreezes_all(unsettled: None) -> None:
    before = gc.get_threshold()
    with collector.eased(), collector.eased():  # two at once: eased once, put back once
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == collector.EASED
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
