"""Profile lifecycle rules (LC-1, LC-2, LC-4, LC-5, LC-7): pure functions, time passed in.

Who may act for a patient (LC-7, LC-8) is an access decision: ``access.rules.acts_for_patient``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from carnet.errors import Conflict

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


class Change(StrEnum):
    """Each way a profile changes state: the name its trace and its notification carry."""

    ACTIVATE = "activate"  # LC-4: the code and the birth date, or a representative (LC-7, LC-8)
    CLOSE = "close"  # LC-5: the patient, a representative, a guardian of the person (LC-8)
    OPPOSE = "oppose"  # LC-1 from the operator's feed, LC-6 by the patient in his space
    WITHDRAW_OPPOSITION = "withdraw_opposition"  # LC-1: the feed no longer says opposed
    REOPEN = "reopen"  # LC-5: the operator reopens; a new activation letter
    COME_OF_AGE = "come_of_age"  # LC-7: at 18 the young adult activates for himself


#: LC-2: the states a profile may go to from each state — the one table every change of state
#: is checked against (``check_transition``). A created or activated profile may be closed or
#: opposed; a closed one reopened (as *created*: a new letter, LC-5) or opposed; an opposed one
#: may be created again; an activated minor's profile becomes *created* again at 18 (LC-7:
#: nobody has activated it as the young adult yet).
TRANSITIONS: dict[ProfileState, frozenset[ProfileState]] = {
    ProfileState.CREATED: frozenset(
        {ProfileState.ACTIVATED, ProfileState.OPPOSED, ProfileState.CLOSED}
    ),
    ProfileState.ACTIVATED: frozenset(
        {ProfileState.CLOSED, ProfileState.OPPOSED, ProfileState.CREATED}
    ),
    ProfileState.OPPOSED: frozenset({ProfileState.CREATED}),
    ProfileState.CLOSED: frozenset({ProfileState.CREATED, ProfileState.OPPOSED}),
}

#: Where each change leads, and from which states (a subset of ``TRANSITIONS``).
CHANGES: dict[Change, tuple[frozenset[ProfileState], ProfileState]] = {
    Change.ACTIVATE: (frozenset({ProfileState.CREATED}), ProfileState.ACTIVATED),
    Change.CLOSE: (frozenset({ProfileState.CREATED, ProfileState.ACTIVATED}), ProfileState.CLOSED),
    Change.OPPOSE: (
        frozenset({ProfileState.CREATED, ProfileState.ACTIVATED, ProfileState.CLOSED}),
        ProfileState.OPPOSED,
    ),
    Change.WITHDRAW_OPPOSITION: (frozenset({ProfileState.OPPOSED}), ProfileState.CREATED),
    Change.REOPEN: (frozenset({ProfileState.CLOSED, ProfileState.OPPOSED}), ProfileState.CREATED),
    Change.COME_OF_AGE: (frozenset({ProfileState.ACTIVATED}), ProfileState.CREATED),
}

_NOT_NOW: dict[ProfileState, tuple[str, str]] = {
    ProfileState.CREATED: (
        "Ce profil n'est pas encore activé.",
        "This profile is not activated yet.",
    ),
    ProfileState.ACTIVATED: ("Ce profil est déjà activé.", "This profile is already activated."),
    ProfileState.OPPOSED: (
        "Cette personne s'est opposée à son profil : il n'existe pas.",
        "This person opposed the profile: it does not exist.",
    ),
    ProfileState.CLOSED: ("Ce profil est clôturé.", "This profile is closed."),
}


def may_transition(current: ProfileState, target: ProfileState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: ProfileState, change: Change) -> ProfileState:
    """The state ``change`` leads to from ``current``; ``Conflict`` (saying where the profile
    stands) when the machine has no such edge."""
    sources, target = CHANGES[change]
    if current not in sources or not may_transition(current, target):
        fr, en = _NOT_NOW[current]
        raise Conflict(fr, en, code=f"profile_{current.value}")
    return target


def age_on(birth_date: date, today: date) -> int:
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def birthday(birth_date: date, age: int) -> date:
    """The day one turns ``age`` (a 29 February birthday falls on 1 March in common years)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return date(birth_date.year + age, 3, 1)


def is_minor(birth_date: date, today: date) -> bool:
    return age_on(birth_date, today) < MAJORITY_AGE


def receives_data(state: ProfileState) -> bool:
    """LC-3: a created profile receives documents and messages, like an activated one."""
    return state in (ProfileState.CREATED, ProfileState.ACTIVATED)
