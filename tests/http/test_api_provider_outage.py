"""A provider that is down or hangs takes nothing else down: pro tokens that need it wait once, at
most the timeout, then get 503 with Retry-After; patient space, FHIR metadata and instance tokens
are served meanwhile as usual. Key rotation and removal at a real provider (node-oidc-provider)
followed through the API door."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from auth.real_provider import RealProvider, new_key, require_node, software_tokens
from factories import add_patient, add_pro
from live_api import Api, LiveApp
from oidc_support import oidc_settings, serve_oidc

from carnet.clock import FixedClock
from carnet.population.models import Patient

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
TIMEOUT = 2.0
OTHERS = 50


@pytest.fixture
def provider(api: Api, tmp_path: Path, real_clock: FixedClock) -> Iterator[RealProvider]:
    """A provider of this test's own (it will be stopped or frozen), its tokens minted first."""
    require_node()
    started = RealProvider(tmp_path, api.url).start()
    yield started
    started.stop()


def pro_search(api: Api, patient: Patient, token: str) -> httpx.Response:
    """A pro's software looking a patient up (TD0.2) with a PSC access token."""
    return httpx.get(
        f"{api.url}/fhir/Patient",
        params={"identifier": f"{INS_NIR}|{patient.ins}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )


def other_requests(api: Api, patient: Patient) -> list[Callable[[httpx.Client], httpx.Response]]:
    """What never needs the provider: FHIR metadata, the patient's own history (instance token),
    a pro with an instance token, the patient site's log-in page."""
    pro = add_pro(api.rt)
    as_patient, as_pro = api.as_patient(patient), api.as_pro(pro)
    return [
        lambda c: c.get("/fhir/metadata"),
        lambda c: c.get(f"/api/v1/patients/{patient.id}/history", headers=as_patient),
        lambda c: c.get(
            "/fhir/Patient", params={"identifier": f"{INS_NIR}|{patient.ins}"}, headers=as_pro
        ),
        lambda c: c.get("/connexion"),
    ]


def timed(api: Api, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[float]:
    """``OTHERS`` requests over 10 clients at once; each one's latency (all must succeed). Each
    kind is sent once alone first: a patient's first read creates his access settings, and two
    first reads at once race on that row (carnet.access.loading.settings_of, left to the gate's
    rewrite)."""
    with httpx.Client(base_url=api.url, timeout=15) as client:
        for call in calls:
            assert call(client).status_code == 200

    def one(index: int) -> float:
        with httpx.Client(base_url=api.url, timeout=15) as client:
            started = time.monotonic()
            answer = calls[index % len(calls)](client)
            assert answer.status_code == 200, answer.text
            return time.monotonic() - started

    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(one, range(OTHERS)))


@pytest.mark.parametrize("trouble", ["down", "hung"])
def test_oidc_provider_trouble_takes_nothing_else_down(
    live_app: LiveApp, api: Api, provider: RealProvider, trouble: str
) -> None:
    patient = add_patient(api.rt)
    token = software_tokens(provider)["access_token"]
    serve_oidc(live_app, api.rt, oidc_settings(api.rt, provider, oidc_timeout_seconds=TIMEOUT))
    calls = other_requests(api, patient)
    usual = max(timed(api, calls))

    if trouble == "down":
        provider.stop()
    else:
        provider.freeze()
    pro_answers: list[tuple[httpx.Response, float]] = []

    def pro_call() -> None:
        started = time.monotonic()
        answer = pro_search(api, patient, token)
        pro_answers.append((answer, time.monotonic() - started))

    waiting = [threading.Thread(target=pro_call) for _ in range(20)]
    for thread in waiting:
        thread.start()
    latencies = timed(api, calls)
    for thread in waiting:
        thread.join(10)

    assert len(pro_answers) == 20
    for answer, waited in pro_answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "10"
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.json()["issue"][0]["code"] == "transient"
        # Each waited once (at most about the timeout, with room for a loaded machine), never
        # in series behind the others (which would take the last one 20 timeouts).
        assert waited < 2.5 * TIMEOUT, "each waited once, at most the timeout"
    assert max(latencies) < max(1.0, 3 * usual), (usual, sorted(latencies)[-5:])
    if trouble == "hung":
        assert max(w for _, w in pro_answers) > TIMEOUT - 0.5, "they did wait for the provider"
        provider.thaw()


def test_oidc_keys_outlive_an_outage_for_the_grace_period_only(
    live_app: LiveApp, api: Api, provider: RealProvider, real_clock: FixedClock
) -> None:
    patient = add_patient(api.rt)
    token = software_tokens(provider)["access_token"]
    serve_oidc(live_app, api.rt, oidc_settings(api.rt, provider))
    assert pro_search(api, patient, token).status_code == 200
    provider.stop()
    real_clock.advance(timedelta(seconds=301))
    assert pro_search(api, patient, token).status_code == 200, "stale keys still serve"
    real_clock.advance(timedelta(seconds=3300))
    late = pro_search(api, patient, token)
    assert late.status_code == 503, late.text
    assert late.headers["retry-after"] == "10"


def test_oidc_key_rotation_and_removal_are_followed(
    live_app: LiveApp, api: Api, provider: RealProvider, real_clock: FixedClock
) -> None:
    patient = add_patient(api.rt)
    old = software_tokens(provider)["access_token"]
    verifier = serve_oidc(live_app, api.rt, oidc_settings(api.rt, provider))
    assert pro_search(api, patient, old).status_code == 200

    provider.rotate([new_key()])
    new = software_tokens(provider)["access_token"]
    real_clock.advance(timedelta(seconds=11))
    assert pro_search(api, patient, new).status_code == 200, "an unknown kid fetched the keys"
    removed = pro_search(api, patient, old)
    assert removed.status_code == 401, removed.text
    assert removed.json()["issue"][0]["details"]["coding"][0]["code"] == "token_key_unknown"
    assert verifier.provider is not None
    assert verifier.provider.jwks.fetches == 2
