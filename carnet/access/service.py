"""The patient's decisions about pros (ACC-2…ACC-6), and what a pro's access leaves behind.

Each act is traced through the one trail; an administrator acting at the patient's request is
traced as himself, on behalf of the patient, and the patient is told (ACC-4).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.facts import RecordFacts
from carnet.access.loading import settings_of
from carnet.access.models import AccessSettings, CareRelation
from carnet.access.rules import Decision, Why
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.identity.models import Pro
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.models import PatientRef


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


def pro_label(session: Session, rpps: str) -> str:
    pro = session.get(Pro, rpps)
    if pro is None:
        return f"Le professionnel RPPS {rpps}"
    return f"{pro.civility or ''} {pro.first_name} {pro.last_name}".strip()


def note_pro_access(
    session: Session, ctx: RequestContext, patient: PatientRef, facts: RecordFacts, entry: Decision
) -> None:
    """ACC-2: a first reading under consent or care team puts the pro on the authorised list;
    TR-2: the patient hears of each pro's first access and of every emergency access."""
    rpps, relation = facts.requester.actor_id, facts.relation
    joins = entry.why in (Why.CONSENT_DECLARED, Why.CARE_TEAM) and not relation.authorised
    if joins or not relation.accessed:
        _note_relation(session, ctx, patient, rpps, entry)
    if entry.emergency:
        enqueue(
            session,
            patient.id,
            Kind.EMERGENCY_ACCESS,
            {"who": pro_label(session, rpps), "mode": ctx.mode.value},
        )


def _note_relation(
    session: Session, ctx: RequestContext, patient: PatientRef, rpps: str, entry: Decision
) -> None:
    row = relation_row(session, patient.id, rpps)
    now = clock.now()
    if entry.why in (Why.CONSENT_DECLARED, Why.CARE_TEAM) and not row.authorised:
        row.authorised, row.authorised_at, row.updated_at = True, now, now
        if entry.why is Why.CONSENT_DECLARED:
            trail.record(session, ctx, Action.DECLARE_CONSENT, patient_id=patient.id, target=rpps)
    if row.first_access_at is None:
        row.first_access_at, row.updated_at = now, now
        enqueue(session, patient.id, Kind.FIRST_ACCESS, {"who": pro_label(session, rpps)})


def _act(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    action: Action,
    rpps: str,
    on_behalf_of: str | None,
) -> None:
    trail.record(
        session, ctx, action, patient_id=patient_id, target=rpps, on_behalf_of=on_behalf_of
    )


def block_pro(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    rpps: str,
    *,
    by_administrator: bool = False,
) -> None:
    """ACC-3: blocked, he reads nothing, in emergencies too; he loses authorisation and roles."""
    row = relation_row(session, patient_id, rpps)
    row.blocked, row.blocked_at = True, clock.now()
    row.authorised = False
    row.administrator = False
    settings = settings_of(session, patient_id)
    if settings.medecin_traitant_rpps == rpps:
        settings.medecin_traitant_rpps = None
    row.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.BLOCK_PRO, rpps, patient_id if by_administrator else None)
    if by_administrator:
        enqueue(
            session,
            patient_id,
            Kind.BLOCKED_BY_ADMINISTRATOR,
            {"who": pro_label(session, ctx.actor_id), "target": pro_label(session, rpps)},
        )


def unblock_pro(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    """ACC-3: unblocked is not authorised: that waits for the patient's agreement at a consultation."""
    row = relation_row(session, patient_id, rpps)
    row.blocked, row.blocked_at = False, None
    row.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.UNBLOCK_PRO, rpps, None)


def authorise_pro(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    row = relation_row(session, patient_id, rpps)
    if row.blocked:
        raise Invalid(
            "Débloquez d'abord ce professionnel.",
            "Unblock this professional first.",
            code="blocked",
        )
    row.authorised, row.authorised_at = True, clock.now()
    row.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.AUTHORISE_PRO, rpps, None)


def designate_administrator(
    session: Session, ctx: RequestContext, patient_id: str, rpps: str
) -> None:
    """ACC-4: only a pro who has already accessed the profile, and is not blocked."""
    row = session.get(CareRelation, (patient_id, rpps))
    if row is None or row.first_access_at is None or row.blocked:
        raise Invalid(
            "Seul un professionnel ayant déjà accédé à votre profil peut devenir administrateur.",
            "Only a professional who has already accessed your profile can become administrator.",
            code="not_accessed",
        )
    row.administrator, row.administrator_since = True, clock.now()
    row.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.DESIGNATE_ADMINISTRATOR, rpps, None)


def revoke_administrator(session: Session, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    row = relation_row(session, patient_id, rpps)
    row.administrator, row.administrator_since = False, None
    row.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.REVOKE_ADMINISTRATOR, rpps, None)


def set_medecin_traitant(
    session: Session, ctx: RequestContext, patient_id: str, rpps: str | None
) -> None:
    """ACC-5. The médecin traitant is a médecin (profession 10) known to the directory."""
    if rpps is not None:
        pro = session.get(Pro, rpps)
        if pro is None or pro.profession != "10":
            raise Invalid(
                "Le médecin traitant doit être un médecin connu de l'annuaire.",
                "The médecin traitant must be a physician known to the directory.",
                code="not_a_physician",
            )
        if relation_row(session, patient_id, rpps).blocked:
            raise Invalid("Ce médecin est bloqué.", "This physician is blocked.", code="blocked")
    settings = settings_of(session, patient_id)
    settings.medecin_traitant_rpps = rpps
    settings.updated_at = clock.now()
    _act(session, ctx, patient_id, Action.SET_MEDECIN_TRAITANT, rpps or "-", None)


def set_emergency(
    session: Session,
    ctx: RequestContext,
    patient_id: str,
    *,
    samu: bool,
    others: bool,
    masked: bool,
) -> AccessSettings:
    """ACC-6: "may see my masked documents" is settable only while one of the first two is on."""
    if masked and not (samu or others):
        raise Invalid(
            "L'accès d'urgence aux documents masqués suppose qu'un accès d'urgence soit autorisé.",
            "Emergency access to masked documents needs one emergency access to be allowed.",
            code="masked_needs_emergency",
        )
    settings = settings_of(session, patient_id)
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
        detail={"samu": samu, "others": others, "masked": masked},
    )
    return settings


def relations_of(session: Session, patient_id: str) -> list[CareRelation]:
    return list(
        session.scalars(
            select(CareRelation)
            .where(CareRelation.patient_id == patient_id)
            .order_by(CareRelation.first_access_at.desc())
        )
    )
