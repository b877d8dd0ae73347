"""``carnet serve --demo``: a page listing the demo people with one-click log-in. It exists in
demo mode only (``settings.demo``); elsewhere it answers "not found", and the log-in use cases
refuse too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from carnet.demo import personas
from carnet.demo.load import DEMO_PASSWORD
from carnet.errors import NotFound
from carnet.population import login
from carnet.texts import N_
from carnet.web.deps import SESSION_COOKIE, Csrf, PageRoute, Rt
from carnet.web.render import redirect, render, secure
from carnet.web.views import profession_label

router = APIRouter(prefix="/demo", route_class=PageRoute, include_in_schema=False)


@router.get("")
def demo_page(request: Request, rt: Rt) -> Response:
    if not rt.settings.demo:
        raise NotFound()
    return render(
        request,
        "demo.html",
        {
            "title": N_("Démonstration"),
            "patients": personas.PATIENTS,
            "pros": [(p, profession_label(p.profession)) for p in personas.PROS],
            "password": DEMO_PASSWORD,
        },
    )


@router.post("/patient", dependencies=[Csrf])
def demo_patient(request: Request, rt: Rt, ins: Annotated[str, Form(max_length=20)]) -> Response:
    opened = login.demo_login(rt.uow, rt.settings, ins)
    response = redirect(request, "/espaces")
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    return response
