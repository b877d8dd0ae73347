"""The claim checks alone: no signature, no network, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from carnet.auth.claims import (
    ACR_CPE,
    ACR_CPS,
    ACR_E_CPS,
    ACR_EIDAS1,
    ACR_LEVELS,
    LEEWAY_SECONDS,
    LEVEL_ACRS,
    PatientClaims,
    ProClaims,
    check_audience,
    check_issuer,
    check_times,
    filed_id_nat_ps,
    id_nat_ps_of,
    patient_claims_from_payload,
    pro_claims_from_payload,
)
from carnet.context import AuthLevel
from carnet.errors import Invalid, Unauthenticated

from .issuer import RPPS

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def psc(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "SubjectNameID": "8" + RPPS,
        "SubjectRefPro": {"exercices": [{"codeProfession": "10", "codeSavoirFaire": "SM54"}]},
        "acr": ACR_EIDAS1,
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


def refusal_code(payload: dict[str, Any]) -> str:
    with pytest.raises(Unauthenticated) as refused:
        pro_claims_from_payload(payload)
    return refused.value.code


def test_psc_payload_reads_as_pro_claims() -> None:
    assert pro_claims_from_payload(psc()) == ProClaims(RPPS, "10", "SM54", AuthLevel.E_CPS)


def test_empty_specialty_means_none() -> None:
    exercices = {"exercices": [{"codeProfession": "21", "codeSavoirFaire": ""}]}
    assert pro_claims_from_payload(psc(SubjectRefPro=exercices)).specialty is None


def test_first_exercice_is_the_one_acted_on() -> None:
    exercices = {"exercices": [{"codeProfession": "21"}, {"codeProfession": "10"}]}
    assert pro_claims_from_payload(psc(SubjectRefPro=exercices)).profession == "21"


@pytest.mark.parametrize(
    "subject",
    [
        None,
        "",
        RPPS,
        "0" + RPPS,
        "8" + RPPS[:-1],
        "8" + RPPS + "0",
        "ANS20231122132732",
        8,
        "075123456",
        "07512345678",
        "0751234A67",
        "3" + "750712184",
        "1" + "751234567",
    ],
)
def test_id_4_subject_name_id_must_be_8_and_rpps_or_0_and_adeli(subject: object) -> None:
    assert refusal_code(psc(SubjectNameID=subject)) == "token_identity_missing"


@pytest.mark.parametrize("adeli", ["751234567", "2A1234567", "2B0000001"])
def test_id_4_adeli_based_id_nat_ps_is_accepted_and_kept_whole(adeli: str) -> None:
    """PSC names pros without RPPS by ``0`` + ADELI: Carnet files them under that idNatPs."""
    claims = pro_claims_from_payload(psc(SubjectNameID="0" + adeli))
    assert claims.rpps == "0" + adeli
    assert id_nat_ps_of(claims.rpps) == "0" + adeli
    assert id_nat_ps_of(RPPS) == "8" + RPPS
    assert id_nat_ps_of("1234") is None


@pytest.mark.parametrize("key", ["1234", "abcdefghijk", "1234567890123", "02C1234567", "0"])
def test_id_4_a_key_no_pro_is_filed_under_is_refused_in_one_wording(key: str) -> None:
    """Wherever a pro's key comes from outside (an operator's token, a patient's act on a pro),
    one refusal, French first, with one code."""
    with pytest.raises(Invalid) as refused:
        filed_id_nat_ps(key)
    assert refused.value.code == "rpps_invalid"
    assert "11 chiffres" in refused.value.fr
    assert "11 digits" in refused.value.en
    assert filed_id_nat_ps(RPPS) == "8" + RPPS
    assert filed_id_nat_ps("0751234567") == "0751234567"


@pytest.mark.parametrize(
    "reference",
    [
        None,
        {},
        {"exercices": []},
        {"exercices": ["10"]},
        {"exercices": [{"codeSavoirFaire": "SM54"}]},
        {"exercices": [{"codeProfession": "  "}]},
        {"exercices": [{"codeProfession": 10}]},
    ],
)
def test_missing_profession_is_refused(reference: object) -> None:
    assert refusal_code(psc(SubjectRefPro=reference)) == "token_profession_missing"


@pytest.mark.parametrize(
    "acr", [None, "", "eidas0", "eidas2", "eidas3", "EIDAS1", "urn:carnet:acr:CPS", "loa3", 1]
)
def test_id_5_acr_other_than_psc_eidas1_or_carnet_levels_is_refused(acr: object) -> None:
    """PSC issues ``eidas1`` only; any other level is refused, never guessed."""
    assert refusal_code(psc(acr=acr)) == "token_acr_unknown"


@pytest.mark.parametrize(
    ("acr", "level"),
    [
        (ACR_CPS, AuthLevel.CPS),
        (ACR_E_CPS, AuthLevel.E_CPS),
        (ACR_CPE, AuthLevel.CPE),
        (ACR_EIDAS1, AuthLevel.E_CPS),
    ],
)
def test_acr_maps_to_level(acr: str, level: AuthLevel) -> None:
    assert pro_claims_from_payload(psc(acr=acr)).level is level


def test_every_level_written_by_the_instance_reads_back() -> None:
    assert {ACR_LEVELS[LEVEL_ACRS[level]] for level in AuthLevel} == set(AuthLevel)


def test_exp_is_required() -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_times({"iat": T}, NOW)
    assert refused.value.code == "token_malformed"


@pytest.mark.parametrize("value", ["1800000000", True, [T]])
def test_dates_must_be_numbers(value: object) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_times({"exp": value}, NOW)
    assert refused.value.code == "token_malformed"


def test_expiry_tolerates_small_skew_only() -> None:
    check_times({"exp": T - LEEWAY_SECONDS}, NOW)
    with pytest.raises(Unauthenticated) as refused:
        check_times({"exp": T - LEEWAY_SECONDS - 1}, NOW)
    assert refused.value.code == "token_expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_from_the_future_is_refused(claim: str) -> None:
    check_times({"exp": T + 600, claim: T + LEEWAY_SECONDS}, NOW)
    with pytest.raises(Unauthenticated) as refused:
        check_times({"exp": T + 600, claim: T + LEEWAY_SECONDS + 1}, NOW)
    assert refused.value.code == "token_not_yet_valid"


def test_issuer_must_match_exactly() -> None:
    check_issuer({"iss": "https://psc.example"}, "https://psc.example")
    with pytest.raises(Unauthenticated) as refused:
        check_issuer({"iss": "https://psc.example/"}, "https://psc.example")
    assert refused.value.code == "token_issuer_refused"


@pytest.mark.parametrize("audience", ["carnet", ["account", "carnet"]])
def test_audience_may_be_a_string_or_a_list(audience: object) -> None:
    check_audience({"aud": audience}, "carnet")


@pytest.mark.parametrize("audience", [None, "account", ["account"], "carnet-other"])
def test_audience_elsewhere_is_refused(audience: object) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_audience({"aud": audience} if audience else {}, "carnet")
    assert refused.value.code == "token_audience_refused"


def test_id_1_patient_subject_is_an_ins() -> None:
    assert patient_claims_from_payload({"sub": "2850575123456" + "42"}) == PatientClaims(
        "285057512345642"
    )
    corsican = "185022A512345" + "42"
    assert patient_claims_from_payload({"sub": corsican}).ins == corsican


@pytest.mark.parametrize("subject", [None, "", "28505751234564", "2850575123456421", "x" * 15])
def test_patient_without_ins_is_refused(subject: object) -> None:
    with pytest.raises(Unauthenticated) as refused:
        patient_claims_from_payload({"sub": subject})
    assert refused.value.code == "token_identity_missing"
