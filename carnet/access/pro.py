"""Pro-side use cases around the record: finding a patient, declaring consent (ACC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from carnet.access import gate
from carnet.access.loading import relation_of, settings_of
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Forbidden, NotFound
from carnet.identity.ins import validate_ins
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime


class Authorisation(StrEnum):
    """The DMP's authorisation status of the calling pro on a record (TD0.2)."""

    VALIDE = "VALIDE"
    NON_EXISTE = "NON_EXISTE"
    INTERDIT = "INTERDIT"
    EXPIRE = "EXPIRE"


@dataclass(frozen=True)
class FoundPatient:
    patient: Patient
    active: bool
    authorisation: Authorisation
    closed_at: datetime | None


def find_patient(rt: Runtime, ctx: RequestContext, ins: str) -> FoundPatient:
    """The record's existence and the caller's status on it, traced. Opposed answers like unknown."""
    if ctx.pro is None:
        raise Forbidden("Réservé aux professionnels de santé.", "For health professionals only.")
    ins = validate_ins(ins)
    with rt.transaction() as session:
        patient = session.execute(select(Patient).where(Patient.ins == ins)).scalar_one_or_none()
        if patient is None or patient.state == ProfileState.OPPOSED:
            raise NotFound("Aucun dossier pour ce matricule INS.", "No record for this INS.")
        relation = relation_of(session, patient.id, ctx.pro.rpps, settings_of(session, patient.id))
        if relation.blocked:
            status = Authorisation.INTERDIT
        elif relation.authorised or relation.administrator or relation.medecin_traitant:
            status = Authorisation.VALIDE
        else:
            status = Authorisation.NON_EXISTE
        trail.record(session, ctx, Action.FIND_PATIENT, patient_id=patient.id)
        active = patient.state in (ProfileState.CREATED, ProfileState.ACTIVATED)
        return FoundPatient(patient, active, status, patient.closed_at)


def declare_consent(
    rt: Runtime, ctx: RequestContext, patient_id: str | None = None, ins: str | None = None
) -> str:
    """ACC-2: the ticked box. Entering the record with it puts the pro on the authorised list."""
    with rt.transaction() as session:
        record = gate.open_record(
            session,
            ctx,
            matrix_for(rt.settings),
            patient_id=patient_id,
            ins=ins,
            action=Action.DECLARE_CONSENT,
            declares_consent=True,
        )
        if not record.entry.allowed:
            raise gate.not_found()
        return record.patient.id
