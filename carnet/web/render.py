"""Rendering pages: the Jinja environment, the language, the CSRF token, the security headers."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import carnet
from carnet.identity.labels import sex_label, specialty_label
from carnet.ids import new_secret
from carnet.texts import N_
from carnet.web import i18n

CSRF_COOKIE = "carnet_csrf"
LANG_COOKIE = "carnet_lang"
PARIS = ZoneInfo("Europe/Paris")

#: The site loads nothing from outside: scripts, styles, frames and images from itself only.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; frame-src 'self'; object-src 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
}

ENV = Environment(
    loader=PackageLoader("carnet.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the code: no stat of every template at every use (a row included fifty
    # times on the documents page was fifty stats; issue 15's page-time target).
    auto_reload=False,
)


def _when(value: datetime | date | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(PARIS)
        return local.strftime("%d/%m/%Y %H:%M") if with_time else local.strftime("%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def _size(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.1f} Mo"
    return f"{max(1, value // 1024)} ko"


ICONS = frozenset(
    {
        *("brand", "home", "documents", "profile", "history", "notifications", "access"),
        *("messages", "rights", "logout", "patients", "download", "add", "lock", "alert"),
    }
)
_ICON = Markup(
    '<svg class="icon" aria-hidden="true" focusable="false"><use href="#i-{}"></use></svg>'
)


def icon(name: str) -> Markup:
    """An icon of ``_icons.html`` beside a word: hidden from screen readers, the word says it."""
    if name not in ICONS:
        raise KeyError(name)
    return _ICON.format(name)


ENV.filters["when"] = _when
ENV.filters["day"] = partial(_when, with_time=False)
ENV.filters["size"] = _size
ENV.globals["sex_label"] = sex_label
ENV.globals["icon"] = icon
ENV.globals["specialty_label"] = specialty_label
#: The patient space's sections: (key, path under /espace/<id>/, label).
ENV.globals["SECTIONS"] = (
    ("home", "accueil", N_("Accueil")),
    ("documents", "documents", N_("Documents")),
    ("profile", "profil", N_("Profil médical")),
    ("history", "historique", N_("Historique")),
    ("notifications", "notifications", N_("Notifications")),
    ("access", "acces", N_("Qui voit mes données")),
    ("messages", "messagerie", N_("Messagerie")),
    ("rights", "droits", N_("Mes droits")),
)


def lang_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def secure(request: Request) -> bool:
    settings = request.app.state.runtime.settings
    return bool(settings.public_url.startswith("https://") or request.url.scheme == "https")


def csrf_token(request: Request) -> str:
    """The double-submit token: the cookie's value, put in every form (and htmx header)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = new_secret(24)
        request.state.new_csrf = token
    return str(token)


def csrf_valid(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


def finish(request: Request, response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    new = getattr(request.state, "new_csrf", None)
    if new and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=secure(request), path="/"
        )
    return response


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    lang = lang_of(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "_": partial(i18n.translate, lang),
        "both": partial(i18n.both, lang),
        "csrf": csrf_token(request),
        "version": carnet.__version__,
        "path": request.url.path,
        "notice": None,
        "title": "",
    }
    values.update(context or {})
    html = ENV.get_template(template).render(values)
    return finish(request, HTMLResponse(html, status_code=status))


def redirect(request: Request, url: str) -> Response:
    """After a form: 303 to a page (POST-redirect-GET); htmx is told to navigate there."""
    if request.headers.get("hx-request"):
        return finish(request, Response(status_code=204, headers={"HX-Redirect": url}))
    return finish(request, RedirectResponse(url, status_code=303))
