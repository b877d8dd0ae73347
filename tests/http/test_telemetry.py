"""Issue 15 (no personal data leaves in logs) and issue 19: FastAPI's own OpenTelemetry stays
off even where the process has a tracer provider — its spans would name the request's path (an
INS, a patient's id) — and costs nothing per request."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_support import asgi_get
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import NoOpTracer, Tracer, TracerProvider

from carnet.http.app import create_app
from carnet.runtime import Runtime


class Watching(TracerProvider):
    """A configured provider (as an operator's SDK would install) that counts who asks it."""

    def __init__(self) -> None:
        self.asked = 0

    def get_tracer(self, *args: Any, **kwargs: Any) -> Tracer:
        self.asked += 1
        return NoOpTracer()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Watching:
    watching = Watching()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: watching)
    return watching


def test_issue15_fastapi_traces_requests_unless_told_not_to(provider: Watching) -> None:
    """The control: a bare FastAPI application does trace through such a provider."""
    bare = FastAPI()

    @bare.get("/patients/{ins}")
    def show(ins: str) -> dict[str, str]:
        return {"ins": ins}

    assert [a.status_code for a in asgi_get(bare, "/patients/2850175056001")] == [200]
    assert provider.asked > 0


def test_issue15_carnet_never_hands_requests_to_opentelemetry(
    rt: Runtime, provider: Watching
) -> None:
    app = create_app(rt)
    answers = asgi_get(app, "/healthz", "/api/v1/pro/patients/2850175056001/documents")
    assert [a.status_code for a in answers] == [200, 401]
    assert provider.asked == 0
