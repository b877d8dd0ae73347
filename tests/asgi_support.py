"""Calling an ASGI application in-process — no server, no socket — for tests of what the
application itself does around its routes (route classes, middlewares, telemetry)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


def asgi_get(app: ASGIApp, *paths: str, root_path: str = "") -> list[httpx.Response]:
    """GET each path in turn; the event loop runs on the calling thread. ``root_path``: as a
    reverse proxy serving the application under that prefix says it (ASGI's ``root_path``)."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://carnet") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())
