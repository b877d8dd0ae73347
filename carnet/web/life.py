"""The profile's life in the patient's space (LC-4…LC-8, LC-6): a new activation code asked for
from the log-in page, a representative activating the space he manages, « Mes droits » (the
full export with its progress bar, requests, sharing a minor's space), closing and opposing —
each explained plainly and confirmed first. Every act calls the use case the JSON API calls."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse

from carnet.access import space
from carnet.errors import NotFound
from carnet.lifecycle import export, managed, requests, service
from carnet.texts import N_
from carnet.web.deps import SESSION_COOKIE, Csrf, PageRoute, PatientCtx, Rt
from carnet.web.patient import S, _page
from carnet.web.render import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _yes_no(samu: str | None) -> bool | None:
    """The SAMU question's radio buttons: nothing chosen stays nothing (ACC-6: asked)."""
    return {"oui": True, "non": False}.get(samu or "")


# ------------------------------------------------------------------------------------------
# Activation without dead ends (LC-4, LC-7, LC-8)
# ------------------------------------------------------------------------------------------


@router.get("/code-perdu")
def lost_code_page(request: Request) -> Response:
    return render(request, "lost_code.html", {"title": N_("Demander un nouveau code d'activation")})


@router.post("/code-perdu", dependencies=[Csrf])
def lost_code(
    request: Request,
    rt: Rt,
    ins: Annotated[str, Form(max_length=15)],
    birth_date: Annotated[date, Form()],
) -> Response:
    requests.request_code(rt, ins, birth_date)
    return redirect(request, "/connexion?ok=code-demande")


@router.get("/espaces/{patient_id}/activer")
def activate_space_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    found = next((s for s in space.spaces_to_activate(rt, ctx) if s.patient_id == patient_id), None)
    if found is None:
        raise NotFound()
    return render(request, "activate_space.html", {"title": N_("Activer l'espace"), "space": found})


@router.post("/espaces/{patient_id}/activer", dependencies=[Csrf])
def activate_space(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    samu: Annotated[str | None, Form(max_length=3)] = None,
) -> Response:
    managed.activate_for(rt, ctx, patient_id, emergency_samu=_yes_no(samu))
    return redirect(request, f"/espace/{patient_id}/documents?ok=espace-active")


# ------------------------------------------------------------------------------------------
# My rights (LC-6)
# ------------------------------------------------------------------------------------------


@router.get(S + "/droits")
def rights_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    status = export.export_status(rt, ctx, patient_id)
    spaces = space.my_spaces(rt, ctx)
    current = next((s for s in spaces if s.patient_id == patient_id), None)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "rights.html",
        {
            "title": N_("Mes droits"),
            "export": status,
            "may_share": current is not None and current.relation == "legal_representative",
        },
        "rights",
    )


@router.post(S + "/droits/export", dependencies=[Csrf])
def start_export(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    export.request_export(rt, ctx, patient_id)
    return redirect(request, f"/espace/{patient_id}/droits")


@router.get(S + "/droits/export")
def export_progress(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """The progress bar's fragment (htmx asks for it every second while it is built)."""
    status = export.export_status(rt, ctx, patient_id)
    return render(request, "_export_progress.html", {"export": status, "pid": patient_id})


@router.get(S + "/droits/export/{export_id}/zip")
def export_zip(rt: Rt, ctx: PatientCtx, patient_id: str, export_id: str) -> Response:
    ready, chunks = export.download(rt, ctx, patient_id, export_id)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="mon-espace-sante-{ready.id[:8]}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.post(S + "/droits/demande", dependencies=[Csrf])
def make_request(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    kind: Annotated[str, Form(max_length=20)],
    text: Annotated[str, Form(max_length=2000)],
) -> Response:
    requests.record_request(rt, ctx, patient_id, kind, text)
    return redirect(request, f"/espace/{patient_id}/droits?ok=demande")


@router.post(S + "/droits/partage", dependencies=[Csrf])
def share(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    ins: Annotated[str, Form(max_length=15)],
    birth_date: Annotated[date, Form()],
) -> Response:
    managed.share_profile(rt, ctx, patient_id, ins=ins, birth_date=birth_date)
    return redirect(request, f"/espace/{patient_id}/droits?ok=partage")


# ------------------------------------------------------------------------------------------
# Closing and opposing (LC-5, LC-6): explained, then confirmed
# ------------------------------------------------------------------------------------------

_ENDINGS = {
    "cloture": (N_("Clôturer mon profil"), N_("Clôturer définitivement le profil"), False),
    "opposition": (N_("M'opposer à Mon espace santé"), N_("M'opposer et fermer le profil"), True),
}


def _ending_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, slug: str) -> Response:
    heading, button, opposing = _ENDINGS[slug]
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "close.html",
        {
            "title": heading,
            "heading": heading,
            "button": button,
            "opposing": opposing,
            "slug": slug,
            "own": ctx.actor_id == patient_id,
        },
        "rights",
    )


def _ending(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    slug: str,
    confirm: bool,
    delete_archives: bool,
) -> Response:
    act = service.oppose_profile if slug == "opposition" else service.close_profile
    act(rt, ctx, patient_id, confirm=confirm, delete_archives=delete_archives)
    own = ctx.actor_id == patient_id
    response = redirect(request, "/connexion?ok=cloture" if own else f"/espaces?ok={slug}")
    if own:  # his sessions ended with his space
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(S + "/cloture")
def close_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    return _ending_page(request, rt, ctx, patient_id, "cloture")


@router.get(S + "/opposition")
def oppose_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    return _ending_page(request, rt, ctx, patient_id, "opposition")


@router.post(S + "/cloture", dependencies=[Csrf])
def close(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    confirm: Annotated[bool, Form()] = False,
    delete_archives: Annotated[bool, Form()] = False,
) -> Response:
    return _ending(request, rt, ctx, patient_id, "cloture", confirm, delete_archives)


@router.post(S + "/opposition", dependencies=[Csrf])
def oppose(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    confirm: Annotated[bool, Form()] = False,
    delete_archives: Annotated[bool, Form()] = False,
) -> Response:
    return _ending(request, rt, ctx, patient_id, "opposition", confirm, delete_archives)
