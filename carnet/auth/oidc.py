"""Signed JWTs: reading them safely and checking their signatures.

Every token Carnet believes goes through :func:`read_token` then :func:`check_signature`: the
instance's own, a provider's access tokens (``verify.py``), its ID tokens and signed userinfo
answers (``idtoken.py``). Only asymmetric algorithms pass, from :data:`ALLOWED_ALGORITHMS`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jws import CompactSignature, JWSRegistry

from carnet.auth.keys import VerificationKey
from carnet.errors import Unauthenticated

ALLOWED_ALGORITHMS = frozenset({"Ed25519", "EdDSA", "ES256", "RS256", "PS256"})
"""Asymmetric only: ``none`` and HMAC (where a public key, or a client secret others know, could
serve as the secret) never pass. PSC signs with RS256."""

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


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` is a compact JWS (a JSON header naming an ``alg``, then two parts): an
    access token may also be opaque, and is then the provider's business, not ours to read."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_CHARS:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header


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
