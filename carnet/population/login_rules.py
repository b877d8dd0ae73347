"""Getting into one's space (LC-4): lock-out, second factor, session lifetimes. Pure, time passed in.

The numbers follow ANSSI's recommendations on authentication (guide « Recommandations relatives
à l'authentification multifacteur et aux mots de passe », 2021): a lock-out after a few failures,
a one-time code of short life tried a few times, idle sessions that end on their own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_FAILURES = 5
LOCK_OUT = timedelta(minutes=15)
CODE_LIFETIME = timedelta(minutes=10)
CODE_ATTEMPTS = 5
#: Log-in attempts (password, e-mailed or app code) per client address and minute: guessing, or
#: starting e-mail challenges without end, is slowed at the door (issue 15).
ATTEMPTS_PER_CLIENT_MINUTE = 10
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
CODE_DIGITS = 6

_INS = re.compile(r"[0-9]{6}[0-9AB][0-9]{8}")

LOGIN_REFUSED = (
    "Identifiant ou mot de passe incorrect, ou compte verrouillé quelques minutes après trop "
    "d'essais.",
    "Wrong identifier or password, or account locked for a few minutes after too many attempts.",
)
CODE_REFUSED = (
    "Code incorrect ou expiré : reconnectez-vous pour en recevoir un nouveau.",
    "Wrong or expired code: log in again to receive a new one.",
)


def identifier_kind(identifier: str) -> str:
    """``"ins"`` (15 characters, ID-1 shape), ``"email"``, or ``"unknown"``."""
    value = identifier.strip()
    if _INS.fullmatch(value.upper()):
        return "ins"
    if "@" in value and len(value) <= 320:
        return "email"
    return "unknown"


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failures: int, now: datetime) -> tuple[int, datetime | None]:
    """The counter after one more failure, and the lock-out's end when it is reached."""
    failures += 1
    if failures >= MAX_FAILURES:
        return 0, now + LOCK_OUT
    return failures, None


def code_usable(expires_at: datetime, attempts: int, used: bool, now: datetime) -> bool:
    return not used and now < expires_at and attempts < CODE_ATTEMPTS


def session_alive(created_at: datetime, last_seen_at: datetime, ended: bool, now: datetime) -> bool:
    return not ended and now < created_at + SESSION_MAX and now < last_seen_at + SESSION_IDLE


def masked_email(address: str) -> str:
    """What the code page shows of the address the code went to: ``c•••@example.org``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
