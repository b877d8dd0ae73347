"""DOC-3, DOC-4: a document's confidentiality codes (TRE_A07, and ``N`` when none applies) say
exactly its three flags, and read back as them."""

from __future__ import annotations

from itertools import product

from carnet.records.confidentiality import (
    INVISIBLE_PATIENT,
    INVISIBLE_REPRESENTANTS_LEGAUX,
    MASQUE_PS,
    NORMAL,
    Flags,
    codes_for,
    flags_of,
)

#: DOC-3, written out from the rule: (masked, invisible to the patient, invisible to his legal
#: representatives) -> the codes the document carries, in TRE_A07's order.
EXPECTED = {
    (False, False, False): [NORMAL],
    (True, False, False): [MASQUE_PS],
    (False, True, False): [INVISIBLE_PATIENT],
    (False, False, True): [INVISIBLE_REPRESENTANTS_LEGAUX],
    (True, True, False): [MASQUE_PS, INVISIBLE_PATIENT],
    (True, False, True): [MASQUE_PS, INVISIBLE_REPRESENTANTS_LEGAUX],
    (False, True, True): [INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX],
    (True, True, True): [MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX],
}


def test_doc_3_each_combination_of_flags_has_its_codes_and_reads_back() -> None:
    assert set(EXPECTED) == set(product((False, True), repeat=3))
    for (masked, invisible_patient, invisible_representatives), expected in EXPECTED.items():
        flags = Flags(masked, invisible_patient, invisible_representatives)
        assert codes_for(masked, invisible_patient, invisible_representatives) == expected
        assert flags_of(expected) == flags


def test_doc_3_a_callers_list_of_codes_is_its_own() -> None:
    """The codes are computed once per combination: a caller changing its list changes no one
    else's."""
    first = codes_for(True, False, False)
    first.append("altered")
    assert codes_for(True, False, False) == [MASQUE_PS]
