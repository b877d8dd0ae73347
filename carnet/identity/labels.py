"""How people are named to people: the one pro label, the professions' names (TRE_G15).

Pure and shared by every door: a pro reads « Dr Louis Bernard », never an RPPS alone where the
directory knows a name; one the directory does not know is still named a health professional.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from carnet.texts import N_

#: TRE_G15 (REFERENCE.md), the names a person reads.
PROFESSIONS = {
    "10": "médecin",
    "21": "pharmacien",
    "26": "audioprothésiste",
    "28": "opticien-lunetier",
    "40": "chirurgien-dentiste",
    "50": "sage-femme",
    "60": "infirmier",
    "70": "masseur-kinésithérapeute",
    "80": "pédicure-podologue",
    "86": "technicien de laboratoire",
    "91": "orthophoniste",
    "92": "orthoptiste",
    "94": "ergothérapeute",
    "95": "diététicien",
    "96": "psychomotricien",
    "98": "manipulateur ERM",
}

#: A few TRE_R38 specialties (savoir-faire), in words; a code not listed here is not shown at
#: all rather than as a raw code (issue 15 finding 10).
SPECIALTIES = {
    "SM04": "cardiologie",
    "SM26": "médecine générale",
    "SM53": "médecine générale",
    "SM54": "médecine générale",
    "SM44": "radiologie",
    "SM42": "psychiatrie",
    "SM40": "pédiatrie",
}


def specialty_label(code: str | None) -> str:
    return SPECIALTIES.get(code or "", "")


#: The INS sex codes (ID-3's traits), in words: a person never reads « F » or « M ».
SEXES = {"F": N_("Femme"), "M": N_("Homme"), "I": N_("Indéterminé")}


def sex_label(code: str) -> str:
    return SEXES.get(code, code)


class Named(Protocol):
    """A directory entry as labels need it (``identity.models.Pro`` answers it)."""

    @property
    def rpps(self) -> str: ...
    @property
    def civility(self) -> str | None: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...


def pro_label(pro: Named | None, rpps: str) -> str:
    """« Dr Louis Bernard »; a pro the directory does not know: « Professionnel de santé
    (RPPS …) » — still a pro, never "the system" — or « (ADELI …) » for a pro known by an
    ADELI-based national id (``0`` + ADELI, as Pro Santé Connect gives it)."""
    if pro is None:
        if rpps.startswith("0"):
            return f"Professionnel de santé (ADELI {rpps[1:]})"
        return f"Professionnel de santé (RPPS {rpps})"
    return f"{pro.civility or ''} {pro.first_name} {pro.last_name}".strip()


def pro_labels(pros: Iterable[Named], wanted: Iterable[str]) -> dict[str, str]:
    """A label for each wanted RPPS, from the directory entries found for them."""
    found = {p.rpps: p for p in pros}
    return {rpps: pro_label(found.get(rpps), rpps) for rpps in wanted}


def profession_name(code: str | None) -> str | None:
    return PROFESSIONS.get(code or "")
