"""Turning rows into the decision's facts: once per request, for a bounded record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.facts import (
    AccessRequest,
    DocumentFacts,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.models import AccessSettings, CareRelation
from carnet.context import ActorKind, RequestContext
from carnet.identity.models import Pro
from carnet.population.models import Patient, Representative
from carnet.population.rules import ProfileState, age_on
from carnet.records.models import Document

_REPRESENTATIVE_KINDS = {k.value: k for k in RequesterKind}


def settings_of(session: Session, patient_id: str) -> AccessSettings:
    row = session.get(AccessSettings, patient_id)
    if row is None:
        row = AccessSettings(
            patient_id=patient_id,
            emergency_samu=True,
            emergency_others=True,
            emergency_masked=False,
            medecin_traitant_rpps=None,
            updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
    return row


def requester_for(session: Session, ctx: RequestContext, patient: Patient) -> Requester:
    if ctx.kind is ActorKind.PRO and ctx.pro is not None:
        pro = session.get(Pro, ctx.pro.rpps)
        return Requester(
            kind=RequesterKind.PRO,
            actor_id=ctx.pro.rpps,
            profession=ctx.pro.profession,
            specialty=ctx.pro.specialty,
            level=ctx.pro.level,
            samu_regulator=bool(pro and pro.samu_regulator),
        )
    if ctx.kind is ActorKind.PATIENT:
        if ctx.actor_id == patient.id:
            return Requester(kind=RequesterKind.PATIENT, actor_id=patient.id)
        actor = session.get(Patient, ctx.actor_id)
        link = session.get(Representative, (patient.id, actor.ins)) if actor is not None else None
        if link is not None:
            return Requester(
                kind=_REPRESENTATIVE_KINDS[link.kind],
                actor_id=ctx.actor_id,
                represents_patient=True,
            )
    if ctx.kind is ActorKind.OPERATOR:
        return Requester(kind=RequesterKind.OPERATOR, actor_id=ctx.actor_id)
    return Requester(kind=RequesterKind.THIRD_PARTY, actor_id=ctx.actor_id)


def relation_of(session: Session, patient_id: str, rpps: str, settings: AccessSettings) -> Relation:
    row = session.get(CareRelation, (patient_id, rpps))
    return Relation(
        authorised=bool(row and row.authorised),
        blocked=bool(row and row.blocked),
        administrator=bool(row and row.administrator),
        medecin_traitant=settings.medecin_traitant_rpps == rpps,
    )


def record_facts(
    session: Session, ctx: RequestContext, patient: Patient, *, declares_consent: bool = False
) -> RecordFacts:
    settings = settings_of(session, patient.id)
    requester = requester_for(session, ctx, patient)
    relation = (
        relation_of(session, patient.id, requester.actor_id, settings)
        if requester.kind is RequesterKind.PRO
        else Relation()
    )
    return RecordFacts(
        requester=requester,
        relation=relation,
        patient=PatientFacts(
            age=age_on(patient.birth_date, clock.today()),
            state=ProfileState(patient.state),
            emergency_samu=settings.emergency_samu,
            emergency_others=settings.emergency_others,
            emergency_masked=settings.emergency_masked,
        ),
        request=AccessRequest(mode=ctx.mode, reason=ctx.reason, declares_consent=declares_consent),
    )


def document_facts(document: Document) -> DocumentFacts:
    return DocumentFacts(
        type_code=document.type_code,
        author_id=document.author_id,
        masked=document.masked,
        invisible_patient=document.invisible_patient,
        invisible_representatives=document.invisible_representatives,
        status=document.status,
    )


def patient_documents(session: Session, patient_id: str) -> list[Document]:
    """A patient's record is bounded (hundreds of documents): fetched whole, then decided."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.patient_id == patient_id, Document.status != "deleted")
            .order_by(Document.created_at.desc(), Document.id)
        )
    )
