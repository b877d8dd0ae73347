"""The portal's log-in through a real OpenID provider (node-oidc-provider set up like Pro Santé
Connect), in a real browser: the happy path, each tampering with the provider's answer refused
with a clear page in the pro's frame, levels and identifiers as PSC issues them (ID-4, ID-5), the
log-out at the provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from auth.real_provider import ADELI, RPPS, RealProvider, new_key, public
from factories import add_patient
from live_api import LiveApp
from oidc_support import PSC_BUTTON, local_only, oidc_settings, psc_log_in, serve_oidc
from playwright.sync_api import Locator, Page, expect
from web_support import Site, check_page

from carnet.auth.verify import TokenVerifier
from carnet.clock import FixedClock


@pytest.fixture
def portal(
    live_app: LiveApp, site: Site, psc: RealProvider, real_clock: FixedClock
) -> Iterator[TokenVerifier]:
    """The site (demo mode: the provider's issuer is plain http) logging pros in through PSC."""
    verifier = serve_oidc(live_app, site.rt, oidc_settings(site.rt, psc))
    yield verifier
    live_app.app.state.verifier = TokenVerifier(live_app.key)


def refused_page(page: Page, text: str) -> None:
    """A clear refusal, in the pro's frame: his portal's header, « Retour » to /pro/."""
    expect(page.get_by_role("alert")).to_contain_text(text)
    expect(page.locator("header")).to_contain_text("Espace des professionnels")
    expect(page.get_by_role("link", name="Retour")).to_have_attribute("href", "/pro/")


def test_id_5_pro_logs_in_through_psc_with_pkce_state_and_nonce(
    site: Site, portal: TokenVerifier, psc: RealProvider
) -> None:
    page = site.page()
    local_only(page)
    page.goto("/pro/")
    with page.expect_request(lambda r: "/auth?" in r.url) as authorize:
        page.get_by_role("button", name=PSC_BUTTON).click()
    query = authorize.value.url
    for parameter in ("code_challenge_method=S256", "nonce=", "state=", "acr_values=eidas1"):
        assert parameter in query, query
    page.get_by_label("Login").fill("cps")
    page.get_by_label("Password").fill("0000")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("heading", name="Trouver un patient").wait_for()
    expect(_nav(page).get_by_text(f"RPPS {RPPS}")).to_be_visible()
    check_page(page, "oidc_logged_in")
    hits = psc.hits()
    assert hits.get("token") == 1
    assert hits.get("me") == 1, "the identity came from userinfo, as PSC gives it"


def _nav(page: Page) -> Locator:
    """The main menu shown (the page holds it twice: in a line, and behind « Menu » on a
    phone — issue 15)."""
    return page.get_by_role("navigation", name="Navigation principale")


def test_id_4_pro_known_by_adeli_logs_in(site: Site, portal: TokenVerifier) -> None:
    page = site.page()
    psc_log_in(page, "adeli")
    page.get_by_role("heading", name="Trouver un patient").wait_for()
    expect(_nav(page).get_by_text(f"ADELI {ADELI}")).to_be_visible()


def test_id_5_cpe_level_logs_in_but_reading_is_refused_clearly(
    site: Site, portal: TokenVerifier
) -> None:
    patient = add_patient(site.rt)
    page = site.page()
    psc_log_in(page, "cpe")
    page.get_by_label("Matricule INS (15 caractères)").fill(patient.ins)
    page.get_by_role("button", name="Ouvrir le dossier").click()
    refused_page(page, "exige une authentification par carte CPS ou e-CPS")
    check_page(page, "oidc_level_too_low")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("alert")).to_contain_text("requires a CPS card or e-CPS")
    page.get_by_role("link", name="Back").click()
    page.get_by_role("heading", name="Find a patient").wait_for()


def test_id_5_level_psc_does_not_issue_is_refused(site: Site, portal: TokenVerifier) -> None:
    page = site.page()
    psc_log_in(page, "unknown-acr")
    refused_page(page, "niveau d'authentification (acr) inconnu")


