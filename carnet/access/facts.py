"""What the access decision looks at: small frozen facts, loaded once per request by the gate."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carnet.context import AccessMode, AuthLevel
from carnet.population.rules import ProfileState


class RequesterKind(StrEnum):
    PATIENT = "patient"
    LEGAL_REPRESENTATIVE = "legal_representative"
    GUARDIAN_OF_PERSON = "guardian_of_person"
    GUARDIAN_OF_PROPERTY = "guardian_of_property"
    PRO = "pro"
    OPERATOR = "operator"
    THIRD_PARTY = "third_party"


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks. For representatives and guardians, ``represents_patient`` says the mandate is
    for this patient; for pros, the fields after it come from the token and the directory."""

    kind: RequesterKind
    actor_id: str = ""
    represents_patient: bool = False
    profession: str = ""
    specialty: str | None = None
    level: AuthLevel = AuthLevel.CPS
    samu_regulator: bool = False


@dataclass(frozen=True, slots=True)
class Relation:
    """The pro as the patient's settings see him (ACC-2…ACC-5)."""

    authorised: bool = False
    blocked: bool = False
    administrator: bool = False
    medecin_traitant: bool = False


@dataclass(frozen=True, slots=True)
class PatientFacts:
    age: int
    state: ProfileState
    emergency_samu: bool = True
    emergency_others: bool = True
    emergency_masked: bool = False


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    type_code: str
    author_id: str
    masked: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    status: str = "current"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    mode: AccessMode = AccessMode.NORMAL
    reason: str | None = None
    declares_consent: bool = False


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """Everything but the document: enough to decide whether the record may be entered at all."""

    requester: Requester
    relation: Relation
    patient: PatientFacts
    request: AccessRequest
