"""Every French text the pages show has its English, in Babel catalogues (issue 15: no string
missing in either language). The check extracts as ``make catalogues`` does (``babel.cfg``:
``N_`` in Python, ``_`` in the templates) and compares with ``carnet/web/locale``."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from carnet.web import i18n, patient, pro, views
from carnet.web.render import ENV

ROOT = Path(__file__).resolve().parents[2]


def _extracted() -> dict[str, str]:
    """Each marked text and the first file it is in."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[str, str] = {}
    for path, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map):
        texts = message if isinstance(message, tuple) else (message,)
        for text in texts:
            if text:
                found.setdefault(text, path)
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, str]:
    return _extracted()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_issue15_every_marked_text_is_in_each_catalogue(
    extracted: dict[str, str], lang: str
) -> None:
    catalogue = {str(m.id): str(m.string) for m in i18n.read_catalogue(lang) if m.id}
    missing = {text: where for text, where in extracted.items() if not catalogue.get(text)}
    assert missing == {}, f"run `make catalogues` and translate these in {lang}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_issue15_no_catalogue_keeps_a_text_nobody_shows(
    extracted: dict[str, str], lang: str
) -> None:
    kept = [str(m.id) for m in i18n.read_catalogue(lang) if m.id]
    assert [text for text in kept if text not in extracted] == []


#: Words both languages write alike: the only texts the English catalogue may keep as they are.
SAME_IN_BOTH = {
    "Actions", "Activation", "Conversations", "Date", "Documents", "Menu", "Message",
    "Notifications", "Page", "Patients", "Profession", "Rectification", "Type", "Vaccinations",
    "Version", "Visible", "documents", "dose",
}  # fmt: skip


def test_issue15_the_english_catalogue_is_english(extracted: dict[str, str]) -> None:
    """A French text copied as its own English is a translation forgotten."""
    same = {t for t in extracted if i18n.translate("en", t) == t}
    assert same - SAME_IN_BOTH == set()


SECTIONS: tuple[tuple[str, str, str], ...] = ENV.globals["SECTIONS"]  # type: ignore[assignment]


def test_issue15_every_notice_and_label_the_doors_pass_is_marked(
    extracted: dict[str, str],
) -> None:
    """Texts a door hands to a template to translate must be marked, or extraction misses
    them and English readers get French."""
    texts = [
        *patient.NOTICES.values(),
        *pro.NOTICES.values(),
        *(label for _, _, label in SECTIONS),
        *(label for _, label in views.NOTIFICATION_LINKS.values()),
    ]
    assert [t for t in texts if t not in extracted] == []


def test_issue15_a_page_reads_in_english_from_the_catalogue() -> None:
    assert i18n.translate("en", "Historique") == "History"
    assert i18n.translate("fr", "Historique") == "Historique"
    assert (
        i18n.translate("en", "un texte absent des catalogues") == "un texte absent des catalogues"
    )
