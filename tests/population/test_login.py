"""LC-4 log-in use cases: password then a code by e-mail, lock-out, sessions that end."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from factories import add_patient
from smtp_support import relay_sink, with_settings
from web_support import PASSWORD, set_password

from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.errors import Forbidden, Unauthenticated
from carnet.notify.service import smtp_mailer
from carnet.population import login, login_rules
from carnet.runtime import Runtime


def _code(outbox: list[EmailMessage]) -> str:
    found = re.search(r"\b(\d{6})\b", outbox[-1].get_content())
    assert found
    return found.group(1)


def test_lc_4_password_then_code_opens_a_session_and_is_traced(rt: Runtime) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    outbox: list[EmailMessage] = []
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, outbox.append)
    assert challenge.sent_to == "c•••@example.org"
    assert challenge.shown_code is None
    assert outbox[-1]["To"] == "claire@example.org"
    opened = login.finish_login(rt.uow, challenge.id, _code(outbox))
    assert login.session_person(rt.uow, opened.token) == patient.id
    with rt.transaction() as session:
        actions = [t.action for t in session.query(Trace).filter_by(patient_id=patient.id)]
    assert "log_in" in actions
    login.end_session(rt.uow, opened.token)
    assert login.session_person(rt.uow, opened.token) is None


def test_lc_4_a_code_is_used_once_and_tried_a_few_times(rt: Runtime) -> None:
    patient = add_patient(rt)
    set_password(rt, patient)
    outbox: list[EmailMessage] = []
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, outbox.append)
    code = _code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(login_rules.CODE_ATTEMPTS):
        with pytest.raises(Unauthenticated):
            login.finish_login(rt.uow, challenge.id, wrong)
    with pytest.raises(Unauthenticated):
        login.finish_login(rt.uow, challenge.id, code)


def test_lc_4_lock_out_after_repeated_failures_then_free_again(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt)
    set_password(rt, patient)
    sent: list[EmailMessage] = []
    for _ in range(login_rules.MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            login.start_login(rt.uow, rt.settings, patient.ins, "wrong password!", None)
    with pytest.raises(Unauthenticated):
        login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, sent.append)
    fixed_clock.advance(login_rules.LOCK_OUT + timedelta(seconds=1))
    assert login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, sent.append).id


def test_lc_4_idle_session_ends(rt: Runtime, fixed_clock: FixedClock) -> None:
    patient = add_patient(rt)
    demo = rt.settings.model_copy(update={"demo": True})
    opened = login.demo_login(rt.uow, demo, patient.ins)
    fixed_clock.advance(login_rules.SESSION_IDLE + timedelta(seconds=1))
    assert login.session_person(rt.uow, opened.token) is None


def test_lc_4_one_click_log_in_only_in_demo_mode(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(Forbidden):
        login.demo_login(rt.uow, rt.settings, patient.ins)


def test_lc_4_unknown_identifier_answers_like_a_wrong_password(rt: Runtime) -> None:
    with pytest.raises(Unauthenticated) as refused:
        login.start_login(rt.uow, rt.settings, "nobody@example.org", PASSWORD, None)
    assert refused.value.fr == login_rules.LOGIN_REFUSED[0]


def test_lc_4_mail_relay_tls_required_the_code_leaves_encrypted(rt: Runtime) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    with relay_sink() as (sink, to_relay):
        relayed = with_settings(rt, **to_relay)
        login.start_login(
            relayed.uow, relayed.settings, patient.ins, PASSWORD, smtp_mailer(relayed.settings)
        )
    [seen] = sink.seen
    [(_, rcpt_tos, message)] = sink.received
    assert seen.tls is not None
    assert rcpt_tos == ["claire@example.org"]
    assert message["Date"]
    assert message["Message-ID"].endswith("@carnet.localhost>")
    assert re.search(r"\b\d{6}\b", message.get_content())
