"""Security headers on every answer (issue 16): JSON, FHIR, web pages, 404s and errors alike.

A pure ASGI middleware that adds what an answer does not set itself: the web pages keep their
own Content-Security-Policy (``web.render.SECURITY_HEADERS``: scripts from the site, frames
from itself), a document shown in a frame keeps its own, static files keep their cache. Any
other answer — JSON, FHIR, an error — may hold patient data and is never meant to be rendered,
framed or stored: ``default-src 'none'``, no framing, ``no-store``.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "Cache-Control": "no-store",
}

DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
"""/docs (Swagger UI, vendored): scripts from the site only; the UI sets inline styles."""


def add_defaults(headers: MutableHeaders) -> None:
    for name, value in DEFAULTS.items():
        headers.setdefault(name, value)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                add_defaults(MutableHeaders(raw=message["headers"]))
            await send(message)

        await self.app(scope, receive, sending)
