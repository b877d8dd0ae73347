"""Spaces one manages (LC-7, LC-8): a legal representative or a guardian of the person
activates the space through his own log-in — no credential is ever set on the managed person's
row — answering the SAMU question (ACC-6); a minor's representative shares it with a second."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import acts
from carnet.access.rules import LifeAct, may_share_with
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.lifecycle.service import open_for
from carnet.lifecycle.transitions import move
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.rules import Change, RepresentativeKind, age_on
from carnet.population.service import (
    add_representative,
    patient_by_id,
    patient_by_ins,
    representatives_of,
)
from carnet.runtime import Runtime


def activate_for(
    rt: Runtime, ctx: RequestContext, patient_id: str, *, emergency_samu: bool | None
) -> None:
    """LC-7, LC-8: a legal representative (or a guardian of the person) activates the space he
    manages through his own log-in — no credential is ever set on the managed person's row —
    answering the SAMU question for him (ACC-6: asked, nothing pre-selected)."""
    samu = samu_answer(emergency_samu)
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.ACTIVATE)
        patient = record.identity()
        move(
            session,
            ctx,
            patient,
            Change.ACTIVATE,
            why=record.opening.why,
            on_behalf_of=record.on_behalf_of,
        )
        patient.activation_code_hash = patient.activation_expires_at = None
        patient.activation_failures = 0
        answer_samu(session, ctx, patient.id, samu)


def samu_answer(answer: bool | None) -> bool:
    if answer is None:
        raise Invalid(
            "Indiquez si vous acceptez que le SAMU (centre 15) accède à votre dossier en "
            "urgence : oui ou non.",
            "Say whether the SAMU (centre 15) may access the record in an emergency: yes or no.",
            code="samu_question",
        )
    return answer


def answer_samu(session: Session, ctx: RequestContext, patient_id: str, samu: bool) -> None:
    """ACC-6 at activation: the SAMU switch as answered; the others as they were (defaults)."""
    row = acts.settings_row(session, patient_id)
    others = row.emergency_others
    acts.set_emergency(
        session,
        ctx,
        patient_id,
        samu=samu,
        others=others,
        masked=row.emergency_masked and (samu or others),
    )


def share_profile(
    rt: Runtime, ctx: RequestContext, patient_id: str, *, ins: str, birth_date: date
) -> None:
    """LC-7: a minor's legal representative shares the space with a second one (seed 001
    « Partage du profil »): an adult of the register, named by his INS and birth date (a typo
    finds no one). He then manages it through his own log-in, like the first."""
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.SHARE)
        invitee = patient_by_ins(session, ins.strip().upper())
        if invitee is None or invitee.birth_date != birth_date:
            raise Invalid(
                "Aucune personne ne correspond à ce matricule INS et à cette date de naissance.",
                "No one matches this INS and birth date.",
                code="unknown_person",
            )
        links = representatives_of(session, patient_id)
        legal = [i for i, kind in links if kind == RepresentativeKind.LEGAL_REPRESENTATIVE.value]
        refused = may_share_with(
            invitee_age=age_on(invitee.birth_date, clock.today()),
            invitee_is_patient=invitee.id == patient_id,
            representatives=len(legal),
            already=invitee.ins in {i for i, _ in links},
        )
        if refused is not None:
            record.refuse(
                Action.SHARE_PROFILE,
                refused,
                target=invitee.id,
                refusal=Invalid(
                    "Ce partage n'est pas possible : un adulte, qui ne gère pas déjà ce profil, "
                    "deux représentants au plus.",
                    "This sharing is not possible: an adult, not already managing this "
                    "profile, two representatives at most.",
                    code="share_refused",
                ),
            )
        sharer = patient_by_id(session, ctx.actor_id)
        assert sharer is not None  # the gate let him in as a representative
        add_representative(
            session,
            patient_id,
            invitee.ins,
            RepresentativeKind.LEGAL_REPRESENTATIVE,
            shared_by=sharer.ins,
        )
        record.trace(Action.SHARE_PROFILE, target=invitee.id)
        enqueue(session, invitee.id, Kind.PROFILE_SHARED, {})
