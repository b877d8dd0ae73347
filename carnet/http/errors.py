"""Refusals as JSON: ``{"error", "message" (French), "message_en"}`` (INTERFACES.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from carnet.errors import Refusal


def refusal_body(code: str, fr: str, en: str) -> dict[str, str]:
    return {"error": code, "message": fr, "message_en": en}


def install(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def on_refusal(_: Request, exc: Refusal) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            refusal_body(exc.code, exc.fr, exc.en), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(
            ".".join(str(p) for p in e.get("loc", ())[1:]) or "?" for e in exc.errors()
        )
        return JSONResponse(
            refusal_body(
                "invalid_request",
                f"Requête invalide : vérifiez {fields}.",
                f"Invalid request: check {fields}.",
            ),
            status_code=422,
        )
