"""French first, English second: Babel message catalogues keyed by the French text (gettext's
way), one per language under ``locale/<lang>/LC_MESSAGES/messages.po``. French is the source, so
a text missing from a catalogue shows in French; ``make catalogues`` extracts the marked texts
(``babel.cfg``: ``N_`` in Python, ``_`` in the templates) and updates both catalogues, and
tests/web/test_web_catalogue.py fails when one is missing a text or keeps one nobody uses.

The French catalogue maps each text to itself unless its wording is corrected there: a
correction needs no change of code. The language comes from the ``lang`` cookie, then the
browser's ``Accept-Language``; French by default.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
LOCALE = Path(__file__).parent / "locale"


def catalogue_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "messages.po"


def read_catalogue(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def _texts(lang: str) -> dict[str, str]:
    """The catalogue as a mapping, read once at start (a few hundred texts): a page's lookup
    is a dictionary's, not gettext's."""
    return {
        str(message.id): str(message.string)
        for message in read_catalogue(lang)
        if message.id and message.string and not message.fuzzy
    }


CATALOGUES: dict[str, dict[str, str]] = {lang: _texts(lang) for lang in LANGUAGES}


def pick(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def translate(lang: str, text: str) -> str:
    return CATALOGUES.get(lang, {}).get(text, text)


def both(lang: str, fr: str, en: str) -> str:
    """A refusal or a notification carries both texts: show the reader's."""
    return en if lang == "en" else fr
