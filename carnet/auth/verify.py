"""The one way a bearer token becomes :data:`Claims`, and the level a pro needs to read (ID-5)."""

from __future__ import annotations

from carnet import clock
from carnet.auth.claims import (
    Claims,
    ProClaims,
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
from carnet.auth.oidc import (
    JwksCache,
    ReadToken,
    check_signature,
    read_token,
    unknown_key,
    verify_oidc_token,
)
from carnet.context import AuthLevel
from carnet.errors import Forbidden, Unauthenticated
from carnet.settings import Settings

READING_LEVELS = frozenset({AuthLevel.CPS, AuthLevel.E_CPS})
"""ID-5: reading a DMP needs a CPS or e-CPS; an establishment card (CPE) may only upload."""


class TokenVerifier:
    """Trusts the instance's own key and, when configured, one OpenID Connect issuer.

    The unverified ``iss`` only picks which key to check against; a token claiming the instance
    but signed by anyone else fails on its ``kid`` or its signature.
    """

    def __init__(
        self,
        instance_key: InstanceKey,
        *,
        oidc_issuer: str | None = None,
        oidc_audience: str | None = None,
        jwks: JwksCache | None = None,
    ) -> None:
        if oidc_issuer is not None and jwks is None:
            jwks = JwksCache(oidc_issuer.rstrip("/") + "/jwks")
        self._instance_key = instance_key
        self._instance_algorithm = instance_algorithm(instance_key)
        self._oidc_issuer = oidc_issuer
        self._oidc_audience = oidc_audience
        self._jwks = jwks

    @classmethod
    def from_settings(cls, settings: Settings, *, jwks: JwksCache | None = None) -> TokenVerifier:
        """Creates the instance key on first start; the JWKS defaults to ``<issuer>/jwks``."""
        issuer = settings.oidc_issuer
        if issuer is not None and jwks is None:
            jwks = JwksCache(settings.oidc_jwks_url or issuer.rstrip("/") + "/jwks")
        return cls(
            load_or_create_instance_key(settings.resolved_instance_key_file),
            oidc_issuer=issuer,
            oidc_audience=settings.oidc_audience,
            jwks=jwks,
        )

    def verify(self, token: str) -> Claims:
        read = read_token(token)
        issuer = read.payload.get("iss")
        if issuer == INSTANCE_ISSUER:
            return self._verify_instance(read)
        if self._oidc_issuer is not None and self._jwks is not None and issuer == self._oidc_issuer:
            return verify_oidc_token(
                token, issuer=self._oidc_issuer, audience=self._oidc_audience, jwks=self._jwks
            )
        raise issuer_refused()

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


def require_level(claims: ProClaims, *, for_reading: bool) -> None:
    """ID-5. Refused with Forbidden, not NotFound: the answer depends on the caller's card only,
    so it reveals nothing about the patient."""
    if for_reading and claims.level not in READING_LEVELS:
        raise Forbidden(
            "Lecture refusée : consulter un DMP exige une authentification par carte CPS ou "
            "e-CPS ; la carte d'établissement (CPE) permet seulement d'alimenter le dossier.",
            "Reading refused: consulting a DMP requires a CPS card or e-CPS authentication; an "
            "establishment card (CPE) may only add documents.",
            code="auth_level_insufficient",
        )
