"""The one id generator: random, 128 bits, never a sequence, never an INS."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    """A 32-hex-character identifier (128 random bits), safe to show in URLs."""
    return uuid.uuid4().hex


def new_secret(nbytes: int = 20) -> str:
    """An unguessable URL-safe secret (activation codes, session ids)."""
    return secrets.token_urlsafe(nbytes)


def new_digits(count: int = 6) -> str:
    """A random numeric code (the second factor sent by e-mail): short-lived, tried a few times."""
    return "".join(str(secrets.randbelow(10)) for _ in range(count))
