"""Refusals as JSON: ``{"error", "message" (French), "message_en"}`` (INTERFACES.md), or as an
OperationOutcome on the FHIR door."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from carnet.errors import LevelTooLow, ProviderUnavailable, Refusal
from carnet.http.fhir.response import FhirResponse, operation_outcome
from carnet.logs import get_logger

log = get_logger(__name__)


def refusal_body(code: str, fr: str, en: str) -> dict[str, str]:
    return {"error": code, "message": fr, "message_en": en}


def refusal_headers(refusal: Refusal) -> dict[str, str]:
    """``Retry-After`` when the provider is away; ``WWW-Authenticate`` on 401 (RFC 6750)."""
    if isinstance(refusal, ProviderUnavailable):
        return {"Retry-After": str(refusal.retry_after)}
    if refusal.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    return {}


def _answer(
    request: Request,
    status: int,
    code: str,
    fr: str,
    en: str,
    headers: dict[str, str] | None = None,
    issue: str | None = None,
) -> Response:
    if headers is None and status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if request.url.path.startswith("/fhir"):
        return FhirResponse(
            operation_outcome(status, code, fr, en, issue=issue),
            status_code=status,
            headers=headers,
        )
    return JSONResponse(refusal_body(code, fr, en), status_code=status, headers=headers)


HTTP_TEXTS = {
    404: ("not_found", "Ressource introuvable.", "Not found."),
    405: ("not_supported", "Méthode non prise en charge.", "Method not allowed."),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def on_refusal(request: Request, exc: Refusal) -> Response:
        issue = "security" if isinstance(exc, LevelTooLow) else None
        return _answer(
            request, exc.status, exc.code, exc.fr, exc.en, refusal_headers(exc) or None, issue
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(
            ".".join(str(p) for p in e.get("loc", ())[1:]) or "?" for e in exc.errors()
        )
        return _answer(
            request,
            422,
            "invalid_request",
            f"Requête invalide : vérifiez {fields}.",
            f"Invalid request: check {fields}.",
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        """A bug is still answered in the agreed shape; the log names the error's type only."""
        log.error(
            "unexpected_error", error=type(exc).__name__, path=request.url.path.split("/")[1:3]
        )
        return _answer(
            request,
            500,
            "internal_error",
            "Erreur interne : l'exploitant est alerté. Rien n'a été enregistré pour cette requête.",
            "Internal error: the operator is alerted. Nothing was recorded for this request.",
        )

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        code, fr, en = HTTP_TEXTS.get(
            exc.status_code, ("http_error", "Requête refusée.", "Request refused.")
        )
        return _answer(request, exc.status_code, code, fr, en)
