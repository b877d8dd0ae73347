"""Issue 19: a plain endpoint that returns a model goes to the thread pool once, not twice
(FastAPI's own route validates the value in the pool again), and still runs off the loop."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from asgi_support import asgi_get
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from carnet.http.app import create_app
from carnet.http.routing import OneHop
from carnet.runtime import Runtime


class Answer(BaseModel):
    thread: int
    name: str


def _app(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.get("/who/{name}")
    def who(name: str) -> Answer:
        return Answer(thread=threading.get_ident(), name=name)

    @router.get("/broken")
    def broken() -> Answer:
        raise LookupError("raised in the pool")

    app = FastAPI()
    app.include_router(router)

    @app.exception_handler(LookupError)
    async def lookup(request: Any, error: LookupError) -> Any:
        return JSONResponse({"error": str(error)}, status_code=404)

    return app


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The trips to AnyIO's thread pool, by function name."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        called = func.func if isinstance(func, functools.partial) else func
        seen.append(getattr(called, "__name__", type(called).__name__))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return seen


def test_issue19_fastapi_route_goes_to_the_pool_twice(hops: list[str]) -> None:
    """The control: what OneHop saves."""
    (answer,) = asgi_get(_app(APIRoute), "/who/ada")
    assert answer.json()["name"] == "ada"
    assert len(hops) == 2


def test_issue19_one_hop_route_goes_once_and_off_the_loop(hops: list[str]) -> None:
    (answer,) = asgi_get(_app(OneHop), "/who/ada")
    assert answer.status_code == 200
    assert answer.json()["name"] == "ada"
    assert hops == ["who"]
    # The loop ran on this thread (asgi_get): the endpoint never blocks it.
    assert answer.json()["thread"] != threading.get_ident()


def test_issue19_one_hop_route_keeps_errors_and_openapi(hops: list[str]) -> None:
    ours, theirs = _app(OneHop), _app(APIRoute)
    assert asgi_get(ours, "/broken")[0].json() == {"error": "raised in the pool"}
    assert ours.openapi() == theirs.openapi()


def test_issue19_healthz_and_api_answer_in_one_hop(rt: Runtime, hops: list[str]) -> None:
    app = create_app(rt)
    assert asgi_get(app, "/healthz")[0].status_code == 200
    assert hops == ["healthz"]
