"""Profile lifecycle rules (LC-1, LC-2, LC-4): pure functions, time passed in.

Who may act for a patient (LC-7, LC-8) is an access decision: ``access.rules.acts_for_patient``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

MAJORITY_AGE = 18


class ProfileState(StrEnum):
    CREATED = "created"
    ACTIVATED = "activated"
    OPPOSED = "opposed"
    CLOSED = "closed"


class RepresentativeKind(StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    GUARDIAN_OF_PERSON = "guardian_of_person"
    GUARDIAN_OF_PROPERTY = "guardian_of_property"


#: LC-2: the states a profile may go to from each state. Opposition is the operator's (LC-1);
#: a closed profile may be reopened (LC-5); an opposed person may later ask for a profile.
TRANSITIONS: dict[ProfileState, frozenset[ProfileState]] = {
    ProfileState.CREATED: frozenset(
        {ProfileState.ACTIVATED, ProfileState.OPPOSED, ProfileState.CLOSED}
    ),
    ProfileState.ACTIVATED: frozenset({ProfileState.CLOSED, ProfileState.OPPOSED}),
    ProfileState.OPPOSED: frozenset({ProfileState.CREATED}),
    ProfileState.CLOSED: frozenset({ProfileState.ACTIVATED, ProfileState.CREATED}),
}


def may_transition(current: ProfileState, target: ProfileState) -> bool:
    return target in TRANSITIONS[current]


def age_on(birth_date: date, today: date) -> int:
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def is_minor(birth_date: date, today: date) -> bool:
    return age_on(birth_date, today) < MAJORITY_AGE


def receives_data(state: ProfileState) -> bool:
    """LC-3: a created profile receives documents and messages, like an activated one."""
    return state in (ProfileState.CREATED, ProfileState.ACTIVATED)
