"""The five identity traits checked to qualify an INS (ID-3), and how they are compared."""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class Sex(StrEnum):
    M = "M"
    F = "F"
    I = "I"  # noqa: E741 - the INS code for "indéterminé"


class Traits(NamedTuple):
    """Birth names and first names as given by the reference; birth place is an INSEE COG code.

    A named tuple: the population feed makes one per row, a frozen dataclass cost four times as
    much to make."""

    birth_names: str
    first_names: str
    sex: Sex
    birth_date: date
    birth_place: str

    def normalized(self) -> tuple[str, str, str, str, str]:
        return (
            normalize_name(self.birth_names),
            normalize_name(self.first_names),
            self.sex.value,
            self.birth_date.isoformat(),
            self.birth_place.strip().upper(),
        )

    def matches(self, other: Traits) -> bool:
        """Same person for the INSi-like look-up: names compared without accents, case or hyphens."""
        return self.normalized() == other.normalized()


def normalize_name(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = ascii_only.upper().replace("-", " ").replace("'", " ")
    return " ".join(cleaned.split())
