"""DOC-7: a document's digests (SHA-256, and SHA-1 for FHIR's ``Attachment.hash``) are those of
the bytes sent, whichever thread computed them: the content's worker, once the bytes are
written, or the request's thread when the row needs them first (issue 18). And the commit never
waits forever for a write that will not happen."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from carnet.records.writing import Content, ContentWorkers
from carnet.runtime import Runtime

DATA = b"%PDF-1.4 " + bytes(range(256)) * 1200


def expected() -> tuple[str, str]:
    return hashlib.sha256(DATA).hexdigest(), hashlib.sha1(DATA).hexdigest()  # noqa: S324


class Held(ContentWorkers):
    """The instance's content workers, held back until released: the request's thread asks
    for the digests before the worker has even begun."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        def held():  # type: ignore[no-untyped-def]
            self.release.wait(10)
            return fn(*args, **kwargs)

        return super().submit(held)


def test_doc_7_digests_hashed_by_the_requests_thread_match_the_bytes(rt: Runtime) -> None:
    held = Held()
    rt._state[ContentWorkers] = held
    content = Content(rt, "p" * 32, DATA)
    digests = content.digests()  # the worker has not begun: both hashed here
    assert (digests.sha256, digests.sha1) == expected()
    assert not content.written.done()
    held.release.set()
    content.written.result(10)
    assert rt.blobs.exists(content.blob_key)
    held.shutdown()


def test_doc_7_digests_hashed_by_the_worker_match_the_bytes(rt: Runtime) -> None:
    content = Content(rt, "q" * 32, DATA)
    content.written.result(10)
    for _ in range(1000):  # the worker hashes right after the write
        if content._sha1._value.done() and content._sha256._value.done():
            break
        threading.Event().wait(0.01)
    digests = content.digests()
    assert (digests.sha256, digests.sha1) == expected()


def test_doc_7_a_write_that_never_runs_fails_the_commit_instead_of_hanging(
    rt: Runtime,
) -> None:
    """A pool shut down before the task ran (the instance stopping): the commit waiting for the
    write is told so, and the digests are still hashed on the request's thread."""
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
    with pytest.raises(RuntimeError, match="never written"):
        content.written.result(10)
    digests = content.digests()
    assert (digests.sha256, digests.sha1) == expected()
    assert not rt.blobs.exists(content.blob_key)
