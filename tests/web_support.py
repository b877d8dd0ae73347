"""Browser tests of the web door: Debian's Chromium driven by Playwright, against the session's
live app answering from each test's runtime (``live_api``), with an SMTP sink as the relay (the
second factor's code is read there). Registered as a plugin by ``tests/conftest.py``.

axe-core (``tests/web/vendor``) is injected into each page checked; screenshots of each
journey's last page go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from carnet.auth.verify import TokenVerifier

if TYPE_CHECKING:  # the browser, the app and the models load only when a test asks for them
    from live_api import LiveApp
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright
    from smtp_support import Sink

    from carnet.identity.models import Pro
    from carnet.population.models import Patient
    from carnet.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "web" / "vendor" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "un mot de passe assez long"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def set_password(rt: Runtime, patient: Patient, password: str = PASSWORD) -> None:
    """Test data: the argon2 hash activation would have stored."""
    from argon2 import PasswordHasher

    from carnet.population.models import Patient

    with rt.transaction() as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        row.password_hash = PasswordHasher().hash(password)


@dataclass
class Site:
    """The running site over this test's runtime, its relay sink, and browser pages."""

    url: str
    rt: Runtime
    sink: Sink
    browser: Browser
    contexts: list[BrowserContext] = dataclasses.field(default_factory=list)

    def page(self, *, javascript: bool = True, phone: bool = False) -> Page:
        context = self.browser.new_context(
            locale="fr-FR",
            java_script_enabled=javascript,
            bypass_csp=True,  # axe-core is injected as an inline script
            viewport={"width": 390, "height": 844} if phone else {"width": 1200, "height": 900},
            base_url=self.url,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def last_code(self, address: str) -> str:
        """The second factor's code, from the last e-mail the relay got for ``address``."""
        for _, recipients, message in reversed(self.sink.received):
            if address in recipients:
                found = re.search(r"\b(\d{6})\b", message.get_content())
                assert found, message.get_content()
                return found.group(1)
        raise AssertionError(f"no code was sent to {address}")

    def log_in(self, page: Page, patient: Patient, identifier: str | None = None) -> None:
        """LC-4: password, then the code sent by e-mail; then his documents."""
        page.goto("/connexion")
        page.get_by_label("Matricule INS ou adresse e-mail").fill(identifier or patient.ins)
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_label("Code reçu par e-mail").fill(self.last_code(patient.email or ""))
        page.get_by_role("button", name="Valider").click()
        page.wait_for_url(re.compile(r"/espace"))
        if page.url.endswith("/accueil"):  # the home; these journeys start from the documents
            page.goto(page.url.removesuffix("/accueil") + "/documents")

    def pro_log_in(self, page: Page, pro: Pro) -> None:
        """The portal's demo chooser (the sites of these tests run in demo mode)."""
        page.goto("/pro/")
        page.get_by_label("Professionnel", exact=True).select_option(pro.rpps)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("heading", name="Trouver un patient").wait_for()

    def open_record(self, page: Page, patient: Patient) -> None:
        if not page.url.endswith("/pro/"):
            page.goto("/pro/")
        page.get_by_label("Matricule INS (15 caractères)").fill(patient.ins)
        page.get_by_role("button", name="Ouvrir le dossier").click()
        page.get_by_role("heading", name="Dossier du patient").wait_for()

    def menu(self, page: Page) -> Locator:
        """The main menu, opened first on a phone (« Menu »)."""
        narrow = page.locator("details.nav-narrow")
        if narrow.is_visible() and narrow.get_attribute("open") is None:
            narrow.locator("summary").click()
        return page.get_by_role("navigation", name="Navigation principale")

    def go(self, page: Page, name: str) -> None:
        """Follow a link of the main menu."""
        self.menu(page).get_by_role("link", name=name, exact=True).click()

    def deliver(self) -> None:
        """What ``carnet serve``'s outbox worker does after each act: the notification centre."""
        from carnet.notify.service import deliver_pending

        deliver_pending(self.rt.uow, None, self.rt.settings.mail_from)


#: Pages already checked by axe in this session, by their path with ids blanked: each kind of
#: page is checked once (an axe run costs about a second).
_CHECKED: set[str] = set()


def page_kind(url: str) -> str:
    path = url.split("://", 1)[-1].partition("/")[2].split("?")[0]
    return re.sub(r"[0-9a-f]{32}", "{id}", path)


def check_page(page: Page, name: str | None = None, *, axe: bool = True) -> None:
    """axe-core finds no serious or critical violation (WCAG 2.1 AA rules and best practices) on
    this kind of page; with ``name``, the page is also kept as a screenshot. ``axe=False`` with
    JavaScript off (axe is a script)."""
    if name:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert_fits(page)
    kind = page_kind(page.url) + ("#" + name if name else "")
    if not axe or kind in _CHECKED:
        return
    _CHECKED.add(kind)
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']})"""
    )
    # Every violation counts, whatever its impact (issue 15: 0 violations on every page).
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]
    assert bad == [], f"{page.url}: {bad}"


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium"),
        args=CHROMIUM_ARGS,
    )
    yield launched
    launched.close()


