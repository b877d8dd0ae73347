"""DOC-7, LC-5: each document's bytes are sealed under a key of their own, made when the upload
arrives (issue 18: the write starts while the gate decides), that key sealed under the patient's
data key in the row. Documents stored before (no content key) read as before; destroying the
data key still makes every content unreadable; an upload that stores nothing leaves no blob."""

from __future__ import annotations

import pytest
from factories import PDF, add_patient, add_pro, pro_ctx, upload
from sqlalchemy import update

from carnet.blobs.crypto import DecryptionFailed, decrypt, encrypt, open_content
from carnet.errors import Conflict, NotFound
from carnet.ids import new_id
from carnet.keys.service import current_key, destroy_keys
from carnet.records import service as records
from carnet.records.models import Document
from carnet.records.service import NewDocument
from carnet.runtime import Runtime


def stored(rt: Runtime, patient_id: str) -> list[str]:
    return list(rt.blobs.keys(f"{patient_id}/"))


def test_doc_7_each_document_is_sealed_under_a_key_of_its_own(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    first = upload(rt, ctx, patient, content=PDF + b"%1")
    second = upload(rt, ctx, patient, content=PDF + b"%2")
    with rt.transaction() as session:
        rows = [session.get(Document, (patient.id, d.id)) for d in (first, second)]
        key_id, data_key = current_key(session, rt.master_key, patient.id)
    assert all(row is not None and row.content_key for row in rows)
    one, two = (row for row in rows if row is not None)
    assert one.content_key != two.content_key
    assert one.key_id == two.key_id == key_id
    with pytest.raises(DecryptionFailed):  # not under the data key itself
        decrypt(data_key, rt.blobs.get(one.blob_key), one.blob_key.encode())
    with pytest.raises(DecryptionFailed):  # a content key is bound to its own blob
        open_content(data_key, two.content_key, one.blob_key, rt.blobs.get(one.blob_key))
    assert records.read_content(rt, ctx, patient.id, first.id)[1] == PDF + b"%1"
    assert records.read_content(rt, ctx, patient.id, second.id)[1] == PDF + b"%2"


def test_doc_7_a_document_stored_before_content_keys_reads_as_before(rt: Runtime) -> None:
    """Migration 0019 left older rows without a content key: their bytes are sealed under the
    patient's data key, and read so."""
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    old = upload(rt, ctx, patient, content=PDF + b"%old")
    with rt.transaction() as session:
        _, data_key = current_key(session, rt.master_key, patient.id)
        session.execute(
            update(Document)
            .where(Document.patient_id == patient.id, Document.id == old.id)
            .values(content_key=None)
        )
    rt.blobs.delete(old.blob_key)
    rt.blobs.create(old.blob_key, [encrypt(data_key, PDF + b"%old", old.blob_key.encode())])
    assert records.read_content(rt, ctx, patient.id, old.id)[1] == PDF + b"%old"


def test_lc_5_destroying_the_data_key_leaves_every_content_unreadable(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    document = upload(rt, ctx, patient)
    with rt.transaction() as session:
        assert destroy_keys(session, patient.id) == 1
    with pytest.raises(NotFound) as refused:
        records.read_content(rt, ctx, patient.id, document.id)
    assert refused.value.code == "key_destroyed"


def test_doc_1_an_upload_that_stores_nothing_leaves_no_blob(rt: Runtime) -> None:
    """Refused (no such record), resent (the first copy answers), or in conflict: the bytes
    written while the gate decided are removed."""
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    nobody = new_id()
    new = NewDocument("11488-4", "Compte rendu", "application/pdf", PDF, unique_id="urn:oid:1.2.3")
    with pytest.raises(NotFound):
        records.upload_document(rt, ctx, new, patient_id=nobody)
    assert stored(rt, nobody) == []
    first = records.upload_document(rt, ctx, new, patient_id=patient.id)
    again = records.upload_document(rt, ctx, new, patient_id=patient.id)
    assert again.id == first.id
    with pytest.raises(Conflict):
        records.upload_document(
            rt,
            ctx,
            NewDocument(**{**new.__dict__, "content": PDF + b"%other"}),
            patient_id=patient.id,
        )
    assert stored(rt, patient.id) == [first.blob_key]


def test_doc_1_an_upload_by_ins_stores_its_content_once_the_patient_is_found(rt: Runtime) -> None:
    patient, pro = add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    new = NewDocument("11488-4", "Compte rendu", "application/pdf", PDF + b"%ins")
    document = records.upload_document(rt, ctx, new, ins=patient.ins)
    assert stored(rt, patient.id) == [document.blob_key]
    assert records.read_content(rt, ctx, patient.id, document.id)[1] == PDF + b"%ins"
