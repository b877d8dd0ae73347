from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carnet.auth.instance import InstanceKey, load_or_create_instance_key
from carnet.auth.oidc import JwksCache
from carnet.auth.verify import TokenVerifier
from carnet.clock import FixedClock, set_clock

from .issuer import AUDIENCE, LocalIssuer, serve


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    fixed = FixedClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    previous = set_clock(fixed)
    yield fixed
    set_clock(previous)


@pytest.fixture(scope="session")
def running_issuer() -> Iterator[LocalIssuer]:
    with serve(LocalIssuer()) as issuer:
        yield issuer


@pytest.fixture
def issuer(running_issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    running_issuer.reset()
    yield running_issuer
    running_issuer.reset()


@pytest.fixture
def instance_key(tmp_path: Path) -> InstanceKey:
    return load_or_create_instance_key(tmp_path / "keys" / "instance.jwk")


@pytest.fixture
def jwks(issuer: LocalIssuer, clock: FixedClock) -> JwksCache:
    return JwksCache(issuer.jwks_url)


@pytest.fixture
def verifier(instance_key: InstanceKey, issuer: LocalIssuer, jwks: JwksCache) -> TokenVerifier:
    return TokenVerifier(instance_key, oidc_issuer=issuer.issuer, oidc_audience=AUDIENCE, jwks=jwks)
