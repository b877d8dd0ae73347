"""The ID token's checks alone (OpenID Connect Core §3.1.3.7): no signature, no network."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from carnet.auth.idtoken import check_id_token, id_token_missing, subject_mismatch, token_hash
from carnet.errors import Unauthenticated

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
T = int(NOW.timestamp())
ISSUER = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
ACCESS = "un-jeton-d-acces"


def claims(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "carnet",
        "sub": "f:psc:1",
        "nonce": "n-123",
        "iat": T,
        "exp": T + 60,
        "acr": "eidas1",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def check(payload: dict[str, Any], algorithm: str = "RS256") -> str:
    return check_id_token(
        payload,
        algorithm=algorithm,
        issuer=ISSUER,
        client_id="carnet",
        nonce="n-123",
        access_token=ACCESS,
        now=NOW,
    )


def refusal(payload: dict[str, Any]) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        check(payload)
    return refused.value


def test_oidc_id_token_valid_gives_its_subject() -> None:
    assert check(claims()) == "f:psc:1"
    assert check(claims(aud=["carnet"], azp="carnet")) == "f:psc:1"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"iss": ISSUER + "/"}, "token_issuer_refused"),
        ({"iss": None}, "token_issuer_refused"),
        ({"aud": "another-client"}, "id_token_audience_refused"),
        ({"aud": ["carnet", "another-client"]}, "id_token_audience_refused"),
        ({"aud": None}, "id_token_audience_refused"),
        ({"azp": "another-client"}, "id_token_azp_refused"),
        ({"iat": None}, "id_token_malformed"),
        ({"exp": None}, "token_malformed"),
        ({"exp": T - 31}, "token_expired"),
        ({"iat": T + 31}, "token_not_yet_valid"),
        ({"nonce": "n-124"}, "id_token_nonce_mismatch"),
        ({"nonce": None}, "id_token_nonce_mismatch"),
        ({"nonce": 123}, "id_token_nonce_mismatch"),
        ({"at_hash": token_hash(ACCESS + "x", "RS256")}, "id_token_at_hash_mismatch"),
        ({"at_hash": 1}, "id_token_at_hash_mismatch"),
        ({"sub": ""}, "id_token_malformed"),
        ({"sub": None}, "id_token_malformed"),
    ],
)
def test_oidc_id_token_each_check_refuses_with_its_own_code(
    overrides: dict[str, Any], code: str
) -> None:
    refused = refusal(claims(**overrides))
    assert refused.code == code
    assert refused.fr != refused.en
    assert refused.status == 401


def test_oidc_id_token_wrong_nonce_refused() -> None:
    refused = refusal(claims(nonce="rejoué"))
    assert "nonce" in refused.fr
    assert "does not answer this log-in (nonce)" in refused.en


@pytest.mark.parametrize(
    ("algorithm", "hashing"), [("RS256", hashlib.sha256), ("EdDSA", hashlib.sha512)]
)
def test_oidc_at_hash_is_the_left_half_of_the_algorithms_hash(algorithm: str, hashing: Any) -> None:
    digest = hashing(ACCESS.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    assert token_hash(ACCESS, algorithm) == expected
    assert check(claims(at_hash=expected), algorithm) == "f:psc:1"


def test_oidc_login_refusals_carry_french_and_english() -> None:
    for refused in (
        id_token_missing(),
        subject_mismatch("la réponse userinfo", "the userinfo answer"),
    ):
        assert refused.fr.startswith("Connexion refusée")
        assert refused.en.startswith("Log-in refused")
