"""The pro portal as an OpenID Connect relying party: the authorization-code flow with PKCE.

https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth — the browser goes to the
provider with a ``state``, a ``nonce`` and a PKCE challenge (RFC 7636, S256); back here with a code,
exchanged at the token endpoint with the verifier and the client's authentication
(``client_secret_basic``, ``client_secret_post``, ``private_key_jwt`` or ``none``); the ID token is
validated (``idtoken.py``), the pro's identity read from it and, when it is not there (as PSC
does), from userinfo, whose ``sub`` must be the ID token's (§5.3.2); a JWT access token must name
the same ``sub`` too. Log-out goes to the provider's ``end_session_endpoint`` (OpenID Connect
RP-Initiated Logout 1.0).

Everything here talks to the provider on a request's behalf: each exchange is bounded by the
timeout, awaited without holding a worker thread, and a provider that does not answer gives
:class:`ProviderUnavailable`, never a refusal that blames the pro.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from carnet import clock
from carnet.auth.claims import ProClaims, check_issuer, check_times, pro_claims_from_payload
from carnet.auth.idtoken import check_id_token, id_token_missing, subject_mismatch
from carnet.auth.oidc import check_signature, looks_like_jwt, read_token
from carnet.auth.provider import OidcConfigError, OidcProvider, ProviderMetadata, unavailable
from carnet.errors import Refusal
from carnet.ids import new_id, new_secret
from carnet.logs import get_logger
from carnet.settings import Settings

log = get_logger(__name__)

SCOPE = "openid scope_all"
"""``scope_all``: PSC's scope for the pro's sectoral identity (SubjectNameID, SubjectRefPro…)."""
ACR_VALUES = "eidas1"
MAX_ANSWER_BYTES = 64 * 1024
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ClientKey = RSAKey | ECKey | OKPKey


class LoginRefused(Refusal):
    """The provider or its answer refused this log-in: start again (400)."""

    code = "login_refused"
    status = 400


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class LoginResult:
    claims: ProClaims
    id_token: str


def _algorithm_of(key: ClientKey) -> str:
    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey) and key.curve_name == "P-256":
        return "ES256"
    if isinstance(key, OKPKey) and key.curve_name == "Ed25519":
        return "EdDSA"
    raise OidcConfigError(f"client key type not supported: {type(key).__name__}")


def load_client_key(path: Path) -> ClientKey:
    """The private JWK that signs ``private_key_jwt`` assertions (its public half is registered
    at the provider)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        kinds: dict[str, type[ClientKey]] = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
        key = kinds[data["kty"]].import_key(data)
    except (OSError, ValueError, KeyError, TypeError, JoseError) as error:
        raise OidcConfigError(f"{path}: unreadable client key ({type(error).__name__})") from None
    if not key.is_private:
        raise OidcConfigError(f"{path}: the client key must hold its private part")
    _algorithm_of(key)
    return key


def _refused(fr: str, en: str, code: str) -> LoginRefused:
    return LoginRefused(
        f"Connexion refusée : {fr} Recommencez la connexion.",
        f"Log-in refused: {en} Please log in again.",
        code=code,
    )


def _grant_refused(error: str) -> LoginRefused:
    """What the token endpoint's OAuth ``error`` means for the pro (RFC 6749 §5.2)."""
    if error == "invalid_grant":
        return _refused(
            "le fournisseur d'identité n'a pas accepté le code de connexion : il a déjà servi, "
            "il a expiré, ou il ne correspond pas à la vérification (PKCE) de cette connexion.",
            "the identity provider did not accept the log-in code: it was already used, it "
            "expired, or it does not match this log-in's verification (PKCE).",
            "login_code_refused",
        )
    if error in ("invalid_client", "unauthorized_client"):
        return _refused(
            "le fournisseur d'identité ne reconnaît pas ce service (authentification du client) ; "
            "l'exploitant doit vérifier sa configuration.",
            "the identity provider does not recognise this service (client authentication); the "
            "operator must check its settings.",
            "login_client_refused",
        )
    shown = error[:40] if error.replace("_", "").isalnum() else "?"
    return _refused(
        f"le fournisseur d'identité a refusé l'échange du code (erreur « {shown} »).",
        f"the identity provider refused the code exchange (error '{shown}').",
        "login_exchange_refused",
    )