TAMPERING = [
    ("nonce", "ne répond pas à cette connexion-ci (nonce)", "does not answer this log-in (nonce)"),
    ("other_key", "sa signature n'est pas valide", "its signature is not valid"),
    ("unknown_kid", "signé par une clé inconnue", "signed with an unknown key"),
    ("expired", "Jeton expiré", "Token expired"),
    ("issued_in_future", "pas encore valide", "not yet valid"),
    ("audience", "pas destiné à Carnet seul (aud)", "not meant for Carnet alone (aud)"),
    ("azp", "pas destiné à Carnet seul (aud)", "not meant for Carnet alone (aud)"),
    ("azp_only", "délivré à un autre client (azp)", "issued to another client (azp)"),
    ("issuer", "émetteur reconnu", "trusted issuer"),
    ("alg_none", "« none » n'est pas accepté", "'none' is not accepted"),
    ("hs256", "« HS256 » n'est pas accepté", "'HS256' is not accepted"),
    ("no_id_token", "pas remis de jeton d'identité", "returned no ID token"),
    ("at_hash", "jeton d'accès reçu avec lui (at_hash)", "access token it came with (at_hash)"),
    ("subject", "la réponse userinfo ne désigne pas la même", "the userinfo answer does not name"),
]


@pytest.mark.parametrize(("mode", "fr", "en"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_oidc_id_token_tampering_is_refused_with_a_clear_page(
    site: Site, portal: TokenVerifier, psc: RealProvider, mode: str, fr: str, en: str
) -> None:
    """Each check of OpenID Connect Core §3.1.3.7, against what a real provider answered."""
    psc.tamper(mode)
    page = site.page()
    psc_log_in(page)
    refused_page(page, fr)
    assert page.get_by_text("Trouver un patient").count() == 0


def test_oidc_id_token_with_right_at_hash_passes(
    site: Site, portal: TokenVerifier, psc: RealProvider
) -> None:
    psc.tamper("at_hash_right")
    page = site.page()
    psc_log_in(page)
    page.get_by_role("heading", name="Trouver un patient").wait_for()


def test_oidc_discovery_naming_another_issuer_stops_the_log_in(
    site: Site, portal: TokenVerifier, psc: RealProvider
) -> None:
    psc.tamper("discovery_issuer")
    page = site.page()
    local_only(page)
    page.goto("/pro/")
    with page.expect_response(lambda r: "/pro/connexion/oidc" in r.url) as answer:
        page.get_by_role("button", name=PSC_BUTTON).click()
    assert answer.value.status == 503
    assert answer.value.headers["retry-after"] == "10"
    refused_page(page, "ne répond pas, ou pas correctement")
    check_page(page, "oidc_provider_unavailable")


def test_oidc_log_out_ends_the_provider_session_too(
    site: Site, portal: TokenVerifier, psc: RealProvider
) -> None:
    """On a shared computer, the next « Se connecter » must ask for the card again. The page keeps
    its Content-Security-Policy here (other tests bypass it to inject axe-core)."""
    context = site.browser.new_context(locale="fr-FR", base_url=site.url)
    site.contexts.append(context)
    page = context.new_page()
    psc_log_in(page)
    page.get_by_role("heading", name="Trouver un patient").wait_for()
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{site.url}/pro/")
    page.get_by_role("button", name=PSC_BUTTON).click()
    expect(page.get_by_label("Login")).to_be_visible()
    assert psc.hits().get("session/end") == 1


def test_oidc_provider_key_rotation_is_followed(
    site: Site, portal: TokenVerifier, psc: RealProvider, real_clock: FixedClock
) -> None:
    old_keys = psc.keys
    page = site.page()
    psc_log_in(page)
    page.get_by_role("heading", name="Trouver un patient").wait_for()
    try:
        psc.rotate([new_key()])
        real_clock.advance(timedelta(seconds=11))
        again = site.page()
        psc_log_in(again)
        again.get_by_role("heading", name="Trouver un patient").wait_for()
        assert public(psc.keys[0])["kid"] in (portal.provider.jwks.current() or {})  # type: ignore[union-attr]
    finally:
        psc.rotate(old_keys)
