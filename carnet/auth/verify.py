"""The one way a bearer token becomes :data:`Claims`, and the level a pro needs to read (ID-5)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from carnet import clock
from carnet.auth.claims import (
    LEEWAY_SECONDS,
    Claims,
    ProClaims,
    check_audience,
    check_times,
    issuer_refused,
    patient_claims_from_payload,
    pro_claims_from_payload,
)
from carnet.auth.instance import (
    INSTANCE_ISSUER,
    KIND_CLAIM,
    KIND_PATIENT,
    KIND_PRO,
    InstanceKey,
    instance_algorithm,
    load_or_create_instance_key,
)
from carnet.auth.keys import VerificationKey
from carnet.auth.login import client_settings
from carnet.auth.oidc import ReadToken, check_signature, read_token
from carnet.auth.provider import OidcConfigError, OidcProvider, ProviderSettings, unknown_key
from carnet.errors import Unauthenticated
from carnet.settings import Settings


def provider_settings(settings: Settings) -> ProviderSettings:
    """The provider's settings, refused when they would run it unsafely (Carnet does not start):
    an issuer without an audience would take tokens meant for other services; outside demo mode,
    an ``http://`` issuer or key URL would let anyone on the way forge identities."""
    issuer = settings.oidc_issuer
    if issuer is None:
        raise OidcConfigError("no CARNET_OIDC_ISSUER")
    if not settings.oidc_audience:
        raise OidcConfigError(
            "CARNET_OIDC_ISSUER is set but CARNET_OIDC_AUDIENCE is not: pro tokens meant for "
            "other services would be accepted. Set the audience Carnet's tokens carry."
        )
    for name, url in (
        ("CARNET_OIDC_ISSUER", issuer),
        ("CARNET_OIDC_JWKS_URL", settings.oidc_jwks_url),
    ):
        if url is not None and not url.startswith("https://") and not settings.demo:
            raise OidcConfigError(f"{name} must be an https:// URL (http is for demo mode only)")
    return ProviderSettings(
        issuer=issuer,
        jwks_url=settings.oidc_jwks_url,
        timeout=settings.oidc_timeout_seconds,
        refresh_after=settings.oidc_refresh_seconds,
        grace=settings.oidc_grace_seconds,
        min_interval=settings.oidc_min_refetch_seconds,
        require_https=not settings.demo,
    )


def check_oidc_settings(settings: Settings) -> None:
    """Everything :class:`OidcConfigError` would stop at start-up, checked before it starts."""
    if settings.oidc_issuer is not None:
        provider_settings(settings)
        if settings.oidc_client_id is not None:
            client_settings(settings)


T = TypeVar("T")

#: How many verified tokens a process remembers (the least recently used go first).
CACHE_SIZE = 10_000


