"""``/metrics`` (Prometheus text format) and the count of HTTP requests by route and status.

A request is counted under its route's template (``/api/v1/patients/{patient_id}/documents``), never
its path: a path may carry an id or an INS, and a label per path would grow without end. What
matched no route counts as ``unmatched``. The counters are the runtime's (``carnet.metrics``);
the queue sizes are measured at each scrape.
"""

from __future__ import annotations

import gc
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carnet.http.routing import OneHop
from carnet.logs import get_logger
from carnet.messaging.queries import outgoing_waiting
from carnet.metrics import Labels
from carnet.notify.queries import waiting_count
from carnet.runtime import Runtime

router = APIRouter(route_class=OneHop)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Counters since start, and what waits for the relay now (no personal data)."""
    runtime: Runtime = request.app.state.runtime
    with runtime.transaction() as session:
        waiting: dict[Labels, float] = {
            (("queue", "outgoing"),): float(outgoing_waiting(session)),
            (("queue", "notification"),): float(waiting_count(session)),
        }
    text = runtime.metrics.render(
        [
            ("carnet_mail_waiting", "Mail waiting in an outgoing queue now.", waiting),
            (
                "carnet_gc_frozen_objects",
                "Objects of this process left out of the garbage collector's passes.",
                {(): float(gc.get_freeze_count())},
            ),
        ]
    )
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


class RequestCounter:
    """ASGI middleware: one count per answered request, once its status is known, and one log
    line (method, route template, status, duration — never the path, the query or anything
    of the person: issue 15)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            runtime: Runtime = scope["app"].state.runtime
            runtime.metrics.count(
                "carnet_http_requests_total",
                route=template,
                method=scope["method"],
                status=str(status),
            )
            get_logger("carnet.http").info(
                "http_request",
                method=scope["method"],
                route=template,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
