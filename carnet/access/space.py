"""Use cases of the patient's space about who sees what (ACC-2…ACC-6), and his notifications.

Each opens the record through the gate first: a representative acts for a minor, a guardian of
the person for a protected adult; anyone else finds nothing. Administrators act from the pro side
at the patient's request (ACC-4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import gate
from carnet.access import service as acts
from carnet.access.history import PROFESSIONS
from carnet.access.loading import settings_of
from carnet.access.matrix import matrix_for
from carnet.access.models import AccessSettings
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import Forbidden
from carnet.identity.models import Pro
from carnet.notify.models import Notification
from carnet.population.models import Patient, Representative
from carnet.population.rules import RepresentativeKind, representative_acts
from carnet.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class Space:
    patient_id: str
    first_names: str
    birth_names: str
    relation: str
    state: str


@dataclass(frozen=True)
class ProRelation:
    rpps: str
    label: str
    profession: str | None
    authorised: bool
    blocked: bool
    administrator: bool
    medecin_traitant: bool
    first_access_at: datetime | None


def my_spaces(rt: Runtime, ctx: RequestContext) -> list[Space]:
    """The person's own space and those he may act on (LC-7, LC-8), for the space switcher."""
    with rt.transaction() as session:
        me = session.get(Patient, ctx.actor_id)
        if me is None:
            return []
        spaces = [Space(me.id, me.first_names, me.birth_names, "self", me.state)]
        links = session.execute(
            select(Representative, Patient)
            .join(Patient, Patient.id == Representative.patient_id)
            .where(Representative.representative_ins == me.ins)
        )
        for link, patient in links:
            if representative_acts(
                RepresentativeKind(link.kind), patient.birth_date, clock.today()
            ):
                spaces.append(
                    Space(
                        patient.id,
                        patient.first_names,
                        patient.birth_names,
                        link.kind,
                        patient.state,
                    )
                )
        return spaces


def _as_patient_side(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    action: Action,
    work: Callable[[Session], T],
) -> T:
    with rt.transaction() as session:
        gate.open_patient_space(
            session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=action
        )
        return work(session)


def block(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    _as_patient_side(
        rt, ctx, patient_id, Action.BLOCK_PRO, lambda s: acts.block_pro(s, ctx, patient_id, rpps)
    )


def unblock(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.UNBLOCK_PRO,
        lambda s: acts.unblock_pro(s, ctx, patient_id, rpps),
    )


def authorise(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.AUTHORISE_PRO,
        lambda s: acts.authorise_pro(s, ctx, patient_id, rpps),
    )


def designate_administrator(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.DESIGNATE_ADMINISTRATOR,
        lambda s: acts.designate_administrator(s, ctx, patient_id, rpps),
    )


def revoke_administrator(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.REVOKE_ADMINISTRATOR,
        lambda s: acts.revoke_administrator(s, ctx, patient_id, rpps),
    )


def set_medecin_traitant(
    rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str | None
) -> None:
    _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.SET_MEDECIN_TRAITANT,
        lambda s: acts.set_medecin_traitant(s, ctx, patient_id, rpps),
    )


def set_emergency(
    rt: Runtime, ctx: RequestContext, patient_id: str, *, samu: bool, others: bool, masked: bool
) -> AccessSettings:
    return _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.CHANGE_SETTINGS,
        lambda s: acts.set_emergency(s, ctx, patient_id, samu=samu, others=others, masked=masked),
    )


def settings(rt: Runtime, ctx: RequestContext, patient_id: str) -> AccessSettings:
    return _as_patient_side(
        rt, ctx, patient_id, Action.READ_SETTINGS, lambda s: settings_of(s, patient_id)
    )


def relations(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[ProRelation]:
    def work(session: Session) -> list[ProRelation]:
        mt = settings_of(session, patient_id).medecin_traitant_rpps
        rows = acts.relations_of(session, patient_id)
        pros = {
            p.rpps: p
            for p in session.scalars(
                select(Pro).where(Pro.rpps.in_([r.rpps for r in rows] + [mt or ""]))
            )
        }
        out = [
            ProRelation(
                r.rpps,
                acts.pro_label(session, r.rpps),
                PROFESSIONS.get(pros[r.rpps].profession) if r.rpps in pros else None,
                r.authorised,
                r.blocked,
                r.administrator,
                r.rpps == mt,
                r.first_access_at,
            )
            for r in rows
        ]
        if mt and all(r.rpps != mt for r in rows):
            out.append(
                ProRelation(
                    mt, acts.pro_label(session, mt), "médecin", False, False, False, True, None
                )
            )
        return out

    return _as_patient_side(rt, ctx, patient_id, Action.READ_SETTINGS, work)


def notifications(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[Notification]:
    return _as_patient_side(
        rt,
        ctx,
        patient_id,
        Action.READ_NOTIFICATIONS,
        lambda s: list(
            s.scalars(
                select(Notification)
                .where(Notification.patient_id == patient_id)
                .order_by(Notification.created_at.desc())
                .limit(200)
            )
        ),
    )


def mark_notification_read(
    rt: Runtime, ctx: RequestContext, patient_id: str, notification_id: str
) -> None:
    def work(session: Session) -> None:
        row = session.get(Notification, (patient_id, notification_id))
        if row is None:
            raise gate.not_found()
        row.read_at = row.read_at or clock.now()

    _as_patient_side(rt, ctx, patient_id, Action.READ_NOTIFICATIONS, work)


def block_at_patients_request(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    """ACC-4: an administrator blocks another pro at the patient's request: traced, shown to him."""
    with rt.transaction() as session:
        record = gate.open_record(
            session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=Action.BLOCK_PRO
        )
        if (
            not (record.entry.allowed and record.facts.relation.administrator)
            or rpps == ctx.actor_id
        ):
            trail.record(
                session,
                ctx,
                Action.BLOCK_PRO,
                patient_id=patient_id,
                outcome=Outcome.DENIED,
                target=rpps,
            )
            refusal = Forbidden(
                "Seul un administrateur du profil bloque un autre professionnel, à la demande du patient.",
                "Only an administrator of the profile blocks another professional, at the patient's request.",
            )
            refusal.keep_changes = True
            raise refusal
        acts.block_pro(session, ctx, patient_id, rpps, by_administrator=True)
