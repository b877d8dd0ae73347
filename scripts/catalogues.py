"""Extract the texts the pages show (``babel.cfg``) and bring both catalogues up to date.

``make catalogues`` runs it after a text is added or changed. New texts arrive in the English
catalogue untranslated (tests/web/test_web_catalogue.py fails until they are translated) and in
the French one as themselves, French being the source; texts nobody shows any more are dropped.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import write_po

from carnet.web import i18n

ROOT = Path(__file__).resolve().parents[1]


def extracted() -> Catalog:
    template = Catalog(project="Carnet", version="0.1", copyright_holder="Carnet contributors")
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    for path, line, message, comments, context in extract_from_dir(ROOT, method_map, options_map):
        template.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return template


def main() -> None:
    for lang in i18n.LANGUAGES:
        catalogue = i18n.read_catalogue(lang)
        template = extracted()  # its messages go into the catalogue: one extraction each
        template.creation_date = catalogue.creation_date  # no noise in diffs
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.obsolete.clear()
        for message in catalogue:
            if message.id and not message.string and lang == i18n.DEFAULT:
                message.string = message.id
        with i18n.catalogue_path(lang).open("wb") as po:
            write_po(po, catalogue, width=100, no_location=True, sort_output=True)
        print(f"{lang}: {sum(1 for m in catalogue if m.id)} texts")


if __name__ == "__main__":
    main()
