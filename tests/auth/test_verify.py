"""TokenVerifier: the one entry point, against the instance's key and a running test issuer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from carnet.access.rules import Purpose, card_may
from carnet.auth.claims import ACR_CPE, ACR_CPS, ACR_E_CPS, ACR_EIDAS1, PatientClaims, ProClaims
from carnet.auth.instance import (
    INSTANCE_ISSUER,
    InstanceKey,
    issue_patient_token,
    issue_pro_token,
    load_or_create_instance_key,
)
from carnet.auth.provider import OidcConfigError, OidcProvider
from carnet.auth.verify import TokenVerifier, provider_settings
from carnet.clock import FixedClock
from carnet.context import AuthLevel
from carnet.errors import LevelTooLow, Refusal, Unauthenticated
from carnet.settings import Settings

from .issuer import AUDIENCE, RPPS, LocalIssuer, new_rsa_key, psc_payload


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: Mapping[str, object], payload: Mapping[str, object]) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())


def refused(verifier: TokenVerifier, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refusal:
        verifier.verify(token)
    return refusal.value


def pro_token(key: InstanceKey, level: AuthLevel = AuthLevel.CPS, ttl: int = 300) -> str:
    return issue_pro_token(
        key, rpps=RPPS, profession="10", specialty=None, level=level, ttl_seconds=ttl
    )


def test_id_5_cpe_token_may_not_read(verifier: TokenVerifier, instance_key: InstanceKey) -> None:
    claims = verifier.verify(pro_token(instance_key, AuthLevel.CPE))
    assert isinstance(claims, ProClaims)
    assert claims.level is AuthLevel.CPE
    assert not card_may(claims.level, Purpose.READ)
    assert card_may(claims.level, Purpose.UPLOAD)


@pytest.mark.parametrize("acr", [ACR_CPS, ACR_E_CPS, ACR_EIDAS1])
def test_id_5_cps_and_e_cps_may_read(
    verifier: TokenVerifier, issuer: LocalIssuer, acr: str
) -> None:
    claims = verifier.verify(issuer.sign(psc_payload(issuer.issuer, acr=acr)))
    assert isinstance(claims, ProClaims)
    assert card_may(claims.level, Purpose.READ)


def test_weak_level_refused_for_reading(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    claims = verifier.verify(issuer.sign(psc_payload(issuer.issuer, acr=ACR_CPE)))
    assert claims == ProClaims(RPPS, "10", "SM54", AuthLevel.CPE)
    assert not card_may(claims.level, Purpose.READ)  # the gate refuses it (tests/access)
    refusal = LevelTooLow()
    assert "CPS ou e-CPS" in refusal.fr
    assert "CPS card or e-CPS" in refusal.en


def test_token_expired_is_refused(
    verifier: TokenVerifier, instance_key: InstanceKey, issuer: LocalIssuer, clock: FixedClock
) -> None:
    own = pro_token(instance_key, ttl=300)
    outside = issuer.sign(psc_payload(issuer.issuer))
    clock.advance(timedelta(seconds=300 + 30))
    verifier.verify(own)
    clock.advance(timedelta(seconds=1))
    assert refused(verifier, own).code == "token_expired"
    clock.advance(timedelta(seconds=3600))
    assert refused(verifier, outside).code == "token_expired"


def test_token_not_yet_valid_is_refused(
    verifier: TokenVerifier, issuer: LocalIssuer, clock: FixedClock
) -> None:
    now = int(clock.now().timestamp())
    early = issuer.sign(psc_payload(issuer.issuer, nbf=now + 120))
    assert refused(verifier, early).code == "token_not_yet_valid"
    clock.advance(timedelta(seconds=90))
    assert verifier.verify(early) == ProClaims(RPPS, "10", "SM54", AuthLevel.E_CPS)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None])
def test_alg_none_is_refused(verifier: TokenVerifier, alg: str | None) -> None:
    token = unsigned({"alg": alg, "typ": "JWT"}, psc_payload(INSTANCE_ISSUER)) + "."
    refusal = refused(verifier, token)
    assert refusal.code == "token_algorithm_refused"


@pytest.mark.parametrize("alg", ["HS256", "HS512", "RS384", "ES512", "ES256K", "Ed448"])
def test_algorithm_outside_allow_list_is_refused(verifier: TokenVerifier, alg: str) -> None:
    token = unsigned({"alg": alg}, psc_payload(INSTANCE_ISSUER)) + ".c2ln"
    assert refused(verifier, token).code == "token_algorithm_refused"


def test_hmac_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, issuer: LocalIssuer
) -> None:
    """The classic confusion: the issuer's public key used as an HMAC secret."""
    secret = issuer.main_key.as_pem(private=False)
    header = {"alg": "HS256", "kid": issuer.main_key.kid}
    signing_input = unsigned(header, psc_payload(issuer.issuer))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert refused(verifier, signing_input + "." + b64(mac)).code == "token_algorithm_refused"


