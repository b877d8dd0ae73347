"""ID-1: the matricule INS and its key, Corsica included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.identity.ins import InvalidIns, ins_key, is_valid_ins, make_ins, validate_ins

DEPARTMENTS = st.one_of(
    st.integers(1, 95).map(lambda d: f"{d:02d}").filter(lambda d: d != "20"),
    st.sampled_from(["2A", "2B"]),
)
NIRS = st.builds(
    lambda sex, year, month, dept, commune, order: (
        f"{sex}{year:02d}{month:02d}{dept}{commune:03d}{order:03d}"
    ),
    st.sampled_from([1, 2]),
    st.integers(0, 99),
    st.integers(1, 12),
    DEPARTMENTS,
    st.integers(1, 999),
    st.integers(1, 999),
)


def _reference_key(nir13: str) -> int:
    """RULES ID-1, written out: 97 − (NIR mod 97), with 2A→19 and 2B→18 for the computation."""
    numeric = nir13.replace("2A", "19", 1) if nir13[5:7] == "2A" else nir13
    numeric = numeric.replace("2B", "18", 1) if nir13[5:7] == "2B" else numeric
    return 97 - int(numeric) % 97


@given(NIRS)
def test_id_1_key_is_97_minus_nir_mod_97(nir: str) -> None:
    assert int(ins_key(nir)) == _reference_key(nir)
    assert validate_ins(make_ins(nir)) == make_ins(nir)


@given(NIRS, st.integers(0, 99))
def test_id_1_every_wrong_key_is_rejected(nir: str, key: int) -> None:
    candidate = f"{nir}{key:02d}"
    assert is_valid_ins(candidate) == (key == _reference_key(nir))


@given(NIRS, st.integers(1, 14))
def test_id_1_any_other_length_is_invalid(nir: str, cut: int) -> None:
    full = make_ins(nir)
    assert not is_valid_ins(full[:cut])
    assert not is_valid_ins(full + "0")


@pytest.mark.parametrize("dept", ["2A", "2B"])
def test_id_1_corsica_departments(dept: str) -> None:
    nir = f"18505{dept}004012"
    ins = make_ins(nir)
    assert ins[5:7] == dept
    assert validate_ins(ins) == ins
    assert int(ins[13:]) == _reference_key(nir)


def test_id_1_known_values() -> None:
    assert validate_ins("2 95 10 99 126 111 93") == "295109912611193"
    with pytest.raises(InvalidIns) as wrong_key:
        validate_ins("295109912611199")
    assert "clé" in wrong_key.value.fr
    assert "key" in wrong_key.value.en
    with pytest.raises(InvalidIns) as short:
        validate_ins("29510991261")
    assert "15 caractères" in short.value.fr
    with pytest.raises(InvalidIns):
        validate_ins("2951099126X1193")
