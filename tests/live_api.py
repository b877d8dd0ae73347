"""The API over a real socket (JSON and FHIR): one app per session, the test's runtime swapped in
per test. Registered as a plugin by ``tests/conftest.py``.

The app is built once (on a throwaway runtime of its own) and served by :class:`LiveServer`;
each test points ``app.state.runtime`` at its own ``rt`` and trusts the session's instance key,
with which :class:`Api` signs tokens. Tokens take their times from ``carnet.clock``: a test that
moves the fixed clock asks for fresh ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest
from support import free_port

from carnet.auth.instance import (
    InstanceKey,
    issue_patient_token,
    issue_pro_token,
    load_or_create_instance_key,
)
from carnet.auth.verify import TokenVerifier
from carnet.context import AccessMode, AuthLevel

if TYPE_CHECKING:  # the app, its server and the models load only when a test asks for them
    from fastapi import FastAPI
    from live_server import LiveServer

    from carnet.identity.models import Pro
    from carnet.population.models import Patient
    from carnet.runtime import Runtime

TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class LiveApp:
    """The session's server, its app, its own runtime and the key its tokens are signed with."""

    server: LiveServer
    app: FastAPI
    idle_runtime: Runtime
    key: InstanceKey


@dataclass
class Api:
    """What a test needs to talk to the running API as a pro or as a patient."""

    url: str
    client: httpx.Client
    key: InstanceKey
    rt: Runtime

    def pro_token(self, pro: Pro, level: AuthLevel = AuthLevel.CPS) -> str:
        return issue_pro_token(
            self.key,
            rpps=pro.rpps,
            profession=pro.profession,
            specialty=pro.specialty,
            level=level,
            ttl_seconds=TOKEN_TTL_SECONDS,
        )

    def patient_token(self, patient: Patient) -> str:
        return issue_patient_token(self.key, ins=patient.ins, ttl_seconds=TOKEN_TTL_SECONDS)

    def as_pro(
        self,
        pro: Pro,
        *,
        level: AuthLevel = AuthLevel.CPS,
        mode: AccessMode | None = None,
        reason: str | None = None,
    ) -> dict[str, str]:
        """Request headers of a pro: his bearer token and, if given, the access context."""
        headers = {"Authorization": f"Bearer {self.pro_token(pro, level)}"}
        if mode is not None:
            headers["X-Access-Mode"] = mode.value
        if reason is not None:
            headers["X-Access-Reason"] = quote(reason)
        return headers

    def as_patient(self, patient: Patient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.patient_token(patient)}"}

    @staticmethod
    def refusal(response: httpx.Response, status: int) -> dict[str, str]:
        """The JSON error of a refused request (INTERFACES.md): a code, French, English."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, str] = response.json()
        assert set(body) == {"error", "message", "message_en"}, body
        assert all(isinstance(v, str) and v for v in body.values()), body
        assert body["message"] != body["message_en"], body
        return body


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app built once, on a runtime no test uses (SQLite, whatever the test database)."""
    from live_server import LiveServer

    from carnet.http.app import create_app
    from carnet.runtime import build_runtime
    from carnet.settings import Settings

    port = free_port()
    folder = tmp_path_factory.mktemp("live-app")
    idle = build_runtime(
        Settings(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'idle.db'}")
    )
    key = load_or_create_instance_key(folder / "keys" / "instance.jwk")
    app = create_app(idle, TokenVerifier(key))
    with LiveServer(app, port) as server:
        yield LiveApp(server, app, idle, key)
    idle.uow.engine.dispose()


@pytest.fixture
def api(live_app: LiveApp, rt: Runtime) -> Iterator[Api]:
    """The running server, answering from this test's runtime."""
    from carnet.population.insi import RateLimiter

    state = live_app.app.state
    state.runtime = rt
    state.verifier = TokenVerifier(live_app.key)
    state.insi_limiter = RateLimiter(rt.settings.insi_rate_per_minute)
    with httpx.Client(base_url=live_app.server.url, timeout=30) as client:
        yield Api(live_app.server.url, client, live_app.key, rt)
    state.runtime = live_app.idle_runtime
