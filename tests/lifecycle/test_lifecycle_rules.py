"""The profile's life on facts alone (no database): the state machine (LC-2), who acts on the
profile (LC-5…LC-8, LC-6), uploads into a closed DMP (DOC-1), dates that fall due (LC-3, LC-5,
LC-7), what an activation attempt proves (LC-4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.access.facts import (
    AccessRequest,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.rules import (
    LifeAct,
    Purpose,
    Why,
    decide_life,
    decide_open,
    decide_record,
    decide_upload,
    may_share_with,
)
from carnet.errors import Conflict
from carnet.lifecycle import rules
from carnet.lifecycle.rules import Destruction, Proof
from carnet.population.rules import (
    CHANGES,
    TRANSITIONS,
    Change,
    ProfileState,
    age_on,
    birthday,
    check_transition,
    may_transition,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PATIENT = Requester(RequesterKind.PATIENT, "p1")
PARENT = Requester(RequesterKind.LEGAL_REPRESENTATIVE, "parent", represents_patient=True)
GUARDIAN = Requester(RequesterKind.GUARDIAN_OF_PERSON, "g", represents_patient=True)
PROPERTY = Requester(RequesterKind.GUARDIAN_OF_PROPERTY, "g", represents_patient=True)
PRO = Requester(RequesterKind.PRO, "10000000001", profession="10")
JOB = Requester(RequesterKind.SYSTEM, "jobs")


def facts(
    who: Requester, age: int = 40, state: ProfileState = ProfileState.ACTIVATED
) -> RecordFacts:
    return RecordFacts(who, Relation(), PatientFacts(age=age, state=state), AccessRequest())


# -- LC-2: one state machine ---------------------------------------------------------------


def test_lc_2_every_change_is_an_edge_of_the_one_table() -> None:
    assert set(TRANSITIONS) == set(ProfileState)
    for change, (sources, target) in CHANGES.items():
        for source in sources:
            assert may_transition(source, target), (change, source)
            assert check_transition(source, change) is target
    assert may_transition(ProfileState.CLOSED, ProfileState.CREATED)  # LC-5: reopening
    assert not may_transition(ProfileState.CLOSED, ProfileState.ACTIVATED)  # a new letter first
    assert not may_transition(ProfileState.OPPOSED, ProfileState.ACTIVATED)
    assert may_transition(ProfileState.ACTIVATED, ProfileState.CREATED)  # LC-7: at 18


@given(st.sampled_from(ProfileState), st.sampled_from(Change))
def test_lc_2_a_change_off_the_table_is_refused_saying_where_the_profile_stands(
    state: ProfileState, change: Change
) -> None:
    sources, target = CHANGES[change]
    if state in sources:
        assert check_transition(state, change) is target
        return
    with pytest.raises(Conflict) as refused:
        check_transition(state, change)
    assert refused.value.code == f"profile_{state.value}"
    assert refused.value.fr
    assert refused.value.en


# -- LC-5…LC-8, LC-6: who acts on the profile ------------------------------------------------


@pytest.mark.parametrize("act", [LifeAct.CLOSE, LifeAct.OPPOSE, LifeAct.EXPORT, LifeAct.REQUEST])
def test_lc_5_lc_6_the_patient_closes_opposes_exports_and_asks(act: LifeAct) -> None:
    assert decide_life(facts(PATIENT), act).why is Why.PATIENT
    assert not decide_life(facts(PATIENT, state=ProfileState.CREATED), act).allowed  # LC-3
    assert not decide_life(facts(PATIENT, age=15), act).allowed  # LC-7: his parents' space


def test_lc_4_lc_7_the_patient_activates_by_code_only_and_never_shares() -> None:
    assert decide_life(facts(PATIENT), LifeAct.ACTIVATE).why is Why.ACT_NOT_ALLOWED
    assert decide_life(facts(PATIENT), LifeAct.SHARE).why is Why.ACT_NOT_ALLOWED


@pytest.mark.parametrize("act", list(LifeAct))
def test_lc_8_a_guardian_of_property_only_never_acts_on_the_profile(act: LifeAct) -> None:
    assert decide_life(facts(PROPERTY, age=80), act).why is Why.THIRD_PARTY


def test_lc_8_a_guardian_of_the_person_activates_and_closes_a_protected_adult_s_profile() -> None:
    created = facts(GUARDIAN, age=80, state=ProfileState.CREATED)
    assert decide_life(created, LifeAct.ACTIVATE).why is Why.REPRESENTATIVE
    assert decide_life(created, LifeAct.CLOSE).why is Why.REPRESENTATIVE  # never activated
    assert decide_life(facts(GUARDIAN, age=80), LifeAct.OPPOSE).allowed
    assert decide_life(facts(GUARDIAN, age=80), LifeAct.SHARE).why is Why.NOT_A_MINOR
    assert not decide_life(facts(GUARDIAN, age=80), LifeAct.ACTIVATE).allowed  # already done
    assert not decide_life(facts(GUARDIAN, age=15), LifeAct.CLOSE).allowed  # a minor's: parents


def test_lc_7_a_minor_s_representative_activates_shares_and_closes_until_18() -> None:
    assert decide_life(facts(PARENT, 15, ProfileState.CREATED), LifeAct.ACTIVATE).allowed
    assert decide_life(facts(PARENT, 15), LifeAct.SHARE).allowed
    assert decide_life(facts(PARENT, 15), LifeAct.EXPORT).allowed
    assert not decide_life(facts(PARENT, 15, ProfileState.CREATED), LifeAct.SHARE).allowed
    for act in LifeAct:  # LC-7: at 18 the representatives lose access, at once
        assert decide_life(facts(PARENT, 18), act).why is Why.NOT_A_REPRESENTATIVE
    stranger = Requester(RequesterKind.LEGAL_REPRESENTATIVE, "x", represents_patient=False)
    assert not decide_life(facts(stranger, 15), LifeAct.CLOSE).allowed


@pytest.mark.parametrize("state", [ProfileState.CLOSED, ProfileState.OPPOSED])
@pytest.mark.parametrize("who", [PATIENT, PARENT, GUARDIAN, PRO, JOB])
def test_lc_5_a_closed_or_opposed_profile_opens_to_no_one(
    state: ProfileState, who: Requester
) -> None:
    f = facts(who, state=state)
    for purpose in Purpose:
        if purpose is Purpose.LOOKUP and state is ProfileState.CLOSED and who is PRO:
            continue  # PDSm: a pro learns that a closed record exists (active: false)
        assert not decide_open(f, purpose, decide_record(f)).allowed, purpose
    for act in LifeAct:
        assert decide_life(f, act).why is (Why.THIRD_PARTY if who in (PRO, JOB) else Why.NO_PROFILE)


# -- DOC-1: an upload into a closed DMP says so ------------------------------------------------


@pytest.mark.parametrize("state", [ProfileState.CLOSED, ProfileState.OPPOSED])
def test_doc_1_an_upload_into_a_closed_dmp_is_refused_as_closed(state: ProfileState) -> None:
    assert decide_upload(facts(PRO, state=state)).why is Why.DMP_CLOSED
    operator = Requester(RequesterKind.OPERATOR, "insurer")
    assert decide_upload(facts(operator, state=state)).why is Why.DMP_CLOSED
    assert decide_upload(facts(PATIENT, state=state)).why is Why.NO_PROFILE  # no space to feed
    assert decide_upload(facts(JOB)).why is Why.THIRD_PARTY


# -- LC-3: the yearly statement is the daily job's ---------------------------------------------


def test_lc_3_only_the_daily_job_opens_a_record_for_the_statement() -> None:
    for state in (ProfileState.CREATED, ProfileState.ACTIVATED):
        f = facts(JOB, state=state)
        assert decide_open(f, Purpose.STATEMENT, decide_record(f)).why is Why.YEARLY_STATEMENT
        assert not decide_record(f).allowed  # ACC-9: it reads nothing else
    for who in (PATIENT, PRO, PARENT):
        f = facts(who)
        assert not decide_open(f, Purpose.STATEMENT, decide_record(f)).allowed


def test_lc_7_sharing_with_a_second_adult_representative_only() -> None:
    ok = {"invitee_age": 40, "invitee_is_patient": False, "representatives": 1, "already": False}
    assert may_share_with(**ok) is None  # type: ignore[arg-type]
    for change in (
        {"invitee_age": 17},
        {"invitee_is_patient": True},
        {"representatives": 2},
        {"already": True},
    ):
        assert may_share_with(**{**ok, **change}) is Why.ACT_NOT_ALLOWED  # type: ignore[arg-type]


# -- dates (LC-3, LC-5, LC-7) ------------------------------------------------------------------


def test_lc_5_archives_are_kept_ten_years_a_deletion_is_done_within_three_months() -> None:
    assert rules.archive_until(NOW) == NOW.replace(year=2036)
    assert rules.deletion_due(NOW) == datetime(2027, 2, 24, 10, 0, tzinfo=UTC)
    assert rules.add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    closed = ProfileState.CLOSED
    assert rules.destruction_due(closed, NOW, None, None, NOW) is Destruction.RETENTION
    assert rules.destruction_due(closed, NOW + timedelta(1), None, None, NOW) is None
    assert rules.destruction_due(closed, NOW, NOW, None, NOW) is Destruction.REQUEST
    assert rules.destruction_due(closed, NOW, NOW, NOW, NOW) is None  # already done
    assert rules.destruction_due(ProfileState.CREATED, NOW, NOW, None, NOW) is None  # reopened


@given(st.dates(date(1950, 1, 1), date(2030, 12, 31)), st.dates(date(1950, 1, 1), date(2060, 1, 1)))
def test_lc_7_majority_falls_due_once_on_the_18th_birthday(born: date, today: date) -> None:
    created = datetime.combine(born, datetime.min.time(), UTC)
    due = rules.majority_due(born, created, None, today)
    assert due == (age_on(born, today) >= 18)
    assert not rules.majority_due(born, created, NOW, today)  # once
    eighteen = birthday(born, 18)
    adult_made = datetime.combine(eighteen, datetime.min.time(), UTC)
    assert not rules.majority_due(born, adult_made, None, today)  # made for an adult


def test_lc_4_an_attempt_proves_the_person_or_counts_against_the_code() -> None:
    born = date(1985, 4, 12)
    args = {
        "state": ProfileState.CREATED,
        "birth_date": born,
        "given_birth_date": born,
        "expires_at": NOW + timedelta(days=1),
        "age": 41,
        "now": NOW,
    }
    assert rules.activation_proof(**args) is Proof.PROVEN  # type: ignore[arg-type]
    assert rules.activation_proof(**{**args, "given_birth_date": date(1985, 4, 13)}) is Proof.WRONG  # type: ignore[arg-type]
    assert rules.activation_proof(**{**args, "expires_at": NOW}) is Proof.WRONG  # type: ignore[arg-type]
    assert rules.activation_proof(**{**args, "expires_at": None}) is Proof.WRONG  # type: ignore[arg-type]
    assert rules.activation_proof(**{**args, "age": 17}) is Proof.MINOR  # type: ignore[arg-type]
    assert rules.activation_proof(**{**args, "state": ProfileState.ACTIVATED}) is Proof.NOT_CREATED  # type: ignore[arg-type]
    assert [rules.after_wrong_code(n) for n in range(5)] == [
        (1, False),
        (2, False),
        (3, False),
        (4, False),
        (5, True),
    ]


def test_lc_3_a_statement_is_due_once_a_year_to_profiles_without_e_mail() -> None:
    made = datetime(2025, 3, 1, tzinfo=UTC)
    base = {"state": ProfileState.CREATED, "email": None, "created_at": made, "year": 2025}
    assert rules.statement_year(date(2026, 1, 1)) == 2025
    assert rules.statement_due(**base, issued=False)  # type: ignore[arg-type]
    assert not rules.statement_due(**base, issued=True)  # type: ignore[arg-type]
    assert not rules.statement_due(**{**base, "email": "a@b.fr"}, issued=False)  # type: ignore[arg-type]
    assert not rules.statement_due(**{**base, "state": ProfileState.CLOSED}, issued=False)  # type: ignore[arg-type]
    assert not rules.statement_due(**{**base, "year": 2024}, issued=False)  # type: ignore[arg-type]


def test_lc_4_letters_say_what_to_do_in_french_then_english() -> None:
    to = rules.Addressee("285047505601234", "Claire", "MARTIN")
    letter = rules.activation_letter(to, "CODE-123", date(2027, 2, 22), "come_of_age")
    for said in ("18 ans", "CODE-123", "22/02/2027"):
        assert said in letter
    assert "You are 18" in letter
    statement = rules.statement_letter(to, 2025, 3, 2)
    for said in ("Relevé d'activité 2025", "ajoutés à votre dossier : 3", "messagerie santé : 2"):
        assert said in statement
