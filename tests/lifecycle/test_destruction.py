"""LC-5: archives destroyed for real — asked at closing (done by the daily job within three months)
or after ten years — by crypto-shredding, then rows and blobs, the traces by the one sanctioned
path; ``verify-log`` still passes; a signed deletion certificate says what went and when. LC-9: a
hosted pro's copy of what the patient sent stays (unreadable once the keys are gone)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from factories import add_pro, patient_ctx, pro_ctx, upload
from life_support import ADULT, ADULT_BORN, feed
from smtp_support import add_mailbox, address_of, deliver, mail
from sqlalchemy import func, select

from carnet.audit.log_models import LogLeaf
from carnet.audit.models import Trace
from carnet.audit.publish import advance_log
from carnet.audit.signer import load_or_create_signer
from carnet.audit.verify import verify_log
from carnet.clock import FixedClock
from carnet.context import RequestContext
from carnet.errors import NotFound
from carnet.hosted import mailbox as hosted
from carnet.keys.models import PatientKey
from carnet.lifecycle import certificate, service
from carnet.lifecycle.activation import activate_profile
from carnet.lifecycle.destruction import certificate_of
from carnet.lifecycle.jobs import run_jobs
from carnet.messaging.delivery import deliver_due
from carnet.messaging.models import Conversation
from carnet.messaging.writing import reply
from carnet.population.models import Patient
from carnet.population.service import Letter
from carnet.records import service as records
from carnet.records.models import Document
from carnet.runtime import Runtime


def _claire(rt: Runtime) -> Patient:
    letters: list[Letter] = []
    feed(rt, letters=letters)
    letter = next(x for x in letters if x.ins == ADULT)
    return activate_profile(
        rt,
        RequestContext.operator(),
        code=letter.code,
        birth_date=ADULT_BORN,
        email="claire@perso.example",
        password="un mot de passe assez long",
        emergency_samu=True,
    )


def _count(rt: Runtime, model: type, patient: Patient) -> int:
    with rt.transaction() as session:
        return int(
            session.execute(
                select(func.count()).select_from(model).where(model.patient_id == patient.id)  # type: ignore[attr-defined]
            ).scalar_one()
        )


def _state(rt: Runtime, patient: Patient) -> Patient:
    with rt.transaction() as session:
        found = session.get(Patient, patient.id)
        assert found is not None
        return found


def test_lc_5_a_deletion_asked_at_closing_three_months_on_then_the_certificate(
    rt: Runtime, fixed_clock: FixedClock, tmp_path: Path
) -> None:
    claire = _claire(rt)
    doctor = add_pro(rt)
    box = add_mailbox(rt, pro=doctor, hosted_here=True)
    blobs = [upload(rt, pro_ctx(doctor), claire).blob_key for _ in range(3)]
    deliver(rt, mail(box.address, address_of(rt, claire)), box.address, address_of(rt, claire))
    with rt.transaction() as session:
        conversation = session.scalars(select(Conversation.id)).one()
    reply(rt, patient_ctx(claire), claire.id, conversation, "Merci, à bientôt.")
    deliver_due(rt)  # the reply reaches the hosted pro's mailbox (his copy: LC-9)
    signer = load_or_create_signer(rt.settings.resolved_log_key_file)
    before = advance_log(rt.uow, signer, rt.settings.resolved_witness_file)
    assert before is not None

    shut = service.close_profile(
        rt, patient_ctx(claire), claire.id, confirm=True, delete_archives=True
    )
    assert shut.deletion_due is not None
    assert shut.deletion_due.startswith("2027-02-24")  # within three months
    _, copies = hosted.inbox(rt, pro_ctx(doctor))
    assert [c.body.strip() for c in copies] == ["Merci, à bientôt."]  # LC-9: his copy stays

    fixed_clock.advance(timedelta(days=90))
    summary = run_jobs(rt)
    assert summary["archives"] == 1
    gone = _state(rt, claire)
    assert gone.destroyed_at is not None
    assert gone.deletion_due is None
    assert _count(rt, Document, claire) == 0
    assert _count(rt, Trace, claire) == 0
    assert not any(rt.blobs.exists(k) for k in blobs)
    with rt.transaction() as session:  # crypto-shredded: no key can be unwrapped any more
        keys = list(session.scalars(select(PatientKey).where(PatientKey.patient_id == claire.id)))
        assert keys
        assert all(k.wrapped is None for k in keys)
        assert session.scalars(select(LogLeaf).where(LogLeaf.patient_id == claire.id)).all()
        assert verify_log(session, public_key=signer.public_key, against=before).breach is None

    found = certificate_of(rt, claire.id)
    assert found is not None
    assert certificate.check(found, signer.public_key) is None
    body = found["certificate"]
    assert body["person"] == {"patient_id": claire.id, "ins": ADULT}
    assert body["reason"] == "request"
    assert body["destroyed"]["rows"]["documents"] == 3
    assert body["destroyed"]["traces"]["deleted"] > 0
    assert body["destroyed"]["data_keys"] == len(keys)
    assert body["log_head"]["tree_size"] >= before.tree_size
    written = rt.settings.data_dir / "letters" / "certificates" / f"{body['id']}.json"
    assert certificate.check(json.loads(written.read_text()), signer.public_key) is None
    forged = json.loads(written.read_text())
    forged["certificate"]["destroyed"]["rows"]["documents"] = 2
    assert certificate.check(forged, signer.public_key) == (
        "bad signature (altered, or not this log's)"
    )
    _, copies = hosted.inbox(rt, pro_ctx(doctor))  # his copy can no longer be read: it says so
    assert [c.subject for c in copies] == [hosted.DESTROYED]

    assert run_jobs(rt)["archives"] == 0  # done once
    letter = service.reopen_profile(rt, ADULT)  # a new space: nothing comes back
    activate_profile(
        rt,
        RequestContext.operator(),
        code=letter.code,
        birth_date=ADULT_BORN,
        email="claire@perso.example",
        password="un mot de passe assez long",
        emergency_samu=True,
    )
    _, documents = records.list_documents(rt, patient_ctx(claire), claire.id)
    assert documents == []
    head = advance_log(rt.uow, signer, rt.settings.resolved_witness_file)
    with rt.transaction() as session:  # the reopened chain goes on from its cut
        assert verify_log(session, public_key=signer.public_key, against=head).breach is None


def test_lc_5_archives_are_destroyed_after_ten_years_and_not_before(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    claire = _claire(rt)
    upload(rt, pro_ctx(add_pro(rt)), claire)
    service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    until = _state(rt, claire).archive_until
    assert until is not None
    assert until.date().isoformat() == "2036-11-24"
    fixed_clock.current = until - timedelta(days=1)
    assert run_jobs(rt)["archives"] == 0
    assert _count(rt, Document, claire) == 1
    fixed_clock.current = until
    assert run_jobs(rt)["archives"] == 1
    assert _count(rt, Document, claire) == 0
    found = certificate_of(rt, claire.id)
    assert found is not None
    assert found["certificate"]["reason"] == "retention"


def test_lc_5_reopening_before_the_job_cancels_the_deletion(rt: Runtime) -> None:
    claire = _claire(rt)
    kept = upload(rt, pro_ctx(add_pro(rt)), claire)
    service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True, delete_archives=True)
    service.reopen_profile(rt, ADULT)
    assert run_jobs(rt)["archives"] == 0
    assert _state(rt, claire).deletion_due is None
    with rt.transaction() as session:
        assert session.get(Document, (claire.id, kept.id)) is not None
    with pytest.raises(NotFound):  # created again: activation first
        records.list_documents(rt, patient_ctx(claire), claire.id)
