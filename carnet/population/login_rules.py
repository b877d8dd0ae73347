"""Getting into one's space (LC-4): lock-out, second factor, session lifetimes. Pure, time passed in.

The numbers follow ANSSI's recommendations on authentication (guide « Recommandations relatives
à l'authentification multifacteur et aux mots de passe », 2021): a lock-out after a few failures,
a one-time code of short life tried a few times, idle sessions that end on their own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

#: Failures from one source (a browser already known to the account, else a client address)
#: before that source alone is locked out: whoever knows an INS locks out his own attempts, not
#: the person's (issue 15).
MAX_FAILURES = 5
#: Failures from all unknown sources together before unknown sources are locked out: guessing
#: spread over many addresses is bounded, while the browsers the person logged in from before
#: still get in.
MAX_UNKNOWN_FAILURES = 20
LOCK_OUT = timedelta(minutes=15)
#: A browser that completed a log-in is known for this long after its last one.
KNOWN_DEVICE = timedelta(days=180)
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


def after_failure(
    failures: int, last: datetime | None, now: datetime, limit: int = MAX_FAILURES
) -> tuple[int, datetime | None]:
    """The counter after one more failure, and the lock-out's end when ``limit`` is reached.
    Failures older than a lock-out's length are forgotten: four typos a year apart lock nothing."""
    if last is None or now - last > LOCK_OUT:
        failures = 0
    failures += 1
    if failures >= limit:
        return 0, now + LOCK_OUT
    return failures, None


def refused_by_lock(
    source_locked_until: datetime | None,
    unknown_locked_until: datetime | None,
    known_device: bool,
    now: datetime,
) -> bool:
    """Whether an attempt is refused before its password is even looked at: its own source is
    locked, or it comes from an unknown source while unknown sources are locked. A browser the
    person logged in from before passes the second lock: an attacker cannot keep her out."""
    if is_locked(source_locked_until, now):
        return True
    return not known_device and is_locked(unknown_locked_until, now)


def device_known(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is not None and now - last_used_at <= KNOWN_DEVICE


def code_usable(expires_at: datetime, attempts: int, used: bool, now: datetime) -> bool:
    return not used and now < expires_at and attempts < CODE_ATTEMPTS


def session_alive(created_at: datetime, last_seen_at: datetime, ended: bool, now: datetime) -> bool:
    return not ended and now < created_at + SESSION_MAX and now < last_seen_at + SESSION_IDLE


def masked_email(address: str) -> str:
    """What the code page shows of the address the code went to: ``c•••@example.org``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
