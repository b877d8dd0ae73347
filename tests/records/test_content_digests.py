"""DOC-7: a document's digests (SHA-256, and SHA-1 for FHIR's ``Attachment.hash``) are those of
the bytes sent, hashed on the request's thread while the content's worker may still be writing
them (issue 18); and a write that never runs fails the upload waiting for it, never hangs it."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import CancelledError, Future

import pytest
from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload

from carnet.records.reading import list_documents
from carnet.records.service import NewDocument, Submission, publish
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
    try:
        content = Content(rt, "p" * 32, DATA)
        digests = content.digests
        assert (digests.sha256, digests.sha1) == expected()
        assert not content.written.done()  # the row's values do not wait for the write
    finally:
        held.release.set()
    content.written.result(10)
    assert rt.blobs.exists(content.blob_key)
    held.shutdown()


def test_doc_7_a_write_that_never_runs_fails_the_upload_instead_of_hanging(
    rt: Runtime,
) -> None:
    """The instance's pool shut down before the write ran (the instance stopping): the commit,
    which waits for the write (``db.uow.before_commit``), fails at once, and nothing of the
    upload is kept: no document, no blob."""

    class ShutDown(ContentWorkers):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            never: Future[None] = Future()
            never.cancel()
            return never

    patient, pro = add_patient(rt), add_pro(rt)
    rt._state[ContentWorkers] = ShutDown()
    with pytest.raises(CancelledError):
        upload(rt, pro_ctx(pro), patient)
    _, documents = list_documents(rt, patient_ctx(patient), patient.id)
    assert documents == []
    assert list(rt.blobs.keys(f"{patient.id}/")) == []


class FailsAfter(ContentWorkers):
    """The instance's pool stopping in the middle of a submission set: the first write is
    taken, the next refused, as ``ThreadPoolExecutor`` refuses work once shut down."""

    def __init__(self, taken: int) -> None:
        super().__init__()
        self.left = taken

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.left == 0:
            raise RuntimeError("cannot schedule new futures after shutdown")
        self.left -= 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("by", ["id", "ins"])
def test_doc_7_a_set_whose_second_write_cannot_start_leaves_nothing(rt: Runtime, by: str) -> None:
    """DOC-7, all or nothing: the first document's bytes were already written when the second's
    could not start; the upload fails, and neither a row nor the first blob is left."""
    patient, pro = add_patient(rt), add_pro(rt)
    pool = FailsAfter(taken=1)
    rt._state[ContentWorkers] = pool
    documents = [
        Submission(NewDocument("11488-4", f"Compte rendu {n}", "application/pdf", DATA))
        for n in range(2)
    ]
    where = {"patient_id": patient.id} if by == "id" else {"ins": patient.ins}
    with pytest.raises(RuntimeError):
        publish(rt, pro_ctx(pro), documents, **where)
    _, kept = list_documents(rt, patient_ctx(patient), patient.id)
    assert kept == []
    assert list(rt.blobs.keys(f"{patient.id}/")) == []
    assert pool.left == 0  # the first write was indeed started
    pool.shutdown()
