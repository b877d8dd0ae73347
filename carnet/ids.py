"""The one id generator: random, 128 bits, never a sequence, never an INS."""

from __future__ import annotations

import os
import secrets


def new_id() -> str:
    """A 32-hex-character identifier (128 random bits), safe to show in URLs.

    Straight from the OS's generator: a UUID4 would keep only 122 random bits, and cost five
    times as much (an import makes two ids per row)."""
    return os.urandom(16).hex()


def looks_like_id(text: str) -> bool:
    """Whether ``text`` could be an id ``new_id`` made (a path segment that cannot surprise)."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def new_secret(nbytes: int = 20) -> str:
    """An unguessable URL-safe secret (activation codes, session ids)."""
    return secrets.token_urlsafe(nbytes)


def new_digits(count: int = 6) -> str:
    """A random numeric code (the second factor sent by e-mail): short-lived, tried a few times."""
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def new_key_bytes(nbytes: int = 20) -> bytes:
    """Raw random bytes for a shared secret (an authenticator app's TOTP key)."""
    return secrets.token_bytes(nbytes)


def new_words(alphabet: str, groups: int, size: int) -> str:
    """« abcd-efgh-jkmn » from ``alphabet``: a code a person copies by hand (recovery codes)."""
    return "-".join("".join(secrets.choice(alphabet) for _ in range(size)) for _ in range(groups))
