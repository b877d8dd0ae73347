"""LC-6, the right of access: the full export opened with ``zipfile`` — ``index.html``, every
document the reader sees, the mailbox's files, a FHIR R4 ``collection`` Bundle validated with
fhir.resources, ``manifest.json`` whose SHA-256s match — built in the background, traced once;
a representative's export leaves out what is kept from him; a closed space exports nothing."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from factories import add_patient, add_pro, add_representative, patient_ctx, pro_ctx, upload
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from smtp_support import add_mailbox, address_of, deliver, mail
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.blobs.crypto import generate_key, wrap_key
from carnet.clock import FixedClock
from carnet.errors import NotFound
from carnet.ids import new_id
from carnet.keys.models import PatientKey
from carnet.lifecycle import export, service
from carnet.lifecycle.export_build import Builder, Lost, claim
from carnet.lifecycle.models import Export
from carnet.population.models import Patient
from carnet.runtime import Runtime


def _built(rt: Runtime, patient: Patient, who: Patient | None = None) -> zipfile.ZipFile:
    ctx = patient_ctx(who or patient)
    asked = export.request_export(rt, ctx, patient.id)
    rt.state(export.ExportWorkers).submit(lambda: None).result()  # the background build ran
    status = export.export_status(rt, ctx, patient.id, asked.id)
    assert status is not None
    assert status.state == "ready", status
    _, chunks = export.download(rt, ctx, patient.id, asked.id)
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def _validated(bundle: dict[str, object]) -> Bundle:
    """Parses with fhir.resources (R4B, the closest to R4 it ships), each entry too."""
    parsed = Bundle.model_validate(bundle)
    for entry in bundle["entry"]:  # type: ignore[attr-defined]
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return parsed


def test_lc_6_the_full_export_opens_offline_and_its_bundle_is_valid_fhir(rt: Runtime) -> None:
    claire = add_patient(rt)
    doctor = add_pro(rt)
    seen = [upload(rt, pro_ctx(doctor), claire, title=f"Compte rendu {n}") for n in range(3)]
    masked = upload(rt, pro_ctx(doctor), claire, title="Masqué", masked=True)
    hidden = upload(rt, pro_ctx(doctor), claire, title="À annoncer", invisible_patient=True)
    box = add_mailbox(rt, pro=doctor)
    deliver(
        rt,
        mail(
            box.address,
            address_of(rt, claire),
            "Vos résultats",
            "Tout va bien.",
            attachments=[("bilan.pdf", "application/pdf", b"%PDF-1.4 bilan")],
        ),
        box.address,
        address_of(rt, claire),
    )
    archive = _built(rt, claire)
    names = archive.namelist()
    assert {"index.html", "fhir/bundle.json", "manifest.json"} <= set(names)
    documents = [n for n in names if n.startswith("documents/")]
    assert len(documents) == 4  # the masked one is hers; the one not yet visible is not
    assert not any(hidden.id in n for n in names)
    assert any(masked.id in n for n in documents)
    for d in seen:
        [name] = [n for n in documents if d.id in n]
        assert hashlib.sha256(archive.read(name)).hexdigest() == d.sha256
    assert [n for n in names if n.startswith("messages/")] != []

    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for name, entry in listed.items():
        data = archive.read(name)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["size"]
    assert manifest["counts"]["documents"] == 4

    bundle = json.loads(archive.read("fhir/bundle.json"))
    parsed = _validated(bundle)
    assert parsed.type == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("DocumentReference") == 4
    assert kinds.count("Communication") == 1
    assert kinds.count("AuditEvent") >= 6  # the uploads, the message, the request…
    communication = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    assert communication["payload"][0]["contentString"].strip() == "Tout va bien."
    index = archive.read("index.html").decode()
    assert "Compte rendu 0" in index
    assert "Vos résultats" in index
    assert "À annoncer" not in index
    with rt.transaction() as session:
        built = list(
            session.scalars(
                select(Trace)
                .where(Trace.patient_id == claire.id, Trace.action == "export_record")
                .order_by(Trace.seq)  # built, then downloaded: no order without one
            )
        )
    assert len(built) == 2  # built once, downloaded once
    assert json.loads(built[0].detail or "{}")["documents"] == 4


def test_lc_6_acc_8_a_representative_s_export_leaves_out_what_is_kept_from_him(
    rt: Runtime,
) -> None:
    parent, child = add_patient(rt), add_patient(rt, age=15, email=None)
    add_representative(rt, child, parent)
    doctor = add_pro(rt)
    shared = upload(rt, pro_ctx(doctor), child, title="Vaccins")
    kept = upload(rt, pro_ctx(doctor), child, title="Secret", invisible_representatives=True)
    archive = _built(rt, child, parent)
    names = archive.namelist()
    assert any(shared.id in n for n in names)
    assert not any(kept.id in n for n in names)
    assert "Secret" not in archive.read("index.html").decode()


def test_lc_6_a_closed_space_exports_nothing(rt: Runtime) -> None:
    claire = add_patient(rt)
    service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    with pytest.raises(NotFound):
        export.request_export(rt, patient_ctx(claire), claire.id)


def test_lc_6_an_export_closed_midway_fails_and_leaves_no_file(rt: Runtime) -> None:
    claire = add_patient(rt)
    upload(rt, pro_ctx(add_pro(rt)), claire)
    asked = export.request_export(rt, patient_ctx(claire), claire.id)
    rt.state(export.ExportWorkers).submit(lambda: None).result()
    # A second export asked while one is ready: the ready one is answered.
    assert export.request_export(rt, patient_ctx(claire), claire.id).id == asked.id
    service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    with rt.transaction() as session:
        assert session.scalars(select(Export)).all() == []  # deleted with the space
    folder = rt.settings.data_dir / "exports" / claire.id
    assert not folder.exists() or not any(folder.iterdir())


def test_lc_6_a_builder_that_lost_its_lease_changes_nothing(rt: Runtime) -> None:
    claire = add_patient(rt)
    upload(rt, pro_ctx(add_pro(rt)), claire)
    with rt.transaction() as session:
        session.add(
            Export(
                patient_id=claire.id,
                id="e" * 32,
                requested_by=claire.id,
                door="api",
                state="queued",
                done=0,
                total=1,
                attempts=0,
                created_at=claire.created_at,
                lease_until=None,
                finished_at=None,
                expires_at=None,
                size=None,
                key_id=None,
                error=None,
            )
        )
    first = claim(rt, claire.id, "e" * 32)
    assert first is not None
    assert claim(rt, claire.id, "e" * 32) is None  # its lease holds
    with rt.transaction() as session:
        row = session.get(Export, (claire.id, "e" * 32))
        assert row is not None
        row.lease_until = claire.created_at  # it ran out: the builder died
    second = claim(rt, claire.id, "e" * 32)
    assert second is not None
    assert second.attempt == 2
    stale = Builder(rt, claire.id, "e" * 32, first)
    with pytest.raises(Lost):
        stale.page(lambda reads: None)


def test_lc_6_documents_sealed_under_an_older_key_are_exported_too(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    claire, doctor = add_patient(rt), add_pro(rt)
    older = upload(rt, pro_ctx(doctor), claire, title="Ancien")
    fixed_clock.advance(timedelta(seconds=1))
    key_id = new_id()
    with rt.transaction() as session:  # a newer data key: what follows is sealed under it
        session.add(
            PatientKey(
                patient_id=claire.id,
                key_id=key_id,
                wrapped=wrap_key(rt.master_key, generate_key(), key_id),
                created_at=fixed_clock.current,
                destroyed_at=None,
            )
        )
    newer = upload(rt, pro_ctx(doctor), claire, title="Récent")
    assert older.key_id != newer.key_id
    assert newer.key_id == key_id
    archive = _built(rt, claire)
    manifest = json.loads(archive.read("manifest.json"))
    assert not [f for f in manifest["files"] if f.get("damaged")]
    for d in (older, newer):
        [name] = [n for n in archive.namelist() if d.id in n]
        assert hashlib.sha256(archive.read(name)).hexdigest() == d.sha256
