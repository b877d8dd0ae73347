"""Tokens from an OpenID Connect issuer that really runs (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from carnet.auth.claims import ACR_CPS, ProClaims
from carnet.auth.oidc import JwksCache, read_token, verify_oidc_token
from carnet.clock import FixedClock
from carnet.context import AuthLevel
from carnet.errors import Unauthenticated

from .issuer import AUDIENCE, RPPS, LocalIssuer, new_ec_key, new_rsa_key, psc_payload


def b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def refusal(token: str, issuer: LocalIssuer, jwks: JwksCache) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        verify_oidc_token(token, issuer=issuer.issuer, audience=AUDIENCE, jwks=jwks)
    return refused.value


def test_psc_access_token_is_verified(issuer: LocalIssuer, jwks: JwksCache) -> None:
    token = issuer.sign(psc_payload(issuer.issuer, acr=ACR_CPS))
    claims = verify_oidc_token(token, issuer=issuer.issuer, audience=AUDIENCE, jwks=jwks)
    assert claims == ProClaims(RPPS, "10", "SM54", AuthLevel.CPS)
    assert issuer.hits == jwks.fetch_count == 1


def test_audience_is_not_checked_when_not_configured(issuer: LocalIssuer, jwks: JwksCache) -> None:
    token = issuer.sign(psc_payload(issuer.issuer, aud=None))
    assert verify_oidc_token(token, issuer=issuer.issuer, audience=None, jwks=jwks).rpps == RPPS


def test_keys_are_cached_for_their_ttl(
    issuer: LocalIssuer, jwks: JwksCache, clock: FixedClock
) -> None:
    for _ in range(3):
        verify_oidc_token(
            issuer.sign(psc_payload(issuer.issuer)),
            issuer=issuer.issuer,
            audience=AUDIENCE,
            jwks=jwks,
        )
    assert issuer.hits == 1
    clock.advance(timedelta(seconds=601))
    verify_oidc_token(
        issuer.sign(psc_payload(issuer.issuer)), issuer=issuer.issuer, audience=AUDIENCE, jwks=jwks
    )
    assert issuer.hits == 2


def test_ec_keys_sign_too(issuer: LocalIssuer, jwks: JwksCache) -> None:
    ec = new_ec_key()
    issuer.keys.append(ec)
    token = issuer.sign(psc_payload(issuer.issuer), key=ec)
    assert verify_oidc_token(token, issuer=issuer.issuer, audience=AUDIENCE, jwks=jwks).rpps == RPPS


def test_stranger_issuer_costs_no_fetch(issuer: LocalIssuer, jwks: JwksCache) -> None:
    token = issuer.sign(psc_payload("https://auth.esante.gouv.fr/auth/realms/esante-wallet"))
    assert refusal(token, issuer, jwks).code == "token_issuer_refused"
    assert issuer.hits == 0


def test_token_without_kid_is_refused(issuer: LocalIssuer, jwks: JwksCache) -> None:
    token = issuer.sign(psc_payload(issuer.issuer), header={"kid": None})
    assert "kid" not in read_token(token).header
    assert refusal(token, issuer, jwks).code == "token_key_unknown"


def test_key_published_for_another_algorithm_does_not_verify(
    issuer: LocalIssuer, jwks: JwksCache
) -> None:
    """The JWK says RS256; a PS256 signature by the same key is not what the issuer vouched for."""
    unrestricted = {k: v for k, v in issuer.main_key.as_dict(private=True).items() if k != "alg"}
    same_key = RSAKey.import_key(unrestricted)
    token = issuer.sign(psc_payload(issuer.issuer), key=same_key, header={"alg": "PS256"})
    assert refusal(token, issuer, jwks).code == "token_signature_invalid"


def test_encryption_key_does_not_sign(issuer: LocalIssuer, jwks: JwksCache) -> None:
    material = new_rsa_key()
    published = {**material.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP"}
    issuer.keys = [RSAKey.import_key(published)]
    token = issuer.sign(psc_payload(issuer.issuer), key=material)
    assert refusal(token, issuer, jwks).code == "token_key_unknown"


def test_rsa_key_under_2048_bits_is_ignored(clock: FixedClock) -> None:
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    modulus = weak_key.public_key().public_numbers().n
    weak = {
        "kty": "RSA",
        "kid": "weak",
        "n": base64.urlsafe_b64encode(modulus.to_bytes(128, "big")).rstrip(b"=").decode(),
        "e": "AQAB",
    }
    answer = httpx.Response(200, json={"keys": [weak]})
    jwks = JwksCache("http://127.0.0.1:9/jwks", transport=httpx.MockTransport(lambda _: answer))
    with pytest.raises(Unauthenticated) as refused:
        jwks.key("weak")
    assert refused.value.code == "token_key_unknown"


def test_issuer_unreachable_is_refused_in_both_languages(clock: FixedClock) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    jwks = JwksCache("http://127.0.0.1:9/jwks", transport=httpx.MockTransport(down))
    with pytest.raises(Unauthenticated) as refused:
        jwks.key("any")
    assert refused.value.code == "issuer_unreachable"
    assert refused.value.fr.startswith("Le fournisseur d'identité")
    assert refused.value.en.startswith("The identity provider")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}),
        httpx.Response(200, content=b"[" + b" " * (300 * 1024) + b"]"),
    ],
)
def test_bad_jwks_answer_is_refused(clock: FixedClock, response: httpx.Response) -> None:
    jwks = JwksCache("http://127.0.0.1:9/jwks", transport=httpx.MockTransport(lambda _: response))
    with pytest.raises(Unauthenticated) as refused:
        jwks.key("any")
    assert refused.value.code == "issuer_unreachable"


def test_jwks_that_is_not_a_key_set_holds_no_key(clock: FixedClock) -> None:
    garbage = [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}, {"kty": "EC", "kid": "x"}, 3]
    answer = httpx.Response(200, json={"keys": garbage})
    jwks = JwksCache("http://127.0.0.1:9/jwks", transport=httpx.MockTransport(lambda _: answer))
    with pytest.raises(Unauthenticated) as refused:
        jwks.key("x")
    assert refused.value.code == "token_key_unknown"


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
