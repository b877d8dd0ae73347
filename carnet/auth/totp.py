"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 30 s, 6 digits):
the second factor by authenticator app, beside the e-mail code (issue 15), and its recovery
codes. Pure: no clock, no storage — the caller gives the time and keeps the last step used.

Written on the standard library (no well-kept TOTP library is in this project's registry
lists): the RFC's own test vectors check it (tests/auth/test_totp.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

from carnet.ids import new_key_bytes, new_words

STEP_SECONDS = 30
DIGITS = 6
#: Steps accepted either side of now: a phone's clock a little off still works.
DRIFT = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length), base32 as apps expect."""
    return base64.b32encode(new_key_bytes(20)).decode("ascii")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: HMAC-SHA1 of the counter, dynamically truncated."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    return hotp(_key(secret), step_of(moment))


def matching_step(secret: str, code: str, moment: datetime, last_step: int | None) -> int | None:
    """The step ``code`` belongs to, within the drift, if later than the last one used (a code
    is good once); ``None`` otherwise."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key, now = _key(secret), step_of(moment)
    for step in range(now - DRIFT, now + DRIFT + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def otpauth_uri(secret: str, account: str, issuer: str = "Carnet") -> str:
    """The key URI authenticator apps read (Google Authenticator's format)."""
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?" + urlencode(
        {"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP_SECONDS}
    )


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """One-time codes for a lost phone: « abcd-efgh-jkmn » (no 0/o/1/l/i to misread)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [new_words(alphabet, 3, 4) for _ in range(count)]


def recovery_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