def test_instance_token_must_use_the_instance_algorithm(
    verifier: TokenVerifier, instance_key: InstanceKey
) -> None:
    assert isinstance(instance_key, OKPKey)
    header = {"alg": "EdDSA", "kid": instance_key.kid}
    payload = {"iss": INSTANCE_ISSUER, "sub": "285057512345642", "carnet_kind": "patient"}
    signing_input = unsigned(header, payload)
    signature = instance_key.private_key.sign(signing_input.encode())  # type: ignore[union-attr]
    refusal = refused(verifier, signing_input + "." + b64(signature))
    assert refusal.code == "token_algorithm_refused"


def test_wrong_issuer_is_refused(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    stranger = issuer.sign(psc_payload("https://auth.esante.gouv.fr/auth/realms/esante-wallet"))
    assert refused(verifier, stranger).code == "token_issuer_refused"
    missing = issuer.sign(psc_payload(issuer.issuer, iss=None))
    assert refused(verifier, missing).code == "token_issuer_refused"
    assert issuer.hits == 0


def test_outside_token_claiming_to_be_the_instance_is_refused(
    verifier: TokenVerifier, issuer: LocalIssuer
) -> None:
    forged = issuer.sign(psc_payload(INSTANCE_ISSUER, carnet_kind="pro"))
    assert refused(verifier, forged).code == "token_key_unknown"


def test_without_oidc_only_instance_tokens_pass(
    instance_key: InstanceKey, issuer: LocalIssuer, clock: FixedClock
) -> None:
    verifier = TokenVerifier(instance_key)
    assert verifier.verify(pro_token(instance_key)) == ProClaims(RPPS, "10", None, AuthLevel.CPS)
    outside = issuer.sign(psc_payload(issuer.issuer))
    assert refused(verifier, outside).code == "token_issuer_refused"


def test_wrong_audience_is_refused(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    for audience in ("another-service", ["account"], None):
        token = issuer.sign(psc_payload(issuer.issuer, aud=audience))
        assert refused(verifier, token).code == "token_audience_refused"


def test_bad_signature_is_refused(
    verifier: TokenVerifier, issuer: LocalIssuer, instance_key: InstanceKey
) -> None:
    header, _, signature = issuer.sign(psc_payload(issuer.issuer)).split(".")
    tampered = psc_payload(issuer.issuer, SubjectNameID="8" + "10009999999")
    forged = header + "." + b64(json.dumps(tampered).encode()) + "." + signature
    assert refused(verifier, forged).code == "token_signature_invalid"

    impostor = new_rsa_key(kid=issuer.main_key.kid)
    impersonation = issuer.sign(psc_payload(issuer.issuer), key=impostor)
    assert refused(verifier, impersonation).code == "token_signature_invalid"

    own = pro_token(instance_key)
    head, body, _ = own.split(".")
    assert refused(verifier, f"{head}.{body}.{b64(bytes(64))}").code == "token_signature_invalid"
    assert refused(verifier, f"{head}.{body}.").code == "token_signature_invalid"


def test_instance_token_from_another_instance_is_refused(
    verifier: TokenVerifier, tmp_path: Path
) -> None:
    other = load_or_create_instance_key(tmp_path / "other" / "instance.jwk")
    assert refused(verifier, pro_token(other)).code == "token_key_unknown"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"SubjectNameID": None}, "token_identity_missing"),
        ({"SubjectNameID": "ANS20231122132732"}, "token_identity_missing"),
        ({"SubjectRefPro": {"exercices": []}}, "token_profession_missing"),
        ({"acr": "eidas0"}, "token_acr_unknown"),
        ({"acr": "eidas2"}, "token_acr_unknown"),
        ({"acr": None}, "token_acr_unknown"),
    ],
)
def test_incomplete_pro_identity_is_refused(
    verifier: TokenVerifier, issuer: LocalIssuer, overrides: dict[str, object], code: str
) -> None:
    token = issuer.sign(psc_payload(issuer.issuer, **overrides))
    assert refused(verifier, token).code == code


