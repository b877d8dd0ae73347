"""Refusals as JSON: ``{"error", "message" (French), "message_en"}`` (INTERFACES.md), or as an
OperationOutcome on the FHIR door."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from carnet.db.uow import Commits, counting_commits
from carnet.errors import DatabaseUnavailable, LevelTooLow, Refusal, TryLater
from carnet.http.fhir.response import FhirResponse, operation_outcome
from carnet.http.headers import add_defaults
from carnet.logs import get_logger
from carnet.web.render import render

log = get_logger(__name__)


def refusal_body(code: str, fr: str, en: str) -> dict[str, str]:
    return {"error": code, "message": fr, "message_en": en}


def refusal_headers(refusal: Refusal) -> dict[str, str]:
    """``Retry-After`` when trying later may succeed (the provider is away, the database busy
    or reconnecting); ``WWW-Authenticate`` on 401 (RFC 6750)."""
    if isinstance(refusal, TryLater):
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


DISCONNECTED = DatabaseUnavailable(
    "Connexion à la base de données perdue ; rien n'a été enregistré : réessayez.",
    "Database connection lost; nothing was recorded: try again.",
    retry_after=1,
)

HTTP_TEXTS = {
    404: ("not_found", "Ressource introuvable.", "Not found."),
    405: ("not_supported", "Méthode non prise en charge.", "Method not allowed."),
}


class CommitCounting:
    """Counts each request's commits (``db.uow.counting_commits``) into ``request.state``: a
    pure ASGI middleware, so the count reaches the threads the request's use cases run in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with counting_commits() as commits:
            scope.setdefault("state", {})["commits"] = commits
            await self.app(scope, receive, send)


def _committed(request: Request) -> bool:
    commits = getattr(request.state, "commits", None)
    return not isinstance(commits, Commits) or commits.count > 0


def refusal_response(request: Request, exc: Refusal) -> Response:
    issue = "security" if isinstance(exc, LevelTooLow) else None
    return _answer(
        request, exc.status, exc.code, exc.fr, exc.en, refusal_headers(exc) or None, issue
    )


NOT_PAGES = ("/api/", "/fhir", "/docs", "/openapi.json", "/metrics", "/healthz", "/static/")


def door_refusal(request: Request, exc: Refusal) -> Response:
    """A refusal given before the route (``http.intake``): an error page on the web pages
    (someone in a browser sent a form too large), the door's shape elsewhere."""
    if request.url.path.startswith(NOT_PAGES):
        return refusal_response(request, exc)
    values = {"fr": exc.fr, "en": exc.en, "status": exc.status, "me": None}
    page = render(request, "error.html", values, status=exc.status)
    page.headers.update(refusal_headers(exc))  # a busy server's Retry-After, on a page too
    return page


async def send_refusal(scope: Scope, receive: Receive, send: Send, exc: Refusal) -> None:
    """A refusal answered by a middleware, before any route (``http.intake``). The body was
    not read: the connection is closed after the answer rather than read to its end."""
    response = door_refusal(Request(scope, receive), exc)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(CommitCounting)

    @app.exception_handler(Refusal)
    async def on_refusal(request: Request, exc: Refusal) -> Response:
        return refusal_response(request, exc)

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

    @app.exception_handler(DBAPIError)
    async def on_database(request: Request, exc: DBAPIError) -> Response:
        """A connection found dead (the server restarted, a proxy dropped it): the pool is
        already invalidated and the transaction never committed, so the caller may simply try
        again; any other database error is a bug."""
        if exc.connection_invalidated and not _committed(request):
            return await on_refusal(request, DISCONNECTED)
        return await on_unexpected(request, exc)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        """A bug is still answered in the agreed shape; the log names the error's type only."""
        log.error(
            "unexpected_error", error=type(exc).__name__, path=request.url.path.split("/")[1:3]
        )
        if _committed(request):
            fr = (
                "Erreur interne : l'exploitant est alerté. Une partie de la requête a pu être "
                "enregistrée : vérifiez avant de recommencer."
            )
            en = (
                "Internal error: the operator is alerted. Part of the request may have been "
                "recorded: check before trying again."
            )
        else:
            fr = "Erreur interne : l'exploitant est alerté. Rien n'a été enregistré pour cette requête."
            en = "Internal error: the operator is alerted. Nothing was recorded for this request."
        response = _answer(request, 500, "internal_error", fr, en)
        add_defaults(
            response.headers
        )  # sent from outside the middlewares (Starlette's last resort)
        return response

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc.__cause__, Refusal):  # a body cut short while a form was parsed
            return door_refusal(request, exc.__cause__)
        code, fr, en = HTTP_TEXTS.get(
            exc.status_code, ("http_error", "Requête refusée.", "Request refused.")
        )
        return _answer(request, exc.status_code, code, fr, en)
