"""The SMTP door's reply texts: French then English, readable after any relay.

A reply is one multi-line reply (RFC 5321 §4.2.1): the French line, then the English line, each
with the enhanced status code (RFC 3463). Reply text is US-ASCII in SMTP (RFC 5321 §4.2,
``textstring``); RFC 6531 lets it carry UTF-8 to a client that negotiated SMTPUTF8. So the English
line is ASCII always, and the French line keeps its accents — the seeds' exact wording, MSG-4 —
only for a client that gave ``SMTPUTF8`` on ``MAIL FROM``; to the others it goes with its accents
dropped, which a relay without SMTPUTF8 passes as it is (never the ``??`` of a mangled byte).
"""

from __future__ import annotations

import re
import unicodedata

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
#: What Unicode's decomposition does not reduce to ASCII, in French text and addresses.
_SPELLED = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
        "×": "x",
        "÷": "/",
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "–": "-",
        "—": "-",
        "…": "...",
        "€": "EUR",
        "\u00a0": " ",
        "\u202f": " ",
    }
)


def ascii_text(text: str) -> str:
    """``clôturée`` → ``cloturee``: accents dropped, typographic signs spelled in ASCII, what
    remains outside ASCII (a script with no Latin form) one ``?`` per character."""
    spelled = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    bare = "".join(c for c in spelled if not unicodedata.combining(c))
    return bare.encode("ascii", "replace").decode("ascii")


def reply(code: int, enhanced: str, fr: str, en: str, *, utf8: bool = False) -> str:
    """The French line (UTF-8 only when ``utf8``: the client negotiated SMTPUTF8), then the
    English line in ASCII."""
    fr, en = _UNPRINTABLE.sub(" ", fr), _UNPRINTABLE.sub(" ", en)
    return (
        f"{code}-{enhanced} {fr if utf8 else ascii_text(fr)}\r\n{code} {enhanced} {ascii_text(en)}"
    )


TEMPORARY_TEXTS = (
    "Erreur temporaire du serveur, réessayez plus tard.",
    "Temporary server error, please try again later.",
)


def temporary(*, utf8: bool = False) -> str:
    return reply(451, "4.3.0", *TEMPORARY_TEXTS, utf8=utf8)
