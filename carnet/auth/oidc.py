"""Signed JWTs: reading them safely, checking signatures, and the keys of an OpenID Connect issuer.

The instance's own tokens go through the same reading and signature check (see ``verify.py``);
what is specific to an outside issuer is :class:`JwksCache` and :func:`verify_oidc_token`.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import CompactSignature, JWSRegistry

from carnet import clock
from carnet.auth.claims import (
    ProClaims,
    check_audience,
    check_issuer,
    check_times,
    pro_claims_from_payload,
)
from carnet.errors import Unauthenticated

ALLOWED_ALGORITHMS = frozenset({"Ed25519", "EdDSA", "ES256", "RS256", "PS256"})
"""Asymmetric only: ``none`` and HMAC (where a public key could serve as the secret) never pass."""

VerificationKey = OKPKey | ECKey | RSAKey

MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 256 * 1024
MAX_TOKEN_CHARS = 64 * 1024
"""Far above a PSC access token (a few kB even with every activity listed); bounds our work."""


class _QuietEdDSA(JWSAlgModel):
    """``EdDSA`` as issuers still write it. RFC 9864 renames it ``Ed25519``/``Ed448`` without
    finding it weak; joserfc warns on every use, which would flood logs (and fail tests)."""

    name = "EdDSA"
    description = "EdDSA (RFC 8037), Ed25519 or Ed448 keys"
    key_type = "OKP"
    _plain = JWSRegistry.algorithms["EdDSA"]

    def sign(self, msg: bytes, key: Any) -> bytes:
        return self._plain.sign(msg, key)

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        return self._plain.verify(msg, sig, key)


class _Registry(JWSRegistry):
    """Its own algorithm table: nothing outside :data:`ALLOWED_ALGORITHMS` can even be looked up."""

    algorithms: dict[str, JWSAlgModel] = {  # noqa: RUF012 - mirrors the base class
        **{name: JWSRegistry.algorithms[name] for name in ALLOWED_ALGORITHMS if name != "EdDSA"},
        "EdDSA": _QuietEdDSA(),
    }
    recommended: list[str] = []  # noqa: RUF012 - mirrors the base class


_REGISTRY = _Registry(algorithms=sorted(ALLOWED_ALGORITHMS), strict_check_header=False)


def _malformed() -> Unauthenticated:
    return Unauthenticated(
        "Jeton mal formé : un jeton JWT signé est attendu (Authorization: Bearer …).",
        "Malformed token: a signed JWT is expected (Authorization: Bearer …).",
        code="token_malformed",
    )


def _bad_signature() -> Unauthenticated:
    return Unauthenticated(
        "Jeton refusé : sa signature n'est pas valide.",
        "Token refused: its signature is not valid.",
        code="token_signature_invalid",
    )


def unknown_key() -> Unauthenticated:
    return Unauthenticated(
        "Jeton refusé : il est signé par une clé inconnue.",
        "Token refused: it is signed with an unknown key.",
        code="token_key_unknown",
    )


@dataclass(frozen=True)
class ReadToken:
    """A token split and decoded, its signature NOT yet checked: route on it, trust nothing else."""

    header: Mapping[str, object]
    payload: Mapping[str, object]
    signature: CompactSignature

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def algorithm(self) -> str:
        return str(self.header["alg"])


def _peek_algorithm(token: str) -> object:
    """The ``alg`` alone, so that ``none`` is refused as such and not as a bad signature."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _malformed()
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        raise _malformed() from None
    if not isinstance(header, dict) or "alg" not in header:
        raise _malformed()
    return header["alg"]


def read_token(token: str) -> ReadToken:
    """Refuses what is not a compact JWS with an allowed ``alg`` and a JSON object as payload."""
    algorithm = _peek_algorithm(token)
    if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
        shown = str(algorithm)[:16]
        raise Unauthenticated(
            f"Jeton refusé : l'algorithme de signature « {shown} » n'est pas accepté.",
            f"Token refused: the signature algorithm '{shown}' is not accepted.",
            code="token_algorithm_refused",
        )
    try:
        signature = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
        _REGISTRY.check_header(signature.headers())
        payload = json.loads(signature.payload)
    except (JoseError, ValueError):
        raise _malformed() from None
    header = signature.headers()
    if not isinstance(payload, dict) or "b64" in header:
        raise _malformed()
    return ReadToken(header=header, payload=payload, signature=signature)


