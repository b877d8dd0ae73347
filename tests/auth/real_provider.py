"""A real, certified OpenID provider for the tests: node-oidc-provider (``tests/oidc_provider``,
pinned in its package-lock.json, installed by ``.ci/run`` with ``npm ci``), set up like Pro Santé
Connect and run as a process on 127.0.0.1.

Tests stop it (down), freeze it with SIGSTOP (it hangs: connections are accepted, nothing is
answered), rotate its keys, and make it tamper with its answers (``/__test/tamper``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from support import free_port

FOLDER = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID = "carnet-portal"
CLIENT_SECRET = "un secret de client : assez long, avec espaces & signes"
SOFTWARE_ID = "logiciel-dmp"
SOFTWARE_REDIRECT = "http://127.0.0.1:9/retour"
RESOURCE = "https://carnet.test/api"
AUDIENCE = "carnet-api"
RPPS = "10001234567"
ADELI = "751234567"


def psc_claims(id_nat_ps: str, profession: str = "10", specialty: str = "SM54") -> dict[str, Any]:
    """What PSC's userinfo says of a pro (sectoral identity)."""
    return {
        "SubjectNameID": id_nat_ps,
        "preferred_username": id_nat_ps,
        "given_name": "Louise",
        "family_name": "Martin",
        "SubjectRefPro": {
            "codeCivilite": "MME",
            "exercices": [
                {"codeProfession": profession, "codeSavoirFaire": specialty, "activities": []}
            ],
        },
    }


ACCOUNTS: dict[str, dict[str, Any]] = {
    "cps": {"acr": "eidas1", "claims": psc_claims("8" + RPPS)},
    "adeli": {"acr": "eidas1", "claims": psc_claims("0" + ADELI, profession="26", specialty="")},
    "cpe": {"acr": "urn:carnet:acr:cpe", "claims": psc_claims("8" + RPPS)},
    "unknown-acr": {"acr": "eidas2", "claims": psc_claims("8" + RPPS)},
}


def new_key() -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    return dict(key.as_dict(private=True))


def public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k in ("kty", "kid", "use", "alg", "n", "e")}


def node_available() -> bool:
    return shutil.which("node") is not None and (FOLDER / "node_modules" / "oidc-provider").is_dir()


def require_node() -> None:
    """In CI (``.ci/run`` installs the provider) a missing provider fails; elsewhere it skips."""
    if node_available():
        return
    message = "node-oidc-provider is not installed: run `npm ci` in tests/oidc_provider"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class RealProvider:
    """One node-oidc-provider process; ``carnet_url`` is the relying party's base URL."""

    folder: Path
    carnet_url: str
    keys: list[dict[str, Any]] = field(default_factory=lambda: [new_key()])
    claims_in_id_token: bool = False
    client_auth: str = "client_secret_basic"
    client_jwks: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        portal: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "redirect_uris": [self.carnet_url + "/pro/connexion/retour"],
            "post_logout_redirect_uris": [self.carnet_url + "/pro/"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": self.client_auth,
        }
        if self.client_auth.startswith("client_secret"):
            portal["client_secret"] = CLIENT_SECRET
        if self.client_jwks:
            portal["jwks"] = {"keys": self.client_jwks}
        software = {
            "client_id": SOFTWARE_ID,
            "redirect_uris": [SOFTWARE_REDIRECT],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        return {
            "port": self.port,
            "issuer": self.issuer,
            "keys": self.keys,
            "clients": [portal, software],
            "accounts": ACCOUNTS,
            "claims_in_id_token": self.claims_in_id_token,
            "resources": {RESOURCE: {"audience": AUDIENCE}},
        }

    def start(self) -> RealProvider:
        path = self.folder / f"provider-{self.port}.json"
        path.write_text(json.dumps(self._config()), encoding="utf-8")
        with (self.folder / f"provider-{self.port}.log").open("wb") as log:
            self.process = subprocess.Popen(
                ["node", "server.mjs", str(path)],
                cwd=FOLDER,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else b""
        if b"ready" not in line:
            self.stop()
            raise RuntimeError(f"node-oidc-provider did not start: {self.log()[-2000:]}")
        return self

    def log(self) -> str:
        return (self.folder / f"provider-{self.port}.log").read_text(errors="replace")

    def stop(self) -> None:
        """Down: the port refuses connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def freeze(self) -> None:
        """Hung: the kernel still accepts connections, the provider answers nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = httpx.post(f"{self.issuer}/__test/{path}", json=body or {}, timeout=5)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def tamper(self, mode: str | None, **extra: Any) -> None:
        self._control("tamper", {"mode": mode, **extra})

    def rotate(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self._control("keys", {"keys": keys})

    def reset(self) -> None:
        self._control("reset")

    def hits(self) -> dict[str, int]:
        found: dict[str, int] = self._control("hits")["hits"]
        return found


@contextmanager
def running(provider: RealProvider) -> Iterator[RealProvider]:
    require_node()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def sign_in_form(client: httpx.Client, response: httpx.Response, login: str) -> httpx.Response:
    """The provider's log-in page, as a pro fills it (any password: it stands for the card)."""
    found = re.search(r'action="([^"]+)"', response.text)
    assert found, response.text[:500]
    return client.post(
        urljoin(str(response.url), found.group(1)), data={"login": login, "password": "0000"}
    )


def follow_until(client: httpx.Client, response: httpx.Response, prefix: str) -> str:
    """Follows redirects by hand until one leaves for ``prefix``; returns that URL."""
    for _ in range(10):
        location = response.headers.get("location")
        assert isinstance(location, str), (response.status_code, response.text[:500])
        target = urljoin(str(response.url), location)
        if target.startswith(prefix):
            return target
        response = client.get(target)
    raise AssertionError("too many redirects")


def software_tokens(provider: RealProvider, login: str = "cps") -> dict[str, Any]:
    """What a pro's DMP-ready software gets from the provider for the API (code flow, PKCE, the
    resource indicator): a JWT access token whose audience is Carnet's API."""
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    with httpx.Client(timeout=10) as client:
        start = client.get(
            provider.issuer + "/auth",
            params={
                "client_id": SOFTWARE_ID,
                "response_type": "code",
                "scope": "openid scope_all",
                "redirect_uri": SOFTWARE_REDIRECT,
                "code_challenge": challenge.decode().rstrip("="),
                "code_challenge_method": "S256",
                "resource": RESOURCE,
                "nonce": "n",
            },
        )
        login_page = client.get(urljoin(provider.issuer, start.headers["location"]))
        back = follow_until(client, sign_in_form(client, login_page, login), SOFTWARE_REDIRECT)
        code = parse_qs(urlsplit(back).query)["code"][0]
        answer = client.post(
            provider.issuer + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": SOFTWARE_REDIRECT,
                "client_id": SOFTWARE_ID,
                "code_verifier": verifier,
                "resource": RESOURCE,
            },
        )
        answer.raise_for_status()
        tokens: dict[str, Any] = answer.json()
        return tokens


def wait_until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
