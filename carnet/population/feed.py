"""The operator's population feed (CSV): parsing and checking one row at a time. Pure.

Columns: ``ins, birth_names, first_names, sex, birth_date, birth_place`` (required),
``used_name, email, phone, legal_representatives`` (INS separated by ``|``),
``guardian_ins, guardian_mandate`` (``person`` or ``property``), ``opposed`` (1/0, oui/non).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from carnet.errors import Invalid
from carnet.identity.ins import InvalidIns, validate_ins
from carnet.identity.traits import Sex, Traits
from carnet.population.rules import RepresentativeKind

REQUIRED = ("ins", "birth_names", "first_names", "sex", "birth_date", "birth_place")
TRUE = frozenset({"1", "oui", "true", "o", "yes", "y"})
FALSE = frozenset({"", "0", "non", "false", "n", "no"})
YES_OR_NO = TRUE | FALSE
_SEXES = {sex.value: sex for sex in Sex}
_COLUMNS: dict[str, str] = {}


def _column(header: str) -> str:
    """A header as a column name (``" INS "`` is ``ins``), remembered: a feed has a dozen
    headers and a million rows."""
    name = _COLUMNS.get(header)
    if name is None:
        name = header.strip().lower()
        if len(_COLUMNS) < 1000:
            _COLUMNS[header] = name
    return name


class FeedRow(NamedTuple):
    """A checked row of the feed (a named tuple: one per row of a million-row file)."""

    ins: str
    traits: Traits
    used_name: str | None
    email: str | None
    phone: str | None
    representatives: tuple[tuple[str, RepresentativeKind], ...]
    opposed: bool


@dataclass(frozen=True)
class RowError:
    line: int
    ins: str
    fr: str
    en: str


class FeedValues(dict[str, str]):
    """A row as ``read_feed`` gives it: headers as column names, values trimmed already."""


def read_feed(lines: Iterable[str]) -> Iterator[Mapping[str, str | None]]:
    """Rows of the feed, streamed; ``,`` or ``;`` separated, as operators' tools write either.
    Blank lines are skipped; a short row lacks its last columns."""
    lines = iter(lines)
    first = next(lines, "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [_column(h) for h in next(csv.reader([first], delimiter=delimiter), [])]
    strip = str.strip
    for fields in csv.reader(lines, delimiter=delimiter):
        if fields:
            yield FeedValues(zip(header, map(strip, fields), strict=False))


def parse_row(raw: Mapping[str, str | None]) -> FeedRow:
    """A checked row, or ``Invalid`` naming the first problem (in French and English)."""
    values = (
        raw
        if type(raw) is FeedValues
        else {_column(k): (v or "").strip() for k, v in raw.items() if k is not None}
    )
    for name in REQUIRED:
        if not values.get(name):
            raise Invalid(
                f"Trait manquant : {name}.", f"Missing trait: {name}.", code="missing_trait"
            )
    ins = validate_ins(values["ins"])
    sex = _SEXES.get(values["sex"].upper())
    if sex is None:
        raise Invalid("Sexe inconnu (M, F ou I).", "Unknown sex (M, F or I).", code="bad_sex")
    try:
        birth_date = date.fromisoformat(values["birth_date"])
    except ValueError:
        raise Invalid(
            "Date de naissance illisible (AAAA-MM-JJ).",
            "Unreadable birth date (YYYY-MM-DD).",
            code="bad_birth_date",
        ) from None
    place = values["birth_place"].upper()
    if len(place) != 5 or not place.replace("A", "0").replace("B", "0").isdigit():
        raise Invalid(
            "Lieu de naissance : code INSEE à 5 caractères.",
            "Birth place: 5-character INSEE code.",
            code="bad_birth_place",
        )
    opposed_text = values.get("opposed", "").lower()
    if opposed_text not in YES_OR_NO:
        raise Invalid("Opposition : 1 ou 0.", "Opposition: 1 or 0.", code="bad_opposition")
    email = values.get("email") or None
    if email is not None and ("@" not in email or " " in email):
        raise Invalid("Adresse e-mail invalide.", "Invalid e-mail address.", code="bad_email")
    return FeedRow(
        ins=ins,
        traits=Traits(values["birth_names"], values["first_names"], sex, birth_date, place),
        used_name=values.get("used_name") or None,
        email=email,
        phone=values.get("phone") or None,
        representatives=_representatives(values, ins),
        opposed=opposed_text in TRUE,
    )


def _representatives(
    values: dict[str, str], own_ins: str
) -> tuple[tuple[str, RepresentativeKind], ...]:
    if not (values.get("legal_representatives") or values.get("guardian_ins")):
        return ()  # most rows: an adult acting for himself
    found: list[tuple[str, RepresentativeKind]] = []
    for text in filter(
        None, (p.strip() for p in values.get("legal_representatives", "").split("|"))
    ):
        found.append((_other_ins(text, own_ins), RepresentativeKind.LEGAL_REPRESENTATIVE))
    guardian = values.get("guardian_ins", "")
    if guardian:
        mandate = values.get("guardian_mandate", "").lower()
        kinds = {
            "person": RepresentativeKind.GUARDIAN_OF_PERSON,
            "personne": RepresentativeKind.GUARDIAN_OF_PERSON,
            "property": RepresentativeKind.GUARDIAN_OF_PROPERTY,
            "biens": RepresentativeKind.GUARDIAN_OF_PROPERTY,
        }
        if mandate not in kinds:
            raise Invalid(
                "Mandat du tuteur : person (à la personne) ou property (aux biens).",
                "Guardian's mandate: person or property.",
                code="bad_mandate",
            )
        found.append((_other_ins(guardian, own_ins), kinds[mandate]))
    return tuple(found)


def _other_ins(text: str, own_ins: str) -> str:
    try:
        ins = validate_ins(text)
    except InvalidIns as error:
        raise Invalid(
            f"Représentant : {error.fr}", f"Representative: {error.en}", code="bad_representative"
        ) from None
    if ins == own_ins:
        raise Invalid(
            "Un patient ne se représente pas lui-même.",
            "A patient cannot represent himself.",
            code="bad_representative",
        )
    return ins
