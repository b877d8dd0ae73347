"""How a request finds its endpoint: one trip to the thread pool (issue 19), and routers that
turn away at once a path outside their prefix (issue 18).

FastAPI runs a plain ``def`` endpoint in AnyIO's thread pool and then, when it returned a model
or a dict rather than a ``Response``, validates that value in the pool again: two hops between
the event loop and a worker thread, each about 0.15 ms of CPU on a server (the GIL handed over
and back, two threads woken) — as much as the whole of a small request's own work.

``OneHop`` routes wrap such an endpoint in a coroutine that runs it in the same pool, once;
FastAPI then validates and serialises its value on the loop, as it does for any ``async``
endpoint (a model we built is taken as it is: pydantic does not validate an instance of the
model again). What runs in the pool, its errors, its context variables and the OpenAPI
document (built from the wrapped function's signature and names) are those of the endpoint.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope


def in_pool(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine function that runs it in the thread pool; a coroutine
    function (or anything else) as it is."""
    if not inspect.isfunction(endpoint) or inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def answered(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return answered


class OneHop(APIRoute):
    """An API route whose plain endpoint goes to the thread pool once (``in_pool``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_pool(endpoint), **kwargs)


class PrefixedRouter(APIRouter):
    """An API router that answers "not mine" at once for a path outside its prefix.

    FastAPI matches a request against every route of every included router in turn, each
    route's regular expression behind some bookkeeping (3–4 µs a route): a FHIR search came
    after the JSON API's 58 routes, a web page after 112, and paid 0.25 and 0.42 ms before its
    own work began (issue 18: about what a FHIR search of 50 documents spends making them).
    Every route of a router starts with the router's prefix, so a path that does not cannot
    match one, fully or partly. Only for routers included as they are (no prefix added by
    ``include_router``): ``carnet.http.app`` includes every router so.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if path.startswith(self.prefix) or (root and path[len(root) :].startswith(self.prefix)):
            return super().matches(scope)
        return Match.NONE, {}
