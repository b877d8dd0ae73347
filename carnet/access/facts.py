"""What the access decision looks at: small frozen facts, loaded once per request by the gate."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

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
    #: The platform's own daily jobs (LC-3 statements): never a reader of anyone's record.
    SYSTEM = "system"


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
    #: He has read this record before (ACC-4 needs it to name him administrator; TR-2 to tell
    #: the patient of a first access only once).
    accessed: bool = False
    #: He was on the authorised list once and is no longer (TD0.2 ``EXPIRE``).
    formerly_authorised: bool = False


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


class DocumentView(Protocol):
    """What the decision reads of a document. ``DocumentFacts``, and a stored document's row
    as listings fetch it, both answer it: a listing decides its rows as they come."""

    @property
    def type_code(self) -> str: ...
    @property
    def author_id(self) -> str: ...
    @property
    def masked(self) -> bool: ...
    @property
    def invisible_patient(self) -> bool: ...
    @property
    def invisible_representatives(self) -> bool: ...
    @property
    def status(self) -> str: ...


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
