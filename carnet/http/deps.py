"""Request-scoped dependencies: the runtime, the verified caller, the access context."""

from __future__ import annotations

import contextlib
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Request

from carnet.auth.claims import PatientClaims, ProClaims
from carnet.auth.verify import TokenVerifier
from carnet.context import AccessMode, Door, RequestContext
from carnet.errors import Forbidden, Invalid, Unauthenticated
from carnet.population.insi import RateLimiter
from carnet.population.service import person_id_for_ins
from carnet.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.insi_limiter
    return limiter


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated(
            "Jeton d'accès manquant (en-tête Authorization: Bearer).",
            "Missing access token (Authorization: Bearer header).",
            code="token_missing",
        )
    return authorization[7:].strip()


def header_text(value: str | None) -> str | None:
    """A free-text header (the emergency reason) in French: percent-encoded UTF-8 (what clients
    that only send ASCII headers do), or raw UTF-8 bytes (which Starlette hands over as latin-1)."""
    if value is None:
        return None
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    return unquote(value) if "%" in value else value


def _door(request: Request) -> Door:
    return Door.FHIR if request.url.path.startswith("/fhir") else Door.API


def pro_context(
    request: Request,
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    authorization: Annotated[str | None, Header()] = None,
    x_access_mode: Annotated[str | None, Header()] = None,
    x_access_reason: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """A pro's request, with its access mode from the DMP's headers (INTERFACES.md)."""
    claims = verifier.verify(_bearer(authorization))
    if not isinstance(claims, ProClaims):
        raise Forbidden("Réservé aux professionnels de santé.", "For health professionals only.")
    try:
        mode = AccessMode(x_access_mode or AccessMode.NORMAL.value)
    except ValueError:
        raise Invalid(
            "X-Access-Mode : normal, bris-de-glace ou centre-de-regulation.",
            "X-Access-Mode: normal, bris-de-glace or centre-de-regulation.",
            code="bad_access_mode",
        ) from None
    return RequestContext.for_pro(
        claims.rpps,
        claims.profession,
        claims.specialty,
        claims.level,
        door=_door(request),
        mode=mode,
        reason=header_text(x_access_reason),
    )


def patient_context(
    request: Request,
    runtime: RuntimeDep,
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    authorization: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """A person of the register acting for himself or for someone he represents."""
    claims = verifier.verify(_bearer(authorization))
    if not isinstance(claims, PatientClaims):
        raise Forbidden("Réservé aux usagers.", "For patients only.")
    person_id = person_id_for_ins(runtime.uow, claims.ins)
    if person_id is None:
        raise Unauthenticated("Usager inconnu.", "Unknown patient.", code="unknown_patient")
    return RequestContext.for_patient(person_id, door=_door(request))


ProCtx = Annotated[RequestContext, Depends(pro_context)]
PatientCtx = Annotated[RequestContext, Depends(patient_context)]


def any_context(
    request: Request,
    runtime: RuntimeDep,
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    authorization: Annotated[str | None, Header()] = None,
    x_access_mode: Annotated[str | None, Header()] = None,
    x_access_reason: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """Either a pro or a patient (FHIR AuditEvent serves both)."""
    claims = verifier.verify(_bearer(authorization))
    if isinstance(claims, ProClaims):
        return pro_context(request, verifier, authorization, x_access_mode, x_access_reason)
    return patient_context(request, runtime, verifier, authorization)


AnyCtx = Annotated[RequestContext, Depends(any_context)]
