"""LC-4: activation with the one-time code and the birth date, at any time; a code allows five
wrong tries; a lost code is replaced on request; the SAMU question is asked (ACC-6). LC-7: a
minor's space is never activated by code (no credentials on a minor's row)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from life_support import ADULT, CHILD, feed
from sqlalchemy import select

from carnet.access.models import AccessSettings
from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.lifecycle import requests, service
from carnet.lifecycle.activation import activate_profile
from carnet.lifecycle.rules import MAX_CODE_FAILURES
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.population.service import Letter
from carnet.runtime import Runtime

BORN = date(1985, 4, 12)
PASSWORD = "un mot de passe long"


def _letter(rt: Runtime, ins: str = ADULT) -> Letter:
    letters: list[Letter] = []
    feed(rt, letters=letters)
    return next(letter for letter in letters if letter.ins == ins)


def _activate(
    rt: Runtime,
    code: str,
    born: date = BORN,
    password: str = PASSWORD,
    samu: bool | None = True,
) -> Patient:
    return activate_profile(
        rt,
        RequestContext.operator(),
        code=code,
        birth_date=born,
        email="a@b.fr",
        password=password,
        emergency_samu=samu,
    )


def _claire(rt: Runtime) -> Patient:
    with rt.transaction() as session:
        return session.execute(select(Patient).where(Patient.ins == ADULT)).scalar_one()


def test_lc_4_activation_with_code_and_birth_date(rt: Runtime) -> None:
    letter = _letter(rt)
    patient = activate_profile(
        rt,
        RequestContext.operator(),
        code=letter.code,
        birth_date=BORN,
        email="claire@perso.example",
        password=PASSWORD,
        emergency_samu=False,
    )
    assert patient.state == ProfileState.ACTIVATED
    assert patient.email == "claire@perso.example"
    assert patient.password_hash is not None
    assert PASSWORD not in patient.password_hash
    with rt.transaction() as session:
        settings = session.get(AccessSettings, patient.id)
        actions = [
            t.action
            for t in session.scalars(
                select(Trace).where(Trace.patient_id == patient.id).order_by(Trace.seq)
            )
        ]
    assert settings is not None
    assert (settings.emergency_samu, settings.emergency_others) == (False, True)  # as answered
    assert actions == ["activate_profile", "change_settings"]  # LC-2: the change is traced


def test_lc_4_acc_6_the_samu_question_must_be_answered(rt: Runtime) -> None:
    letter = _letter(rt)
    with pytest.raises(Invalid) as refused:
        _activate(rt, letter.code, samu=None)
    assert refused.value.code == "samu_question"
    assert "SAMU" in refused.value.fr
    assert _claire(rt).state == "created"  # nothing changed
    _activate(rt, letter.code, samu=True)


def test_lc_4_code_is_single_use(rt: Runtime) -> None:
    letter = _letter(rt)
    _activate(rt, letter.code, BORN)
    with pytest.raises(Invalid):
        _activate(rt, letter.code, BORN)


def test_lc_4_wrong_birth_date_is_refused_and_traced(rt: Runtime) -> None:
    letter = _letter(rt)
    with pytest.raises(Invalid) as refused:
        _activate(rt, letter.code, BORN + timedelta(days=1))
    assert "incorrects" in refused.value.fr
    claire = _claire(rt)
    assert claire.state == "created"
    assert claire.activation_failures == 1
    with rt.transaction() as session:
        outcomes = [
            t.outcome
            for t in session.scalars(
                select(Trace).where(Trace.patient_id == claire.id).order_by(Trace.seq)
            )
        ]
    assert outcomes == ["denied"]


def test_lc_4_five_wrong_tries_spend_the_code(rt: Runtime) -> None:
    """Today 39 wrong birth dates were tried and the 40th worked: no more."""
    letter = _letter(rt)
    for day in range(1, MAX_CODE_FAILURES + 1):
        with pytest.raises(Invalid):
            _activate(rt, letter.code, BORN + timedelta(days=day))
    with pytest.raises(Invalid) as refused:
        _activate(rt, letter.code, BORN)  # the right date, too late: the code is spent
    assert "5 essais" in refused.value.fr
    assert _claire(rt).activation_code_hash is None
    new = service.reissue_code(rt, ADULT)  # LC-4: no dead end
    assert _activate(rt, new.code, BORN).state == ProfileState.ACTIVATED


def test_lc_4_four_wrong_tries_then_the_right_one(rt: Runtime) -> None:
    letter = _letter(rt)
    for day in range(1, MAX_CODE_FAILURES):
        with pytest.raises(Invalid):
            _activate(rt, letter.code, BORN + timedelta(days=day))
    assert _activate(rt, letter.code, BORN).state == ProfileState.ACTIVATED


def test_lc_4_expired_code_is_refused_then_replaced_on_request(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    letter = _letter(rt)
    fixed_clock.advance(timedelta(days=91))
    with pytest.raises(Invalid):
        _activate(rt, letter.code, BORN)
    requests.request_code(rt, ADULT, BORN)  # from the log-in page
    requests.request_code(rt, ADULT, BORN)  # twice: still one request
    requests.request_code(rt, ADULT, BORN + timedelta(days=1))  # wrong date: nothing
    waiting = requests.list_requests(rt)
    assert [(r.kind, r.ins) for r in waiting] == [("activation_code", ADULT)]
    new = service.reissue_code(rt, ADULT)
    assert requests.list_requests(rt) == []  # handled with the new code
    assert _activate(rt, new.code, BORN).state == ProfileState.ACTIVATED


def test_lc_4_new_code_replaces_the_old_one(rt: Runtime) -> None:
    old = _letter(rt)
    new = service.reissue_code(rt, ADULT)
    with pytest.raises(Invalid):
        _activate(rt, old.code, BORN)
    _activate(rt, new.code, BORN)


def test_lc_4_weak_password_is_refused(rt: Runtime) -> None:
    letter = _letter(rt)
    with pytest.raises(Invalid):
        _activate(rt, letter.code, BORN, password="court")


def test_lc_7_a_minor_s_space_is_never_activated_by_code(rt: Runtime) -> None:
    letter = _letter(rt, CHILD)
    with pytest.raises(Invalid) as refused:
        _activate(rt, letter.code, date(2011, 6, 1))
    assert refused.value.code == "minor_profile"
    assert "représentant légal" in refused.value.fr
    with rt.transaction() as session:
        child = session.execute(select(Patient).where(Patient.ins == CHILD)).scalar_one()
    assert (child.state, child.password_hash, child.email) == ("created", None, None)


def test_lc_4_reissue_is_for_created_profiles_only(rt: Runtime) -> None:
    letter = _letter(rt)
    _activate(rt, letter.code)
    with pytest.raises(Invalid):
        service.reissue_code(rt, ADULT)
