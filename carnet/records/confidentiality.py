"""DOC-3's confidentiality codes (TRE_A07, OID 1.2.250.1.213.1.1.4.13; ``N`` from HL7's
v3-Confidentiality), once: a document's three flags as codes, and codes back as flags."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

MASQUE_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
INVISIBLE_REPRESENTANTS_LEGAUX = "INVISIBLE_REPRESENTANTS_LEGAUX"
NORMAL = "N"


@dataclass(frozen=True)
class Flags:
    masked: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False


def _codes(masked: bool, invisible_patient: bool, invisible_representatives: bool) -> list[str]:
    codes = [
        code
        for on, code in (
            (masked, MASQUE_PS),
            (invisible_patient, INVISIBLE_PATIENT),
            (invisible_representatives, INVISIBLE_REPRESENTANTS_LEGAUX),
        )
        if on
    ]
    return codes or [NORMAL]


#: The eight combinations of the three flags, computed once: every document of every listing
#: is answered with its codes (issue 19).
_BY_FLAGS = {
    (m, p, r): tuple(_codes(m, p, r))
    for m in (False, True)
    for p in (False, True)
    for r in (False, True)
}


def codes_for(masked: bool, invisible_patient: bool, invisible_representatives: bool) -> list[str]:
    """The codes a document with these flags carries; ``N`` when none applies (a fresh list:
    callers may keep it)."""
    return list(_BY_FLAGS[bool(masked), bool(invisible_patient), bool(invisible_representatives)])


def flags_of(codes: Collection[str]) -> Flags:
    return Flags(
        masked=MASQUE_PS in codes,
        invisible_patient=INVISIBLE_PATIENT in codes,
        invisible_representatives=INVISIBLE_REPRESENTANTS_LEGAUX in codes,
    )
