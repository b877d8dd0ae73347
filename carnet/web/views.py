"""Words for what the services return: a trace in plain French (TR-1), labels of categories,
professions and visibility. Presentation only: what is shown was decided by the services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from carnet.access.history import HistoryEntry
from carnet.access.wording import history_sentence
from carnet.identity.labels import PROFESSIONS
from carnet.records.catalog import CATEGORIES, TYPES
from carnet.records.service import AnyDocument


def sentence(entry: HistoryEntry, lang: str) -> str:
    """« Dr Louis Bernard, médecin, a consulté « Compte rendu » — accès en urgence : bris de
    glace, motif : … » (``access.wording.history_sentence``)."""
    return history_sentence(entry, lang)


def category_label(code: str, lang: str) -> str:
    fr, en = CATEGORIES.get(code, (code, code))
    return en if lang == "en" else fr


def type_label(code: str) -> str:
    found = TYPES.get(code)
    return found.label if found else code


def profession_label(code: str | None) -> str:
    return PROFESSIONS.get(code or "", code or "")


@dataclass(frozen=True)
class CategoryTab:
    code: str
    label: str
    count: int


def tabs(documents: Iterable[AnyDocument], lang: str) -> list[CategoryTab]:
    """Every category of REFERENCE.md, Espace personnel last, with how many documents each has."""
    counts = Counter(d.category for d in documents)
    return [
        CategoryTab(code, category_label(code, lang), counts.get(code, 0)) for code in CATEGORIES
    ]


def viewable(mime_type: str) -> str:
    """How the viewer shows a type: a frame (PDF), an image, text, or a download only."""
    if mime_type == "application/pdf":
        return "pdf"
    if mime_type == "image/jpeg":
        return "image"
    if mime_type == "text/plain":
        return "text"
    return "download"
