"""Every French text the pages show has its English (issue 15: no string missing in either
language): the strings given to ``_`` in the templates, and the notices and labels the doors
pass to them. French is the key, so French is never missing."""

from __future__ import annotations

from pathlib import Path

from jinja2.ext import extract_from_ast

from carnet.web import i18n, patient, pro, views
from carnet.web.render import ENV

TEMPLATES = Path(pro.__file__).parent / "templates"


def _template_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        tree = ENV.parse(path.read_text("utf-8"))
        for _, _, text in extract_from_ast(tree, gettext_functions=("_",)):
            if isinstance(text, str):
                found.setdefault(text, str(path.relative_to(TEMPLATES)))
    return found


def test_issue15_every_template_string_has_its_english() -> None:
    missing = {text: where for text, where in _template_strings().items() if text not in i18n.EN}
    assert missing == {}


SECTIONS: tuple[tuple[str, str, str], ...] = ENV.globals["SECTIONS"]  # type: ignore[assignment]


def test_issue15_every_notice_and_label_has_its_english() -> None:
    texts = [
        *patient.NOTICES.values(),
        *pro.NOTICES.values(),
        *(label for _, _, label in SECTIONS),
        *(label for _, label in views.NOTIFICATION_LINKS.values()),
    ]
    assert [t for t in texts if t not in i18n.EN] == []
