"""Free text a user gives (an emergency reason, a document's title or file name): refused when
it carries control characters (issue 16).

CR and LF in a header-borne reason split the lines of whatever echoes it (a trace, an e-mail, a
log); NUL truncates it in C libraries and is refused by PostgreSQL; the others hide or reorder
what a reader sees. A tab is a space where a reason (a paragraph) allows it, never in a
one-line title. Pure: no I/O.
"""

from __future__ import annotations

import re

from carnet.errors import Invalid

MAX_REASON = 500
"""Characters of an emergency reason, on every door (INTERFACES.md)."""

_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_IN_PARAGRAPH = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def has_controls(text: str, *, tab: bool = False) -> bool:
    """Whether ``text`` holds a C0 or C1 control, DEL or a Unicode line separator (a tab only
    counts when ``tab`` is false)."""
    return (_IN_PARAGRAPH if tab else _IN_LINE).search(text) is not None


def checked_reason(reason: str | None) -> str | None:
    """An emergency reason (X-Access-Reason, the portal's form): 500 characters at most, no
    control character but tab."""
    if reason is None:
        return None
    if has_controls(reason, tab=True):
        raise Invalid(
            "Motif refusé : il contient des caractères de contrôle (retour à la ligne, NUL…).",
            "Reason refused: it contains control characters (line breaks, NUL…).",
            code="bad_reason",
        )
    if len(reason) > MAX_REASON:
        raise Invalid(
            f"Motif trop long : {MAX_REASON} caractères au plus.",
            f"Reason too long: {MAX_REASON} characters at most.",
            code="bad_reason",
        )
    return reason


def checked_title(title: str) -> str:
    """A document's title (or the file name it defaults to): one line, no control character."""
    if has_controls(title):
        raise Invalid(
            "Titre ou nom de fichier refusé : il contient des caractères de contrôle "
            "(retour à la ligne, tabulation, NUL…).",
            "Title or file name refused: it contains control characters (line breaks, tabs, NUL…).",
            code="bad_title",
        )
    return title


def N_(text: str) -> str:  # noqa: N802 - gettext's name for a marker, known to Babel's extractor
    """A French text a page shows in the reader's language: marked here so that Babel's
    extraction (``babel.cfg``) puts it in the catalogues, translated where it is shown (the
    templates' ``_``). Returns the text as is."""
    return text
