"""Refusals as JSON: ``{"error", "message" (French), "message_en"}`` (INTERFACES.md), or as an
OperationOutcome on the FHIR door."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from carnet.errors import Refusal
from carnet.http.fhir.response import FhirResponse, operation_outcome


def refusal_body(code: str, fr: str, en: str) -> dict[str, str]:
    return {"error": code, "message": fr, "message_en": en}


def _answer(request: Request, status: int, code: str, fr: str, en: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if request.url.path.startswith("/fhir"):
        return FhirResponse(
            operation_outcome(status, code, fr, en), status_code=status, headers=headers
        )
    return JSONResponse(refusal_body(code, fr, en), status_code=status, headers=headers)


HTTP_TEXTS = {
    404: ("not_found", "Ressource introuvable.", "Not found."),
    405: ("not_supported", "Méthode non prise en charge.", "Method not allowed."),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def on_refusal(request: Request, exc: Refusal) -> Response:
        return _answer(request, exc.status, exc.code, exc.fr, exc.en)

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

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        code, fr, en = HTTP_TEXTS.get(
            exc.status_code, ("http_error", "Requête refusée.", "Request refused.")
        )
        return _answer(request, exc.status_code, code, fr, en)
