"""Pro-side use cases around the record: finding a patient (PDSm TD0.2), declaring consent
(ACC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from carnet.access import gate
from carnet.access.rules import (
    Authorisation,
    Decision,
    Purpose,
    Why,
    authorisation_status,
    emergency_offers,
)
from carnet.audit.rules import Action
from carnet.context import AccessMode, RequestContext
from carnet.errors import Forbidden, NotFound
from carnet.identity.ins import InsStatus, validate_ins
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.runtime import Runtime

__all__ = [
    "Authorisation",
    "DeclaredConsent",
    "FoundPatient",
    "PatientBanner",
    "declare_consent",
    "find_patient",
    "patient_banner",
    "read_consent",
    "read_patient",
]


@dataclass(frozen=True)
class FoundPatient:
    patient: Patient
    active: bool
    authorisation: Authorisation
    closed_at: datetime | None
    #: A pro's view (TD0.2, with his authorisation status); else the patient's side's own.
    for_pro: bool = True


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


def read_patient(rt: Runtime, ctx: RequestContext, patient_id: str) -> FoundPatient:
    """FHIR ``Patient/{id}`` (issue 16): what the caller may know of the patient, traced — for a
    pro, what TD0.2 tells him by INS, reached by the id Carnet's own references carry; for the
    patient's side (himself, who acts for him), his own space. Anyone else, and an opposed
    person, is answered like an unknown id."""
    purpose = Purpose.LOOKUP if ctx.pro is not None else Purpose.SPACE
    with rt.transaction() as session:
        record = gate.open(
            session, rt, ctx, purpose=purpose, action=Action.FIND_PATIENT, patient_id=patient_id
        )
        record.trace(Action.FIND_PATIENT)
        patient = record.identity()
        active = patient.state in (ProfileState.CREATED, ProfileState.ACTIVATED)
        return FoundPatient(
            patient,
            active,
            authorisation_status(record.facts.relation),
            patient.closed_at,
            for_pro=record.is_pro,
        )


@dataclass(frozen=True)
class DeclaredConsent:
    """ACC-2 as FHIR ``Consent`` shows it: the pro's own declaration, and whether it holds."""

    patient_id: str
    rpps: str
    active: bool


def read_consent(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> DeclaredConsent:
    """The consent a pro declared (the ``Location`` of his ``POST Consent``), for him alone: his
    status on the record says whether it still holds (``EXPIRE`` once he left the list). Any
    other pro, a patient, a pro who never declared one: answered like an absent one."""
    if ctx.pro is None or ctx.pro.rpps != rpps:
        raise NotFound()
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.LOOKUP,
            action=Action.FIND_PATIENT,
            ins=None,
            patient_id=patient_id,
        )
        status = authorisation_status(record.facts.relation)
        if status is Authorisation.NON_EXISTE:
            record.refuse(Action.FIND_PATIENT, Why.ABSENT)
        record.trace(Action.FIND_PATIENT)
        return DeclaredConsent(record.patient_id, rpps, status is Authorisation.VALIDE)


@dataclass(frozen=True)
class PatientBanner:
    """Who the patient is, shown at the top of every page of his record in the pro portal: the
    pro checks he has the right patient before reading or writing (identitovigilance)."""

    ins: str
    ins_status: str
    birth_names: str
    used_name: str | None
    first_names: str
    birth_date: date
    sex: str

    #: The record's decision in the pro's current mode (``rules.decide_record``): whether he
    #: is let in, why, and whether as an emergency — the page says it, never more.
    entry: Decision
    #: The emergency modes to offer him (``rules.emergency_offers``).
    offers: frozenset[AccessMode]
    #: He administers the record at the patient's request (ACC-4): he may mask (DOC-4).
    administrator: bool = False

    @property
    def qualified(self) -> bool:
        """ID-3: an INS checked against the five traits (INSi) and recorded as such."""
        return self.ins_status == InsStatus.QUALIFIEE.value


def patient_banner(rt: Runtime, ctx: RequestContext, patient_id: str) -> PatientBanner | None:
    """The identity traits of a patient the pro has found (PDSm TD0.2: the record's existence is
    his to know), read through the record handle; ``None`` when there is no record for him. Not
    traced on its own: it is shown beside the page's read, which is."""
    with rt.transaction() as session:
        try:
            record = gate.open(
                session,
                rt,
                ctx,
                purpose=Purpose.LOOKUP,
                action=Action.FIND_PATIENT,
                patient_id=patient_id,
            )
        except NotFound:
            return None
        p = record.identity()
        return PatientBanner(
            p.ins,
            p.ins_status,
            p.birth_names,
            p.used_name,
            p.first_names,
            p.birth_date,
            p.sex,
            record.entry,
            emergency_offers(record.facts),
            record.facts.relation.administrator,
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
