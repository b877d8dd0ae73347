"""Carnet's three document flags as the oracle's confidentiality codes (DOC-3), for the tests
that build the same world on both sides. Kept out of ``oracle.py``, which knows no Carnet."""

from __future__ import annotations

from oracle import Confidentiality


def confidentiality_of(
    masked: bool, invisible_patient: bool, invisible_representatives: bool
) -> frozenset[Confidentiality]:
    codes: set[Confidentiality] = set()
    if masked:
        codes.add("MASQUE_PS")
    if invisible_patient:
        codes.add("INVISIBLE_PATIENT")
    if invisible_representatives:
        codes.add("INVISIBLE_REPRESENTANTS_LEGAUX")
    return frozenset(codes or {"N"})
