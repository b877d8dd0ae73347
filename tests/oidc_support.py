"""Carnet against a real OpenID provider (node-oidc-provider, ``tests/auth/real_provider.py``):
the live app set up for it, a clock on real time (the provider signs with its own), and the pro's
log-in as a browser does it. Registered as a plugin by ``tests/conftest.py``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from auth.real_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    RealProvider,
    require_node,
    sign_in_form,
)
from live_api import LiveApp
from playwright.sync_api import Page, Route

from carnet.auth.provider import OidcProvider
from carnet.auth.verify import TokenVerifier, provider_settings
from carnet.clock import FixedClock, SystemClock
from carnet.population.insi import RateLimiter
from carnet.runtime import Runtime
from carnet.settings import Settings

PSC_BUTTON = "Se connecter avec Pro Santé Connect"


@pytest.fixture
def real_clock(fixed_clock: FixedClock) -> FixedClock:
    """The fixed clock set to the wall clock's time: the provider stamps tokens with real time.
    It still moves only when a test moves it (to age Carnet's copies of the provider's keys)."""
    fixed_clock.current = SystemClock().now()
    return fixed_clock


@pytest.fixture(scope="session")
def psc_session(
    live_app: LiveApp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealProvider]:
    """One provider for the tests that neither stop nor freeze it."""
    require_node()
    provider = RealProvider(tmp_path_factory.mktemp("psc"), live_app.server.url).start()
    yield provider
    provider.stop()


@pytest.fixture
def psc(psc_session: RealProvider) -> Iterator[RealProvider]:
    psc_session.reset()
    yield psc_session
    psc_session.reset()


def oidc_settings(rt: Runtime, provider: RealProvider, **overrides: Any) -> Settings:
    """Carnet's settings for that provider (demo mode: its issuer is plain http on 127.0.0.1)."""
    values: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_audience": AUDIENCE,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "public_url": provider.carnet_url,
        "demo": True,
        "oidc_timeout_seconds": 2.0,
    }
    return rt.settings.model_copy(update={**values, **overrides})


def serve_oidc(live_app: LiveApp, rt: Runtime, settings: Settings) -> TokenVerifier:
    """The live app answering from ``rt`` with ``settings``, trusting the provider (and the
    session's instance key, for the tests' own tokens)."""
    state = live_app.app.state
    runtime = dataclasses.replace(rt, settings=settings)
    verifier = TokenVerifier(
        live_app.key,
        provider=OidcProvider(provider_settings(settings)),
        audience=settings.oidc_audience,
    )
    state.runtime, state.verifier = runtime, verifier
    state.insi_limiter = RateLimiter(settings.insi_rate_per_minute)
    return verifier


def local_only(page: Page) -> None:
    """Nothing leaves 127.0.0.1 (a provider page could import web fonts)."""

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", guard)


def psc_log_in(page: Page, login: str = "cps") -> None:
    """« Se connecter avec Pro Santé Connect », then the provider's page (the card's stand-in)."""
    local_only(page)
    page.goto("/pro/")
    page.get_by_role("button", name=PSC_BUTTON).click()
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill("0000")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(re.compile(r"/pro/"))


class ScriptedBrowser:
    """The same log-in over plain HTTP (cookies kept, redirects followed by hand), for what a
    browser would not let a test do: replay a code, change the PKCE verifier."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10)

    def close(self) -> None:
        self.client.close()

    def to_provider(self) -> httpx.Response:
        """Carnet's « Se connecter », up to the provider's log-in page."""
        start = self.client.get("/pro/connexion/oidc")
        assert start.status_code == 303, start.text
        return self.client.get(start.headers["location"], follow_redirects=True)

    def callback_url(self, login: str = "cps") -> str:
        """The provider's answer to Carnet (``/pro/connexion/retour?code=…``), not yet followed."""
        response = sign_in_form(self.client, self.to_provider(), login)
        for _ in range(10):
            target = response.headers.get("location", "")
            assert target, (response.status_code, response.text[:300])
            target = str(response.url.join(target))
            if "/pro/connexion/retour" in target:
                return target
            response = self.client.get(target)
        raise AssertionError("the provider never sent the browser back")
