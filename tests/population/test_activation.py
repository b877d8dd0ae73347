"""LC-2, LC-4: activation with the one-time code and the birth date; states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from test_import import ADULT, FEED, _import

from carnet.audit.models import Trace
from carnet.clock import FixedClock
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.population.models import Patient
from carnet.population.rules import TRANSITIONS, ProfileState, may_transition
from carnet.population.service import Letter, activate_profile, issue_activation_code
from carnet.runtime import Runtime

BORN = date(1985, 4, 12)
PASSWORD = "un mot de passe long"


def _letter(rt: Runtime) -> Letter:
    letters: list[Letter] = []
    _import(rt, FEED, letters)
    return next(letter for letter in letters if letter.ins == ADULT)


def _activate(rt: Runtime, code: str, born: date = BORN, password: str = PASSWORD) -> Patient:
    return activate_profile(
        rt.uow,
        RequestContext.operator(),
        code=code,
        birth_date=born,
        email="a@b.fr",
        password=password,
    )


def test_lc_4_activation_with_code_and_birth_date(rt: Runtime) -> None:
    letter = _letter(rt)
    patient = activate_profile(
        rt.uow,
        RequestContext.operator(),
        code=letter.code,
        birth_date=BORN,
        email="claire@perso.example",
        password=PASSWORD,
    )
    assert patient.state == ProfileState.ACTIVATED
    assert patient.email == "claire@perso.example"
    assert patient.password_hash is not None
    assert PASSWORD not in patient.password_hash


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
    with rt.transaction() as session:
        claire = session.execute(select(Patient).where(Patient.ins == ADULT)).scalar_one()
        assert claire.state == "created"
        outcomes = [
            t.outcome for t in session.scalars(select(Trace).where(Trace.patient_id == claire.id))
        ]
    assert outcomes == ["denied"]


def test_lc_4_expired_code_is_refused(rt: Runtime, fixed_clock: FixedClock) -> None:
    letter = _letter(rt)
    fixed_clock.advance(timedelta(days=91))
    with pytest.raises(Invalid):
        _activate(rt, letter.code, BORN)


def test_lc_4_new_code_replaces_the_old_one(rt: Runtime) -> None:
    old = _letter(rt)
    new = issue_activation_code(rt.uow, RequestContext.operator(), ADULT)
    with pytest.raises(Invalid):
        _activate(rt, old.code, BORN)
    _activate(rt, new.code, BORN)


def test_lc_4_weak_password_is_refused(rt: Runtime) -> None:
    letter = _letter(rt)
    with pytest.raises(Invalid):
        _activate(rt, letter.code, BORN, password="court")


def test_lc_2_states_and_transitions() -> None:
    assert set(TRANSITIONS) == set(ProfileState)
    assert may_transition(ProfileState.CREATED, ProfileState.ACTIVATED)
    assert not may_transition(ProfileState.ACTIVATED, ProfileState.CREATED)
    assert may_transition(ProfileState.CLOSED, ProfileState.ACTIVATED)  # LC-5: reopening
    assert not may_transition(ProfileState.OPPOSED, ProfileState.ACTIVATED)
