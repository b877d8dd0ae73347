"""Request-scoped dependencies: the runtime, the verified caller, the access context."""

from __future__ import annotations

import contextlib
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from carnet.auth.claims import Claims, PatientClaims, ProClaims
from carnet.auth.verify import TokenVerifier
from carnet.context import AccessMode, Door, RequestContext
from carnet.errors import Forbidden, Invalid, Unauthenticated
from carnet.population.insi import RateLimiter
from carnet.population.service import person_id_for_ins
from carnet.runtime import Runtime
from carnet.texts import checked_reason


async def get_runtime(request: Request) -> Runtime:
    """Async, as every dependency that does no I/O: a sync one costs a trip through the
    thread pool, which under load means a wait in its queue (issue 19)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def verifier_of(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.insi_limiter
    return limiter


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


CLAIMS_STATE = "claims"
"""Where ``http.intake`` leaves the claims it verified before reading the body."""


def bearer_token(authorization: str | None) -> str:
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
    path: str = request.scope["path"]  # not request.url: building a URL costs more than this
    return Door.FHIR if path.startswith("/fhir") else Door.API


async def claims_of(request: Request, authorization: str | None) -> Claims:
    """The verified caller. Async: a token whose key the provider must first give waits for it
    (at most its timeout) on the event loop, holding none of the threads other requests need.
    A request with a body had its token verified before the body was read (``http.intake``).

    A helper the context dependencies call, not a dependency of its own: FastAPI solves each
    dependency's parameters at every request (~25 µs each, issue 19), and the pros' and
    patients' contexts are on every request of the API and FHIR."""
    verified: Claims | None = getattr(request.state, CLAIMS_STATE, None)
    if verified is not None:
        return verified
    return await verifier_of(request).verify_async(bearer_token(authorization))


def _pro(
    request: Request,
    claims: Claims,
    x_access_mode: str | None,
    x_access_reason: str | None,
) -> RequestContext:
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
        reason=checked_reason(header_text(x_access_reason)),
    )


async def pro_context(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_access_mode: Annotated[str | None, Header()] = None,
    x_access_reason: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """A pro's request, with its access mode from the DMP's headers (INTERFACES.md)."""
    claims = await claims_of(request, authorization)
    return _pro(request, claims, x_access_mode, x_access_reason)


async def _patient(request: Request, claims: Claims, authorization: str | None) -> RequestContext:
    """The register's id of the token's INS: looked up once per token (then remembered for
    its life by the verifier), in a worker thread since it reads the database."""
    if not isinstance(claims, PatientClaims):
        raise Forbidden("Réservé aux usagers.", "For patients only.")
    verifier, token = verifier_of(request), bearer_token(authorization)
    person_id = verifier.identity(token)
    if person_id is None:
        runtime: Runtime = request.app.state.runtime
        person_id = await run_in_threadpool(person_id_for_ins, runtime.uow, claims.ins)
        if person_id is None:
            raise Unauthenticated("Usager inconnu.", "Unknown patient.", code="unknown_patient")
        verifier.remember_identity(token, person_id)
    return RequestContext.for_patient(person_id, door=_door(request))


async def patient_context(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> RequestContext:
    """A person of the register acting for himself or for someone he represents."""
    claims = await claims_of(request, authorization)
    return await _patient(request, claims, authorization)


ProCtx = Annotated[RequestContext, Depends(pro_context)]
PatientCtx = Annotated[RequestContext, Depends(patient_context)]


async def any_context(
    request: Request,
    x_access_mode: Annotated[str | None, Header()] = None,
    x_access_reason: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> RequestContext:
    """Either a pro or a patient (FHIR AuditEvent serves both)."""
    claims = await claims_of(request, authorization)
    if isinstance(claims, ProClaims):
        return _pro(request, claims, x_access_mode, x_access_reason)
    return await _patient(request, claims, authorization)


AnyCtx = Annotated[RequestContext, Depends(any_context)]
