"""The one way a bearer token becomes :data:`Claims`, and the level a pro needs to read (ID-5)."""

from __future__ import annotations

from carnet import clock
from carnet.auth.claims import (
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
        read, provider = self._route(token)
        if provider is None:
            return self._verify_instance(read)
        return self._verify_outside(read, provider.key(read.kid))

    async def verify_async(self, token: str) -> Claims:
        """For the doors: waiting on the provider holds no worker thread."""
        read, provider = self._route(token)
        if provider is None:
            return self._verify_instance(read)
        return self._verify_outside(read, await provider.key_async(read.kid))

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
