"""The portal's relying party against a real OpenID provider (node-oidc-provider), over real HTTP:
what a browser would not let a test do (replaying a code, changing the PKCE verifier), the client
authentication methods, the resource indicator, and a provider down or hung mid-log-in."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from live_api import LiveApp
from oidc_support import ScriptedBrowser, oidc_settings, serve_oidc
from web_support import Site

from carnet.auth.verify import TokenVerifier
from carnet.clock import FixedClock

from .real_provider import RESOURCE, RealProvider, running

OIDC_COOKIE = "carnet_oidc"


@pytest.fixture
def browser_over_http(
    live_app: LiveApp, http_site: Site, real_clock: FixedClock
) -> Iterator[ScriptedBrowser]:
    scripted = ScriptedBrowser(http_site.url)
    yield scripted
    scripted.close()
    live_app.app.state.verifier = TokenVerifier(live_app.key)


def back_with(browser: ScriptedBrowser, url: str, cookie: str) -> httpx.Response:
    """The provider's redirect followed with a chosen log-in cookie (state.nonce.verifier)."""
    return httpx.get(url, headers={"Cookie": f"{OIDC_COOKIE}={cookie}"}, timeout=10)


def text(answer: httpx.Response) -> str:
    return html.unescape(answer.text)


def logged_in(browser: ScriptedBrowser, url: str) -> None:
    back = browser.client.get(url)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/pro/"
    assert "Trouver un patient" in browser.client.get("/pro/").text


def test_oidc_replayed_code_is_reported_as_such(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc))
    url = browser_over_http.callback_url()
    kept = browser_over_http.client.cookies[OIDC_COOKIE]
    logged_in(browser_over_http, url)
    replay = back_with(browser_over_http, url, kept)
    assert replay.status_code == 400, replay.text
    assert "n'a pas accepté le code de connexion : il a déjà servi" in text(replay)
    assert "ne répond pas" not in text(replay)


def test_oidc_pkce_mismatch_is_reported_as_such(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc))
    url = browser_over_http.callback_url()
    state, nonce, _ = browser_over_http.client.cookies[OIDC_COOKIE].split(".")
    answer = back_with(browser_over_http, url, f"{state}.{nonce}.{'x' * 64}")
    assert answer.status_code == 400, answer.text
    assert "vérification (PKCE)" in text(answer)
    assert "Espace des professionnels" in text(answer)


def test_oidc_state_from_elsewhere_is_refused(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc))
    url = browser_over_http.callback_url()
    forged = url.replace("state=", "state=x")
    answer = browser_over_http.client.get(forged)
    assert answer.status_code == 400
    assert "Connexion expirée ou commencée ailleurs" in text(answer)
    assert 'href="/pro/"' in text(answer)
    assert psc.hits().get("token") is None, "nothing was exchanged for a forged state"


def test_oidc_answer_naming_another_issuer_is_refused(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    """RFC 9207: the ``iss`` of the authorization response must be our provider (mix-ups)."""
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc))
    parts = urlsplit(browser_over_http.callback_url())
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["iss"] == psc.issuer
    query["iss"] = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
    answer = browser_over_http.client.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status_code == 400
    assert "la réponse vient d'un autre fournisseur d'identité" in text(answer)


def test_oidc_provider_refusal_is_shown(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc))
    browser_over_http.to_provider()
    state = browser_over_http.client.cookies[OIDC_COOKIE].split(".")[0]
    answer = browser_over_http.client.get(
        "/pro/connexion/retour", params={"error": "access_denied", "state": state}
    )
    assert answer.status_code == 400
    assert "Connexion annulée ou refusée par le fournisseur d'identité (« access_denied »)" in (
        text(answer)
    )


def test_oidc_resource_is_sent_and_its_jwt_access_token_cross_checked(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    """With a resource indicator the provider issues a JWT access token for it (as PSC's are):
    its ``sub`` must be the ID token's; the identity then comes in the ID token."""
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc, oidc_resource=RESOURCE))
    start = browser_over_http.client.get("/pro/connexion/oidc")
    assert (
        f"resource={RESOURCE.replace(':', '%3A').replace('/', '%2F')}"
        in (start.headers["location"])
    )
    logged_in(browser_over_http, browser_over_http.callback_url())
    assert psc.hits().get("me") is None


def test_oidc_resource_access_token_for_someone_else_is_refused(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, psc, oidc_resource=RESOURCE))
    psc.tamper("subject")
    answer = browser_over_http.client.get(browser_over_http.callback_url())
    assert answer.status_code == 401
    assert "le jeton d'accès ne désigne pas la même personne" in text(answer)


def client_key_file(folder: Path) -> tuple[Path, dict[str, object]]:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    path = folder / "client.jwk"
    path.write_text(json.dumps(key.as_dict(private=True)))
    public: dict[str, object] = dict(key.as_dict(private=False))
    return path, public


@pytest.mark.parametrize("method", ["client_secret_post", "private_key_jwt", "none"])
def test_oidc_client_authentication_methods(
    live_app: LiveApp,
    http_site: Site,
    browser_over_http: ScriptedBrowser,
    tmp_path: Path,
    method: str,
) -> None:
    key_file, public = client_key_file(tmp_path)
    provider = RealProvider(
        tmp_path,
        http_site.url,
        client_auth=method,
        client_jwks=[public] if method == "private_key_jwt" else [],
    )
    with running(provider):
        overrides: dict[str, object] = {"oidc_client_auth": method}
        if method == "private_key_jwt":
            overrides |= {"oidc_client_key_file": key_file, "oidc_client_secret": None}
        if method == "none":
            overrides["oidc_client_secret"] = None
        serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, provider, **overrides))
        logged_in(browser_over_http, browser_over_http.callback_url())


def test_oidc_wrong_client_secret_is_the_operators_problem(
    live_app: LiveApp, http_site: Site, psc: RealProvider, browser_over_http: ScriptedBrowser
) -> None:
    settings = oidc_settings(http_site.rt, psc, oidc_client_secret="pas le bon secret")
    serve_oidc(live_app, http_site.rt, settings)
    answer = browser_over_http.client.get(browser_over_http.callback_url())
    assert answer.status_code == 400
    assert "ne reconnaît pas ce service" in text(answer)


@pytest.mark.parametrize("trouble", ["down", "hung"])
def test_oidc_provider_gone_mid_log_in_answers_503_within_the_timeout(
    live_app: LiveApp,
    http_site: Site,
    browser_over_http: ScriptedBrowser,
    tmp_path: Path,
    trouble: str,
) -> None:
    provider = RealProvider(tmp_path, http_site.url)
    with running(provider):
        serve_oidc(live_app, http_site.rt, oidc_settings(http_site.rt, provider))
        url = browser_over_http.callback_url()
        if trouble == "down":
            provider.stop()
        else:
            provider.freeze()
        started = time.monotonic()
        answer = browser_over_http.client.get(url)
        waited = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "10"
        assert "ne répond pas" in text(answer)
        assert waited < 3.5, "one bounded wait (2 s), not a retry loop"
