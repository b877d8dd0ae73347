"""ID-3: the INSi-like look-up (five traits in, INS out), qualification, rate limit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import add_patient, add_pro, pro_ctx
from sqlalchemy import select

from carnet.clock import FixedClock
from carnet.errors import NotFound, TooMany
from carnet.identity.ins import InsStatus
from carnet.identity.traits import Sex, Traits
from carnet.population.identity import find_ins, qualify_ins
from carnet.population.insi import RateLimiter
from carnet.population.models import InsQualification
from carnet.runtime import Runtime


def _traits_of(patient) -> Traits:  # type: ignore[no-untyped-def]
    return Traits(
        patient.birth_names,
        patient.first_names,
        Sex(patient.sex),
        patient.birth_date,
        patient.birth_place,
    )


def test_id_3_look_up_by_five_traits_returns_the_ins(rt: Runtime) -> None:
    patient = add_patient(rt, first_names="Hélène Marie", birth_names="LE GOFF")
    pro = add_pro(rt)
    asked = Traits("le-goff", "helene marie", Sex.F, patient.birth_date, "75056")
    answer = find_ins(rt.uow, pro_ctx(pro), RateLimiter(60), asked)
    assert answer.ins == patient.ins


def test_id_3_one_trait_off_finds_nothing(rt: Runtime) -> None:
    patient = add_patient(rt)
    pro = add_pro(rt)
    traits = _traits_of(patient)
    for wrong in (
        Traits("AUTRE", traits.first_names, traits.sex, traits.birth_date, traits.birth_place),
        Traits(traits.birth_names, "Autre", traits.sex, traits.birth_date, traits.birth_place),
        Traits(
            traits.birth_names, traits.first_names, Sex.M, traits.birth_date, traits.birth_place
        ),
        Traits(
            traits.birth_names,
            traits.first_names,
            traits.sex,
            traits.birth_date + timedelta(1),
            "75056",
        ),
        Traits(traits.birth_names, traits.first_names, traits.sex, traits.birth_date, "69123"),
    ):
        with pytest.raises(NotFound):
            find_ins(rt.uow, pro_ctx(pro), RateLimiter(60), wrong)


def test_id_3_look_up_is_rate_limited_per_caller(rt: Runtime, fixed_clock: FixedClock) -> None:
    patient = add_patient(rt)
    first, second = add_pro(rt), add_pro(rt)
    limiter = RateLimiter(3)
    for _ in range(3):
        find_ins(rt.uow, pro_ctx(first), limiter, _traits_of(patient))
    with pytest.raises(TooMany):
        find_ins(rt.uow, pro_ctx(first), limiter, _traits_of(patient))
    find_ins(rt.uow, pro_ctx(second), limiter, _traits_of(patient))
    fixed_clock.advance(timedelta(minutes=1, seconds=1))
    find_ins(rt.uow, pro_ctx(first), limiter, _traits_of(patient))


def test_id_3_qualification_is_recorded_once_traits_match(rt: Runtime) -> None:
    patient = add_patient(rt)
    pro = add_pro(rt)
    assert (
        qualify_ins(rt.uow, pro_ctx(pro), patient.ins, _traits_of(patient)) is InsStatus.QUALIFIEE
    )
    assert (
        qualify_ins(rt.uow, pro_ctx(pro), patient.ins, _traits_of(patient)) is InsStatus.QUALIFIEE
    )
    wrong = Traits("AUTRE", patient.first_names, Sex.F, date(1985, 1, 1), "75056")
    assert qualify_ins(rt.uow, pro_ctx(pro), patient.ins, wrong) is InsStatus.PROVISOIRE
    with rt.transaction() as session:
        rows = list(session.scalars(select(InsQualification)))
    assert [(r.patient_id, r.rpps) for r in rows] == [(patient.id, pro.rpps)]
