"""LC-5…LC-9, LC-1, DOC-1, MSG-4 end to end on the real service, with the fixed clock: a profile is
created by the feed, activated, fed, written to; closed (the mailbox goes at once, SMTP answers
« …clôturée. », a pro's upload is told the DMP is closed); reopened by the operator (a new
letter, the documents back); opposed by the patient or the feed; managed by representatives."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import date

import pytest
from factories import add_pro, patient_ctx, pro_ctx, upload
from life_support import ADULT, ADULT_BORN, CHILD, FEED, HEADER, PARENT, feed
from smtp_support import add_mailbox, address_of, mail, running_smtp
from sqlalchemy import func, select

from carnet.audit.models import Trace
from carnet.context import RequestContext
from carnet.demo.personas import JEAN, MARCEL, ODETTE
from carnet.errors import Conflict, DmpClosed, Invalid, NotFound, Unauthenticated
from carnet.lifecycle import managed, requests, service
from carnet.lifecycle.activation import activate_profile
from carnet.messaging.models import Attachment, Conversation, Message, OutgoingMail
from carnet.messaging.writing import reply
from carnet.notify.models import OutboxEvent
from carnet.population.login import start_login
from carnet.population.models import Patient, Representative
from carnet.population.rules import ProfileState
from carnet.population.service import Letter
from carnet.records import service as records
from carnet.runtime import Runtime
from carnet.smtp.server import SmtpServer

PASSWORD = "un mot de passe assez long"


@pytest.fixture
def door(rt: Runtime) -> Iterator[SmtpServer]:
    with running_smtp(rt) as server:
        yield server


def _person(rt: Runtime, ins: str) -> Patient:
    with rt.transaction() as session:
        return session.execute(select(Patient).where(Patient.ins == ins)).scalar_one()


def _activate(rt: Runtime, letter: Letter, born: date = ADULT_BORN) -> Patient:
    return activate_profile(
        rt,
        RequestContext.operator(),
        code=letter.code,
        birth_date=born,
        email="claire@perso.example",
        password=PASSWORD,
        emergency_samu=True,
    )


def _created(rt: Runtime) -> dict[str, Letter]:
    letters: list[Letter] = []
    feed(rt, letters=letters)
    return {letter.ins: letter for letter in letters}


def _count(rt: Runtime, model: type, patient: Patient) -> int:
    with rt.transaction() as session:
        return int(
            session.execute(
                select(func.count()).select_from(model).where(model.patient_id == patient.id)  # type: ignore[attr-defined]
            ).scalar_one()
        )


def _actions(rt: Runtime, patient: Patient) -> list[str]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(Trace.action).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        )


def _rcpt(door: SmtpServer, sender: str, address: str) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.ehlo()
        assert client.mail(sender, ["SMTPUTF8"])[0] == 250
        code, text = client.rcpt(address)
    return code, text.decode("utf-8")


def test_lc_5_msg_4_doc_1_create_activate_close_smtp_refuses_reopen_documents_back(
    rt: Runtime, door: SmtpServer
) -> None:
    letters = _created(rt)
    claire = _activate(rt, letters[ADULT])
    me = patient_ctx(claire)
    doctor = add_pro(rt)
    box = add_mailbox(rt, pro=doctor)
    kept = [upload(rt, pro_ctx(doctor), claire, title=f"Compte rendu {n}").id for n in range(2)]
    address = address_of(rt, claire)
    message = mail(box.address, address, attachments=[("bilan.pdf", "application/pdf", b"%PDF-1")])
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.send_message(message)
    with rt.transaction() as session:
        conversation = session.scalars(
            select(Conversation.id).where(Conversation.patient_id == claire.id)
        ).one()
    reply(rt, me, claire.id, conversation, "Merci docteur.")  # a sent reply, queued
    assert (_count(rt, Message, claire), _count(rt, Attachment, claire)) == (2, 1)
    with rt.transaction() as session:
        blobs = [
            k
            for k in session.scalars(
                select(Message.raw_blob_key).where(Message.patient_id == claire.id)
            )
            if k
        ] + list(session.scalars(select(Attachment.blob_key)))
    assert all(rt.blobs.exists(k) for k in blobs)

    with pytest.raises(Invalid):  # a destructive act asks first
        service.close_profile(rt, me, claire.id, confirm=False)
    closed = service.close_profile(rt, me, claire.id, confirm=True)
    assert closed.state is ProfileState.CLOSED
    assert closed.archive_until.startswith("2036-11-24")
    # LC-5: the mailbox at once — messages, attachments, the sent reply, the queued mail.
    for model in (Message, Attachment, Conversation, OutgoingMail):
        assert _count(rt, model, claire) == 0, model
    assert not any(rt.blobs.exists(k) for k in blobs)
    assert closed.deleted.rows["messages"] == 2
    # MSG-4: the SMTP door answers « …clôturée. »
    code, text = _rcpt(door, box.address, address)
    assert code == 550
    assert text.splitlines()[0].endswith(
        "car la messagerie Mon espace santé de votre destinataire est clôturée."
    )
    # DOC-1: a pro's upload is told the DMP is closed; reading finds nothing.
    with pytest.raises(DmpClosed) as refused:
        upload(rt, pro_ctx(doctor), claire)
    assert "fermé" in refused.value.fr
    with pytest.raises(NotFound):
        records.list_documents(rt, pro_ctx(doctor), claire.id)
    # Archived: nobody reads, not even the patient; he cannot log in.
    with pytest.raises(NotFound):
        records.list_documents(rt, me, claire.id)
    assert _person(rt, ADULT).password_hash is None
    assert _count(rt, OutboxEvent, claire) == 1  # the closing's e-mail, nothing else

    letter = service.reopen_profile(rt, ADULT)  # LC-5: the operator, a new letter
    assert _person(rt, ADULT).state == ProfileState.CREATED.value
    with pytest.raises(NotFound):  # reading needs activation (LC-3)
        records.list_documents(rt, me, claire.id)
    _activate(rt, letter)
    _, back = records.list_documents(rt, me, claire.id)
    assert sorted(d.id for d in back) == sorted(kept)  # the archives are back
    actions = _actions(rt, claire)
    assert actions.count("close_profile") == 1
    assert actions.count("reopen_profile") == 1
    assert actions.count("activate_profile") == 2
    assert _rcpt(door, box.address, address)[0] == 250  # the mailbox receives again


def test_lc_5_a_closed_profile_cannot_be_closed_again(rt: Runtime) -> None:
    claire = _activate(rt, _created(rt)[ADULT])
    service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    with pytest.raises(NotFound):
        service.close_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    with pytest.raises(Conflict):  # LC-2: the operator may not reopen an open profile either
        service.reopen_profile(rt, PARENT)


def test_lc_6_opposition_closes_and_the_feed_does_not_create_it_again(
    rt: Runtime, door: SmtpServer
) -> None:
    claire = _activate(rt, _created(rt)[ADULT])
    box = add_mailbox(rt, pro=add_pro(rt))
    shut = service.oppose_profile(rt, patient_ctx(claire), claire.id, confirm=True)
    assert shut.state is ProfileState.OPPOSED
    assert [
        (r.kind, r.done_at is not None) for r in requests.list_requests(rt, include_done=True)
    ] == [("opposition", True)]
    feed(rt)  # the operator's feed still lists her, not opposed: her opposition stands
    assert _person(rt, ADULT).state == ProfileState.OPPOSED.value
    code, text = _rcpt(door, box.address, address_of(rt, claire))
    assert code == 550
    assert "n'existe pas." in text.splitlines()[0]
    with pytest.raises(DmpClosed):
        upload(rt, pro_ctx(add_pro(rt)), claire)
    service.reopen_profile(rt, ADULT)  # at her request, through the operator
    assert _person(rt, ADULT).state == ProfileState.CREATED.value


def test_lc_1_lc_9_the_feed_s_opposition_closes_the_space_and_nothing_else(
    rt: Runtime, door: SmtpServer
) -> None:
    letters = _created(rt)
    paul = _activate(rt, letters[PARENT], date(1982, 9, 3))
    managed.activate_for(rt, patient_ctx(paul), _person(rt, CHILD).id, emergency_samu=True)
    box = add_mailbox(rt, pro=add_pro(rt))
    with smtplib.SMTP("127.0.0.1", door.port, timeout=10) as client:
        client.send_message(mail(box.address, address_of(rt, paul)))
    assert _count(rt, Message, paul) == 1
    opposed = FEED.replace(
        f"{PARENT},DUBOIS,Paul,M,1982-09-03,69123,paul@example.org,,0",
        f"{PARENT},DUBOIS,Paul,M,1982-09-03,69123,paul@example.org,,1",
    )
    report = feed(rt, opposed)
    assert (report.opposed, report.updated) == (1, 1)  # Paul now (Oscar already was)
    assert _person(rt, PARENT).state == ProfileState.OPPOSED.value
    assert _count(rt, Message, paul) == 0
    # LC-9: his child's space and his link to it are untouched.
    child = _person(rt, CHILD)
    assert child.state == ProfileState.ACTIVATED.value
    assert _count(rt, Representative, child) == 1
    again: list[Letter] = []
    feed(rt, FEED, again)  # the feed withdraws the operator's opposition: a letter again
    assert _person(rt, PARENT).state == ProfileState.CREATED.value
    assert [letter.ins for letter in again] == [PARENT]


def test_lc_7_representative_activates_and_shares_a_child_s_space_without_credentials(
    rt: Runtime,
) -> None:
    letters = _created(rt)
    paul = _activate(rt, letters[PARENT], date(1982, 9, 3))
    claire = _activate(rt, letters[ADULT])
    child = _person(rt, CHILD)
    with pytest.raises(Invalid):  # ACC-6: the SAMU question is answered, not assumed
        managed.activate_for(rt, patient_ctx(paul), child.id, emergency_samu=None)
    with pytest.raises(NotFound):  # Claire represents no one
        managed.activate_for(rt, patient_ctx(claire), child.id, emergency_samu=True)
    managed.activate_for(rt, patient_ctx(paul), child.id, emergency_samu=False)
    child = _person(rt, CHILD)
    assert (child.state, child.password_hash, child.email) == ("activated", None, None)
    assert child.activation_code_hash is None
    upload(rt, pro_ctx(add_pro(rt)), child)
    # LC-7: the first shares with a second (an adult of the register, by INS and birth date).
    with pytest.raises(Invalid):
        managed.share_profile(
            rt, patient_ctx(paul), child.id, ins=ADULT, birth_date=date(1990, 1, 1)
        )
    managed.share_profile(rt, patient_ctx(paul), child.id, ins=ADULT, birth_date=ADULT_BORN)
    _, seen = records.list_documents(rt, patient_ctx(claire), child.id)
    assert len(seen) == 1
    feed(rt)  # the feed lists Paul only: the shared one stays
    _, seen = records.list_documents(rt, patient_ctx(claire), child.id)
    assert len(seen) == 1
    with pytest.raises(Invalid):  # already one of them
        managed.share_profile(
            rt, patient_ctx(claire), child.id, ins=PARENT, birth_date=date(1982, 9, 3)
        )
    with pytest.raises(Unauthenticated):  # nobody logs in as the child
        start_login(rt.uow, rt.settings, CHILD, PASSWORD, None)


def test_lc_8_a_guardian_of_the_person_activates_and_closes_one_of_property_cannot(
    rt: Runtime,
) -> None:
    marcel_ins, jean_ins, odette_ins = MARCEL.ins, JEAN.ins, ODETTE.ins
    text = HEADER.replace("opposed\n", "guardian_ins,guardian_mandate,opposed\n") + (
        f"{jean_ins},CASANOVA,Jean,M,1960-02-14,2A004,jean@example.org,,,,0\n"
        f"{marcel_ins},ORSINI,Marcel,M,1941-11-30,2B033,,,{jean_ins},person,0\n"
        f"{odette_ins},ORSINI,Odette,F,1939-03-08,2B033,,,{jean_ins},property,0\n"
    )
    letters: list[Letter] = []
    report = feed(rt, text, letters)
    assert report.errors == [], report.errors
    jean = _activate(rt, next(x for x in letters if x.ins == jean_ins), date(1960, 2, 14))
    marcel, odette = _person(rt, marcel_ins), _person(rt, odette_ins)
    with pytest.raises(NotFound):  # LC-8: a guardian of property only may not act
        managed.activate_for(rt, patient_ctx(jean), odette.id, emergency_samu=True)
    with pytest.raises(NotFound):
        service.close_profile(rt, patient_ctx(jean), odette.id, confirm=True)
    service.close_profile(rt, patient_ctx(jean), marcel.id, confirm=True)  # never activated
    assert _person(rt, marcel_ins).state == ProfileState.CLOSED.value
    with rt.transaction() as session:
        closing = session.scalars(
            select(Trace).where(Trace.patient_id == marcel.id, Trace.action == "close_profile")
        ).one()
    assert (closing.actor_id, closing.on_behalf_of, closing.why) == (
        jean.id,
        marcel.id,
        "representative",
    )
