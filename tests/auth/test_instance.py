"""The instance's key file and the tokens it signs."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey

from carnet.auth.claims import ACR_CPE, PatientClaims, ProClaims
from carnet.auth.instance import (
    INSTANCE_ISSUER,
    InstanceKeyError,
    instance_jwks,
    issue_patient_token,
    issue_pro_token,
    load_or_create_instance_key,
)
from carnet.auth.verify import TokenVerifier
from carnet.clock import FixedClock
from carnet.context import AuthLevel
from carnet.errors import Invalid

from .issuer import RPPS

INS = "285057512345642"


def payload_of(token: str) -> dict[str, object]:
    document = json.loads(jws.extract_compact(token.encode()).payload)
    assert isinstance(document, dict)
    return document


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "instance.jwk"
    key = load_or_create_instance_key(path)
    assert isinstance(key, OKPKey)
    assert key.curve_name == "Ed25519"
    assert key.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list(path.parent.iterdir()) == [path]
    again = load_or_create_instance_key(path)
    assert again.kid == key.kid
    assert again.as_dict(private=True) == key.as_dict(private=True)


def test_existing_p256_key_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "instance.jwk"
    ec = ECKey.generate_key("P-256", auto_kid=True)
    path.write_text(json.dumps(ec.as_dict(private=True)))
    assert load_or_create_instance_key(path).kid == ec.kid


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        json.dumps({"kty": "oct", "k": "c2VjcmV0"}),
        json.dumps(OKPKey.generate_key("Ed25519").as_dict(private=False)),
        json.dumps(ECKey.generate_key("P-384").as_dict(private=True)),
    ],
)
def test_unusable_key_file_is_an_operator_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "instance.jwk"
    path.write_text(content)
    with pytest.raises(InstanceKeyError):
        load_or_create_instance_key(path)


def test_pro_token_is_shaped_like_pro_sante_connect(tmp_path: Path, clock: FixedClock) -> None:
    key = load_or_create_instance_key(tmp_path / "instance.jwk")
    token = issue_pro_token(
        key, rpps=RPPS, profession="10", specialty="SM54", level=AuthLevel.CPE, ttl_seconds=600
    )
    header = jws.extract_compact(token.encode()).headers()
    assert header["alg"] == "Ed25519"
    assert header["kid"] == key.kid
    payload = payload_of(token)
    issued_at = int(clock.now().timestamp())
    assert payload["iss"] == INSTANCE_ISSUER
    assert payload["sub"] == payload["SubjectNameID"] == "8" + RPPS
    assert payload["SubjectRefPro"] == {
        "exercices": [{"codeProfession": "10", "codeSavoirFaire": "SM54"}]
    }
    assert payload["acr"] == ACR_CPE
    assert payload["carnet_kind"] == "pro"
    assert (payload["iat"], payload["exp"]) == (issued_at, issued_at + 600)
    assert payload["jti"]
    assert (
        payload["jti"]
        != payload_of(
            issue_pro_token(
                key,
                rpps=RPPS,
                profession="10",
                specialty=None,
                level=AuthLevel.CPS,
                ttl_seconds=600,
            )
        )["jti"]
    )


def test_patient_token_carries_the_ins(tmp_path: Path, clock: FixedClock) -> None:
    key = load_or_create_instance_key(tmp_path / "instance.jwk")
    payload = payload_of(issue_patient_token(key, ins=INS, ttl_seconds=60))
    assert (payload["iss"], payload["sub"], payload["carnet_kind"]) == (
        INSTANCE_ISSUER,
        INS,
        "patient",
    )


@pytest.mark.parametrize("level", list(AuthLevel))
def test_instance_pro_token_roundtrip(
    verifier: TokenVerifier, instance_key: OKPKey | ECKey, level: AuthLevel
) -> None:
    token = issue_pro_token(
        instance_key, rpps=RPPS, profession="21", specialty=None, level=level, ttl_seconds=300
    )
    assert verifier.verify(token) == ProClaims(RPPS, "21", None, level)


def test_instance_patient_token_roundtrip(
    verifier: TokenVerifier, instance_key: OKPKey | ECKey, clock: FixedClock
) -> None:
    token = issue_patient_token(instance_key, ins=INS, ttl_seconds=300)
    assert verifier.verify(token) == PatientClaims(INS)
    clock.advance(timedelta(seconds=299))
    assert verifier.verify(token) == PatientClaims(INS)


def test_p256_instance_key_roundtrip(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "instance.jwk"
    path.write_text(json.dumps(ECKey.generate_key("P-256", auto_kid=True).as_dict(private=True)))
    key = load_or_create_instance_key(path)
    token = issue_patient_token(key, ins=INS, ttl_seconds=300)
    assert jws.extract_compact(token.encode()).headers()["alg"] == "ES256"
    assert TokenVerifier(key).verify(token) == PatientClaims(INS)


@pytest.mark.parametrize("rpps", ["", "1000123456", "100012345678", "1000123456a", "٣" * 11])
def test_id_4_rpps_has_eleven_digits(instance_key: OKPKey | ECKey, rpps: str) -> None:
    with pytest.raises(Invalid):
        issue_pro_token(
            instance_key,
            rpps=rpps,
            profession="10",
            specialty=None,
            level=AuthLevel.CPS,
            ttl_seconds=60,
        )


def test_profession_is_required(instance_key: OKPKey | ECKey) -> None:
    with pytest.raises(Invalid):
        issue_pro_token(
            instance_key,
            rpps=RPPS,
            profession=" ",
            specialty=None,
            level=AuthLevel.CPS,
            ttl_seconds=60,
        )


@pytest.mark.parametrize("ins", ["", "28505751234564", "2850575123456421"])
def test_patient_token_needs_an_ins(instance_key: OKPKey | ECKey, ins: str) -> None:
    with pytest.raises(Invalid):
        issue_patient_token(instance_key, ins=ins, ttl_seconds=60)


@pytest.mark.parametrize("ttl", [0, -1])
def test_token_lifetime_must_be_positive(instance_key: OKPKey | ECKey, ttl: int) -> None:
    with pytest.raises(Invalid):
        issue_patient_token(instance_key, ins=INS, ttl_seconds=ttl)


def test_jwks_publishes_the_public_half_only(instance_key: OKPKey | ECKey) -> None:
    (public,) = instance_jwks(instance_key)["keys"]
    assert "d" not in public
    assert (public["kid"], public["use"], public["alg"]) == (instance_key.kid, "sig", "Ed25519")
