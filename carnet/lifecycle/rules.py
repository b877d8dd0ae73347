"""The profile's life in numbers and words (LC-3…LC-7, LC-6): how long archives are kept, when a
deletion, a majority or a statement falls due, what an activation attempt proves, what the
letters say. Pure: no I/O, time passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from carnet.population.rules import MAJORITY_AGE, ProfileState, birthday

#: LC-5 (seed 001 §5): archived « pour une durée de 10 ans ».
ARCHIVE_YEARS = 10
#: LC-5: a deletion asked at closing is done within three months.
DELETION_MONTHS = 3
#: LC-4: wrong birth dates a code allows; then it is spent and a new one must be issued.
MAX_CODE_FAILURES = 5
#: LC-6: how long a finished export waits to be downloaded.
EXPORT_KEPT = timedelta(days=7)
#: An export builder holds its export this long per page; a builder killed midway loses it
#: then, and another takes the export over (from the start: a zip is written in one go).
EXPORT_LEASE = timedelta(minutes=2)
#: Documents, traces or messages read per transaction while building an export.
EXPORT_PAGE = 200
#: An export that failed this many times is given up (the patient may ask again).
EXPORT_ATTEMPTS = 5


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def archive_until(closed_at: datetime) -> datetime:
    return add_months(closed_at, 12 * ARCHIVE_YEARS)


def deletion_due(asked_at: datetime) -> datetime:
    return add_months(asked_at, DELETION_MONTHS)


class Destruction(StrEnum):
    """Why a space's archives are destroyed (LC-5)."""

    REQUEST = "request"  # the patient asked at closing: done within 3 months
    RETENTION = "retention"  # ten years have passed


def destruction_due(
    state: ProfileState,
    archive_until: datetime | None,
    deletion_due: datetime | None,
    destroyed_at: datetime | None,
    now: datetime,
) -> Destruction | None:
    """LC-5: a closed or opposed space not destroyed yet is destroyed at the first daily run
    after the patient asked (well within the three months), or once ten years have passed."""
    if state not in (ProfileState.CLOSED, ProfileState.OPPOSED) or destroyed_at is not None:
        return None
    if deletion_due is not None:
        return Destruction.REQUEST
    if archive_until is not None and archive_until <= now:
        return Destruction.RETENTION
    return None


def majority_due(
    birth_date: date, created_at: datetime, majority_at: datetime | None, today: date
) -> bool:
    """LC-7: a profile made while its holder was a minor is handed to him once, on or after
    his 18th birthday (a profile made for an adult got its own letter then)."""
    eighteen = birthday(birth_date, MAJORITY_AGE)
    return majority_at is None and eighteen <= today and created_at.date() < eighteen


class Proof(StrEnum):
    """What an activation attempt with a letter's code proves (LC-4)."""

    PROVEN = "proven"
    WRONG = "wrong"  # wrong birth date, expired or spent code: the same answer
    MINOR = "minor"  # LC-7: a minor's space is activated by his representative, never by code
    NOT_CREATED = "not_created"


def activation_proof(
    *,
    state: ProfileState,
    birth_date: date,
    given_birth_date: date,
    expires_at: datetime | None,
    age: int,
    now: datetime,
) -> Proof:
    if expires_at is None or expires_at <= now or birth_date != given_birth_date:
        return Proof.WRONG
    if state is not ProfileState.CREATED:
        return Proof.NOT_CREATED
    if age < MAJORITY_AGE:
        return Proof.MINOR
    return Proof.PROVEN


def after_wrong_code(failures: int) -> tuple[int, bool]:
    """LC-4: the count of wrong tries after one more, and whether the code is now spent."""
    failures += 1
    return failures, failures >= MAX_CODE_FAILURES


class RequestKind(StrEnum):
    """A patient's request that reaches the operator (LC-4, LC-6)."""

    ACTIVATION_CODE = "activation_code"
    RECTIFICATION = "rectification"
    LIMITATION = "limitation"
    OPPOSITION = "opposition"


#: What the patient may ask in his space (an activation code is asked from the log-in page).
RIGHTS_REQUESTS = frozenset({RequestKind.RECTIFICATION, RequestKind.LIMITATION})
MAX_REQUEST_TEXT = 2000


def statement_year(today: date) -> int:
    """LC-3: from 1 January, the statement of the year before is due."""
    return today.year - 1


def statement_due(
    *,
    state: ProfileState,
    email: str | None,
    created_at: datetime,
    year: int,
    issued: bool,
) -> bool:
    """LC-3: a profile that receives, with no e-mail known, that existed during ``year``, and
    has not had that year's statement yet."""
    receives = state in (ProfileState.CREATED, ProfileState.ACTIVATED)
    return receives and not email and created_at.year <= year and not issued


# ------------------------------------------------------------------------------------------
# Letters for the operator to print (LC-3, LC-4, LC-5, LC-7): French first, then English
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Addressee:
    ins: str
    first_names: str
    birth_names: str


_WHY_LETTER = {
    "import": ("Votre profil Mon espace santé a été créé.", "Your health space was created."),
    "reissue": ("Voici un nouveau code d'activation.", "Here is a new activation code."),
    "reopen": ("Votre profil Mon espace santé est rouvert.", "Your health space is reopened."),
    "come_of_age": (
        "Vous avez 18 ans : votre espace santé est désormais le vôtre seul. Vous y "
        "retrouverez l'ensemble des documents qui vous concernent.",
        "You are 18: your health space is now yours alone, with every document about you.",
    ),
}


def activation_letter(to: Addressee, code: str, expires: date, reason: str) -> str:
    fr, en = _WHY_LETTER[reason]
    return (
        f"{to.first_names} {to.birth_names}\nMatricule INS : {to.ins}\n\n"
        f"{fr}\nPour l'activer, rendez-vous sur la page « Activer mon profil » avec ce code et "
        f"votre date de naissance :\n\n    {code}\n\nCe code est valable jusqu'au "
        f"{expires:%d/%m/%Y}. Perdu ou expiré ? Demandez-en un nouveau depuis la page de "
        f"connexion.\n\n---\n{en} To activate it, open « Activate my profile » with this code "
        f"and your birth date: {code} (valid until {expires.isoformat()}).\n"
    )


def statement_letter(to: Addressee, year: int, documents: int, messages: int) -> str:
    return (
        f"{to.first_names} {to.birth_names}\nMatricule INS : {to.ins}\n\n"
        f"Relevé d'activité {year} de votre espace santé\n\n"
        f"Documents ajoutés à votre dossier : {documents}\n"
        f"Messages reçus dans votre messagerie santé : {messages}\n\n"
        "Pour les consulter, activez votre profil (un code vous est adressé sur demande depuis "
        "la page de connexion). Vous recevez ce relevé car nous ne connaissons pas votre adresse "
        "e-mail.\n\n---\n"
        f"Activity statement {year}: {documents} documents added, {messages} messages received. "
        "Activate your profile to read them.\n"
    )
