"""The one id generator: random, 128 bits, never a sequence, never an INS."""

from __future__ import annotations

import base64
import os
import secrets


def new_id() -> str:
    """A 32-hex-character identifier (128 random bits), safe to show in URLs.

    Straight from the OS's generator: a UUID4 would keep only 122 random bits, and cost five
    times as much (an import makes two ids per row)."""
    return os.urandom(16).hex()


def new_ids(count: int) -> list[str]:
    """``count`` ids as ``new_id`` makes them, from one draw of the OS's generator: an import
    makes one per row, and each draw is a system call during which another thread may take the
    interpreter, and keep it for a while (the import's reader does)."""
    drawn = os.urandom(16 * count).hex()
    return [drawn[start : start + 32] for start in range(0, 32 * count, 32)]


def looks_like_id(text: str) -> bool:
    """Whether ``text`` could be an id ``new_id`` made (a path segment that cannot surprise)."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def new_secret(nbytes: int = 20) -> str:
    """An unguessable URL-safe secret (activation codes, session ids)."""
    return secrets.token_urlsafe(nbytes)


def new_secrets(count: int, nbytes: int = 20) -> list[str]:
    """``count`` secrets as ``new_secret`` makes them, from one draw (as ``new_ids``)."""
    drawn = os.urandom(nbytes * count)
    encode = base64.urlsafe_b64encode
    return [
        encode(drawn[start : start + nbytes]).rstrip(b"=").decode("ascii")
        for start in range(0, nbytes * count, nbytes)
    ]


def new_digits(count: int = 6) -> str:
    """A random numeric code (the second factor sent by e-mail): short-lived, tried a few times."""
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def new_key_bytes(nbytes: int = 20) -> bytes:
    """Raw random bytes for a shared secret (an authenticator app's TOTP key)."""
    return secrets.token_bytes(nbytes)


def new_words(alphabet: str, groups: int, size: int) -> str:
    """« abcd-efgh-jkmn » from ``alphabet``: a code a person copies by hand (recovery codes)."""
    return "-".join("".join(secrets.choice(alphabet) for _ in range(size)) for _ in range(groups))
