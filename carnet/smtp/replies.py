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


#: RFC 3463 for the replies aiosmtpd writes itself (syntax, sequence, size), by reply code: once
#: ENHANCEDSTATUSCODES is advertised every 2xx, 4xx and 5xx reply carries one (RFC 2034 §4).
DEFAULT_ENHANCED = {
    221: "2.0.0",
    235: "2.7.0",
    250: "2.0.0",
    251: "2.1.5",
    252: "2.0.0",
    421: "4.3.0",
    451: "4.3.0",
    452: "4.3.1",
    454: "4.7.0",
    500: "5.5.2",
    501: "5.5.4",
    502: "5.5.1",
    503: "5.5.1",
    504: "5.5.4",
    530: "5.7.0",
    535: "5.7.8",
    552: "5.3.4",
    553: "5.1.3",
    555: "5.5.4",
}
_LINE = re.compile(r"([245]\d\d)([ -])(?!\d\.\d{1,3}\.\d{1,3}(?: |$))(.*)", re.DOTALL)


def with_enhanced_codes(status: str) -> str:
    """Each line of ``status`` with an enhanced status code (RFC 2034), when it has none."""
    lines = []
    for line in status.split("\r\n"):
        found = _LINE.fullmatch(line)
        if found is not None:
            code, sep, text = found.groups()
            enhanced = DEFAULT_ENHANCED.get(int(code), f"{code[0]}.0.0")
            line = f"{code}{sep}{enhanced} {text}".rstrip()
        lines.append(line)
    return "\r\n".join(lines)


def has_bare_newline(data: bytes) -> bool:
    """A CR or an LF alone in a message (what ``smtpd_forbid_bare_newline`` refuses in Postfix):
    read as a line break by some parsers and not by others, it lets a header be smuggled past the
    ones that check (``X-MSS-MES: FIN`` closing a conversation).

    Each CRLF holds one CR and one LF, so every CR and every LF is in one exactly when there are
    as many of each as of CRLFs: three counts in C (3 µs a 1 KB message here, 0.15 ms at 64 KB),
    where a regular expression looking around every byte took ten times as long, on the SMTP
    door's event loop (issue 18)."""
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs


BARE_NEWLINE_TEXTS = (
    "Message refusé : il contient un CR ou un LF isolé ; les lignes se terminent par CRLF "
    "(RFC 5321, 2.3.8).",
    "Message refused: it contains a bare CR or LF; lines end with CRLF (RFC 5321, 2.3.8).",
)