def check_signature(token: ReadToken, key: VerificationKey) -> None:
    """The key must fit the algorithm (type, curve, its ``use`` and ``alg``), then the signature."""
    try:
        valid = jws.validate_compact(token.signature, key, registry=_REGISTRY)
    except (BadSignatureError, JoseError, ValueError):
        raise _bad_signature() from None
    if not valid:
        raise _bad_signature()


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    modulus = jwk.get("n")
    if not isinstance(modulus, str):
        return 0
    raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    return int.from_bytes(raw, "big").bit_length()


def _import_public(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """One JWKS entry, or None for what cannot sign tokens for us (encryption keys, private
    members published by mistake, RSA under 2048 bits, unknown types)."""
    if not isinstance(jwk.get("kid"), str) or jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            return RSAKey.import_key(dict(jwk)) if _rsa_bits(jwk) >= MIN_RSA_BITS else None
        if kty == "EC":
            return ECKey.import_key(dict(jwk))
        if kty == "OKP":
            return OKPKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        return None
    return None


class JwksCache:
    """The issuer's public keys, fetched over HTTP and kept ``ttl_seconds``.

    A token naming an unknown ``kid`` causes one refetch (the issuer may have rotated its keys),
    at most every ``min_refetch_seconds``: otherwise anyone could make us hammer the issuer by
    sending made-up ``kid`` values. Time comes from :mod:`carnet.clock`.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 600.0,
        timeout_seconds: float = 5.0,
        min_refetch_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._ttl = timedelta(seconds=ttl_seconds)
        self._min_refetch = timedelta(seconds=min_refetch_seconds)
        self._timeout = httpx.Timeout(timeout_seconds)
        self._transport = transport
        self._lock = threading.Lock()
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: datetime | None = None
        self.fetch_count = 0

    def _fetch(self, now: datetime) -> None:
        try:
            with (
                httpx.Client(
                    timeout=self._timeout, follow_redirects=False, transport=self._transport
                ) as client,
                client.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
            ):
                response.raise_for_status()
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError("JWKS too large")
            document = json.loads(body)
        except (httpx.HTTPError, ValueError) as error:
            raise Unauthenticated(
                "Le fournisseur d'identité ne répond pas correctement : réessayez plus tard.",
                "The identity provider does not answer properly; please try again later.",
                code="issuer_unreachable",
            ) from error
        finally:
            self.fetch_count += 1
        entries = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str, VerificationKey] = {}
        for entry in entries if isinstance(entries, list) else []:
            key = _import_public(entry) if isinstance(entry, dict) else None
            if key is not None and key.kid is not None:
                keys[key.kid] = key
        self._keys = keys
        self._fetched_at = now

    def key(self, kid: str | None) -> VerificationKey:
        if kid is None:
            raise unknown_key()
        with self._lock:
            now = clock.now()
            fetched = self._fetched_at
            stale = fetched is None or not (fetched <= now < fetched + self._ttl)
            rotated = fetched is not None and now - fetched >= self._min_refetch
            if stale or (kid not in self._keys and rotated):
                self._fetch(now)
            found = self._keys.get(kid)
        if found is None:
            raise unknown_key()
        return found


def verify_oidc_token(
    token: str, *, issuer: str, audience: str | None, jwks: JwksCache
) -> ProClaims:
    """An access token from the configured issuer: issuer first, so that a stranger's token costs
    no JWKS fetch; signature before any claim is believed."""
    read = read_token(token)
    check_issuer(read.payload, issuer)
    check_signature(read, jwks.key(read.kid))
    check_times(read.payload, clock.now())
    if audience is not None:
        check_audience(read.payload, audience)
    return pro_claims_from_payload(read.payload)
