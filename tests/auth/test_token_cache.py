"""Issue 19: a token is verified once, then remembered under its hash for its life only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from carnet.auth.instance import InstanceKey, issue_pro_token
from carnet.auth.verify import TokenCache, TokenVerifier
from carnet.clock import FixedClock
from carnet.context import AuthLevel
from carnet.errors import Unauthenticated

from .issuer import RPPS


def token(key: InstanceKey, ttl: int = 300) -> str:
    return issue_pro_token(
        key, rpps=RPPS, profession="10", specialty=None, level=AuthLevel.CPS, ttl_seconds=ttl
    )


def test_issue_19_a_token_seen_before_is_not_verified_again(
    instance_key: InstanceKey, clock: FixedClock
) -> None:
    verifier = TokenVerifier(instance_key)
    bearer = token(instance_key)
    first = asyncio.run(verifier.verify_async(bearer))
    # The very claims verified the first time: no signature checked, nothing parsed again.
    assert asyncio.run(verifier.verify_async(bearer)) is first
    assert verifier.verify(bearer) is first
    other = token(instance_key)
    assert verifier.verify(other) is not first, "another token is verified on its own"


def test_issue_19_a_remembered_token_still_expires(
    instance_key: InstanceKey, clock: FixedClock
) -> None:
    verifier = TokenVerifier(instance_key)
    bearer = token(instance_key, ttl=60)
    verifier.verify(bearer)
    verifier.remember_identity(bearer, "person-1")
    assert verifier.identity(bearer) == "person-1"
    clock.advance(timedelta(seconds=60 + 31))  # past its expiry and the leeway
    with pytest.raises(Unauthenticated) as refusal:
        verifier.verify(bearer)
    assert refusal.value.code == "token_expired"
    assert verifier.identity(bearer) is None, "the identity is forgotten with the token"


def test_issue_19_an_identity_is_remembered_only_for_a_verified_token(
    instance_key: InstanceKey, clock: FixedClock
) -> None:
    verifier = TokenVerifier(instance_key)
    verifier.remember_identity("never-verified", "person-1")
    assert verifier.identity("never-verified") is None


def test_issue_19_the_cache_is_bounded_least_recently_used_first_out(clock: FixedClock) -> None:
    cache: TokenCache[int] = TokenCache(size=3)
    far = clock.now().timestamp() + 3600
    for n in range(3):
        cache.put(f"t{n}", n, far)
    assert cache.get("t0") == 0  # t0 used: t1 is now the least recently used
    cache.put("t3", 3, far)
    cache.put("t4", 4, far)
    assert len(cache) == 3
    assert cache.get("t1") is None
    assert cache.get("t2") is None
    assert [cache.get(t) for t in ("t0", "t3", "t4")] == [0, 3, 4]
    assert all(len(k) == 32 for k in cache._entries), "keyed by SHA-256, never the token"
