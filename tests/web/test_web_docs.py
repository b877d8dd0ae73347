"""Issue 16: /docs (Swagger UI, vendored) runs in a browser under its Content-Security-Policy.

Here, not in tests/http: Playwright's sync API keeps an event loop running in the main thread
for the session, which the SMTP door's tests (run in between) must not meet."""

from __future__ import annotations

from web_support import Site


def test_issue16_docs_run_under_their_policy_in_a_browser(site: Site) -> None:
    """Swagger UI renders the operations with the policy enforced (no CSP bypass here), and
    asks nothing of another origin."""
    context = site.browser.new_context(base_url=site.url)
    site.contexts.append(context)
    page = context.new_page()
    outside: list[str] = []
    violations: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(site.url) else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/docs")
    page.locator(".opblock").first.wait_for(timeout=15_000)
    assert page.locator(".opblock").count() > 20
    assert outside == []
    assert violations == []
