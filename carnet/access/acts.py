"""The patient's decisions about pros (ACC-2…ACC-6), and what a pro's access leaves behind.

Writes only: whether an act is allowed is ``access.rules``'s (``check_*``), whether the record
may be entered the gate's. Each act is traced through the one trail; an administrator acting at
the patient's request is traced as himself, on behalf of the patient, and the patient is told
(ACC-4).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access import rules
from carnet.access.facts import Relation
from carnet.access.models import AccessSettings, CareRelation
from carnet.access.rules import Why
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.auth.claims import filed_id_nat_ps
from carnet.context import RequestContext
from carnet.identity.labels import pro_label
from carnet.identity.models import Pro
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue

if TYPE_CHECKING:
    from carnet.access.record import Record

#: ACC-6's defaults, for a patient who never touched his switches.
EMERGENCY_SAMU, EMERGENCY_OTHERS, EMERGENCY_MASKED = True, True, False


def settings_row(session: Session, patient_id: str) -> AccessSettings:
    """The patient's settings row, made with ACC-6's defaults the first time one is changed."""
    row = session.get(AccessSettings, patient_id)
    if row is None:
        row = AccessSettings(
            patient_id=patient_id,
            emergency_samu=EMERGENCY_SAMU,
            emergency_others=EMERGENCY_OTHERS,
            emergency_masked=EMERGENCY_MASKED,
            medecin_traitant_rpps=None,
            updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
    return row


def named_pro(rpps: str) -> str:
    """``rpps`` when it is a pro's key as the directory files it (11 RPPS digits, or ``0`` and
    an ADELI number): a key from outside (a patient's act on a pro) that is anything else names
    nobody and is refused before it reaches a row."""
    filed_id_nat_ps(rpps)
    return rpps


def relation_row(session: Session, patient_id: str, rpps: str) -> CareRelation:
    row = session.get(CareRelation, (patient_id, rpps))
    if row is None:
        row = CareRelation(
            patient_id=patient_id,
            rpps=rpps,
            authorised=False,
            authorised_at=None,
            first_access_at=None,
            blocked=False,
            blocked_at=None,
            administrator=False,
            administrator_since=None,
            updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
    return row


def relation_facts(session: Session, patient_id: str, rpps: str) -> Relation:
    """A pro as the patient's settings see him, for the act rules."""
    row = session.get(CareRelation, (patient_id, rpps))
    settings = session.get(AccessSettings, patient_id)
    return Relation(
        authorised=bool(row and row.authorised),
        blocked=bool(row and row.blocked),
        administrator=bool(row and row.administrator),
        medecin_traitant=bool(settings and settings.medecin_traitant_rpps == rpps),
        accessed=bool(row and row.first_access_at),
        formerly_authorised=bool(row and row.authorised_at and not row.authorised),
    )


def label_of(session: Session, rpps: str) -> str:
    return pro_label(session.get(Pro, rpps), rpps)


#: One emergency episode: the patient is told of a pro's emergency access once in it, however
#: many pages the pro reads (each read is traced and in the history all the same).
EMERGENCY_NOTICE_EPISODE = timedelta(hours=12)


def note_pro_access(record: Record) -> None:
    """ACC-2: a first reading under consent or care team puts the pro on the authorised list;
    TR-2: the patient hears of each pro's first access and of every emergency access."""
    session, ctx, entry = record.session, record.ctx, record.entry
    rpps, relation, patient_id = (
        record.facts.requester.actor_id,
        record.facts.relation,
        record.patient_id,
    )
    joins = entry.why in (Why.CONSENT_DECLARED, Why.CARE_TEAM) and not relation.authorised
    if joins or not relation.accessed:
        row = relation_row(session, patient_id, rpps)
        now = clock.now()
        if joins and not row.authorised:
            row.authorised, row.authorised_at, row.updated_at = True, now, now
            if entry.why is Why.CONSENT_DECLARED:
                record.trace(Action.DECLARE_CONSENT, target=rpps)
        if row.first_access_at is None:
            row.first_access_at, row.updated_at = now, now
            enqueue(session, patient_id, Kind.FIRST_ACCESS, {"who": label_of(session, rpps)})
    if entry.emergency:
        row = relation_row(session, patient_id, rpps)
        now = clock.now()
        last = row.emergency_notified_at
        if last is None or now - last >= EMERGENCY_NOTICE_EPISODE:
            row.emergency_notified_at = now
            enqueue(
                session,
                patient_id,
                Kind.EMERGENCY_ACCESS,
                {"who": label_of(session, rpps), "mode": ctx.mode.value},
            )


def _act(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    action: Action,
    rpps: str,
    on_behalf_of: str | None,
    why: Why,
) -> None:
    trail.record(
        session,
        ctx,
        action,
        patient_id=patient_id,
        target=rpps,
        on_behalf_of=on_behalf_of,
        why=why.value,
    )


def _why(ctx: RequestContext, patient_id: str) -> Why:
    return Why.PATIENT if ctx.actor_id == patient_id else Why.REPRESENTATIVE


def block_pro(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    rpps: str,
    *,
    by_administrator: bool = False,
) -> None:
    """ACC-3: blocked, he reads nothing, in emergencies too; he loses authorisation and roles."""
    row = relation_row(session, patient_id, named_pro(rpps))
    row.blocked, row.blocked_at = True, clock.now()
    row.authorised = False
    row.administrator = False
    settings = settings_row(session, patient_id)
    if settings.medecin_traitant_rpps == rpps:
        settings.medecin_traitant_rpps = None
    row.updated_at = clock.now()
    why = Why.ADMINISTRATOR if by_administrator else _why(ctx, patient_id)
    _act(session, ctx, patient_id, Action.BLOCK_PRO, rpps, _behalf(ctx, patient_id), why)
    if by_administrator:
        enqueue(
            session,
            patient_id,
            Kind.BLOCKED_BY_ADMINISTRATOR,
            {"who": label_of(session, ctx.actor_id), "target": label_of(session, rpps)},
        )


def _behalf(ctx: RequestContext, patient_id: str) -> str | None:
    """Who acts for the patient (a representative, an administrator) acts on his behalf."""
    return None if ctx.actor_id == patient_id else patient_id


def unblock_pro(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    """ACC-3: unblocked is not authorised: that waits for the patient's agreement at a consultation."""
    row = relation_row(session, patient_id, named_pro(rpps))
    row.blocked, row.blocked_at = False, None
    row.updated_at = clock.now()
    _act(
        session,
        ctx,
        patient_id,
        Action.UNBLOCK_PRO,
        rpps,
        _behalf(ctx, patient_id),
        _why(ctx, patient_id),
    )


def authorise_pro(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    rules.check_authorise(relation_facts(session, patient_id, rpps))
    row = relation_row(session, patient_id, named_pro(rpps))
    row.authorised, row.authorised_at = True, clock.now()
    row.updated_at = clock.now()
    _act(
        session,
        ctx,
        patient_id,
        Action.AUTHORISE_PRO,
        rpps,
        _behalf(ctx, patient_id),
        _why(ctx, patient_id),
    )


def designate_administrator(
    session: Session, ctx: RequestContext, patient_id: str, rpps: str
) -> None:
    rules.check_designate_administrator(relation_facts(session, patient_id, named_pro(rpps)))
    row = relation_row(session, patient_id, rpps)
    row.administrator, row.administrator_since = True, clock.now()
    row.updated_at = clock.now()
    _act(
        session,
        ctx,
        patient_id,
        Action.DESIGNATE_ADMINISTRATOR,
        rpps,
        _behalf(ctx, patient_id),
        _why(ctx, patient_id),
    )


def revoke_administrator(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    row = relation_row(session, patient_id, named_pro(rpps))
    row.administrator, row.administrator_since = False, None
    row.updated_at = clock.now()
    _act(
        session,
        ctx,
        patient_id,
        Action.REVOKE_ADMINISTRATOR,
        rpps,
        _behalf(ctx, patient_id),
        _why(ctx, patient_id),
    )


def set_medecin_traitant(
    session: Session, ctx: RequestContext, patient_id: str, rpps: str | None
) -> None:
    if rpps is not None:
        pro = session.get(Pro, rpps)
        rules.check_medecin_traitant(
            pro.profession if pro else None, relation_facts(session, patient_id, rpps)
        )
    settings = settings_row(session, patient_id)
    settings.medecin_traitant_rpps = rpps
    settings.updated_at = clock.now()
    _act(
        session,
        ctx,
        patient_id,
        Action.SET_MEDECIN_TRAITANT,
        rpps or "-",
        _behalf(ctx, patient_id),
        _why(ctx, patient_id),
    )


def set_emergency(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    *,
    samu: bool,
    others: bool,
    masked: bool,
) -> AccessSettings:
    rules.check_emergency_settings(samu=samu, others=others, masked=masked)
    settings = settings_row(session, patient_id)
    settings.emergency_samu, settings.emergency_others, settings.emergency_masked = (
        samu,
        others,
        masked,
    )
    settings.updated_at = clock.now()
    trail.record(
        session,
        ctx,
        Action.CHANGE_SETTINGS,
        patient_id=patient_id,
        on_behalf_of=_behalf(ctx, patient_id),
        detail={"samu": samu, "others": others, "masked": masked},
        why=_why(ctx, patient_id).value,
    )
    return settings
