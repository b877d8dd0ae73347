"""Talking to the relay: which encryption, whose reverse-path, what a reply means. Pure.

A reply's first digit decides (RFC 5321 §4.2.1): ``5yz`` is a permanent failure — the same
transaction would fail the same way — and ``4yz`` a transient one, worth trying again later.
The enhanced code that follows it (RFC 3463, ``class.subject.detail``) says why.
"""

from __future__ import annotations

import re
from enum import StrEnum

IMPLICIT_TLS_PORT = 465  # RFC 8314 §3.3: submission over TLS from the first byte
MAX_REASON = 300
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s|$)")


class TlsMode(StrEnum):
    """How a connection to the relay is encrypted (``CARNET_SMTP_RELAY_TLS``)."""

    REQUIRED = "required"
    OPPORTUNISTIC = "opportunistic"
    IMPLICIT = "implicit"


class Stage(StrEnum):
    """Where an attempt stopped: before ``MAIL`` the relay could not be used at all."""

    CONNECT = "connect"
    TLS = "tls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


def tls_mode(configured: str | None, port: int, demo: bool) -> TlsMode:
    """The configured mode; else implicit TLS on port 465, STARTTLS required outside demo mode
    (health content never crosses a network in clear), opportunistic in demo mode."""
    if configured:
        return TlsMode(configured)
    if port == IMPLICIT_TLS_PORT:
        return TlsMode.IMPLICIT
    return TlsMode.OPPORTUNISTIC if demo else TlsMode.REQUIRED


def verifies_certificate(mode: TlsMode, ca_configured: bool) -> bool:
    """Required and implicit TLS check who the relay is (else a man in the middle reads all);
    opportunistic TLS checks it only against a configured authority (RFC 7435: encryption
    without authentication still beats clear text)."""
    return mode is not TlsMode.OPPORTUNISTIC or ca_configured


def is_permanent(stage: Stage, code: int | None) -> bool:
    """Only a refusal of the transaction itself (``MAIL``, ``RCPT``, ``DATA``) with a 5xx is
    final. A 5xx before it (authentication, STARTTLS) is the relay's or our configuration's
    problem: the message is kept until an operator fixes it or the delay runs out."""
    in_transaction = stage in (Stage.MAIL, Stage.RCPT, Stage.DATA)
    return in_transaction and code is not None and 500 <= code <= 599


def enhanced_code(text: str) -> str | None:
    """``5.1.1`` of ``5.1.1 Mailbox unknown``, when the reply carries one (RFC 3463)."""
    found = _ENHANCED.match(text.strip())
    return found.group(1) if found else None


def reason(code: int | None, text: str) -> str:
    """A reply on one line, bounded, as the queue keeps it and the patient may read it."""
    flat = " ".join(text.split())
    return (f"{code} {flat}" if code is not None else flat)[:MAX_REASON]


def reverse_path(automatic_report: bool, sender: str) -> str:
    """``MAIL FROM:<>`` for a read receipt or a delivery report, so that no report ever answers
    a report (RFC 8098 §2.1, RFC 3464 §2, RFC 5321 §4.5.5); the sender's address otherwise."""
    return "" if automatic_report else sender


def domain_of(address: str) -> str:
    """The part after ``@``: what a log line or the queue listing shows of a recipient."""
    return address.rpartition("@")[2].lower()


def is_8bit(data: bytes) -> bool:
    return not data.isascii()
