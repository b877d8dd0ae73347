"""Identity use cases for pros: look an INS up by traits, qualify it (ID-3)."""

from __future__ import annotations

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.db.uow import UnitOfWork
from carnet.errors import Forbidden, NotFound
from carnet.identity.ins import InsStatus, validate_ins
from carnet.identity.traits import Traits
from carnet.population.insi import InsiAnswer, RateLimiter, look_up
from carnet.population.models import InsQualification
from carnet.population.service import patient_by_ins


def find_ins(
    uow: UnitOfWork, ctx: RequestContext, limiter: RateLimiter, traits: Traits
) -> InsiAnswer:
    """The INSi-like teleservice: traced on the patient's chain when found, on the system one if not."""
    if ctx.pro is None:
        raise Forbidden("Réservé aux professionnels.", "For professionals only.")
    limiter.check(ctx.actor_id)
    with uow.transaction() as session:
        answer = look_up(session, traits)
        patient = patient_by_ins(session, answer.ins) if answer else None
        trail.record(
            session,
            ctx,
            Action.FIND_PATIENT,
            patient_id=patient.id if patient else None,
            outcome=Outcome.ALLOWED if answer else Outcome.DENIED,
        )
    if answer is None:
        raise NotFound(
            "Aucune identité ne correspond à ces traits.", "No identity matches these traits."
        )
    return answer


def qualify_ins(uow: UnitOfWork, ctx: RequestContext, ins: str, traits: Traits) -> InsStatus:
    """ID-3: the pro's copy of the identity becomes qualified when the five traits match the
    register's; the qualification is recorded once."""
    if ctx.pro is None:
        raise Forbidden("Réservé aux professionnels.", "For professionals only.")
    ins = validate_ins(ins)
    with uow.transaction() as session:
        patient = patient_by_ins(session, ins)
        if patient is None:
            raise NotFound("Matricule INS inconnu.", "Unknown INS.")
        matches = traits.matches(
            Traits(
                patient.birth_names,
                patient.first_names,
                traits.sex.__class__(patient.sex),
                patient.birth_date,
                patient.birth_place,
            )
        )
        trail.record(
            session,
            ctx,
            Action.QUALIFY_INS,
            patient_id=patient.id,
            outcome=Outcome.ALLOWED if matches else Outcome.DENIED,
        )
        if not matches:
            return InsStatus.PROVISOIRE
        if session.get(InsQualification, (patient.id, ctx.actor_id)) is None:
            session.add(
                InsQualification(
                    patient_id=patient.id, rpps=ctx.actor_id, qualified_at=clock.now(), active=True
                )
            )
        return InsStatus.QUALIFIEE
