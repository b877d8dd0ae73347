"""Who acts, for whom, through which door, in which mode: built once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from carnet.ids import new_id


class ActorKind(StrEnum):
    PATIENT = "patient"
    PRO = "pro"
    OPERATOR = "operator"
    SYSTEM = "system"


class AccessMode(StrEnum):
    NORMAL = "normal"
    BRIS_DE_GLACE = "bris-de-glace"
    CENTRE_DE_REGULATION = "centre-de-regulation"


class AuthLevel(StrEnum):
    CPS = "cps"
    E_CPS = "e-cps"
    CPE = "cpe"


class Door(StrEnum):
    API = "api"
    FHIR = "fhir"
    WEB = "web"
    SMTP = "smtp"
    CLI = "cli"
    JOB = "job"


@dataclass(frozen=True)
class ProIdentity:
    rpps: str
    profession: str
    specialty: str | None
    level: AuthLevel


@dataclass(frozen=True)
class RequestContext:
    """``actor_id`` is a patient id for patients (and their representatives), an RPPS for pros."""

    kind: ActorKind
    actor_id: str
    door: Door
    pro: ProIdentity | None = None
    mode: AccessMode = AccessMode.NORMAL
    reason: str | None = None
    request_id: str = field(default_factory=new_id)

    @staticmethod
    def operator(door: Door = Door.CLI) -> RequestContext:
        return RequestContext(kind=ActorKind.OPERATOR, actor_id="operator", door=door)

    @staticmethod
    def for_pro(
        rpps: str,
        profession: str,
        specialty: str | None = None,
        level: AuthLevel = AuthLevel.CPS,
        door: Door = Door.API,
        mode: AccessMode = AccessMode.NORMAL,
        reason: str | None = None,
    ) -> RequestContext:
        return RequestContext(
            kind=ActorKind.PRO,
            actor_id=rpps,
            door=door,
            pro=ProIdentity(rpps, profession, specialty, level),
            mode=mode,
            reason=reason,
        )

    @staticmethod
    def for_patient(person_id: str, door: Door = Door.API) -> RequestContext:
        return RequestContext(kind=ActorKind.PATIENT, actor_id=person_id, door=door)
