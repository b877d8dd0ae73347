"""ACC-1: the shipped matrix is a stand-in built from REFERENCE.md's principles, one test per
cell REFERENCE.md states; an operator's CSV replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import DEFAULT_MATRIX

from carnet.access.matrix import MatrixSource, load_matrix, parse_matrix
from carnet.errors import Invalid
from carnet.records.catalog import TYPES
from carnet.settings import Settings

M = DEFAULT_MATRIX


def test_acc_1_matrix_covers_every_accepted_type() -> None:
    assert set(TYPES) == M.types


def test_acc_1_medecins_and_sages_femmes_read_every_type() -> None:
    assert M.readable_types("10", "SM26") == M.types
    assert M.readable_types("50", None) == M.types


def test_acc_1_dentists_every_type_but_psychiatric_and_social() -> None:
    assert M.types - M.readable_types("40", None) == {"68599-0", "28653-4"}


@pytest.mark.parametrize(
    "code", ["57833-6", "60593-1", "80565-5", "60591-5", "11502-2", "87273-9", "11490-0"]
)
def test_acc_1_pharmacists_read_prescriptions_dispensations_biology_vaccination_syntheses(
    code: str,
) -> None:
    assert M.allows("21", None, code)


@pytest.mark.parametrize(
    "code",
    [
        "57832-8",
        "18776-5",
        "80565-5",
        "11506-3",
        "11502-2",
        "87273-9",
        "60591-5",
        "11490-0",
        "28653-4",
        "DOCPAT03",
        "56445-0",
        "PROT_ALD",
    ],
)
def test_acc_1_nurses_read(code: str) -> None:
    assert M.allows("60", None, code)


@pytest.mark.parametrize("code", ["85208-7", "68599-0", "59283-2", "89601-9"])
def test_acc_1_nurses_do_not_read(code: str) -> None:
    assert not M.allows("60", None, code)


@pytest.mark.parametrize("profession", ["70", "80", "91", "92", "26", "28", "94", "95", "96"])
def test_acc_1_auxiliaries_never_read_hospital_stay_reports(profession: str) -> None:
    assert not M.allows(profession, None, "34112-3")
    assert M.allows(profession, None, "47420-5")  # functional assessments


def test_acc_1_only_medecins_read_medical_certificates() -> None:
    readers = {p for p, _ in M.cells if M.allows(p, None, "89601-9")}
    assert readers <= {"10", "50", "40"}


def test_acc_1_operator_loads_another_matrix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    source = MatrixSource()
    assert source.current(settings).cells == DEFAULT_MATRIX.cells  # the stand-in
    assert source.current(settings) is source.current(settings)  # read once
    (tmp_path / "habilitation.csv").write_text("# official\nprofession,specialty,34112-3\n80,,1\n")
    assert source.current(settings).allows("80", None, "34112-3")
    assert load_matrix(tmp_path / "habilitation.csv").types == {"34112-3"}


def test_acc_1_a_specialty_row_wins_over_its_profession() -> None:
    matrix = parse_matrix(["profession,specialty,A,B", "10,,1,1", "10,SM42,0,1"])
    assert matrix.allows("10", "SM26", "A")
    assert not matrix.allows("10", "SM42", "A")


def test_acc_1_malformed_matrix_is_refused() -> None:
    with pytest.raises(Invalid):
        parse_matrix(["profession,specialty,A", "10,,yes"])
    with pytest.raises(Invalid):
        parse_matrix(["type,A"])
