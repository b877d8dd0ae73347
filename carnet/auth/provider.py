"""The configured OpenID provider (Pro Santé Connect): its discovery document and its keys.

Both are :class:`RemoteDocument` s: fetched in the background, never by a request that merely
checks a token. The discovery's ``issuer`` must be the configured one, exactly (OpenID Connect
Discovery 1.0, §4.3: https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation),
and the keys come from its ``jwks_uri`` — where a Keycloak-based issuer such as PSC publishes them
(``…/protocol/openid-connect/certs``) — unless an operator names another URL.

A request that does need the provider (a log-in; a token signed with a key we have not seen) waits
for the one fetch in flight at most ``timeout`` seconds, then gets :class:`ProviderUnavailable`
(503, ``Retry-After``) and the operator a log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass

from carnet.auth.keys import VerificationKey, import_public
from carnet.auth.remote import (
    ProviderError,
    RemoteDocument,
    fetch_json,
    wait_blocking,
    wait_for,
)
from carnet.errors import ProviderUnavailable, Unauthenticated
from carnet.logs import get_logger

log = get_logger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024
KeySet = Mapping[str, VerificationKey]


class OidcConfigError(RuntimeError):
    """Settings that would run OpenID Connect unsafely or not at all: Carnet refuses to start."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What Carnet uses of the discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class ProviderSettings:
    issuer: str
    jwks_url: str | None = None
    timeout: float = 3.0
    refresh_after: float = 300.0
    grace: float = 3600.0
    min_interval: float = 10.0
    require_https: bool = True


def unavailable(step: str, retry_after: float) -> ProviderUnavailable:
    """The refusal and its log line (the step only: no token, no person)."""
    log.warning("oidc_provider_unavailable", step=step)
    return ProviderUnavailable(
        "Le fournisseur d'identité (Pro Santé Connect) ne répond pas, ou pas correctement : "
        "réessayez dans un moment.",
        "The identity provider (Pro Santé Connect) does not answer, or not properly; please try "
        "again shortly.",
        code="issuer_unavailable",
        retry_after=round(retry_after),
    )


def unknown_key() -> Unauthenticated:
    return Unauthenticated(
        "Jeton refusé : il est signé par une clé inconnue.",
        "Token refused: it is signed with an unknown key.",
        code="token_key_unknown",
    )


def _https(url: str, *, required: bool) -> bool:
    return url.startswith("https://") or (not required and url.startswith("http://"))


def parse_metadata(document: object, settings: ProviderSettings) -> ProviderMetadata:
    if not isinstance(document, dict):
        raise ProviderError("discovery document is not a JSON object")
    if document.get("issuer") != settings.issuer:
        raise ProviderError("discovery names another issuer than the configured one")
    required: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not _https(value, required=settings.require_https):
            raise ProviderError(f"discovery lacks a usable {name}")
        required[name] = value
    optional: dict[str, str | None] = {}
    for name in ("userinfo_endpoint", "end_session_endpoint"):
        value = document.get(name)
        usable = isinstance(value, str) and _https(value, required=settings.require_https)
        optional[name] = value if usable and isinstance(value, str) else None
    return ProviderMetadata(
        issuer=settings.issuer,
        authorization_endpoint=required["authorization_endpoint"],
        token_endpoint=required["token_endpoint"],
        jwks_uri=required["jwks_uri"],
        userinfo_endpoint=optional["userinfo_endpoint"],
        end_session_endpoint=optional["end_session_endpoint"],
    )


def parse_key_set(document: object) -> KeySet:
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ProviderError("JWKS is not a key set")
    keys: dict[str, VerificationKey] = {}
    for entry in entries:
        key = import_public(entry) if isinstance(entry, dict) else None
        if key is not None and key.kid is not None:
            keys[key.kid] = key
    return keys


class OidcProvider:
    """Discovery and keys of one issuer, and the waits a request may do on them."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.issuer = settings.issuer
        self.discovery: RemoteDocument[ProviderMetadata] = RemoteDocument(
            "discovery",
            self._fetch_metadata,
            refresh_after=settings.refresh_after,
            grace=settings.grace,
            min_interval=settings.min_interval,
        )
        self.jwks: RemoteDocument[KeySet] = RemoteDocument(
            "jwks",
            self._fetch_keys,
            refresh_after=settings.refresh_after,
            grace=settings.grace,
            min_interval=settings.min_interval,
        )

    def warm(self) -> None:
        """Starts both fetches in the background (at start-up), so that no one waits later."""
        self.discovery.current()
        self.jwks.current()

    def _fetch_metadata(self) -> ProviderMetadata:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = fetch_json(url, timeout=self.settings.timeout, max_bytes=MAX_DOCUMENT_BYTES)
        return parse_metadata(document, self.settings)

    def _fetch_keys(self) -> KeySet:
        url = self.settings.jwks_url
        if url is None:
            found = self.discovery.current_or_fetch()
            if isinstance(found, Future):
                wait_blocking(found, self.settings.timeout)
                found = self.discovery.current()
            metadata = found
            if metadata is None:
                raise ProviderError("no discovery document, so no jwks_uri")
            url = metadata.jwks_uri
        document = fetch_json(url, timeout=self.settings.timeout, max_bytes=MAX_DOCUMENT_BYTES)
        return parse_key_set(document)

    # --- what requests call -------------------------------------------------------------------

    def key_now(self, kid: str | None) -> VerificationKey | Future[KeySet]:
        """The key, or the fetch to wait on (an unknown ``kid`` may be a rotation); refused when
        no fetch may start now."""
        if kid is None:
            raise unknown_key()
        keys = self.jwks.current()
        if keys is not None and kid in keys:
            return keys[kid]
        pending = self.jwks.refresh()
        if pending is None:
            keys = self.jwks.current()  # a fetch may have ended since the first look
            if keys is not None and kid in keys:
                return keys[kid]
            raise self._no_key(keys)
        return pending

    def key_after_wait(self, kid: str | None, finished: bool) -> VerificationKey:
        keys = self.jwks.current()
        if keys is not None and kid is not None and kid in keys:
            return keys[kid]
        if not finished:
            raise unavailable("jwks", self.settings.min_interval)
        raise self._no_key(keys)

    def _no_key(self, keys: KeySet | None) -> Exception:
        """Not found: unknown if the provider just answered, unavailable if it did not."""
        if keys is None or self.jwks.failed:
            return unavailable("jwks", self.settings.min_interval)
        return unknown_key()

    def key(self, kid: str | None) -> VerificationKey:
        """For threads (the CLI, tests): waits like a request does, by blocking."""
        found = self.key_now(kid)
        if not isinstance(found, Future):
            return found
        return self.key_after_wait(kid, wait_blocking(found, self.settings.timeout))

    async def key_async(self, kid: str | None) -> VerificationKey:
        found = self.key_now(kid)
        if not isinstance(found, Future):
            return found
        return self.key_after_wait(kid, await wait_for(found, self.settings.timeout))

    async def metadata(self) -> ProviderMetadata:
        """The endpoints, waiting for a first discovery at most the timeout."""
        found = self.discovery.current_or_fetch()
        if isinstance(found, Future):
            await wait_for(found, self.settings.timeout)
            found = self.discovery.current()
        metadata = found
        if metadata is None:
            raise unavailable("discovery", self.settings.min_interval)
        return metadata
