"""Pro-side use cases around the record: finding a patient (PDSm TD0.2), declaring consent
(ACC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carnet.access import gate
from carnet.access.rules import Authorisation, Purpose, authorisation_status
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.errors import Forbidden, NotFound
from carnet.identity.ins import validate_ins
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime

__all__ = ["Authorisation", "FoundPatient", "declare_consent", "find_patient"]


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
        try:
            record = gate.open(
                session, rt, ctx, purpose=Purpose.LOOKUP, action=Action.FIND_PATIENT, ins=ins
            )
        except NotFound:
            raise NotFound(
                "Aucun dossier pour ce matricule INS.", "No record for this INS."
            ) from None
        record.trace(Action.FIND_PATIENT)
        patient = record.identity()
        active = patient.state in (ProfileState.CREATED, ProfileState.ACTIVATED)
        return FoundPatient(
            patient, active, authorisation_status(record.facts.relation), patient.closed_at
        )


def declare_consent(
    rt: Runtime, ctx: RequestContext, patient_id: str | None = None, ins: str | None = None
) -> str:
    """ACC-2: the ticked box. Entering the record with it puts the pro on the authorised list."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.READ,
            action=Action.DECLARE_CONSENT,
            patient_id=patient_id,
            ins=ins,
            declares_consent=True,
        )
        if not record.entry.allowed:
            record.refuse(Action.DECLARE_CONSENT, record.entry.why)
        return record.patient_id
