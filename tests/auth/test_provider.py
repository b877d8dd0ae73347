"""The provider's documents off the request path: cached, refreshed in the background, one fetch
at a time shared by every waiter, bounded waits, stale keys kept for a bounded grace."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from datetime import timedelta

import pytest
from starlette.responses import JSONResponse, RedirectResponse, Response
from structlog.testing import capture_logs

from carnet.auth.instance import InstanceKey
from carnet.auth.provider import OidcProvider
from carnet.auth.remote import wait_blocking
from carnet.auth.verify import TokenVerifier
from carnet.clock import FixedClock
from carnet.errors import ProviderUnavailable, Unauthenticated

from .conftest import provider_for
from .issuer import AUDIENCE, LocalIssuer, new_ec_key, psc_payload
from .real_provider import wait_until


def unavailable(verifier: TokenVerifier, token: str) -> ProviderUnavailable:
    with pytest.raises(ProviderUnavailable) as refused:
        verifier.verify(token)
    assert refused.value.status == 503
    assert refused.value.code == "issuer_unavailable"
    assert refused.value.fr.startswith("Le fournisseur d'identité")
    assert refused.value.en.startswith("The identity provider")
    return refused.value


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refusal:
        verifier.verify(token)
    return refusal.value.code


def test_oidc_discovery_naming_another_issuer_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier, provider: OidcProvider
) -> None:
    """OpenID Connect Discovery §4.3: the document's issuer must be the one configured."""
    issuer.discovery_overrides = {"issuer": "https://auth.esw.esante.gouv.fr/auth/realms/x"}
    unavailable(verifier, issuer.sign(psc_payload(issuer.issuer)))
    assert issuer.hits == 0, "no key is fetched from a document naming another issuer"
    assert provider.discovery.current() is None


@pytest.mark.parametrize(
    "answer",
    [
        Response(status_code=500),
        Response(b"<html>", media_type="text/html"),
        RedirectResponse("http://127.0.0.1:9/elsewhere"),
        Response(b"[" + b" " * (300 * 1024) + b"]", media_type="application/json"),
    ],
)
def test_oidc_bad_jwks_answer_is_provider_trouble_not_a_bad_token(
    issuer: LocalIssuer, verifier: TokenVerifier, answer: Response
) -> None:
    issuer.answers["jwks"] = answer
    assert unavailable(verifier, issuer.sign(psc_payload(issuer.issuer))).retry_after == 10


def test_oidc_keys_are_cached_then_refreshed_in_the_background(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FixedClock
) -> None:
    for _ in range(3):
        verifier.verify(issuer.sign(psc_payload(issuer.issuer)))
    assert issuer.hits == 1
    clock.advance(timedelta(seconds=301))
    issuer.delay = 1.0
    started = time.monotonic()
    verifier.verify(issuer.sign(psc_payload(issuer.issuer)))
    assert time.monotonic() - started < 0.5, "the request did not wait for the refresh"
    wait_until(lambda: issuer.hits == 2)


def test_oidc_unknown_kid_triggers_one_rate_limited_refresh(
    issuer: LocalIssuer, verifier: TokenVerifier, provider: OidcProvider, clock: FixedClock
) -> None:
    verifier.verify(issuer.sign(psc_payload(issuer.issuer)))
    rotated = new_ec_key()
    issuer.keys = [issuer.main_key, rotated]
    clock.advance(timedelta(seconds=11))
    assert verifier.verify(issuer.sign(psc_payload(issuer.issuer), key=rotated))
    assert issuer.hits == 2

    made_up = issuer.sign(psc_payload(issuer.issuer), key=rotated, header={"kid": "made-up"})
    assert refused(verifier, made_up) == "token_key_unknown"
    assert refused(verifier, made_up) == "token_key_unknown"
    assert issuer.hits == 2, "unknown kids right after a fetch must not hammer the provider"
    clock.advance(timedelta(seconds=11))
    assert refused(verifier, made_up) == "token_key_unknown"
    assert issuer.hits == provider.jwks.fetches == 3, "one refetch, not a retry loop"


def test_oidc_key_removed_by_the_provider_is_refused_after_refresh(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FixedClock
) -> None:
    old = issuer.sign(psc_payload(issuer.issuer))
    verifier.verify(old)
    rotated = new_ec_key()
    issuer.keys = [rotated]
    clock.advance(timedelta(seconds=11))
    verifier.verify(issuer.sign(psc_payload(issuer.issuer), key=rotated))
    assert refused(verifier, old) == "token_key_unknown"


def test_oidc_unknown_kid_waiters_share_one_fetch(
    issuer: LocalIssuer, instance_key: InstanceKey, clock: FixedClock
) -> None:
    provider = provider_for(issuer, timeout=3.0)
    verifier = TokenVerifier(instance_key, provider=provider, audience=AUDIENCE)
    issuer.delay = 0.5
    token = issuer.sign(psc_payload(issuer.issuer))

    async def twenty() -> list[object]:
        return await asyncio.gather(*(verifier.verify_async(token) for _ in range(20)))

    started = time.monotonic()
    assert len(asyncio.run(twenty())) == 20
    assert time.monotonic() - started < 2.5, "the waiters did not queue behind each other"
    assert (issuer.discovery_hits, issuer.hits) == (1, 1)


