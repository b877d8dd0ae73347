"""A small OpenID Connect issuer for tests: serves its discovery document and keys over a real
socket and signs tokens (the full provider, with log-in, is node-oidc-provider: real_provider.py).

It stands for Pro Santé Connect: RS256 keys published where a Keycloak realm publishes them
(``…/protocol/openid-connect/certs``, named by discovery's ``jwks_uri``), PSC-shaped claims.
Tests may replace an answer (``answers``) to play a provider that misbehaves.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carnet import clock
from carnet.auth.claims import ACR_EIDAS1

AUDIENCE = "carnet-test-client"
RPPS = "10001234567"

IssuerKey = RSAKey | ECKey


def new_rsa_key(kid: str | None = None) -> RSAKey:
    parameters: KeyParameters = {"use": "sig", "alg": "RS256"}
    if kid is not None:
        parameters["kid"] = kid
    return RSAKey.generate_key(2048, parameters=parameters, auto_kid=kid is None)


def new_ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"}, auto_kid=True)


CERTS = "/protocol/openid-connect/certs"


class LocalIssuer:
    """Publishes ``keys`` (mutable: tests rotate them) and counts how often they are fetched."""

    def __init__(self) -> None:
        self.main_key = new_rsa_key()
        self.keys: list[IssuerKey] = [self.main_key]
        self.hits = 0
        self.discovery_hits = 0
        self.answers: dict[str, Response] = {}
        self.discovery_overrides: dict[str, Any] = {}
        self.delay = 0.0
        self.base_url = ""
        self._lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def jwks_url(self) -> str:
        return self.base_url + CERTS

    def reset(self) -> None:
        with self._lock:
            self.keys = [self.main_key]
            self.hits = self.discovery_hits = 0
            self.answers = {}
            self.discovery_overrides = {}
            self.delay = 0.0

    async def _jwks(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        with self._lock:
            self.hits += 1
            keys = [key.as_dict(private=False) for key in self.keys]
            answer = self.answers.get("jwks")
        return answer or JSONResponse({"keys": keys})

    async def _discovery(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        with self._lock:
            self.discovery_hits += 1
            answer = self.answers.get("discovery")
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/auth",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.jwks_url,
            **self.discovery_overrides,
        }
        return answer or JSONResponse(document)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(CERTS, self._jwks),
                Route("/.well-known/openid-configuration", self._discovery),
            ]
        )

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: IssuerKey | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        signing_key = key or self.main_key
        algorithm = "ES256" if isinstance(signing_key, ECKey) else "RS256"
        merged = {"alg": algorithm, "kid": signing_key.kid, **(header or {})}
        full_header = {name: value for name, value in merged.items() if value is not None}
        return jwt.encode(full_header, claims, signing_key, algorithms=[full_header["alg"]])


def psc_payload(issuer: str, **overrides: Any) -> dict[str, Any]:
    """An access token body as Pro Santé Connect shapes it, valid for an hour from the clock."""
    issued_at = int(clock.now().timestamp())
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": [AUDIENCE, "account"],
        "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:" + RPPS,
        "SubjectNameID": "8" + RPPS,
        "SubjectRefPro": {
            "exercices": [{"codeProfession": "10", "codeSavoirFaire": "SM54", "activities": []}]
        },
        "acr": ACR_EIDAS1,
        "iat": issued_at,
        "exp": issued_at + 3600,
        "jti": "psc-token-1",
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


@contextmanager
def serve(issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    """Runs the issuer with uvicorn on 127.0.0.1 and a free port, in a thread, until exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        issuer.app(), lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test issuer did not start")
            time.sleep(0.01)
        issuer.base_url = f"http://127.0.0.1:{port}"
        httpx.get(issuer.jwks_url, timeout=5).raise_for_status()
        issuer.reset()
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
