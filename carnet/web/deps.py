"""What the pages depend on: the runtime, the logged-in person or pro, the CSRF check, and the
route class that turns refusals into pages (the JSON door's handlers answer JSON)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from carnet.context import Door, RequestContext
from carnet.errors import Forbidden, ProviderUnavailable, Refusal
from carnet.identity import portal
from carnet.population import login, login_rules
from carnet.population.insi import RateLimiter
from carnet.runtime import Runtime
from carnet.web import views
from carnet.web.render import csrf_valid, redirect, render

SESSION_COOKIE = "carnet_session"
PRO_COOKIE = "carnet_pro"


class LoginRequired(Exception):
    def __init__(self, pro: bool) -> None:
        super().__init__("login required")
        self.pro = pro


async def _pro_frame(request: Request) -> dict[str, Any]:
    """Who is logged in, for the portal's header above an error."""
    runtime: Runtime = request.app.state.runtime
    me = await run_in_threadpool(portal.current, runtime.uow, request.cookies.get(PRO_COOKIE, ""))
    return {"me": me, "profession_label": views.profession_label(me.profession) if me else ""}


async def _error(
    request: Request, status: int, fr: str, en: str, headers: dict[str, str] | None = None
) -> Response:
    """The refusal as a page: in the pro's frame under ``/pro`` (his header, « Retour » to the
    portal), in the patient site's elsewhere."""
    if request.headers.get("hx-request"):
        response = render(request, "_alert.html", {"fr": fr, "en": en}, status=status)
    elif request.url.path.startswith("/pro"):
        values = {"fr": fr, "en": en, "status": status, **await _pro_frame(request)}
        response = render(request, "pro/error.html", values, status=status)
    else:
        response = render(
            request, "error.html", {"fr": fr, "en": en, "status": status}, status=status
        )
    response.headers.update(headers or {})
    return response


#: A form's fields as a person reads them, for « vérifiez … » (never a raw field name).
FIELDS: dict[str, tuple[str, str]] = {
    "depuis": ("la date de début", "the start date"),
    "jusqu": ("la date de fin", "the end date"),
    "birth_date": ("la date de naissance", "the birth date"),
    "service_date": ("la date de l'acte", "the date of the act"),
    "file": ("le fichier", "the file"),
    "type_code": ("le type de document", "the document type"),
    "title": ("le titre", "the title"),
    "ins": ("le matricule INS", "the INS number"),
    "rpps": ("le professionnel", "the professional"),
    "reason": ("le motif", "the reason"),
    "code": ("le code", "the code"),
    "password": ("le mot de passe", "the password"),
    "email": ("l'adresse e-mail", "the e-mail address"),
    "birth_names": ("le nom de naissance", "the birth name"),
    "first_names": ("les prénoms", "the first names"),
    "sex": ("le sexe", "the sex"),
    "birth_place": ("le lieu de naissance", "the birth place"),
    "subject": ("l'objet", "the subject"),
    "body": ("le message", "the message"),
}


class PageRoute(APIRoute):
    """A page's refusals become an error page (or an htmx alert); no session, the log-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as missing:
                if missing.pro:
                    return redirect(request, "/pro/")
                return redirect(request, "/connexion?suite=" + quote(request.url.path, safe="/"))
            except Refusal as refusal:
                headers = (
                    {"Retry-After": str(refusal.retry_after)}
                    if isinstance(refusal, ProviderUnavailable)
                    else None
                )
                return await _error(request, refusal.status, refusal.fr, refusal.en, headers)
            except RequestValidationError as invalid:
                names = [str(e.get("loc", ("", "?"))[-1]) for e in invalid.errors()]
                fr = ", ".join(dict.fromkeys(FIELDS.get(n, (n, n))[0] for n in names))
                en = ", ".join(dict.fromkeys(FIELDS.get(n, (n, n))[1] for n in names))
                return await _error(
                    request,
                    422,
                    f"Formulaire incomplet ou invalide : vérifiez {fr}.",
                    f"Incomplete or invalid form: check {en}.",
                )

        return handler


async def login_redirect(request: Request) -> Response | None:
    """What a page answers a request with no valid session (the log-in page), or ``None``:
    asked before an upload's body is read (``http.intake``), so that no one unknown makes the
    server read what he sends."""
    runtime: Runtime = request.app.state.runtime
    if request.url.path.startswith("/pro/"):
        me = await run_in_threadpool(
            portal.current, runtime.uow, request.cookies.get(PRO_COOKIE, "")
        )
        return None if me is not None else redirect(request, "/pro/")
    person = await run_in_threadpool(
        login.session_person, runtime.uow, request.cookies.get(SESSION_COOKIE, "")
    )
    if person is not None:
        return None
    return redirect(request, "/connexion?suite=" + quote(request.url.path, safe="/"))


def throttle(request: Request, what: str) -> None:
    """One attempt of ``what`` (« connexion », « code ») by this client, or ``TooMany``."""
    state = request.app.state
    limiters: dict[str, RateLimiter] | None = getattr(state, "login_limiters", None)
    if limiters is None:
        limiters = state.login_limiters = {}
    limiter = limiters.get(what)
    if limiter is None:
        limiter = limiters[what] = RateLimiter(
            login_rules.ATTEMPTS_PER_CLIENT_MINUTE,
            "Trop de tentatives de connexion depuis cet appareil : réessayez dans une minute.",
            "Too many log-in attempts from this device: try again in a minute.",
        )
    limiter.check(request.client.host if request.client else "?")


async def get_runtime(request: Request) -> Runtime:
    """Async: a sync dependency costs a trip through the thread pool (issue 19)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


Rt = Annotated[Runtime, Depends(get_runtime)]


def person_id(request: Request, rt: Rt) -> str:
    person = login.session_person(rt.uow, request.cookies.get(SESSION_COOKIE, ""))
    if person is None:
        raise LoginRequired(pro=False)
    return person


Person = Annotated[str, Depends(person_id)]


def patient_context(person: Person) -> RequestContext:
    """The person acting for himself or for whom he represents: the gate tells which."""
    return RequestContext.for_patient(person, door=Door.WEB)


PatientCtx = Annotated[RequestContext, Depends(patient_context)]


def pro_session(request: Request, rt: Rt) -> portal.PortalSession:
    found = portal.current(rt.uow, request.cookies.get(PRO_COOKIE, ""))
    if found is None:
        raise LoginRequired(pro=True)
    return found


ProSession = Annotated[portal.PortalSession, Depends(pro_session)]


async def check_csrf(request: Request) -> None:
    """Every form carries the token (``csrf`` field, or the ``X-CSRF-Token`` header of htmx)."""
    submitted = request.headers.get("x-csrf-token")
    if submitted is None:
        form = await request.form()
        value = form.get("csrf")
        submitted = value if isinstance(value, str) else None
    if not csrf_valid(request, submitted):
        raise Forbidden(
            "Formulaire expiré ou d'une autre origine : rechargez la page et recommencez.",
            "Form expired or from another origin: reload the page and try again.",
            code="csrf",
        )


Csrf = Depends(check_csrf)