def test_oidc_hung_provider_answers_503_within_the_timeout(
    issuer: LocalIssuer, instance_key: InstanceKey, clock: FixedClock
) -> None:
    provider = provider_for(issuer, timeout=0.5)
    verifier = TokenVerifier(instance_key, provider=provider, audience=AUDIENCE)
    issuer.delay = 2.0
    token = issuer.sign(psc_payload(issuer.issuer))

    async def ten() -> list[BaseException | object]:
        calls = (verifier.verify_async(token) for _ in range(10))
        return await asyncio.gather(*calls, return_exceptions=True)

    started = time.monotonic()
    with capture_logs() as logs:
        answers = asyncio.run(ten())
    assert time.monotonic() - started < 1.5, "waits were not bounded by the timeout, together"
    assert all(isinstance(a, ProviderUnavailable) for a in answers), answers
    lines = [line for line in logs if line["event"] == "oidc_provider_unavailable"]
    assert len(lines) == 10, "each 503 leaves a line for the operator"
    assert all(set(line) == {"event", "log_level", "step"} for line in lines), lines
    assert provider.discovery.fetches == 1
    started = time.monotonic()
    unavailable(verifier, token)
    assert time.monotonic() - started < 0.2, "within min_interval, no one waits again"


def test_oidc_keys_are_kept_for_the_grace_period_while_the_provider_is_down(
    issuer: LocalIssuer, verifier: TokenVerifier, provider: OidcProvider, clock: FixedClock
) -> None:
    token = issuer.sign(psc_payload(issuer.issuer, exp=int(clock.now().timestamp()) + 7200))
    verifier.verify(token)
    issuer.answers["jwks"] = Response(status_code=503)
    clock.advance(timedelta(seconds=600))
    verifier.verify(token)
    wait_until(lambda: provider.jwks.failed)
    clock.advance(timedelta(seconds=2990))
    verifier.verify(token)
    clock.advance(timedelta(seconds=20))
    unavailable(verifier, token)
    wait_until(lambda: provider.jwks.failed)
    issuer.answers.clear()
    clock.advance(timedelta(seconds=11))
    verifier.verify(token)


def test_oidc_instance_tokens_never_touch_the_provider(
    issuer: LocalIssuer, verifier: TokenVerifier, instance_key: InstanceKey
) -> None:
    from carnet.auth.instance import issue_patient_token

    issuer.delay = 2.0
    started = time.monotonic()
    verifier.verify(issue_patient_token(instance_key, ins="285057512345642", ttl_seconds=60))
    assert time.monotonic() - started < 0.2
    assert issuer.hits == 0


def test_oidc_discovery_without_endpoints_is_refused(
    issuer: LocalIssuer, clock: FixedClock
) -> None:
    issuer.answers["discovery"] = JSONResponse({"issuer": issuer.issuer})
    provider = provider_for(issuer)
    provider.warm()
    wait_until(lambda: provider.discovery.failed)
    assert provider.discovery.current() is None


def test_oidc_discovery_ending_before_the_request_waits_is_not_an_outage(
    issuer: LocalIssuer, provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first log-in starts discovery and waits on it; a local provider can answer before
    the request gets to wait (a busy loop, two cores). That fetch succeeded: the pro is sent on,
    not shown « ne répond pas » (a CI run failed so)."""
    document = provider.discovery
    original = document.refresh

    def late_refresh() -> object:
        wait_until(lambda: document.fetches == 1 and document._inflight is None)
        return original()

    monkeypatch.setattr(document, "refresh", late_refresh)
    metadata = asyncio.run(provider.metadata())
    assert metadata.authorization_endpoint.startswith(issuer.issuer)
    assert issuer.discovery_hits == 1


def test_oidc_key_fetched_by_another_request_meanwhile_is_found(
    issuer: LocalIssuer, provider: OidcProvider, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated key that another request's fetch brings in between this request's look at the
    keys and its call for a fetch is the key, not « unknown »."""
    provider.key(issuer.main_key.kid)
    rotated = new_ec_key()
    issuer.keys = [issuer.main_key, rotated]
    clock.advance(timedelta(seconds=11))
    document = provider.jwks
    original = document.refresh

    def after_another_fetch() -> object:
        pending = original()
        assert pending is not None
        assert wait_blocking(pending, 2)
        return original()

    monkeypatch.setattr(document, "refresh", after_another_fetch)
    found = provider.key_now(rotated.kid)
    assert not isinstance(found, Future)
    assert found.kid == rotated.kid
    assert issuer.hits == 2
