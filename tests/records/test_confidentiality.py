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
    codes_of,
    flags_of,
)


def test_doc_3_each_combination_of_flags_has_its_codes_and_reads_back() -> None:
    for masked, invisible_patient, invisible_representatives in product((False, True), repeat=3):
        flags = Flags(masked, invisible_patient, invisible_representatives)
        codes = codes_of(flags)
        expected = [
            code
            for on, code in (
                (masked, MASQUE_PS),
                (invisible_patient, INVISIBLE_PATIENT),
                (invisible_representatives, INVISIBLE_REPRESENTANTS_LEGAUX),
            )
            if on
        ] or [NORMAL]
        assert codes == expected
        assert flags_of(codes) == flags
        assert codes_for(masked, invisible_patient, invisible_representatives) == expected


def test_doc_3_a_callers_list_of_codes_is_its_own() -> None:
    """The codes are computed once per combination: a caller changing its list changes no one
    else's."""
    first = codes_for(True, False, False)
    first.append("altered")
    assert codes_for(True, False, False) == [MASQUE_PS]
