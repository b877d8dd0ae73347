"""The profile's life, use cases (LC-5…LC-9): closing and opposing from the patient's side,
reopening and new codes from the operator's, activating or sharing a space one manages.

Each owns its transaction. The patient's side comes through the gate (``Purpose.LIFECYCLE``,
then ``rules.decide_life`` for the act); the operator acts on the register by INS. A change of
state always goes through ``transitions.move`` (the one table, traced, notified).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import update
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access.record import Record
from carnet.access.rules import LifeAct, Purpose, Why, decide_life
from carnet.access.wording import why_text
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.uow import after_commit
from carnet.errors import Forbidden, Invalid, NotFound
from carnet.ids import new_id
from carnet.lifecycle import rules, sweep
from carnet.lifecycle.letters import write_letter
from carnet.lifecycle.models import LifeRequest
from carnet.lifecycle.rules import Addressee, RequestKind
from carnet.lifecycle.space_data import Deleted, delete_space_data
from carnet.lifecycle.transitions import move
from carnet.messaging.inbound import forget_recipient
from carnet.messaging.rules import patient_address
from carnet.population.models import Patient
from carnet.population.rules import Change, ProfileState
from carnet.population.service import (
    OPPOSED_BY_OPERATOR,
    OPPOSED_BY_PATIENT,
    Letter,
    new_code,
    patient_by_ins,
)
from carnet.runtime import Runtime

_ACTS = {
    LifeAct.CLOSE: Action.CLOSE_PROFILE,
    LifeAct.OPPOSE: Action.OPPOSE_PROFILE,
    LifeAct.ACTIVATE: Action.ACTIVATE_PROFILE,
    LifeAct.SHARE: Action.SHARE_PROFILE,
    LifeAct.EXPORT: Action.REQUEST_EXPORT,
    LifeAct.REQUEST: Action.RECORD_REQUEST,
}


def open_for(
    session: Session, rt: Runtime, ctx: RequestContext, patient_id: str, act: LifeAct
) -> Record:
    """The record opened for an act on the profile's life, the act decided (refused: traced,
    and told plainly — the requester already sees this space)."""
    action = _ACTS[act]
    record = gate.open(
        session, rt, ctx, purpose=Purpose.LIFECYCLE, action=action, patient_id=patient_id
    )
    decision = decide_life(record.facts, act)
    if not decision.allowed:
        fr = why_text(decision.why.value) or "refusé"
        en = why_text(decision.why.value, english=True) or "refused"
        record.refuse(
            action,
            decision.why,
            refusal=Forbidden(fr[0].upper() + fr[1:] + ".", en[0].upper() + en[1:] + "."),
        )
    return record


def _confirmed(confirm: bool, what: str, what_en: str) -> None:
    if not confirm:
        raise Invalid(
            f"Confirmez d'abord : {what} ne se défait pas en ligne.",
            f"Confirm first: {what_en} cannot be undone online.",
            code="confirmation_required",
        )


@dataclass(frozen=True)
class Shut:
    """A space closed or opposed: what went at once, and until when the rest is archived."""

    state: ProfileState
    deleted: Deleted
    archive_until: str
    deletion_due: str | None


def shut(
    session: Session,
    rt: Runtime,
    ctx: RequestContext,
    patient: Patient,
    change: Change,
    *,
    why: Why,
    on_behalf_of: str | None = None,
    delete_archives: bool = False,
) -> Shut:
    """LC-5 (closing) and LC-1, LC-6 (opposing), in the caller's transaction: the state first
    (the machine may refuse), then the space's data deleted at once, the archives dated, the
    person's credentials gone (reopening sends a new letter). Blobs and exports are deleted
    from disk once it commits."""
    state = move(
        session,
        ctx,
        patient,
        change,
        why=why,
        on_behalf_of=on_behalf_of,
        detail={"delete_archives": delete_archives} if delete_archives else None,
    )
    now = clock.now()
    deleted = delete_space_data(session, patient.id)
    if patient.archive_until is None or patient.destroyed_at is not None:
        patient.archive_until = rules.archive_until(now)
    if delete_archives and patient.destroyed_at is None:
        patient.deletion_due = rules.deletion_due(now)
    patient.password_hash = None
    patient.activation_code_hash = patient.activation_expires_at = None
    patient.activation_failures = 0
    after_commit(
        session, partial(sweep.remove_exports, rt.settings, patient.id, tuple(deleted.exports))
    )
    after_commit(session, partial(_sweep_quietly, rt))
    address = patient_address(patient.ins, rt.settings.patient_mail_domain)
    after_commit(session, partial(forget_recipient, rt, address, patient.id))
    due = patient.deletion_due.isoformat() if patient.deletion_due else None
    return Shut(state, deleted, patient.archive_until.isoformat(), due)


def _sweep_quietly(rt: Runtime) -> None:
    """After the commit: the blobs just doomed go now; a failure waits for the daily job."""
    try:
        sweep.sweep_doomed(rt)
    except Exception:  # the rows are committed; the daily job sweeps again
        sweep.log.exception("sweep_failed")


def close_profile(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    *,
    confirm: bool,
    delete_archives: bool = False,
) -> Shut:
    """LC-5: the patient closes his profile (or his representative, LC-7; a guardian of the
    person, LC-8). At once the medical profile, the measures and the mailbox are deleted; the
    documents and traces are archived for 10 years, unreadable by anyone — or deleted within 3
    months when asked now (``delete_archives``)."""
    _confirmed(confirm, "la clôture", "closing")
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.CLOSE)
        return shut(
            session,
            rt,
            ctx,
            record.identity(),
            Change.CLOSE,
            why=record.opening.why,
            on_behalf_of=record.on_behalf_of,
            delete_archives=delete_archives,
        )


def oppose_profile(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    *,
    confirm: bool,
    delete_archives: bool = False,
) -> Shut:
    """LC-6: opposition, at any time, in the space itself: the same effects as closing, and the
    operator's feed never creates the profile again (``opposed_by``); recorded for the operator
    (``carnet population requests``). LC-9: nothing outside the space is touched."""
    _confirmed(confirm, "l'opposition", "opposing")
    with rt.transaction() as session:
        record = open_for(session, rt, ctx, patient_id, LifeAct.OPPOSE)
        patient = record.identity()
        closed = shut(
            session,
            rt,
            ctx,
            patient,
            Change.OPPOSE,
            why=record.opening.why,
            on_behalf_of=record.on_behalf_of,
            delete_archives=delete_archives,
        )
        patient.opposed_by = OPPOSED_BY_PATIENT
        now = clock.now()
        session.add(
            LifeRequest(
                patient_id=patient.id,
                id=new_id(),
                kind=RequestKind.OPPOSITION.value,
                text=None,
                made_by=ctx.actor_id,
                created_at=now,
                done_at=now,  # done at once: for the operator's information
            )
        )
        return closed


def oppose_from_feed(session: Session, rt: Runtime, ctx: RequestContext, patient: Patient) -> None:
    """LC-1: the operator's feed marks an existing profile opposed: the same effects."""
    shut(session, rt, ctx, patient, Change.OPPOSE, why=Why.OPERATOR_FEED)
    patient.opposed_by = OPPOSED_BY_OPERATOR


