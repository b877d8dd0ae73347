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


def codes_of(flags: Flags) -> list[str]:
    """The codes a document carries; ``N`` when none applies."""
    codes = [
        code
        for on, code in (
            (flags.masked, MASQUE_PS),
            (flags.invisible_patient, INVISIBLE_PATIENT),
            (flags.invisible_representatives, INVISIBLE_REPRESENTANTS_LEGAUX),
        )
        if on
    ]
    return codes or [NORMAL]


def flags_of(codes: Collection[str]) -> Flags:
    return Flags(
        masked=MASQUE_PS in codes,
        invisible_patient=INVISIBLE_PATIENT in codes,
        invisible_representatives=INVISIBLE_REPRESENTANTS_LEGAUX in codes,
    )
