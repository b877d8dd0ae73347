"""The ID token's checks, OpenID Connect Core 1.0 §3.1.3.7, once its signature has been checked.

https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation — issuer exactly the
configured one (2); the client its only audience (3: no audience we do not trust), ``azp``, when
present, the client (4–5); an allowed asymmetric algorithm (7–8: ``read_token`` refuses the rest);
``exp`` and ``iat`` (9–10, with the leeway of access tokens); the ``nonce`` the log-in sent (11);
``at_hash``, when present, the access token's (§3.1.3.8). Pure: the time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from carnet.auth.claims import check_issuer, check_times
from carnet.errors import Unauthenticated

_AT_HASH_FUNCTIONS = {
    "RS256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "ES256": hashlib.sha256,
    "EdDSA": hashlib.sha512,
    "Ed25519": hashlib.sha512,
}
"""The hash of each allowed ``alg`` (Ed25519's is SHA-512: OpenID Connect Core errata set 2)."""


def _refused(fr: str, en: str, code: str) -> Unauthenticated:
    return Unauthenticated(
        f"Connexion refusée : {fr} Recommencez la connexion.",
        f"Log-in refused: {en} Please log in again.",
        code=code,
    )


def id_token_missing() -> Unauthenticated:
    return _refused(
        "le fournisseur d'identité n'a pas remis de jeton d'identité (ID token).",
        "the identity provider returned no ID token.",
        "id_token_missing",
    )


def subject_mismatch(source_fr: str, source_en: str) -> Unauthenticated:
    """Userinfo, or the access token, speaks of someone else than the ID token (``sub``)."""
    return _refused(
        f"{source_fr} ne désigne pas la même personne que le jeton d'identité.",
        f"{source_en} does not name the same person as the ID token.",
        "id_token_subject_mismatch",
    )


def token_hash(value: str, algorithm: str) -> str:
    """``at_hash``: the left half of the hash of the token's ASCII, base64url without padding."""
    digest = _AT_HASH_FUNCTIONS[algorithm](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def check_id_token(
    payload: Mapping[str, object],
    *,
    algorithm: str,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
    now: datetime,
) -> str:
    """Returns the ``sub`` once every check passed; each failure says which check."""
    check_issuer(payload, issuer)
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if audiences != [client_id]:
        raise _refused(
            "le jeton d'identité n'est pas destiné à Carnet seul (aud).",
            "the ID token is not meant for Carnet alone (aud).",
            "id_token_audience_refused",
        )
    if "azp" in payload and payload["azp"] != client_id:
        raise _refused(
            "le jeton d'identité a été délivré à un autre client (azp).",
            "the ID token was issued to another client (azp).",
            "id_token_azp_refused",
        )
    if "iat" not in payload:
        raise _refused(
            "le jeton d'identité ne dit pas quand il a été émis (iat).",
            "the ID token does not say when it was issued (iat).",
            "id_token_malformed",
        )
    check_times(payload, now)
    sent = payload.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise _refused(
            "le jeton d'identité ne répond pas à cette connexion-ci (nonce).",
            "the ID token does not answer this log-in (nonce).",
            "id_token_nonce_mismatch",
        )
    at_hash = payload.get("at_hash")
    if at_hash is not None and not (
        isinstance(at_hash, str)
        and hmac.compare_digest(at_hash.encode(), token_hash(access_token, algorithm).encode())
    ):
        raise _refused(
            "le jeton d'identité ne correspond pas au jeton d'accès reçu avec lui (at_hash).",
            "the ID token does not match the access token it came with (at_hash).",
            "id_token_at_hash_mismatch",
        )
    subject = payload.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _refused(
            "le jeton d'identité ne désigne personne (sub).",
            "the ID token names no one (sub).",
            "id_token_malformed",
        )
    return subject