# ------------------------------------------------------------------------------------------
# The operator (LC-4, LC-5)
# ------------------------------------------------------------------------------------------


def _person(session: Session, ins: str) -> Patient:
    patient = patient_by_ins(session, ins.strip().upper())
    if patient is None:
        raise NotFound("Aucun profil pour ce matricule.", "No profile for this INS.")
    return patient


def _letter(rt: Runtime, patient: Patient, letter: Letter, reason: str) -> None:
    """The letter is on disk before the new code commits: a crash in between leaves a letter
    whose code never worked, replaced by the next one under the same name."""
    text = rules.activation_letter(
        Addressee(patient.ins, patient.first_names, patient.birth_names),
        letter.code,
        letter.expires,
        reason,
    )
    write_letter(rt.settings, ("activation",), f"{patient.id}.txt", text)


def reopen_profile(rt: Runtime, ins: str) -> Letter:
    """LC-5: the operator reopens a closed (or, at the person's request, opposed) profile: it
    is *created* again with a new activation letter, and the archived documents and history
    are back as soon as it is activated. A deletion still pending is cancelled (the person
    asked to come back); destroyed archives do not come back."""
    ctx = RequestContext.operator()
    with rt.transaction() as session:
        patient = _person(session, ins)
        cancelled = patient.deletion_due is not None and patient.destroyed_at is None
        move(
            session,
            ctx,
            patient,
            Change.REOPEN,
            why=Why.OPERATOR_ACT,
            detail={"deletion_cancelled": True} if cancelled else None,
        )
        patient.archive_until = patient.deletion_due = None
        letter = new_code(patient, days=rt.settings.activation_code_days)
        _letter(rt, patient, letter, "reopen")
        return letter


def reissue_code(rt: Runtime, ins: str) -> Letter:
    """LC-4: a new activation code for a created profile (a lost or expired letter, a spent
    code); the earlier one stops working. The person's pending request, if any, is done."""
    ctx = RequestContext.operator()
    with rt.transaction() as session:
        patient = _person(session, ins)
        if patient.state != ProfileState.CREATED.value:
            raise Invalid(
                "Seul un profil créé, pas encore activé, reçoit un code d'activation.",
                "Only a created, not yet activated, profile gets an activation code.",
                code=f"profile_{patient.state}",
            )
        letter = new_code(patient, days=rt.settings.activation_code_days)
        trail.record(
            session,
            ctx,
            Action.ISSUE_ACTIVATION_CODE,
            patient_id=patient.id,
            why=Why.OPERATOR_ACT.value,
        )
        _close_requests(session, patient.id, RequestKind.ACTIVATION_CODE)
        _letter(rt, patient, letter, "reissue")
        return letter


def _close_requests(session: Session, patient_id: str, kind: RequestKind) -> None:
    session.execute(
        update(LifeRequest)
        .where(
            LifeRequest.patient_id == patient_id,
            LifeRequest.kind == kind.value,
            LifeRequest.done_at.is_(None),
        )
        .values(done_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
