"""The provider's public keys, as a JWKS lists them: only what may sign tokens for us is kept."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

VerificationKey = OKPKey | ECKey | RSAKey

MIN_RSA_BITS = 2048


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    modulus = jwk.get("n")
    if not isinstance(modulus, str):
        return 0
    raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    return int.from_bytes(raw, "big").bit_length()


def import_public(jwk: Mapping[str, Any]) -> VerificationKey | None:
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