def client_settings(settings: Settings) -> tuple[str, str, ClientKey | None]:
    """(client id, authentication method, private key) of the portal; refused when unusable."""
    client_id = settings.oidc_client_id
    if client_id is None:
        raise OidcConfigError("CARNET_OIDC_CLIENT_ID is required for the pro portal")
    method = settings.oidc_client_auth or (
        "client_secret_basic" if settings.oidc_client_secret else "none"
    )
    if method not in CLIENT_AUTH_METHODS:
        raise OidcConfigError(f"CARNET_OIDC_CLIENT_AUTH: one of {', '.join(CLIENT_AUTH_METHODS)}")
    if method.startswith("client_secret") and not settings.oidc_client_secret:
        raise OidcConfigError(f"{method} needs CARNET_OIDC_CLIENT_SECRET")
    if method != "private_key_jwt":
        return client_id, method, None
    if settings.oidc_client_key_file is None:
        raise OidcConfigError("private_key_jwt needs CARNET_OIDC_CLIENT_KEY_FILE")
    return client_id, method, load_client_key(settings.oidc_client_key_file)


@dataclass(frozen=True)
class RelyingParty:
    provider: OidcProvider
    client_id: str
    auth_method: str
    client_secret: str | None = None
    client_key: ClientKey | None = None
    resource: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, provider: OidcProvider) -> RelyingParty:
        client_id, method, key = client_settings(settings)
        return cls(
            provider, client_id, method, settings.oidc_client_secret, key, settings.oidc_resource
        )

    # --- the way out ----------------------------------------------------------------------------

    async def begin(self, redirect_uri: str) -> AuthorizationRequest:
        """Where to send the browser, with a fresh ``state``, ``nonce`` and PKCE verifier."""
        metadata = await self.provider.metadata()
        state, nonce, verifier = new_secret(24), new_secret(24), new_secret(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "acr_values": ACR_VALUES,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
        if self.resource:
            query["resource"] = self.resource
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        url = f"{metadata.authorization_endpoint}{separator}{urlencode(query)}"
        return AuthorizationRequest(url, state, nonce, verifier)

    def logout_url(self, id_token_hint: str | None, back_to: str) -> str | None:
        """The provider's end-session URL, or None when it has none (or is unknown right now)."""
        metadata = self.provider.discovery.current()
        if metadata is None or metadata.end_session_endpoint is None:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": back_to}
        if id_token_hint:
            query["id_token_hint"] = id_token_hint
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return f"{metadata.end_session_endpoint}{separator}{urlencode(query)}"

    # --- the way back ---------------------------------------------------------------------------

    async def finish(self, code: str, verifier: str, nonce: str, redirect_uri: str) -> LoginResult:
        metadata = await self.provider.metadata()
        answer = await self._exchange(metadata, code, verifier, redirect_uri)
        access_token, id_token = answer.get("access_token"), answer.get("id_token")
        if not isinstance(access_token, str) or not access_token:
            raise _refused(
                "le fournisseur d'identité n'a pas remis de jeton d'accès.",
                "the identity provider returned no access token.",
                "login_exchange_refused",
            )
        if not isinstance(id_token, str) or not id_token:
            raise id_token_missing()
        read = read_token(id_token)
        check_signature(read, await self.provider.key_async(read.kid))
        subject = check_id_token(
            read.payload,
            algorithm=read.algorithm,
            issuer=self.provider.issuer,
            client_id=self.client_id,
            nonce=nonce,
            access_token=access_token,
            now=clock.now(),
        )
        merged: dict[str, object] = dict(await self._access_claims(access_token, subject))
        if "SubjectNameID" not in read.payload and metadata.userinfo_endpoint is not None:
            merged.update(await self._userinfo(metadata.userinfo_endpoint, access_token, subject))
        merged.update(read.payload)
        return LoginResult(pro_claims_from_payload(merged), id_token)

    async def _access_claims(self, access_token: str, subject: str) -> dict[str, Any]:
        """A JWT access token (PSC's are) is checked and must name the ID token's ``sub``; an
        opaque one is the provider's business (userinfo will tell whose it is)."""
        if not looks_like_jwt(access_token):
            return {}
        read = read_token(access_token)
        check_issuer(read.payload, self.provider.issuer)
        check_signature(read, await self.provider.key_async(read.kid))
        check_times(read.payload, clock.now())
        if read.payload.get("sub") != subject:
            raise subject_mismatch("le jeton d'accès", "the access token")
        return dict(read.payload)

    def _client_authentication(self, token_endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
        """(form fields, headers) that authenticate Carnet at the token endpoint."""
        if self.auth_method == "client_secret_basic":
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret or '')}"
            basic = base64.b64encode(pair.encode()).decode()
            return {}, {"Authorization": f"Basic {basic}"}
        if self.auth_method == "client_secret_post":
            return {"client_id": self.client_id, "client_secret": self.client_secret or ""}, {}
        if self.auth_method == "private_key_jwt" and self.client_key is not None:
            issued = int(clock.now().timestamp())
            assertion = jwt.encode(
                {"alg": _algorithm_of(self.client_key), "kid": self.client_key.kid},
                {
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "aud": token_endpoint,
                    "jti": new_id(),
                    "iat": issued,
                    "exp": issued + 60,
                },
                self.client_key,
                algorithms=[_algorithm_of(self.client_key)],
            )
            return {
                "client_id": self.client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }, {}
        return {"client_id": self.client_id}, {}

    async def _exchange(
        self, metadata: ProviderMetadata, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        form, headers = self._client_authentication(metadata.token_endpoint)
        form |= {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        if self.resource:
            form["resource"] = self.resource
        status, body = await self._call("token", "POST", metadata.token_endpoint, form, headers)
        document = _json_object(body)
        if status == 200 and document is not None:
            return document
        error = document.get("error") if document is not None else None
        if status in (400, 401) and isinstance(error, str):
            description = document.get("error_description") if document else None
            log.warning(
                "oidc_token_refused",
                error=error[:40],
                description=str(description)[:200] if description else None,
            )
            raise _grant_refused(error)
        log.warning("oidc_token_failed", status=status)
        raise unavailable("token", self.provider.settings.min_interval)

    async def _userinfo(self, endpoint: str, access_token: str, subject: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        status, body = await self._call("userinfo", "GET", endpoint, None, headers)
        if status in (401, 403):
            raise _refused(
                "le fournisseur d'identité n'a pas donné l'identité du professionnel (userinfo).",
                "the identity provider did not give the professional's identity (userinfo).",
                "login_userinfo_refused",
            )
        document = _json_object(body) if status == 200 else None
        if document is None:
            signed = body.decode("ascii", "replace").strip() if status == 200 else ""
            document = await self._signed_userinfo(signed) if looks_like_jwt(signed) else None
        if document is None:
            log.warning("oidc_userinfo_failed", status=status)
            raise unavailable("userinfo", self.provider.settings.min_interval)
        if document.get("sub") != subject:
            raise subject_mismatch("la réponse userinfo", "the userinfo answer")
        return document

    async def _signed_userinfo(self, token: str) -> dict[str, Any]:
        """``application/jwt`` userinfo (§5.3.2): signed by the provider, for this client."""
        read = read_token(token)
        check_signature(read, await self.provider.key_async(read.kid))
        audience = read.payload.get("aud", self.client_id)
        audiences = audience if isinstance(audience, list) else [audience]
        if read.payload.get("iss", self.provider.issuer) != self.provider.issuer or (
            self.client_id not in audiences
        ):
            raise subject_mismatch("la réponse userinfo", "the userinfo answer")
        return dict(read.payload)

    async def _call(
        self,
        step: str,
        method: str,
        url: str,
        form: dict[str, str] | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes]:
        """One exchange with the provider, bounded as a whole by the timeout."""
        timeout = self.provider.settings.timeout
        try:
            async with (
                asyncio.timeout(timeout),
                httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
                client.stream(
                    method, url, data=form, headers={"Accept": "application/json", **headers}
                ) as response,
            ):
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        break
                return response.status_code, body[:MAX_ANSWER_BYTES]
        except (TimeoutError, httpx.HTTPError) as error:
            log.warning("oidc_call_failed", step=step, reason=type(error).__name__)
            raise unavailable(step, self.provider.settings.min_interval) from None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
