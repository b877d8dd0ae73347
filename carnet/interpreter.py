"""The interpreter's process-wide settings for long work: its garbage collector and how soon a
thread waiting for the interpreter gets it, for a server and for an import.

CPython's full pass walks every object the process holds. For a server that is the modules,
SQLAlchemy's metadata, FastAPI's routes and models, the FHIR classes — about 250,000 objects —
and under load a full pass came about once a second, stopping every request under way for
~120 ms (issue 19: at 32 clients the p99 was ten times the p50, the stalls regular as a clock).
Objects made to live as long as the process are left out of the passes once it is built
(``settle``); what requests make and drop in cycles is still collected, by passes that are then
short.

An import (``eased``) keeps a few batches of rows alive, freed by their counts, not by the
collector, yet they set off passes that walked them and the whole program: a third of a feed's
time (issue 18). While one runs, what the process held before is left out and passes come
rarely. Its thread that talks to the database also shares the interpreter with the thread that
checks the next batch, pure Python: each time an answer of the server came back, the import's
thread waited up to the switch interval (5 ms) for the other to let go — at every statement,
a few per batch. A tenth of it while an import runs: 10⁶ profiles in 21 s instead of 26 on
PostgreSQL, the same CPU.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The collector's thresholds while an import runs: young passes after 50,000 new objects, full
#: ones rarely (``gc.set_threshold``).
EASED = (50_000, 20, 100)
#: The switch interval while an import runs, in seconds (``sys.setswitchinterval``; 0.005 by
#: default).
EASED_SWITCH_INTERVAL = 0.0005

_lock = threading.Lock()
_settled = False
_easing = 0
_thresholds: tuple[int, int, int] = gc.get_threshold()
_switch_interval = sys.getswitchinterval()


def settle() -> None:
    """Leaves what the process holds now out of every later pass, for good: once a server is
    built, before it answers. Garbage left by the start is collected first, not kept."""
    global _settled
    with _lock:
        _freeze_what_lives()
        _settled = True


def _freeze_what_lives() -> None:
    gc.collect()
    gc.freeze()


@contextmanager
def eased() -> Iterator[None]:
    """The interpreter eased while an import runs, as it was before once it ends, failed or
    not. Imports running at once in one process ease it once; the last to end puts it back. In
    a settled server, what the import left is collected and the rest stays out of the passes."""
    global _easing, _thresholds, _switch_interval
    with _lock:
        if _easing == 0:
            _thresholds, _switch_interval = gc.get_threshold(), sys.getswitchinterval()
            gc.freeze()
            gc.set_threshold(*EASED)
            sys.setswitchinterval(EASED_SWITCH_INTERVAL)
        _easing += 1
    try:
        yield
    finally:
        with _lock:
            _easing -= 1
            if _easing == 0:
                sys.setswitchinterval(_switch_interval)
                gc.set_threshold(*_thresholds)
                gc.unfreeze()
                if _settled:  # the objects frozen for good again, not what the import left
                    _freeze_what_lives()
