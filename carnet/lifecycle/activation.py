"""LC-4: activating one's profile with the letter's code and one's birth date, at any time.

A wrong birth date with a valid code counts: after ``MAX_CODE_FAILURES`` the code is spent and a
new one must be issued (``carnet population reissue-code``, or a request from the log-in page);
a wrong, expired or spent code answers the same. The SAMU question is asked and answered there
(ACC-6: nothing pre-selected). LC-7: a minor's space is never activated by code — his
representative activates it through his own log-in — so a minor's row never holds credentials.
"""

from __future__ import annotations

from datetime import date

from argon2 import PasswordHasher

from carnet import clock
from carnet.access.rules import Why
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.lifecycle import rules
from carnet.lifecycle.managed import answer_samu, samu_answer
from carnet.lifecycle.rules import Proof
from carnet.lifecycle.transitions import move
from carnet.population.models import Patient
from carnet.population.rules import Change, ProfileState, age_on
from carnet.population.service import patient_by_code
from carnet.runtime import Runtime

_hasher = PasswordHasher()
REFUSED = (
    "Code d'activation ou date de naissance incorrects, ou code expiré ou épuisé : après "
    "5 essais, demandez un nouveau code depuis la page de connexion.",
    "Wrong activation code or birth date, or expired or spent code: after 5 tries, ask for "
    "a new code from the log-in page.",
)
MINOR = (
    "Ce profil est celui d'un mineur : son représentant légal l'active depuis son propre "
    "espace. À 18 ans, un courrier d'activation lui est adressé.",
    "This is a minor's profile: his legal representative activates it from his own space. At "
    "18, an activation letter is sent to him.",
)


def activate_profile(
    rt: Runtime,
    ctx: RequestContext,
    *,
    code: str,
    birth_date: date,
    email: str,
    password: str,
    emergency_samu: bool | None,
) -> Patient:
    """The code and the birth date prove identity; the e-mail and the password are the
    patient's from then on, and his answer to the SAMU question his first setting. A failed
    try is traced and committed before the refusal is raised."""
    samu = samu_answer(emergency_samu)
    if "@" not in email or len(password) < 12:
        raise Invalid(
            "Une adresse e-mail valide et un mot de passe d'au moins 12 caractères sont "
            "nécessaires.",
            "A valid e-mail and a password of at least 12 characters are needed.",
            code="bad_credentials",
        )
    with rt.transaction() as session:
        patient = patient_by_code(session, code)
        now = clock.now()
        proof = Proof.WRONG
        if patient is not None:
            proof = rules.activation_proof(
                state=ProfileState(patient.state),
                birth_date=patient.birth_date,
                given_birth_date=birth_date,
                expires_at=patient.activation_expires_at,
                age=age_on(patient.birth_date, now.date()),
                now=now,
            )
        if patient is not None and proof is not Proof.PROVEN:
            detail: dict[str, object] = {"proof": proof.value}
            if proof is Proof.WRONG:
                patient.activation_failures, spent = rules.after_wrong_code(
                    patient.activation_failures
                )
                if spent:  # LC-4: five wrong tries, the code is spent
                    patient.activation_code_hash = patient.activation_expires_at = None
                    detail["spent"] = True
            trail.record(
                session,
                ctx,
                Action.ACTIVATE_PROFILE,
                patient_id=patient.id,
                outcome=Outcome.DENIED,
                why=(Why.NOT_A_MINOR if proof is Proof.MINOR else Why.ACT_NOT_ALLOWED).value,
                detail=detail,
            )
        elif patient is not None:
            own = RequestContext.for_patient(patient.id, door=ctx.door)
            move(session, own, patient, Change.ACTIVATE, why=Why.PATIENT)
            patient.activation_code_hash = patient.activation_expires_at = None  # single use
            patient.activation_failures = 0
            patient.email = email.strip()
            patient.password_hash = _hasher.hash(password)
            answer_samu(session, own, patient.id, samu)
    if proof is Proof.MINOR:
        raise Invalid(*MINOR, code="minor_profile")
    if patient is None or proof is not Proof.PROVEN:
        raise Invalid(*REFUSED, code="activation_refused")
    return patient
