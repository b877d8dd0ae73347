from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from carnet.auth.instance import InstanceKey, load_or_create_instance_key
from carnet.auth.provider import OidcProvider, ProviderSettings
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


def provider_for(issuer: LocalIssuer, **overrides: Any) -> OidcProvider:
    """The provider's documents as Carnet keeps them, for the test issuer (plain http: tests)."""
    settings = ProviderSettings(issuer=issuer.issuer, require_https=False, timeout=2.0)
    return OidcProvider(dataclasses.replace(settings, **overrides))


@pytest.fixture
def provider(issuer: LocalIssuer, clock: FixedClock) -> OidcProvider:
    return provider_for(issuer)


@pytest.fixture
def verifier(
    instance_key: InstanceKey, issuer: LocalIssuer, provider: OidcProvider
) -> TokenVerifier:
    return TokenVerifier(instance_key, provider=provider, audience=AUDIENCE)