def test_instance_token_without_kind_is_refused(
    verifier: TokenVerifier, instance_key: InstanceKey, clock: FixedClock
) -> None:
    now = int(clock.now().timestamp())
    payload = {"iss": INSTANCE_ISSUER, "sub": "285057512345642", "exp": now + 60}
    header = {"alg": "Ed25519", "kid": instance_key.kid}
    token = jwt.encode(header, payload, instance_key, algorithms=["Ed25519"])
    assert refused(verifier, token).code == "token_kind_unknown"


def test_refusals_carry_french_and_english(
    verifier: TokenVerifier, instance_key: InstanceKey, issuer: LocalIssuer, clock: FixedClock
) -> None:
    tokens = [
        "not-a-token",
        unsigned({"alg": "none"}, {}) + ".",
        issuer.sign(psc_payload("https://elsewhere.example")),
        issuer.sign(psc_payload(issuer.issuer, aud="other")),
        issuer.sign(psc_payload(issuer.issuer, acr="eidas0")),
        issuer.sign(psc_payload(issuer.issuer, SubjectNameID=None)),
        issuer.sign(psc_payload(issuer.issuer, SubjectRefPro=None)),
        issuer.sign(psc_payload(issuer.issuer), header={"kid": "nobody"}),
        pro_token(instance_key, ttl=1)[:-4] + "AAAA",
    ]
    refusals: list[Refusal] = [refused(verifier, token) for token in tokens]
    expiring = pro_token(instance_key, ttl=1)
    clock.advance(timedelta(hours=2))
    refusals.append(refused(verifier, expiring))
    refusals.append(LevelTooLow())
    assert len({refusal.code for refusal in refusals}) == len(refusals)
    for refusal in refusals:
        assert refusal.fr
        assert refusal.en
        assert refusal.fr != refusal.en
        assert refusal.fr.split()[0] in {"Jeton", "Lecture", "Le"}, refusal.fr
        assert str(refusal) == refusal.en


def test_verifier_from_settings(tmp_path: Path, issuer: LocalIssuer, clock: FixedClock) -> None:
    settings = Settings(
        data_dir=tmp_path, oidc_issuer=issuer.issuer, oidc_audience=AUDIENCE, demo=True
    )
    verifier = TokenVerifier.from_settings(settings)
    assert settings.resolved_instance_key_file.exists()
    claims = verifier.verify(issuer.sign(psc_payload(issuer.issuer)))
    assert claims == ProClaims(RPPS, "10", "SM54", AuthLevel.E_CPS)
    key = load_or_create_instance_key(settings.resolved_instance_key_file)
    patient = issue_patient_token(key, ins="285057512345642", ttl_seconds=60)
    assert verifier.verify(patient) == PatientClaims("285057512345642")


def test_oidc_issuer_without_audience_refuses_to_start(tmp_path: Path, issuer: LocalIssuer) -> None:
    settings = Settings(data_dir=tmp_path, oidc_issuer=issuer.issuer, demo=True)
    with pytest.raises(OidcConfigError, match="CARNET_OIDC_AUDIENCE"):
        TokenVerifier.from_settings(settings)
    with pytest.raises(OidcConfigError):
        TokenVerifier(
            load_or_create_instance_key(tmp_path / "k.jwk"),
            provider=OidcProvider(
                provider_settings(settings.model_copy(update={"oidc_audience": "a"}))
            ),
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"oidc_issuer": "http://psc.example/realms/x"},
        {"oidc_jwks_url": "http://psc.example/certs"},
    ],
)
def test_oidc_https_issuer_required_outside_demo_mode(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    base = {"oidc_issuer": "https://psc.example/realms/x", "oidc_audience": AUDIENCE}
    settings = Settings(data_dir=tmp_path, **{**base, **overrides})
    with pytest.raises(OidcConfigError, match="https"):
        TokenVerifier.from_settings(settings)
    assert provider_settings(settings.model_copy(update={"demo": True})).require_https is False
