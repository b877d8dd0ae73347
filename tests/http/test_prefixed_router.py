"""Issue 18: a request is not matched route by route against a router whose prefix its path
lacks (a FHIR search walked the JSON API's 58 routes first, a web page 112: 0.25 and 0.42 ms
on a slow host), and what it reaches is unchanged."""

from __future__ import annotations

import pytest
from asgi_support import asgi_get
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from carnet.http.app import ROUTERS
from carnet.http.routing import PrefixedRouter

TRIED: list[str] = []


class Tried(APIRoute):
    """A route that notes each time a request is matched against it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        TRIED.append(self.path)
        return super().matches(scope)


def _app(router_class: type[APIRouter]) -> FastAPI:
    fhir = router_class(prefix="/fhir", route_class=Tried)

    @fhir.get("/Patient/{pid}")
    def patient(pid: str) -> dict[str, str]:
        return {"id": pid}

    @fhir.get("/metadata")
    def metadata() -> dict[str, str]:
        return {"resourceType": "CapabilityStatement"}

    rest = APIRouter()

    @rest.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"ping": "pong"}

    app = FastAPI()
    app.include_router(fhir)
    app.include_router(rest)
    return app


@pytest.fixture(autouse=True)
def _fresh() -> None:
    TRIED.clear()


def test_issue18_a_plain_router_tries_every_route_of_a_path_it_cannot_hold() -> None:
    """The control: what the gate saves."""
    (answer,) = asgi_get(_app(APIRouter), "/api/v1/ping")
    assert answer.json() == {"ping": "pong"}
    assert set(TRIED) == {"/fhir/Patient/{pid}", "/fhir/metadata"}


def test_issue18_prefixed_router_turns_a_path_outside_away_untried() -> None:
    ping, missing = asgi_get(_app(PrefixedRouter), "/api/v1/ping", "/fhi")
    assert ping.json() == {"ping": "pong"}
    assert missing.status_code == 404
    assert TRIED == []


def test_issue18_prefixed_router_still_answers_its_own_paths() -> None:
    app = _app(PrefixedRouter)
    found, meta, unknown = asgi_get(app, "/fhir/Patient/p1", "/fhir/metadata", "/fhir/nope")
    assert found.json() == {"id": "p1"}
    assert meta.json() == {"resourceType": "CapabilityStatement"}
    assert unknown.status_code == 404
    assert TRIED  # its routes were tried


@pytest.mark.parametrize("router_class", [APIRouter, PrefixedRouter])
def test_issue18_prefixed_router_behind_a_root_path(router_class: type[APIRouter]) -> None:
    """Served under a path prefix, the gate lets through what FastAPI's matching finds."""
    app = _app(router_class)
    (found,) = asgi_get(app, "/carnet/fhir/metadata", root_path="/carnet")
    assert found.json() == {"resourceType": "CapabilityStatement"}
    TRIED.clear()
    (ping,) = asgi_get(app, "/carnet/api/v1/ping", root_path="/carnet")
    assert ping.json() == {"ping": "pong"}
    assert bool(TRIED) is (router_class is APIRouter)  # the gate read the path under the root


def test_issue18_every_prefixed_door_is_gated_and_holds_only_its_prefix() -> None:
    """The gate is sound only if each route of a router starts with its prefix, and it is there
    only if the router is a ``PrefixedRouter``: a router added with a prefix must be one."""
    prefixed = [r for r in ROUTERS if r.prefix]
    assert len(prefixed) >= 8  # the JSON API's six and FHIR's two
    for router in prefixed:
        assert isinstance(router, PrefixedRouter), router.prefix
        for route in router.routes:
            assert getattr(route, "path", "").startswith(router.prefix), route
