"""The habilitation matrix (ACC-1): profession[, specialty] × document type → may read. Data.

The shipped file is a stand-in built from REFERENCE.md's principles; an operator loads the
official one from a CSV of the same shape.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from carnet.errors import Invalid
from carnet.settings import Settings


@dataclass(frozen=True, eq=False)
class Matrix:
    """Cells keyed ``(profession, specialty or "")``; a specialty row wins over its profession's."""

    types: frozenset[str]
    cells: dict[tuple[str, str], frozenset[str]]
    #: Rows resolved so far (the decision runs per document of every listing: resolved once).
    _resolved: dict[tuple[str, str | None], frozenset[str]] = field(
        default_factory=dict, repr=False
    )

    def allows(self, profession: str, specialty: str | None, type_code: str) -> bool:
        return type_code in self.readable_types(profession, specialty)

    def readable_types(self, profession: str, specialty: str | None) -> frozenset[str]:
        found = self._resolved.get((profession, specialty))
        if found is None:
            found = self.cells.get((profession, specialty)) if specialty else None
            if found is None:
                found = self.cells.get((profession, ""), frozenset())
            self._resolved[profession, specialty] = found
        return found


def parse_matrix(lines: Iterable[str]) -> Matrix:
    reader = csv.reader(line for line in lines if line.strip() and not line.startswith("#"))
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid("La matrice est vide.", "The matrix is empty.") from None
    if header[:2] != ["profession", "specialty"]:
        raise Invalid(
            "La matrice doit commencer par les colonnes profession,specialty.",
            "The matrix must start with the columns profession,specialty.",
        )
    types = header[2:]
    cells: dict[tuple[str, str], frozenset[str]] = {}
    for number, row in enumerate(reader, start=2):
        if len(row) != len(header) or any(v not in ("0", "1") for v in row[2:]):
            raise Invalid(
                f"Ligne {number} de la matrice mal formée.", f"Matrix line {number} is malformed."
            )
        cells[(row[0], row[1])] = frozenset(
            t for t, v in zip(types, row[2:], strict=True) if v == "1"
        )
    return Matrix(frozenset(types), cells)


def load_matrix(path: Path | None = None) -> Matrix:
    if path is not None:
        with path.open(encoding="utf-8") as handle:
            return parse_matrix(handle)
    text = (
        resources.files("carnet.access")
        .joinpath("data/habilitation_default.csv")
        .read_text("utf-8")
    )
    return parse_matrix(text.splitlines())


def matrix_path(settings: Settings) -> Path:
    """Where ``carnet matrix load`` puts the operator's official matrix."""
    return settings.data_dir / "habilitation.csv"


class MatrixSource:
    """The instance's matrix (``Runtime.state(MatrixSource)``): the operator's when one was
    loaded, else the shipped stand-in; read on first use and again when the file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[int | None, Matrix] | None = None
        self._path: tuple[Settings, str] | None = None

    def current(self, settings: Settings) -> Matrix:
        # One stat a request (the operator's new matrix applies at the next request); the
        # path is built once, not per request (issue 19).
        known = self._path
        if known is None or known[0] is not settings:
            known = self._path = (settings, str(matrix_path(settings)))
        try:
            stamp: int | None = os.stat(known[1]).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        loaded = self._loaded
        if loaded is not None and loaded[0] == stamp:
            return loaded[1]
        with self._lock:
            matrix = load_matrix(Path(known[1]) if stamp is not None else None)
            self._loaded = (stamp, matrix)
        return matrix
