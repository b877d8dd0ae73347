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
