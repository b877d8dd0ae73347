"""The portal's log-in by OpenID Connect (authorization code with PKCE) against a real issuer on
a real socket, standing for Pro Santé Connect (ID-5: the token's level comes through)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from auth.issuer import LocalIssuer, psc_payload, serve
from live_api import LiveApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from web_support import Site

from carnet.auth.oidc import JwksCache
from carnet.auth.verify import TokenVerifier


class PortalIssuer(LocalIssuer):
    """Discovery, the token endpoint (checking the PKCE verifier) and the keys."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, str] = {}

    async def _discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.jwks_url,
            }
        )

    async def _token(self, request: Request) -> JSONResponse:
        form = await request.form()
        challenge = self.codes.pop(str(form.get("code")), None)
        digest = hashlib.sha256(str(form.get("code_verifier")).encode()).digest()
        if challenge != base64.urlsafe_b64encode(digest).decode().rstrip("="):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        token = self.sign(psc_payload(self.issuer))
        return JSONResponse({"access_token": token, "token_type": "Bearer"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/jwks", self._jwks),
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/token", self._token, methods=["POST"]),
            ]
        )


@pytest.fixture
def issuer() -> Iterator[PortalIssuer]:
    running = PortalIssuer()
    with serve(running):
        yield running


def test_id_5_portal_log_in_by_openid_connect_with_pkce(
    live_app: LiveApp, http_site: Site, issuer: PortalIssuer
) -> None:
    settings = http_site.rt.settings.model_copy(
        update={
            "oidc_issuer": issuer.issuer,
            "oidc_client_id": "carnet-portal",
            "public_url": http_site.url,
            "demo": False,
        }
    )
    live_app.app.state.runtime = dataclasses.replace(http_site.rt, settings=settings)
    live_app.app.state.verifier = TokenVerifier(
        live_app.key, oidc_issuer=issuer.issuer, jwks=JwksCache(issuer.jwks_url)
    )
    with httpx.Client(base_url=http_site.url) as client:
        assert "Pro Santé Connect" in client.get("/pro/").text
        start = client.get("/pro/connexion/oidc")
        assert start.status_code == 303
        target = urlsplit(start.headers["location"])
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        assert target.path == "/authorize"
        assert query["code_challenge_method"] == "S256"
        assert query["redirect_uri"] == http_site.url + "/pro/connexion/retour"
        issuer.codes["code-1"] = query["code_challenge"]

        forged = client.get("/pro/connexion/retour", params={"code": "code-1", "state": "x"})
        assert forged.status_code == 404
        back = client.get(
            "/pro/connexion/retour", params={"code": "code-1", "state": query["state"]}
        )
        assert back.status_code == 303, back.text
        home = client.get("/pro/")
    assert "Trouver un patient" in home.text
    assert "RPPS 10001234567" in home.text
