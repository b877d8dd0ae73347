"""The matricule INS (ID-1): 13-character NIR plus a 2-digit key, Corsica's 2A/2B included.

python-stdnum's ``stdnum.fr.nir`` does the arithmetic (97 − NIR mod 97, with 2A→19 and 2B→18);
this module gives it the product's words and refusals.
"""

from __future__ import annotations

import re
from enum import StrEnum

from stdnum import exceptions as stdnum_errors
from stdnum.fr import nir

from carnet.errors import Invalid


class InsStatus(StrEnum):
    """Status of an identity in the national identity reference (référentiel INS)."""

    PROVISOIRE = "PROV"
    RECUPEREE = "RECUP"
    VALIDEE = "VALI"
    QUALIFIEE = "QUAL"


class InvalidIns(Invalid):
    code = "invalid_ins"


def compact_ins(value: str) -> str:
    return str(nir.compact(value))


_SHAPE = re.compile(r"[1-478][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{8}")


def validate_ins(value: str) -> str:
    """The compact matricule INS, or ``InvalidIns`` for a wrong length, format or key."""
    if _SHAPE.fullmatch(value) and nir.calc_check_digits(value) == value[13:]:
        return value  # the common case, without stdnum's character-by-character cleaning
    number = compact_ins(value)
    try:
        return str(nir.validate(number))
    except stdnum_errors.InvalidLength:
        raise InvalidIns(
            f"Le matricule INS doit compter 15 caractères ({len(number)} reçus).",
            f"The INS must have 15 characters ({len(number)} given).",
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise InvalidIns("La clé du matricule INS est fausse.", "The INS key is wrong.") from None
    except stdnum_errors.ValidationError:
        raise InvalidIns(
            "Le matricule INS n'a pas le bon format.", "The INS is not well formed."
        ) from None


def is_valid_ins(value: str) -> bool:
    try:
        validate_ins(value)
    except InvalidIns:
        return False
    return True


def ins_key(nir13: str) -> str:
    """The two-digit key of a 13-character NIR."""
    return str(nir.calc_check_digits(nir13.upper()))


def make_ins(nir13: str) -> str:
    return nir13.upper() + ins_key(nir13)