class TokenCache(Generic[T]):
    """What a token proved, remembered under the token's SHA-256 (never the token itself) until
    the token expires: bounded, least recently used first out, thread-safe (the doors' threads
    and the event loop share it)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> T | None:
        """The value, unless absent or its token has expired (then forgotten)."""
        key = self.key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if clock.now().timestamp() > entry[0]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, token: str, value: T, expires: float) -> None:
        """Remember ``value`` until ``expires`` (a POSIX timestamp: the token's own end)."""
        key = self.key(token)
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class _Verified:
    """A token whose signature was checked against ``key`` (the key object itself)."""

    claims: Claims
    payload: Mapping[str, object]
    kid: str | None
    key: object


def _expiry(payload: Mapping[str, object]) -> float:
    expires = payload.get("exp")
    assert isinstance(expires, int | float)  # check_times required it
    return float(expires) + LEEWAY_SECONDS


class TokenVerifier:
    """Trusts the instance's own key and, when configured, one OpenID Connect provider.

    The unverified ``iss`` only picks which key to check against; a token claiming the instance
    but signed by anyone else fails on its ``kid`` or its signature. Instance tokens never touch
    the provider; provider tokens wait for it only when their key is not in hand
    (:meth:`OidcProvider.key_async`).
    """

    def __init__(
        self,
        instance_key: InstanceKey,
        *,
        provider: OidcProvider | None = None,
        audience: str | None = None,
    ) -> None:
        if provider is not None and not audience:
            raise OidcConfigError("an OpenID provider needs an audience for its access tokens")
        self._instance_key = instance_key
        self._instance_algorithm = instance_algorithm(instance_key)
        self.provider = provider
        self._audience = audience or ""
        self._cache: TokenCache[_Verified] = TokenCache()
        self._identities: TokenCache[str] = TokenCache()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """Creates the instance key on first start; starts fetching the provider's documents."""
        key = load_or_create_instance_key(settings.resolved_instance_key_file)
        if settings.oidc_issuer is None:
            return cls(key)
        provider = OidcProvider(provider_settings(settings))
        provider.warm()
        return cls(key, provider=provider, audience=settings.oidc_audience)

    def _route(self, token: str) -> tuple[ReadToken, OidcProvider | None]:
        read = read_token(token)
        issuer = read.payload.get("iss")
        if issuer == INSTANCE_ISSUER:
            return read, None
        if self.provider is not None and issuer == self.provider.issuer:
            return read, self.provider
        raise issuer_refused()

    def verify(self, token: str) -> Claims:
        """For threads (the CLI, tests): may block up to the provider's timeout."""
        known = self._cache.get(token)
        if known is not None:
            current: object = self._instance_key if known.key is self._instance_key else None
            if current is None and self.provider is not None:
                current = self.provider.key(known.kid)
            if current is known.key:
                return self._remembered(known)
        read, provider = self._route(token)
        if provider is None:
            return self._remember(token, read, self._instance_key, self._verify_instance(read))
        key = provider.key(read.kid)
        return self._remember(token, read, key, self._verify_outside(read, key))

    async def verify_async(self, token: str) -> Claims:
        """For the doors: waiting on the provider holds no worker thread.

        A token seen before skips its signature (issue 19: the costliest step of a small
        request) as long as the key that checked it is still the one its ``kid`` names: a
        provider's key that was removed, or went stale past its grace, is followed at once."""
        known = self._cache.get(token)
        if known is not None:
            current: object = self._instance_key if known.key is self._instance_key else None
            if current is None and self.provider is not None:
                current = await self.provider.key_async(known.kid)
            if current is known.key:
                return self._remembered(known)
        read, provider = self._route(token)
        if provider is None:
            return self._remember(token, read, self._instance_key, self._verify_instance(read))
        key = await provider.key_async(read.kid)
        return self._remember(token, read, key, self._verify_outside(read, key))

    def identity(self, token: str) -> str | None:
        """Who a verified ``token`` speaks for in the register (a patient's id for his INS),
        if :meth:`remember_identity` was told (issue 19: a look-up per request was a
        transaction of its own)."""
        return self._identities.get(token)

    def remember_identity(self, token: str, person_id: str) -> None:
        """Remember ``person_id`` for a verified ``token``, for the token's life only."""
        verified = self._cache.get(token)
        if verified is not None:
            self._identities.put(token, person_id, _expiry(verified.payload))

    def _remember(self, token: str, read: ReadToken, key: object, claims: Claims) -> Claims:
        self._cache.put(
            token, _Verified(claims, read.payload, read.kid, key), _expiry(read.payload)
        )
        return claims

    def _remembered(self, known: _Verified) -> Claims:
        check_times(known.payload, clock.now())  # the clock moved since: expiry, not-before
        return known.claims

    def _verify_outside(self, read: ReadToken, key: VerificationKey) -> ProClaims:
        """A provider's access token: signature before any claim is believed."""
        check_signature(read, key)
        check_times(read.payload, clock.now())
        check_audience(read.payload, self._audience)
        return pro_claims_from_payload(read.payload)

    def _verify_instance(self, read: ReadToken) -> Claims:
        """Instance tokens carry no ``aud``: the instance is both their issuer and audience."""
        if read.kid != self._instance_key.kid:
            raise unknown_key()
        if read.algorithm != self._instance_algorithm:
            raise Unauthenticated(
                "Jeton refusé : algorithme de signature inattendu pour un jeton de l'instance.",
                "Token refused: unexpected signature algorithm for an instance token.",
                code="token_algorithm_refused",
            )
        check_signature(read, self._instance_key)
        check_times(read.payload, clock.now())
        kind = read.payload.get(KIND_CLAIM)
        if kind == KIND_PRO:
            return pro_claims_from_payload(read.payload)
        if kind == KIND_PATIENT:
            return patient_claims_from_payload(read.payload)
        raise Unauthenticated(
            "Jeton refusé : il ne dit pas s'il s'agit d'un professionnel ou d'un patient.",
            "Token refused: it does not say whether it is for a professional or a patient.",
            code="token_kind_unknown",
        )
