"""The daily jobs with the fixed clock: a minor's 18th birthday (LC-7), yearly activity statements
for patients with no e-mail (LC-3), documents whose invisibility delay has passed (DOC-3); each
job idempotent (run twice, nothing twice) and traced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import add_pro, patient_ctx, pro_ctx, upload
from life_support import CHILD, CHILD_BORN, PARENT, feed
from sqlalchemy import select

from carnet.access.rules import Why
from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.context import RequestContext
from carnet.demo.load import pdf
from carnet.errors import NotFound
from carnet.lifecycle import managed
from carnet.lifecycle.activation import activate_profile
from carnet.lifecycle.jobs import done_today, run_jobs
from carnet.notify.service import deliver_pending
from carnet.population.login import demo_login, session_person
from carnet.population.login_models import WebSession
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.population.service import Letter
from carnet.records import service as records
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import Runtime

PASSWORD = "un mot de passe assez long"


def _person(rt: Runtime, ins: str) -> Patient:
    with rt.transaction() as session:
        return session.execute(select(Patient).where(Patient.ins == ins)).scalar_one()


def _traces(rt: Runtime, patient: Patient, action: str) -> list[Trace]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(Trace).where(Trace.patient_id == patient.id, Trace.action == action)
            )
        )


def _open_session(rt: Runtime, person: Patient) -> str:
    demo = rt.settings.model_copy(update={"demo": True})
    return demo_login(rt.uow, demo, person.ins).token


def _fed_and_parent_activated(rt: Runtime) -> Patient:
    """The operator's feed loaded, and the parent's profile activated with his letter's code."""
    letters: list[Letter] = []
    feed(rt, letters=letters)
    return activate_profile(
        rt,
        RequestContext.operator(),
        code=next(x for x in letters if x.ins == PARENT).code,
        birth_date=date(1982, 9, 3),
        email="paul@example.org",
        password=PASSWORD,
        emergency_samu=True,
    )


def test_lc_7_at_18_the_parent_loses_access_and_the_young_adult_finds_every_document(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    paul = _fed_and_parent_activated(rt)
    lea = _person(rt, CHILD)
    managed.activate_for(rt, patient_ctx(paul), lea.id, emergency_samu=True)
    doctor = add_pro(rt)
    shared = upload(rt, pro_ctx(doctor), lea, title="Vaccins")
    kept = upload(rt, pro_ctx(doctor), lea, title="Contraception", invisible_representatives=True)
    _, seen = records.list_documents(rt, patient_ctx(paul), lea.id)
    assert [d.id for d in seen] == [shared.id]  # ACC-8, DOC-3
    token = _open_session(rt, paul)
    assert session_person(rt.uow, token) == paul.id

    fixed_clock.current = datetime.combine(CHILD_BORN.replace(year=2029), datetime.min.time(), UTC)
    fixed_clock.advance(timedelta(hours=1))  # her 18th birthday, before the job runs
    with pytest.raises(NotFound):  # LC-7: at once, the decision already refuses him
        records.list_documents(rt, patient_ctx(paul), lea.id)
    summary = run_jobs(rt)
    assert summary["majority"] == 1
    assert session_person(rt.uow, token) is None  # his sessions ended
    lea = _person(rt, CHILD)
    assert lea.state == ProfileState.CREATED.value  # she activates for herself
    assert lea.password_hash is None
    folder = rt.settings.data_dir / "letters" / "activation" / "2029-06-01"
    letter = (folder / f"{lea.id}.txt").read_text()
    assert "18 ans" in letter
    code = letter.split("date de naissance :\n\n    ", 1)[1].split("\n", 1)[0]
    activate_profile(
        rt,
        RequestContext.operator(),
        code=code,
        birth_date=CHILD_BORN,
        email="lea@example.org",
        password=PASSWORD,
        emergency_samu=False,
    )
    _, hers = records.list_documents(rt, patient_ctx(lea), lea.id)
    assert sorted(d.id for d in hers) == sorted([shared.id, kept.id])  # every one
    [came] = _traces(rt, lea, "come_of_age")
    assert came.why == Why.COME_OF_AGE.value
    assert run_jobs(rt)["majority"] == 0  # once
    assert (folder / f"{lea.id}.txt").read_text() == letter  # no second letter


def test_lc_3_a_yearly_statement_for_each_patient_with_no_e_mail(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    letters: list[Letter] = []
    feed(rt, letters=letters)
    oscar_less = _person(rt, CHILD)  # created, no e-mail known
    with_mail = _person(rt, PARENT)
    doctor = add_pro(rt)
    for patient in (oscar_less, with_mail):
        upload(rt, pro_ctx(doctor), patient)
    upload(rt, pro_ctx(doctor), oscar_less, invisible_patient=True)  # not counted yet
    fixed_clock.current = datetime(2027, 1, 2, 3, 0, tzinfo=UTC)
    summary = run_jobs(rt)
    assert summary["statements"] == 1
    path = rt.settings.data_dir / "letters" / "statements" / "2026" / f"{oscar_less.id}.txt"
    text = path.read_text()
    assert "Relevé d'activité 2026" in text
    assert "Documents ajoutés à votre dossier : 1" in text
    assert not (path.parent / f"{with_mail.id}.txt").exists()
    assert len(_traces(rt, oscar_less, "yearly_statement")) == 1
    assert run_jobs(rt)["statements"] == 0  # once a year
    assert done_today(rt, fixed_clock.current.date())


def test_doc_3_an_invisible_document_is_shown_when_its_delay_has_passed(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    paul = _fed_and_parent_activated(rt)
    later = fixed_clock.current.date() + timedelta(days=10)
    document = upload_document(
        rt,
        pro_ctx(add_pro(rt)),
        NewDocument(
            "11488-4",
            "Résultat à annoncer",
            "application/pdf",
            pdf("Résultat"),
            invisible_patient=True,
            invisible_until=later,
        ),
        patient_id=paul.id,
    )
    _, seen = records.list_documents(rt, patient_ctx(paul), paul.id)
    assert seen == []
    fixed_clock.advance(timedelta(days=9))
    assert run_jobs(rt)["delayed_documents"] == 0
    fixed_clock.advance(timedelta(days=1))
    assert run_jobs(rt)["delayed_documents"] == 1
    _, seen = records.list_documents(rt, patient_ctx(paul), paul.id)
    assert [d.id for d in seen] == [document.id]
    [shown] = _traces(rt, paul, "show_to_patient")
    assert (shown.why, shown.document_id) == (Why.DELAY_PASSED.value, document.id)
    deliver_pending(rt.uow, None, rt.settings.mail_from)
    assert run_jobs(rt)["delayed_documents"] == 0


def test_lc_2_jobs_leave_a_run_per_day_and_a_trace(rt: Runtime, fixed_clock: FixedClock) -> None:
    assert not done_today(rt, fixed_clock.current.date())
    run_jobs(rt)
    assert done_today(rt, fixed_clock.current.date())
    with rt.transaction() as session:
        runs = list(session.scalars(select(Trace).where(Trace.action == "run_jobs")))
        assert len(runs) == 1
        assert session.scalars(select(WebSession)).all() == []