def _serve(live_app: LiveApp, rt: Runtime) -> None:
    from carnet.population.insi import RateLimiter

    state = live_app.app.state
    state.runtime = rt
    state.verifier = TokenVerifier(live_app.key)
    state.insi_limiter = RateLimiter(rt.settings.insi_rate_per_minute)
    state.login_limiters = {}  # each test its own log-in throttle (the clock is fixed)


@pytest.fixture
def site_runtime(rt: Runtime) -> Iterator[tuple[Runtime, Sink]]:
    """This test's runtime in demo mode (the portal's chooser), mail relayed to a sink."""
    from smtp_support import relay_sink

    with relay_sink() as (sink, relay):
        yield (
            dataclasses.replace(
                rt, settings=rt.settings.model_copy(update={**relay, "demo": True})
            ),
            sink,
        )


@pytest.fixture
def site(
    request: pytest.FixtureRequest,
    live_app: LiveApp,
    site_runtime: tuple[Runtime, Sink],
    browser: Browser,
) -> Iterator[Site]:
    # Playwright's sync loop stays registered on the main thread for the rest of the run: a
    # browser test outside tests/web (which run last) broke every later test running its own
    # loop there (the SMTP door's teardown).
    assert "web" in request.path.parts, f"browser tests belong in tests/web: {request.path}"
    runtime, sink = site_runtime
    _serve(live_app, runtime)
    found = Site(live_app.server.url, runtime, sink, browser)
    yield found
    for context in found.contexts:
        context.close()
    live_app.app.state.runtime = live_app.idle_runtime


@pytest.fixture
def http_site(live_app: LiveApp, site_runtime: tuple[Runtime, Sink]) -> Iterator[Site]:
    """The same site for tests over plain HTTP (no browser needed)."""
    runtime, sink = site_runtime
    _serve(live_app, runtime)
    yield Site(live_app.server.url, runtime, sink, None)  # type: ignore[arg-type]
    live_app.app.state.runtime = live_app.idle_runtime


def form_token(client: httpx.Client, path: str) -> str:
    """GET a page and read its CSRF token (the client keeps the cookie)."""
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: it fits, no sideways scroll)."""
    found: int = page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
    return found


def sideways(page: Page) -> list[str]:
    """Boxes inside the page that scroll sideways (a table in an ``overflow-auto`` box): on a
    phone, what is beyond the edge is as good as hidden."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('main *')].filter(e => {
              const x = getComputedStyle(e).overflowX;
              return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1
                && e.tagName !== 'TEXTAREA' && e.tagName !== 'SELECT';
            }).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                + ' ' + e.scrollWidth + '>' + e.clientWidth)"""
    )
    return found


def assert_fits(page: Page) -> None:
    """Phone first (issue 15): no page scrolls sideways, nor any box in it; names the widest
    elements if one does."""
    inner = sideways(page)
    assert inner == [], f"{page.url} has boxes scrolling sideways: {inner}"
    tables: int = page.evaluate(
        """() => window.innerWidth > 768 ? 0 : [...document.querySelectorAll('main table')]
              .filter(t => getComputedStyle(t).display === 'table').length"""
    )
    assert tables == 0, f"{page.url}: {tables} table(s) not shown as cards on a phone"
    extra = overflow(page)
    if extra:
        culprits = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '')
                    + (e.className && typeof e.className === 'string' ? '.' + e.className : '')
                    + ' ' + Math.round(e.getBoundingClientRect().right))"""
        )
        raise AssertionError(f"{page.url} is {extra} px too wide: {culprits}")


#: Addresses a crawl does not follow: files, downloads, log-out and the other side's pages.
_NOT_PAGES = re.compile(r"/contenu|/fichier|/pieces/|\.pdf|/zip|telecharger|/deconnexion|#")


def crawl(page: Page, start: str, prefix: str, *, limit: int = 60, shots: str = "") -> list[str]:
    """Visit every kind of page reachable by links under ``prefix`` from ``start``: each fits the
    window (``assert_fits``) and passes axe (``check_page``). Returns the addresses visited."""
    queue, kinds, visited = [start], set[str](), list[str]()
    while queue and len(visited) < limit:
        url = queue.pop(0)
        page.goto(url)
        visited.append(page.url)
        assert_fits(page)
        check_page(page, shots + page_kind(page.url).replace("/", "_") if shots else None)
        hrefs: list[str] = page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
        for href in hrefs:
            if not href.startswith(prefix) or _NOT_PAGES.search(href):
                continue
            kind = page_kind("x://h" + href)
            if kind not in kinds:
                kinds.add(kind)
                queue.append(href)
    return visited
