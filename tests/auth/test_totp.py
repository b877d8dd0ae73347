"""RFC 6238 / RFC 4226 test vectors for the authenticator-app second factor (issue 15)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from carnet.auth import totp

SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_issue15_rfc_4226_hotp_vectors() -> None:
    key = b"12345678901234567890"
    assert [totp.hotp(key, n) for n in range(3)] == ["755224", "287082", "359152"]


def test_issue15_rfc_6238_totp_vectors_sha1() -> None:
    for seconds, eight in [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")]:
        moment = datetime.fromtimestamp(seconds, UTC)
        assert totp.hotp(base64.b32decode(SECRET), totp.step_of(moment), 8) == eight
        assert totp.code_at(SECRET, moment) == eight[2:]


def test_issue15_a_code_is_good_once_and_within_the_drift() -> None:
    moment = datetime.fromtimestamp(1111111109, UTC)
    code = totp.code_at(SECRET, moment)
    step = totp.matching_step(SECRET, code, moment, None)
    assert step == totp.step_of(moment)
    assert totp.matching_step(SECRET, code, moment, step) is None  # replayed
    later = datetime.fromtimestamp(1111111109 + 30, UTC)
    assert totp.matching_step(SECRET, code, later, None) == step  # one step of drift
    much_later = datetime.fromtimestamp(1111111109 + 90, UTC)
    assert totp.matching_step(SECRET, code, much_later, None) is None
    assert totp.matching_step(SECRET, "12a456", moment, None) is None


def test_issue15_uri_and_recovery_codes() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    uri = totp.otpauth_uri(secret, "p@example.org")
    assert uri.startswith("otpauth://totp/Carnet%3Ap%40example.org?secret=")
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10
    assert totp.recovery_hash(codes[0].upper()) == totp.recovery_hash(codes[0])
