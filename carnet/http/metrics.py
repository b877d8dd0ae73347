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

from carnet.db.fair import FairSlots
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
            *database_turns(runtime.uow.slots),
        ]
    )
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


def database_turns(slots: FairSlots | None) -> list[tuple[str, str, dict[Labels, float]]]:
    """This process's turns at the database (``db.fair``): how many transactions run and may
    run at once, how many requests wait and may wait before a 503 — the operator's view of
    ``CARNET_DB_MAX_ACTIVE`` and ``_WAITING``, which ``--workers`` shares among processes."""
    if slots is None:
        return []
    waiting: dict[Labels, float] = {(("of", "now"),): float(slots.waiting)}
    if slots.max_waiting is not None:
        waiting[(("of", "limit"),)] = float(slots.max_waiting)
    return [
        (
            "carnet_db_transactions",
            "Transactions of this process running now, and at most at once (limit).",
            {
                (("of", "now"),): float(slots.slots - slots.free),
                (("of", "limit"),): float(slots.slots),
            },
        ),
        (
            "carnet_db_waiting",
            "Requests of this process waiting for the database now, and past how many a new one "
            "is answered 503 (limit).",
            waiting,
        ),
    ]


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
