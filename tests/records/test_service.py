"""Documents through the use cases, on a real database (DOC-*)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import pytest
from factories import PDF, add_patient, add_pro, patient_ctx, pro_ctx, upload
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.blobs.store import BlobStore
from carnet.context import RequestContext
from carnet.errors import (
    Conflict,
    Forbidden,
    IntegrityFailure,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from carnet.notify.models import OutboxEvent
from carnet.records import service as records
from carnet.records.acts import MetadataChange, update_metadata
from carnet.records.catalog import PERSONAL_SPACE
from carnet.records.models import Document
from carnet.records.service import DocumentFilter, NewDocument
from carnet.runtime import Runtime

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
TIFF = b"II*\x00" + b"\x01" * 50
RTF = b"{\\rtf1\\ansi Bonjour}"


def _events(rt: Runtime, patient_id: str) -> list[str]:
    with rt.transaction() as session:
        return [
            e.kind
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.patient_id == patient_id)
            )
        ]


def test_doc_1_pro_document_is_classed_by_category(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient, type_code="18748-4")
    assert (doc.class_code, doc.category, doc.author_kind, doc.author_id) == (
        "31",
        "RADIO_SC",
        "pro",
        pro.rpps,
    )


def test_doc_1_patient_uploads_go_to_personal_space(rt: Runtime) -> None:
    patient = add_patient(rt)
    doc = upload(rt, patient_ctx(patient), patient, type_code="EXPPAT_2")
    assert doc.category == PERSONAL_SPACE


def test_doc_1_operator_adds_reimbursement_history_only(rt: Runtime) -> None:
    patient = add_patient(rt)
    doc = upload(rt, RequestContext.operator(), patient, type_code="REMB")
    assert doc.category == "DOC_ADM"
    with pytest.raises(Invalid):
        upload(rt, RequestContext.operator(), patient, type_code="11488-4")


def test_doc_2_each_document_added_notifies_the_patient(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    upload(rt, pro_ctx(pro), patient)
    upload(rt, pro_ctx(pro), patient)
    assert _events(rt, patient.id) == ["document_added", "document_added"]


def test_doc_3_invisible_to_patient_then_visible_notifies_then(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient, invisible_patient=True)
    assert _events(rt, patient.id) == []
    _, seen = records.list_documents(rt, patient_ctx(patient), patient.id)
    assert seen == []
    with pytest.raises(NotFound):
        records.read_content(rt, patient_ctx(patient), patient.id, doc.id)
    records.show_to_patient(rt, pro_ctx(pro), patient.id, doc.id)
    _, seen = records.list_documents(rt, patient_ctx(patient), patient.id)
    assert [d.id for d in seen] == [doc.id]
    assert _events(rt, patient.id) == ["document_added"]


def test_doc_3_invisible_to_representatives_only_for_a_minor(rt: Runtime) -> None:
    adult, minor, pro = add_patient(rt), add_patient(rt, age=15), add_pro(rt)
    with pytest.raises(Invalid) as refused:
        upload(rt, pro_ctx(pro), adult, invisible_representatives=True)
    assert refused.value.code == "not_a_minor"
    upload(rt, pro_ctx(pro), minor, invisible_representatives=True)


def test_doc_3_only_the_author_shows_a_document_to_the_patient(rt: Runtime) -> None:
    patient, author, other = add_patient(rt), add_pro(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(author), patient, invisible_patient=True)
    records.list_documents(rt, pro_ctx(other), patient.id, declares_consent=True)
    with pytest.raises(Forbidden):
        records.show_to_patient(rt, pro_ctx(other), patient.id, doc.id)


def test_doc_4_patient_masks_one_or_all(rt: Runtime) -> None:
    patient, author, nurse = (
        add_patient(rt),
        add_pro(rt),
        add_pro(rt, profession="60", specialty=None),
    )
    first = upload(rt, pro_ctx(author), patient, type_code="11502-2")
    upload(rt, pro_ctx(author), patient, type_code="11502-2")
    records.list_documents(rt, pro_ctx(nurse), patient.id, declares_consent=True)
    records.set_masked(rt, patient_ctx(patient), patient.id, first.id, True)
    _, seen = records.list_documents(rt, pro_ctx(nurse), patient.id)
    assert len(seen) == 1
    assert records.mask_all(rt, patient_ctx(patient), patient.id, True) == 1
    assert records.list_documents(rt, pro_ctx(nurse), patient.id)[1] == []
    _, own = records.list_documents(rt, patient_ctx(patient), patient.id)
    assert len(own) == 2
    _, by_author = records.list_documents(rt, pro_ctx(author), patient.id)
    assert len(by_author) == 2


def test_doc_4_a_pro_masks_only_his_own_unless_administrator(rt: Runtime) -> None:
    patient, author, other = add_patient(rt), add_pro(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(author), patient)
    records.list_documents(rt, pro_ctx(other), patient.id, declares_consent=True)
    with pytest.raises(Forbidden):
        records.set_masked(rt, pro_ctx(other), patient.id, doc.id, True)
    assert records.set_masked(rt, pro_ctx(author), patient.id, doc.id, True).masked


def test_doc_6_replace_keeps_the_old_version_superseded(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    old = upload(rt, pro_ctx(pro), patient, content=PDF + b"%v1")
    new = records.replace_document(
        rt,
        pro_ctx(pro),
        patient.id,
        old.id,
        NewDocument(
            type_code="11488-4",
            title="Version 2",
            mime_type="application/pdf",
            content=PDF + b"%v2",
        ),
    )
    assert (new.version, new.set_id, new.replaces_id) == (2, old.set_id, old.id)
    _, current = records.list_documents(rt, pro_ctx(pro), patient.id)
    assert [d.id for d in current] == [new.id]
    _, every = records.list_documents(
        rt, pro_ctx(pro), patient.id, DocumentFilter(status=("current", "superseded"))
    )
    assert {d.id: d.status for d in every} == {new.id: "current", old.id: "superseded"}
    assert records.read_content(rt, pro_ctx(pro), patient.id, old.id)[1] == PDF + b"%v1"


def test_doc_6_only_the_author_replaces(rt: Runtime) -> None:
    patient, author, other = add_patient(rt), add_pro(rt), add_pro(rt)
    old = upload(rt, pro_ctx(author), patient)
    records.list_documents(rt, pro_ctx(other), patient.id, declares_consent=True)
    with pytest.raises(Forbidden):
        records.replace_document(
            rt,
            pro_ctx(other),
            patient.id,
            old.id,
            NewDocument("11488-4", "x", "application/pdf", PDF),
        )


def test_doc_6_deletion_is_logical_and_traced(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    records.delete_document(rt, patient_ctx(patient), patient.id, doc.id)
    assert records.list_documents(rt, patient_ctx(patient), patient.id)[1] == []
    with rt.transaction() as session:
        kept = session.get(Document, (patient.id, doc.id))
        assert kept is not None
        assert kept.status == "deleted"
        actions = [
            t.action
            for t in session.scalars(
                select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        ]
    assert "delete_document" in actions


def test_doc_6_archived_documents_leave_default_lists(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    records.set_archived(rt, patient_ctx(patient), patient.id, doc.id, True)
    assert records.list_documents(rt, patient_ctx(patient), patient.id)[1] == []
    _, archived = records.list_documents(
        rt, patient_ctx(patient), patient.id, DocumentFilter(include_archived=True)
    )
    assert [d.id for d in archived] == [doc.id]


def test_doc_7_what_is_read_is_what_was_sent(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    assert doc.sha256 == hashlib.sha256(PDF).hexdigest()
    assert doc.sha1 == hashlib.sha1(PDF, usedforsecurity=False).hexdigest()
    assert records.read_content(rt, pro_ctx(pro), patient.id, doc.id)[1] == PDF


def test_doc_7_content_is_encrypted_at_rest(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient, content=b"%PDF-1.4 secret diagnosis")
    assert b"secret diagnosis" not in rt.blobs.get(doc.blob_key)


def test_doc_7_a_flipped_byte_is_refused_never_served(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    stored = bytearray(rt.blobs.get(doc.blob_key))
    stored[len(stored) // 2] ^= 0x01
    rt.blobs.put(doc.blob_key, bytes(stored))
    with pytest.raises(IntegrityFailure) as refused:
        records.read_content(rt, pro_ctx(pro), patient.id, doc.id)
    assert refused.value.fr.startswith("Le contenu stocké")


class _FullDisk:
    """A blob store whose writes fail after a while, as a full disk's would."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def put(self, key: str, data: bytes) -> None:
        time.sleep(0.05)  # the statements of the transaction are done by now
        raise OSError(28, "No space left on device")

    def create(self, key: str, parts: Sequence[bytes]) -> None:
        self.put(key, b"".join(parts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_doc_7_a_failed_blob_write_commits_nothing(rt: Runtime) -> None:
    """The blob is written alongside the transaction's statements; the commit waits for it,
    and a write that fails leaves no row, no trace, no notification: nothing acknowledged."""
    patient, pro = add_patient(rt), add_pro(rt)
    with rt.transaction() as session:
        traces_before = len(session.scalars(select(Trace)).all())
    failing = replace(rt, blobs=cast(BlobStore, _FullDisk(rt.blobs)))
    with pytest.raises(OSError, match="No space left"):
        upload(failing, pro_ctx(pro), patient)
    with rt.transaction() as session:
        assert session.scalars(select(Document)).all() == []
        assert session.scalars(select(OutboxEvent)).all() == []
        assert len(session.scalars(select(Trace)).all()) == traces_before
    assert upload(rt, pro_ctx(pro), patient).status == "current"


def test_doc_7_same_unique_id_same_bytes_is_one_document(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    first = upload(rt, pro_ctx(pro), patient, unique_id="1.2.250.1.999.1")
    again = upload(rt, pro_ctx(pro), patient, unique_id="1.2.250.1.999.1")
    assert again.id == first.id
    with pytest.raises(Conflict):
        upload(rt, pro_ctx(pro), patient, unique_id="1.2.250.1.999.1", content=PDF + b"%other")
    assert len(records.list_documents(rt, pro_ctx(pro), patient.id)[1]) == 1


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (PDF, "application/pdf"),
        (b"Bonjour\n", "text/plain"),
        (RTF, "application/rtf"),
        (JPEG, "image/jpeg"),
        (TIFF, "image/tiff"),
    ],
)
def test_doc_8_patient_formats_accepted(rt: Runtime, content: bytes, mime: str) -> None:
    patient = add_patient(rt)
    assert upload(
        rt, patient_ctx(patient), patient, type_code="EXPPAT_2", content=content, mime=mime
    ).size


@pytest.mark.parametrize(
    ("content", "mime", "code"),
    [
        (b"GIF89a" + b"\x00" * 10, "image/gif", "unsupported_format"),
        (b"MZ\x90\x00\x03", "application/pdf", "unsupported_format"),
        (b"Bonjour", "application/pdf", "content_mismatch"),
        (PDF, "image/jpeg", "content_mismatch"),
        (b"<?xml version='1.0'?><ClinicalDocument/>", "text/xml", "unsupported_format"),
        (b"", "application/pdf", "empty"),
        (b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf", "too_large"),
    ],
)
def test_doc_8_content_is_checked_not_the_name(
    rt: Runtime, content: bytes, mime: str, code: str
) -> None:
    patient = add_patient(rt)
    with pytest.raises(Invalid) as refused:
        upload(rt, patient_ctx(patient), patient, type_code="EXPPAT_2", content=content, mime=mime)
    assert refused.value.code == code
    assert refused.value.fr
    assert refused.value.en
    assert records.list_documents(rt, patient_ctx(patient), patient.id)[1] == []


def test_doc_8_pros_may_send_cda_xml(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(
        rt,
        pro_ctx(pro),
        patient,
        content=b"<?xml version='1.0'?><ClinicalDocument/>",
        mime="text/xml",
    )
    assert doc.mime_type == "text/xml"


def test_doc_6_a_metadata_update_checks_its_version_in_its_own_transaction(rt: Runtime) -> None:
    """DOC-6 (PDSm metadata update): a change made since the caller read the document refuses
    his update, and the refusal changes nothing; the current version goes through."""
    patient, pro = add_patient(rt), add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    records.set_archived(rt, pro_ctx(pro), patient.id, doc.id, True)  # someone else's change
    with pytest.raises(PreconditionFailed):
        update_metadata(
            rt, pro_ctx(pro), patient.id, doc.id, MetadataChange(masked=True), expected_version=1
        )
    current = records.get_document(rt, pro_ctx(pro), patient.id, doc.id)
    assert (current.masked, current.meta_version) == (False, 2)
    updated = update_metadata(
        rt, pro_ctx(pro), patient.id, doc.id, MetadataChange(masked=True), expected_version=2
    )
    assert (updated.masked, updated.meta_version) == (True, 3)
