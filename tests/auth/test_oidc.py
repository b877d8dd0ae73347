"""Provider access tokens, read and checked against keys fetched from a running test issuer."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from starlette.responses import JSONResponse

from carnet.auth.claims import ACR_CPS, ProClaims
from carnet.auth.keys import import_public
from carnet.auth.oidc import looks_like_jwt, read_token
from carnet.auth.provider import OidcProvider
from carnet.auth.verify import TokenVerifier
from carnet.context import AuthLevel
from carnet.errors import Unauthenticated

from .issuer import RPPS, LocalIssuer, new_ec_key, new_rsa_key, psc_payload


def b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def refusal(token: str, verifier: TokenVerifier) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    return refused.value


def test_psc_access_token_is_verified(
    issuer: LocalIssuer, verifier: TokenVerifier, provider: OidcProvider
) -> None:
    token = issuer.sign(psc_payload(issuer.issuer, acr=ACR_CPS))
    assert verifier.verify(token) == ProClaims(RPPS, "10", "SM54", AuthLevel.CPS)
    assert issuer.hits == provider.jwks.fetches == 1


def test_oidc_keys_come_from_the_discovery_jwks_uri(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    """Keycloak (PSC) publishes its keys at …/protocol/openid-connect/certs, not <issuer>/jwks."""
    verifier.verify(issuer.sign(psc_payload(issuer.issuer)))
    assert issuer.discovery_hits == 1
    assert issuer.hits == 1


def test_ec_keys_sign_too(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    ec = new_ec_key()
    issuer.keys.append(ec)
    assert verifier.verify(issuer.sign(psc_payload(issuer.issuer), key=ec)).rpps == RPPS  # type: ignore[union-attr]


def test_stranger_issuer_costs_no_fetch(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.sign(psc_payload("https://auth.esante.gouv.fr/auth/realms/esante-wallet"))
    assert refusal(token, verifier).code == "token_issuer_refused"
    assert issuer.hits == 0


def test_token_without_kid_is_refused(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.sign(psc_payload(issuer.issuer), header={"kid": None})
    assert "kid" not in read_token(token).header
    assert refusal(token, verifier).code == "token_key_unknown"


def test_key_published_for_another_algorithm_does_not_verify(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    """The JWK says RS256; a PS256 signature by the same key is not what the issuer vouched for."""
    unrestricted = {k: v for k, v in issuer.main_key.as_dict(private=True).items() if k != "alg"}
    same_key = RSAKey.import_key(unrestricted)
    token = issuer.sign(psc_payload(issuer.issuer), key=same_key, header={"alg": "PS256"})
    assert refusal(token, verifier).code == "token_signature_invalid"


def test_encryption_key_does_not_sign(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    material = new_rsa_key()
    published = {**material.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP"}
    issuer.keys = [RSAKey.import_key(published)]
    token = issuer.sign(psc_payload(issuer.issuer), key=material)
    assert refusal(token, verifier).code == "token_key_unknown"


def test_rsa_key_under_2048_bits_is_ignored(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    modulus = weak_key.public_key().public_numbers().n
    weak = {
        "kty": "RSA",
        "kid": "weak",
        "n": base64.urlsafe_b64encode(modulus.to_bytes(128, "big")).rstrip(b"=").decode(),
        "e": "AQAB",
    }
    assert import_public(weak) is None
    issuer.answers["jwks"] = JSONResponse({"keys": [weak]})
    token = issuer.sign(psc_payload(issuer.issuer), header={"kid": "weak"})
    assert refusal(token, verifier).code == "token_key_unknown"


def test_jwks_that_is_not_a_key_set_holds_no_key(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    garbage = [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}, {"kty": "EC", "kid": "x"}, 3]
    issuer.answers["jwks"] = JSONResponse({"keys": garbage})
    token = issuer.sign(psc_payload(issuer.issuer), header={"kid": "x"})
    assert refusal(token, verifier).code == "token_key_unknown"


def test_opaque_access_tokens_are_not_read_as_jwts() -> None:
    assert looks_like_jwt(b64({"alg": "RS256"}) + "." + b64({}) + ".c2ln")
    for opaque in ("", "abc", "a.b.c", "ory_at_x.y", "a.b.c.d.e", b64([1]) + ".e30.c2ln"):
        assert not looks_like_jwt(opaque), opaque


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        b64({"alg": "RS256"}) + ".!!!.sig",
        b64({"alg": "RS256"}) + "." + b64([1, 2]) + ".c2ln",
        b64({"typ": "JWT"}) + "." + b64({}) + ".c2ln",
        b64({"alg": "RS256", "crit": ["exp"]}) + "." + b64({}) + ".c2ln",
        b64({"alg": "RS256", "b64": False, "crit": ["b64"]}) + ".{}.c2ln",
        "é.é.é",
        b64({"alg": "RS256"}) + "." + "a" * 70_000 + ".c2ln",
        b64({"alg": "RS256", "kid": "k" * 600}) + "." + b64({}) + ".c2ln",
    ],
)
def test_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        read_token(token)
    assert refused.value.code == "token_malformed"
