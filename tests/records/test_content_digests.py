"""DOC-7: a document's digests (SHA-256, and SHA-1 for FHIR's ``Attachment.hash``) are those of
the bytes sent, hashed on the request's thread while the content's worker may still be writing
them (issue 18); and a write that never runs fails the commit waiting for it, never hangs it."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor

import pytest

from carnet.records.writing import Content, ContentWorkers
from carnet.runtime import Runtime

DATA = b"%PDF-1.4 " + bytes(range(256)) * 1200


def expected() -> tuple[str, str]:
    return hashlib.sha256(DATA).hexdigest(), hashlib.sha1(DATA).hexdigest()  # noqa: S324


class Held(ContentWorkers):
    """The instance's content workers, held back until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        def held():  # type: ignore[no-untyped-def]
            self.release.wait(10)
            return fn(*args, **kwargs)

        return super().submit(held)


def test_doc_7_digests_are_the_bytes_while_the_write_is_on_its_way(rt: Runtime) -> None:
    held = Held()
    rt._state[ContentWorkers] = held
    content = Content(rt, "p" * 32, DATA)
    digests = content.digests()
    assert (digests.sha256, digests.sha1) == expected()
    assert not content.written.done()  # the row's values do not wait for the write
    held.release.set()
    content.written.result(10)
    assert rt.blobs.exists(content.blob_key)
    held.shutdown()


def test_doc_7_a_write_that_never_runs_fails_the_commit_instead_of_hanging(
    rt: Runtime,
) -> None:
    """A pool shut down before the task ran (the instance stopping): the commit, which waits for
    the write (``db.uow.before_commit``), is told at once, and nothing was stored."""
    pool = ThreadPoolExecutor(max_workers=1)
    blocker = threading.Event()
    pool.submit(blocker.wait, 10)  # the only thread is busy: the content's task waits in line

    class Queued(ContentWorkers):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            return pool.submit(fn, *args, **kwargs)

    rt._state[ContentWorkers] = Queued()
    content = Content(rt, "r" * 32, DATA)
    pool.shutdown(wait=False, cancel_futures=True)
    blocker.set()
    with pytest.raises(CancelledError):
        content.written.result(10)
    assert not rt.blobs.exists(content.blob_key)
